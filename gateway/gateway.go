// Package gateway is the Lambda front door. It takes API Gateway REST API
// events (payload format 1.0, what the SAM template deploys and what
// `sam local start-api` sends) and HTTP API / Function URL events (2.0),
// serves each through one http.Handler, and answers in the event's own
// response format.
//
// It is the only package that knows the event formats and the adapter
// (aws-lambda-go-api-proxy): the handler learns who is calling, and API
// Gateway's request id, through routes.WithCaller and nothing else.
package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/scratch-notes/notes-api/routes"
)

// MaxResponseBytes is Lambda's limit on a synchronous invocation's answer
// (6 MB); an answer above it is a failed invocation, which API Gateway
// turns into a 502 with no CORS headers.
const MaxResponseBytes = 6 << 20

// Handler is a lambda.Handler for both payload formats.
type Handler struct {
	v1  *httpadapter.HandlerAdapter
	v2  *httpadapter.HandlerAdapterV2
	log *slog.Logger
}

// New returns the front door to h.
func New(h http.Handler, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	inner := withCaller(h)
	return &Handler{v1: httpadapter.New(inner), v2: httpadapter.NewV2(inner), log: log}
}

// Invoke implements lambda.Handler. An event that is not JSON is an
// error (the invocation fails: nothing sent it through API Gateway); any
// event that is JSON gets an answer in its format.
func (g *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var probe struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, fmt.Errorf("event is not a JSON object: %w", err)
	}
	if probe.Version == "2.0" {
		return g.invokeV2(ctx, payload)
	}
	return g.invokeV1(ctx, payload)
}

func (g *Handler) invokeV1(ctx context.Context, payload []byte) ([]byte, error) {
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("decode v1 event: %w", err)
	}
	id := ev.RequestContext.RequestID
	if ev.IsBase64Encoded && !validBase64(ev.Body) {
		g.log.WarnContext(ctx, "event body is not valid base64; serving it as empty", "request_id", id)
		ev.Body, ev.IsBase64Encoded = "", false
	}
	resp, err := g.v1.ProxyWithContext(ctx, ev)
	if err != nil {
		g.log.ErrorContext(ctx, "adapt v1 event", "request_id", id, "error", err.Error())
		resp = events.APIGatewayProxyResponse{StatusCode: http.StatusBadRequest,
			MultiValueHeaders: badEventHeaders(id), Body: badEventBody}
	}
	out, err := json.Marshal(resp)
	if err == nil && len(out) > MaxResponseBytes {
		h := keepHeaders(resp.MultiValueHeaders, id)
		g.logTooLarge(ctx, h.Get("X-Request-Id"), len(out))
		resp = events.APIGatewayProxyResponse{StatusCode: http.StatusInternalServerError,
			MultiValueHeaders: h, Body: tooLargeBody(h.Get("X-Request-Id"))}
		out, err = json.Marshal(resp)
	}
	return out, err
}

func (g *Handler) invokeV2(ctx context.Context, payload []byte) ([]byte, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("decode v2 event: %w", err)
	}
	id := ev.RequestContext.RequestID
	if ev.IsBase64Encoded && !validBase64(ev.Body) {
		g.log.WarnContext(ctx, "event body is not valid base64; serving it as empty", "request_id", id)
		ev.Body, ev.IsBase64Encoded = "", false
	}
	resp, err := g.v2.ProxyWithContext(ctx, ev)
	if err != nil {
		g.log.ErrorContext(ctx, "adapt v2 event", "request_id", id, "error", err.Error())
		resp = events.APIGatewayV2HTTPResponse{StatusCode: http.StatusBadRequest,
			Headers: single(badEventHeaders(id)), Body: badEventBody}
	}
	out, err := json.Marshal(resp)
	if err == nil && len(out) > MaxResponseBytes {
		h := keepHeaders(multi(resp.Headers), id)
		g.logTooLarge(ctx, h.Get("X-Request-Id"), len(out))
		resp = events.APIGatewayV2HTTPResponse{StatusCode: http.StatusInternalServerError,
			Headers: single(h), Body: tooLargeBody(h.Get("X-Request-Id"))}
		out, err = json.Marshal(resp)
	}
	return out, err
}

// An event the adapter cannot turn into a request never reaches the
// handler; its answer still carries the request id.
const badEventBody = `{"error":"the request could not be read"}`

func badEventHeaders(requestID string) http.Header {
	return http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {requestID}}
}

func (g *Handler) logTooLarge(ctx context.Context, requestID string, n int) {
	g.log.ErrorContext(ctx, "answer over Lambda's response limit", "request_id", requestID, "bytes", n)
}

// tooLargeBody is the answer that stands in for one Lambda would refuse to
// return: the handlers keep their answers under the limit, so this is a
// bug, reported like any internal error.
func tooLargeBody(requestID string) string {
	b, _ := json.Marshal(map[string]string{"error": fmt.Sprintf("internal error (request id %s)", requestID)})
	return string(b)
}

// keepHeaders keeps what the browser needs to read a replaced answer:
// the CORS headers the handler set, Vary and the request id (the event's
// when the handler set none).
func keepHeaders(h map[string][]string, requestID string) http.Header {
	out := badEventHeaders(requestID)
	for k, v := range h {
		if ck := http.CanonicalHeaderKey(k); strings.HasPrefix(ck, "Access-Control-") || ck == "Vary" || ck == "X-Request-Id" {
			out[ck] = v
		}
	}
	return out
}

func single(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = strings.Join(v, ",")
	}
	return out
}

func multi(h map[string]string) map[string][]string {
	out := make(map[string][]string, len(h))
	for k, v := range h {
		out[k] = []string{v}
	}
	return out
}

func validBase64(s string) bool {
	_, err := base64.StdEncoding.DecodeString(s)
	return err == nil
}

// withCaller hands the handler what API Gateway said about the request,
// after undoing what the adapter does to headers: the v2 adapter splits a
// comma-separated Access-Control-Request-Headers into several values, of
// which go-chi/cors reads only the first; and the adapter's own context
// headers, which a client can forge, are dropped so that nothing can ever
// trust them.
func withCaller(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Values("Access-Control-Request-Headers"); len(v) > 1 {
			r.Header.Set("Access-Control-Request-Headers", strings.Join(v, ","))
		}
		r.Header.Del(core.APIGwContextHeader)
		r.Header.Del(core.APIGwStageVarsHeader)
		ctx := r.Context()
		if gw, ok := core.GetAPIGatewayContextFromContext(ctx); ok {
			ctx = routes.WithCaller(ctx, routes.Caller{IdentityID: gw.Identity.CognitoIdentityID, RequestID: gw.RequestID})
		} else if gw, ok := core.GetAPIGatewayV2ContextFromContext(ctx); ok {
			c := routes.Caller{RequestID: gw.RequestID}
			if gw.Authorizer != nil && gw.Authorizer.IAM != nil {
				c.IdentityID = gw.Authorizer.IAM.CognitoIdentity.IdentityID
			}
			ctx = routes.WithCaller(ctx, c)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
