package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scratch-notes/notes-api/gateway"
	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/origins"
	"github.com/scratch-notes/notes-api/routes"
)

var events_ = filepath.Join(testenv.Root(), "testdata", "events")

// newGateway is the front door as main builds it when deployed, on a
// fresh bbolt store; mode IdentityLocal is sam local (AWS_SAM_LOCAL).
func newGateway(t testing.TB, mode routes.IdentityMode, cors origins.Policy, devIdentity string) *gateway.Handler {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	notes := storetest.Bolt(t)
	h, err := routes.New(routes.Config{Notes: notes, Purchases: notes, Logger: log, CORS: cors, Identity: mode, DevIdentity: devIdentity,
		MaxAnswerBytes: gateway.MaxResponseBytes})
	if err != nil {
		t.Fatal(err)
	}
	return gateway.New(h, log)
}

// TestEventFiles sends every event in testdata/events through the Lambda
// handler, in the order a user would, and checks what API Gateway would
// return to the browser at https://app.example.com.
func TestEventFiles(t *testing.T) {
	for _, dir := range []string{"v1", "v2"} {
		t.Run(dir, func(t *testing.T) {
			g := newGateway(t, routes.IdentityDeployed, origins.Policy{AllowedOrigins: []string{apitest.AppOrigin}}, "")
			apitest.CheckEventFlow(t, g, filepath.Join(events_, dir))
		})
	}
}

func TestEventRequestID(t *testing.T) {
	g := newGateway(t, routes.IdentityDeployed, origins.Policy{}, "")
	for file, want := range map[string]string{
		"v1/list.json":      "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
		"v1/preflight.json": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
		"v2/list.json":      "JKJaXmPLvHcESHA=",
	} {
		if got := apitest.InvokeFile(t, g, filepath.Join(events_, file), apitest.FixtureNoteID).Header.Get("X-Request-Id"); got != want {
			t.Fatalf("%s: X-Request-Id = %q, want API Gateway's %q", file, got, want)
		}
	}
}

func TestSAMLocalEventFiles(t *testing.T) {
	apitest.CheckSAMLocalFlow(t, newGateway(t, routes.IdentityLocal, origins.Policy{}, "sam-user"), filepath.Join(events_, "v1-sam-local"))

	// The same sam local event, deployed for real, has no identity.
	deployed := newGateway(t, routes.IdentityDeployed, origins.Policy{}, "")
	if r := apitest.InvokeFile(t, deployed, filepath.Join(events_, "v1-sam-local", "list.json"), apitest.FixtureNoteID); r.Status != 401 {
		t.Fatalf("sam local event without AWS_SAM_LOCAL = %d, want 401", r.Status)
	}
}

// TestMalformedEvents: an event the adapter cannot serve as sent is a 400
// JSON answer in its own format, with the CORS headers a browser needs to
// read it; a payload that is not an event is a REST v1 400. None is a
// failed invocation.
func TestMalformedEvents(t *testing.T) {
	g := newGateway(t, routes.IdentityDeployed, origins.Policy{AllowedOrigins: []string{apitest.AppOrigin}}, "")
	origin := map[string][]string{"Origin": {apitest.AppOrigin}}
	alice := events.APIGatewayRequestIdentity{CognitoIdentityID: apitest.Alice}
	for name, ev := range map[string]any{
		"v1 bad base64": events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/notes", Body: "%%%", IsBase64Encoded: true,
			MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"}, "Origin": {apitest.AppOrigin}},
			RequestContext:    events.APIGatewayProxyRequestContext{RequestID: "rid-1", Identity: alice}},
		"v2 bad base64": events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/notes", Body: "%%%", IsBase64Encoded: true,
			Headers: map[string]string{"content-type": "application/json", "origin": apitest.AppOrigin},
			RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "rid-2", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/notes"},
				Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
					CognitoIdentity: events.APIGatewayV2HTTPRequestContextAuthorizerCognitoIdentity{IdentityID: apitest.Alice}}}}},
		"v1 bad method": events.APIGatewayProxyRequest{HTTPMethod: "GE T", Path: "/notes", MultiValueHeaders: origin,
			RequestContext: events.APIGatewayProxyRequestContext{RequestID: "rid-3", Identity: alice}},
		"v1 bad path": events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/notes/%zz", MultiValueHeaders: origin,
			RequestContext: events.APIGatewayProxyRequestContext{RequestID: "rid-4", Identity: alice}},
		"v1 bad host": events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/notes", MultiValueHeaders: origin,
			RequestContext: events.APIGatewayProxyRequestContext{RequestID: "rid-5", Identity: alice, DomainName: "a b\x00"}},
		"v2 bad method": events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/notes", Headers: map[string]string{"origin": apitest.AppOrigin},
			RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "rid-6", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "(", Path: "/notes"}}},
		"v2 bad query": events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/notes", RawQueryString: "limit=1\x7f\n", Headers: map[string]string{"origin": apitest.AppOrigin},
			RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "rid-7", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/notes"}}},
	} {
		var resp struct {
			StatusCode        int                 `json:"statusCode"`
			Headers           map[string]string   `json:"headers"`
			MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
			Body              string              `json:"body"`
		}
		apitest.Invoke(t, g, ev, &resp)
		h := http.Header(resp.MultiValueHeaders)
		if strings.HasPrefix(name, "v2") {
			h = http.Header{}
			for k, v := range resp.Headers {
				h.Set(k, v)
			}
		}
		if resp.StatusCode != 400 || !strings.Contains(resp.Body, `"error":"the request could not be read`) {
			t.Fatalf("%s: %d %s, want a 400 JSON error", name, resp.StatusCode, resp.Body)
		}
		if h.Get("Access-Control-Allow-Origin") != apitest.AppOrigin || !strings.HasPrefix(h.Get("X-Request-Id"), "rid-") {
			t.Fatalf("%s: headers %v, want the CORS headers and the event's request id", name, h)
		}
	}
	for _, payload := range []string{`"not an event"`, `[1,2]`, `{"version":`, `42`} {
		out, err := g.Invoke(context.Background(), []byte(payload))
		var resp events.APIGatewayProxyResponse
		if err != nil || json.Unmarshal(out, &resp) != nil || resp.StatusCode != 400 || !strings.Contains(resp.Body, `"error"`) {
			t.Fatalf("Invoke(%s) = %s, %v; want a REST v1 400 JSON answer", payload, out, err)
		}
	}
}

// TestSplitRequestHeaders pins the v2 fix: API Gateway's HTTP API sends
// Access-Control-Request-Headers as one comma-separated value, which the v2
// adapter splits; go-chi/cors would read only the first.
func TestSplitRequestHeaders(t *testing.T) {
	g := newGateway(t, routes.IdentityDeployed, origins.Policy{}, "")
	d := apitest.V2{Invoker: g}
	resp := d.Do(t, apitest.Preflight(apitest.AppOrigin, "PUT", "content-type,x-amz-date,authorization"))
	allowed := resp.Header.Get("Access-Control-Allow-Headers")
	for _, h := range []string{"content-type", "x-amz-date", "authorization"} {
		if !apitest.HeaderListHas(allowed, h) {
			t.Fatalf("Allow-Headers = %q, missing %s", allowed, h)
		}
	}
}

// bigAnswer answers with a body over Lambda's limit, as a bug would.
type bigAnswer struct{}

func (bigAnswer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Vary", "Origin")
	w.Header().Set("X-Request-Id", "rid-big")
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`"` + strings.Repeat(`\"`, gateway.MaxResponseBytes/2) + `"`))
}

// TestAnswerOverLambdaLimit: an answer Lambda would refuse becomes a 500
// the browser can read, instead of a failed invocation.
func TestAnswerOverLambdaLimit(t *testing.T) {
	g := gateway.New(bigAnswer{}, nil)
	for name, d := range map[string]apitest.Door{"v1": apitest.V1{Invoker: g}, "v2": apitest.V2{Invoker: g}} {
		resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes", User: apitest.Alice})
		if resp.Status != 500 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("X-Request-Id") != "rid-big" {
			t.Fatalf("%s: %d %v, want a 500 with the CORS headers and request id", name, resp.Status, resp.Header)
		}
		if msg := resp.ErrorMessage(t); !strings.Contains(msg, "rid-big") {
			t.Fatalf("%s: message %q does not name the request id", name, msg)
		}
	}
	// And the answer that replaced it is itself well under the limit.
	out, err := g.Invoke(context.Background(), mustJSON(t, events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/"}))
	if err != nil || len(out) > 4096 {
		t.Fatalf("Invoke = %d bytes, %v", len(out), err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestScheduledEvent: EventBridge's scheduled event runs the scheduled
// work and answers its result; its failure fails the invocation (Lambda
// counts it in Errors, which alarms). An API event never runs it.
func TestScheduledEvent(t *testing.T) {
	g := newGateway(t, routes.IdentityDeployed, origins.Policy{}, "")
	ev := []byte(`{"version":"0","id":"89d1a02d-5ec7-412e-82f5-13505f849b41","detail-type":"Scheduled Event","source":"aws.events",` +
		`"account":"123456789012","time":"2026-12-03T12:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/r"],"detail":{}}`)
	if _, err := g.Invoke(context.Background(), ev); err == nil {
		t.Fatal("a scheduled event with nothing to run succeeded")
	}
	runs := 0
	g.OnSchedule(func(context.Context) (any, error) { runs++; return map[string]int{"recorded": 2}, nil })
	out, err := g.Invoke(context.Background(), ev)
	if err != nil || string(out) != `{"recorded":2}` || runs != 1 {
		t.Fatalf("scheduled = %s, %v after %d runs", out, err, runs)
	}
	g.OnSchedule(func(context.Context) (any, error) { runs++; return nil, errors.New("stripe down") })
	if _, err := g.Invoke(context.Background(), ev); err == nil {
		t.Fatal("a failed scheduled run succeeded")
	}
	// An API Gateway event that names the same fields in its body is an
	// API call, not a schedule.
	api := []byte(`{"httpMethod":"POST","path":"/notes","headers":{"Content-Type":"application/json"},"body":"{\"source\":\"aws.events\",\"detail-type\":\"Scheduled Event\",\"version\":\"0\"}","requestContext":{"identity":{"cognitoIdentityId":"u"}}}`)
	before := runs
	if _, err := g.Invoke(context.Background(), api); err != nil || runs != before {
		t.Fatalf("an API event ran the schedule (%d runs, %v)", runs-before, err)
	}
}
