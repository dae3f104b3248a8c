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
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/scratch-notes/notes-api/routes"
)

// MaxResponseBytes is Lambda's limit on a synchronous invocation's answer,
// "6 MB", taken as the smaller reading (6,000,000 bytes, not 6 MiB): an
// answer above the limit is a failed invocation, which API Gateway turns
// into a 502 with no CORS headers. routes keeps its answers under it
// (routes.Config.MaxAnswerBytes); this package replaces any that is not.
const MaxResponseBytes = 6_000_000

// Handler is a lambda.Handler for both payload formats, and for
// EventBridge's scheduled events.
type Handler struct {
	v1        *httpadapter.HandlerAdapter
	v2        *httpadapter.HandlerAdapterV2
	log       *slog.Logger
	scheduled func(context.Context) (any, error)
}

// OnSchedule runs work for each scheduled event EventBridge sends (the
// template's Reconcile schedule) and answers with its result. Only an
// AWS principal allowed to invoke the function can send one: API
// Gateway's events never look like it.
func (g *Handler) OnSchedule(work func(context.Context) (any, error)) { g.scheduled = work }

// isScheduled reports whether a payload is EventBridge's scheduled event.
func isScheduled(source, detailType string) bool {
	return source == "aws.events" && detailType == "Scheduled Event"
}

// New returns the front door to h.
func New(h http.Handler, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	inner := withCaller(h)
	return &Handler{v1: httpadapter.New(inner), v2: httpadapter.NewV2(inner), log: log}
}

// Invoke implements lambda.Handler. Every payload gets an answer, never
// a failed invocation: an event in its own format (the 2.0 format when it
// says "version": "2.0", REST v1 otherwise), and anything that is not an
// event a REST v1 400.
func (g *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var probe struct {
		Version    string `json:"version"`
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
	}
	// A REST event has no "version" at all: only an event that mentions
	// one anywhere is decoded twice (a third of a request's time).
	if !bytes.Contains(payload, []byte(`"version"`)) {
		return g.invokeV1(ctx, payload)
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		g.log.ErrorContext(ctx, "event is not a JSON object", "error", err.Error())
		return json.Marshal(events.APIGatewayProxyResponse{StatusCode: http.StatusBadRequest,
			MultiValueHeaders: badEventHeaders(""), Body: badEventBody})
	}
	if probe.Version == "2.0" {
		return g.invokeV2(ctx, payload)
	}
	if isScheduled(probe.Source, probe.DetailType) {
		return g.runScheduled(ctx)
	}
	return g.invokeV1(ctx, payload)
}

// runScheduled does the scheduled work. A failure fails the invocation:
// Lambda counts it in Errors, which alarms, and EventBridge's next run
// tries again.
func (g *Handler) runScheduled(ctx context.Context) ([]byte, error) {
	if g.scheduled == nil {
		return nil, fmt.Errorf("a scheduled event, and nothing to run on it")
	}
	out, err := g.scheduled(ctx)
	if err != nil {
		return nil, fmt.Errorf("scheduled run: %w", err)
	}
	return json.Marshal(out)
}

