package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// gateway is the Lambda front door: it takes API Gateway REST (v1) and
// HTTP API / Function URL (v2) events, serves each through the same
// handler, and answers in the event's own response format.
type gateway struct {
	v1  *httpadapter.HandlerAdapter
	v2  *httpadapter.HandlerAdapterV2
	log *slog.Logger
}

func newGateway(h http.Handler, log *slog.Logger) *gateway {
	return &gateway{v1: httpadapter.New(h), v2: httpadapter.NewV2(h), log: log}
}

// Invoke implements lambda.Handler.
func (g *gateway) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var probe struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, fmt.Errorf("event is not a JSON object: %w", err)
	}
	if probe.Version == "2.0" {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("decode v2 event: %w", err)
		}
		if ev.IsBase64Encoded && !validBase64(ev.Body) {
			g.log.WarnContext(ctx, "event body is not valid base64; serving it as empty", "request_id", ev.RequestContext.RequestID)
			ev.Body, ev.IsBase64Encoded = "", false
		}
		resp, err := g.v2.ProxyWithContext(ctx, ev)
		if err != nil {
			g.log.ErrorContext(ctx, "adapt v2 event", "request_id", ev.RequestContext.RequestID, "error", err.Error())
			resp = events.APIGatewayV2HTTPResponse{StatusCode: http.StatusBadRequest,
				Headers: badEventHeaders(ev.RequestContext.RequestID), Body: badEventBody}
		}
		return json.Marshal(resp)
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("decode v1 event: %w", err)
	}
	if ev.IsBase64Encoded && !validBase64(ev.Body) {
		g.log.WarnContext(ctx, "event body is not valid base64; serving it as empty", "request_id", ev.RequestContext.RequestID)
		ev.Body, ev.IsBase64Encoded = "", false
	}
	resp, err := g.v1.ProxyWithContext(ctx, ev)
	if err != nil {
		g.log.ErrorContext(ctx, "adapt v1 event", "request_id", ev.RequestContext.RequestID, "error", err.Error())
		resp = events.APIGatewayProxyResponse{StatusCode: http.StatusBadRequest,
			Headers: badEventHeaders(ev.RequestContext.RequestID), Body: badEventBody}
	}
	return json.Marshal(resp)
}

// An event the adapter cannot turn into a request never reaches the
// handler; its answer still carries the request id.
const badEventBody = `{"error":"the request could not be read"}`

func badEventHeaders(requestID string) map[string]string {
	return map[string]string{"Content-Type": "application/json", "X-Request-Id": requestID}
}

func validBase64(s string) bool {
	_, err := base64.StdEncoding.DecodeString(s)
	return err == nil
}