// v1Event is the part of a REST event the adapter and the handler use.
// Decoding it instead of the whole events.APIGatewayProxyRequest skips the
// request context's dozen identity fields and, when the multi-value
// forms are there, the single-value copies of the headers and query.
type v1Event struct {
	HTTPMethod                      string              `json:"httpMethod"`
	Path                            string              `json:"path"`
	Headers                         json.RawMessage     `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           json.RawMessage     `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	StageVariables                  map[string]string   `json:"stageVariables"`
	Body                            string              `json:"body"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
	RequestContext                  struct {
		RequestID  string `json:"requestId"`
		DomainName string `json:"domainName"`
		Identity   struct {
			CognitoIdentityID string `json:"cognitoIdentityId"`
			SourceIP          string `json:"sourceIp"`
		} `json:"identity"`
	} `json:"requestContext"`
}

// decodeV1 decodes what the adapter reads of a REST event.
func decodeV1(payload []byte) (events.APIGatewayProxyRequest, error) {
	var e v1Event
	if err := json.Unmarshal(payload, &e); err != nil {
		return events.APIGatewayProxyRequest{}, err
	}
	ev := events.APIGatewayProxyRequest{HTTPMethod: e.HTTPMethod, Path: e.Path, MultiValueHeaders: e.MultiValueHeaders,
		MultiValueQueryStringParameters: e.MultiValueQueryStringParameters, StageVariables: e.StageVariables,
		Body: e.Body, IsBase64Encoded: e.IsBase64Encoded}
	ev.RequestContext.RequestID, ev.RequestContext.DomainName = e.RequestContext.RequestID, e.RequestContext.DomainName
	ev.RequestContext.Identity.CognitoIdentityID = e.RequestContext.Identity.CognitoIdentityID
	ev.RequestContext.Identity.SourceIP = e.RequestContext.Identity.SourceIP
	if ev.MultiValueHeaders == nil && len(e.Headers) > 0 {
		if err := json.Unmarshal(e.Headers, &ev.Headers); err != nil {
			return events.APIGatewayProxyRequest{}, err
		}
	}
	if ev.MultiValueQueryStringParameters == nil && len(e.QueryStringParameters) > 0 {
		if err := json.Unmarshal(e.QueryStringParameters, &ev.QueryStringParameters); err != nil {
			return events.APIGatewayProxyRequest{}, err
		}
	}
	return ev, nil
}

func (g *Handler) invokeV1(ctx context.Context, payload []byte) ([]byte, error) {
	problem := ""
	ev, err := decodeV1(payload)
	if err != nil {
		// Not an event API Gateway sends; its headers alone may still say
		// where it comes from, for the CORS headers of the 400.
		g.log.ErrorContext(ctx, "decode v1 event", "error", err.Error())
		problem, ev = "it is not an API Gateway event", events.APIGatewayProxyRequest{HTTPMethod: http.MethodGet, Path: "/"}
		var h struct {
			Headers           map[string]string   `json:"headers"`
			MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
		}
		if json.Unmarshal(payload, &h) == nil {
			ev.Headers, ev.MultiValueHeaders = h.Headers, h.MultiValueHeaders
		}
	}
	id := ev.RequestContext.RequestID
	if ev.IsBase64Encoded && !validBase64(ev.Body) {
		problem, ev.Body, ev.IsBase64Encoded = "its body is not valid base64", "", false
	}
	if problem == "" {
		if err := requestable(ev.HTTPMethod, ev.RequestContext.DomainName, ev.Path, ""); err != nil {
			// The adapter could not make a request of it (and would
			// say so on stdout): the handler still answers, so that the
			// answer carries CORS headers, but only with a 400.
			g.log.WarnContext(ctx, "v1 event is not a request", "apiRequestId", id, "error", err.Error())
			problem = "it is not an HTTP request"
			ev.HTTPMethod, ev.Path, ev.RequestContext.DomainName = http.MethodGet, "/", ""
			ev.QueryStringParameters, ev.MultiValueQueryStringParameters = nil, nil
		}
	}
	resp, err := g.v1.ProxyWithContext(withProblem(ctx, problem), ev)
	if err != nil {
		return json.Marshal(events.APIGatewayProxyResponse{StatusCode: http.StatusBadRequest,
			MultiValueHeaders: badEventHeaders(id), Body: badEventBody})
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
	problem := ""
	if err := json.Unmarshal(payload, &ev); err != nil {
		g.log.ErrorContext(ctx, "decode v2 event", "error", err.Error())
		problem, ev = "it is not an API Gateway event", events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/"}
		ev.RequestContext.HTTP.Method = http.MethodGet
		var h struct {
			Headers map[string]string `json:"headers"`
		}
		if json.Unmarshal(payload, &h) == nil {
			ev.Headers = h.Headers
		}
	}
	id := ev.RequestContext.RequestID
	if ev.IsBase64Encoded && !validBase64(ev.Body) {
		problem, ev.Body, ev.IsBase64Encoded = "its body is not valid base64", "", false
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	if problem == "" {
		if err := requestable(ev.RequestContext.HTTP.Method, ev.RequestContext.DomainName, path, ev.RawQueryString); err != nil {
			g.log.WarnContext(ctx, "v2 event is not a request", "apiRequestId", id, "error", err.Error())
			problem = "it is not an HTTP request"
			ev.RequestContext.HTTP.Method, ev.RawPath, ev.RequestContext.HTTP.Path = http.MethodGet, "/", "/"
			ev.RawQueryString, ev.QueryStringParameters, ev.RequestContext.DomainName = "", nil, ""
		}
	}
	resp, err := g.v2.ProxyWithContext(context.WithValue(withProblem(ctx, problem), v2HeadersKey{}, ev.Headers), ev)
	if err != nil {
		return json.Marshal(events.APIGatewayV2HTTPResponse{StatusCode: http.StatusBadRequest,
			Headers: single(badEventHeaders(id)), Body: badEventBody})
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

// requestable reports why the adapter could not make an *http.Request of
// an event's method, host, path and raw query, if it could not: it builds
// the URL the same way (https://host/path?query) and makes the request.
func requestable(method, host, path, rawQuery string) error {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := "https://" + host + path
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	_, err := http.NewRequest(strings.ToUpper(method), u, nil)
	return err
}

// problemKey carries, from Invoke to withCaller, why an event could not
// be served as sent.
type problemKey struct{}

// v2HeadersKey carries, from Invoke to withCaller, a 2.0 event's headers
// as API Gateway sent them.
type v2HeadersKey struct{}

func withProblem(ctx context.Context, problem string) context.Context {
	return context.WithValue(ctx, problemKey{}, problem)
}

// A payload that is not an event never reaches the handler; its answer
// still carries the request id, when there is one.
const badEventBody = `{"error":"the request could not be read"}`

func badEventHeaders(requestID string) http.Header {
	return http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {requestID}}
}

func (g *Handler) logTooLarge(ctx context.Context, requestID string, n int) {
	g.log.ErrorContext(ctx, "answer over Lambda's response limit", "apiRequestId", requestID, "bytes", n)
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

// withCaller hands the handler what API Gateway said about the request
// (and why the event could not be served as sent, if it could not),
// after undoing what the adapter does to headers: the v2 adapter splits
// every comma-separated header value into several values, with spaces
// trimmed (go-chi/cors then reads only the first of
// Access-Control-Request-Headers, and a Stripe-Signature loses its
// signatures), so a 2.0 event's headers are put back exactly as sent; a
// REST event's multi-value Access-Control-Request-Headers is joined; and
// the adapter's own context headers, which a client can forge, are
// dropped so that nothing can ever trust them.
func withCaller(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sent, ok := r.Context().Value(v2HeadersKey{}).(map[string]string); ok {
			for k, v := range sent {
				if ck := http.CanonicalHeaderKey(k); ck != "Cookie" {
					r.Header[ck] = []string{v}
				}
			}
		}
		if v := r.Header.Values("Access-Control-Request-Headers"); len(v) > 1 {
			r.Header.Set("Access-Control-Request-Headers", strings.Join(v, ","))
		}
		r.Header.Del(core.APIGwContextHeader)
		r.Header.Del(core.APIGwStageVarsHeader)
		ctx := r.Context()
		c := routes.Caller{}
		c.Unreadable, _ = ctx.Value(problemKey{}).(string)
		if gw, ok := core.GetAPIGatewayContextFromContext(ctx); ok {
			c.IdentityID, c.RequestID = gw.Identity.CognitoIdentityID, gw.RequestID
		} else if gw, ok := core.GetAPIGatewayV2ContextFromContext(ctx); ok {
			c.RequestID = gw.RequestID
			if gw.Authorizer != nil && gw.Authorizer.IAM != nil {
				c.IdentityID = gw.Authorizer.IAM.CognitoIdentity.IdentityID
			}
		}
		ctx = routes.WithCaller(ctx, c)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// LogHandler puts on every log line written in an invocation Lambda's
// request id (requestId, as Lambda's own JSON log lines name it) and the
// X-Ray trace id (traceId), when there are any, then hands it to next.
func LogHandler(next slog.Handler) slog.Handler { return logHandler{next} }

type logHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	// aws-lambda-go keeps the trace id under this string key.
	if id, _ := ctx.Value("x-amzn-trace-id").(string); id != "" {
		r.AddAttrs(slog.String("traceId", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }
