package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// fixtureNoteID is the note id the testdata events name; the tests swap
// in the id of a note they created.
const fixtureNoteID = "0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e"

// eventUser is the Cognito identity in the deployed testdata events.
const eventUser = "us-east-1:3f0c6a2e-1b7d-4c55-9a2e-0d6f4b8e9c11"

// eventResponse is a v1 or v2 proxy response, read as the gateway would.
type eventResponse struct {
	status int
	header http.Header
	body   string
}

// invoker runs one Lambda invocation: the handler in process, or the
// built bootstrap under the Runtime Interface Emulator.
type invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

func invokeFile(t *testing.T, g invoker, file, noteID string) eventResponse {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	payload := strings.ReplaceAll(string(raw), fixtureNoteID, noteID)
	out, err := g.Invoke(context.Background(), []byte(payload))
	if err != nil {
		t.Fatalf("%s: Invoke: %v", file, err)
	}
	var r struct {
		StatusCode        int                 `json:"statusCode"`
		Headers           map[string]string   `json:"headers"`
		MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
		Body              string              `json:"body"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	for k, v := range r.Headers {
		h.Set(k, v)
	}
	for k, vs := range r.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	if strings.HasPrefix(file, "testdata/events/v1") && r.Headers != nil {
		t.Fatalf("%s: a REST v1 answer has v2 single-value headers", file)
	}
	if strings.HasPrefix(file, "testdata/events/v2") && r.MultiValueHeaders != nil {
		t.Fatalf("%s: a v2 answer has v1 multi-value headers", file)
	}
	return eventResponse{status: r.StatusCode, header: h, body: r.Body}
}

func eventGateway(t *testing.T, env map[string]string) *gateway {
	t.Helper()
	env["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:9001"
	log := slog.New(slog.DiscardHandler)
	h, err := newHandler(testConfig(t, env), openTestStore(t), log)
	if err != nil {
		t.Fatal(err)
	}
	return newGateway(h, log)
}

// TestEventFiles sends every event in testdata/events through the Lambda
// handler, in the order a user would, and checks what API Gateway would
// return to the browser at https://app.example.com.
func TestEventFiles(t *testing.T) {
	for _, dir := range []string{"v1", "v2"} {
		t.Run(dir, func(t *testing.T) {
			checkEventFlow(t, eventGateway(t, map[string]string{"CORS_ALLOWED_ORIGINS": appOrigin}), dir)
		})
	}
}

// checkEventFlow is TestEventFiles on any invoker configured as deployed
// with CORS_ALLOWED_ORIGINS=https://app.example.com.
func checkEventFlow(t *testing.T, g invoker, dir string) {
	t.Helper()
	steps := []struct {
		file       string
		want       int
		wantUserID string
	}{
		{"create.json", 201, eventUser},
		{"get.json", 200, eventUser},
		{"list.json", 200, ""},
		{"update.json", 200, eventUser},
		{"billing.json", 503, ""},
		{"preflight.json", 200, ""},
		{"delete.json", 204, ""},
		{"get.json", 404, ""},
		{"no-identity.json", 401, ""},
	}
	id := fixtureNoteID
	for _, s := range steps {
		file := "testdata/events/" + dir + "/" + s.file
		r := invokeFile(t, g, file, id)
		if r.status != s.want {
			t.Fatalf("%s: status = %d, want %d (%s)", file, r.status, s.want, r.body)
		}
		if got := r.header.Get("Access-Control-Allow-Origin"); got != appOrigin {
			t.Fatalf("%s: Allow-Origin = %q, want %q", file, got, appOrigin)
		}
		if r.header.Get("X-Request-Id") == "" {
			t.Fatalf("%s: no X-Request-Id", file)
		}
		if s.want == 204 || s.file == "preflight.json" {
			if r.body != "" {
				t.Fatalf("%s: body %q, want none", file, r.body)
			}
			continue
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s: Content-Type = %q", file, ct)
		}
		if s.wantUserID != "" {
			var n note
			if err := json.Unmarshal([]byte(r.body), &n); err != nil {
				t.Fatal(err)
			}
			if n.UserID != s.wantUserID {
				t.Fatalf("%s: userId = %q, want %q", file, n.UserID, s.wantUserID)
			}
			if s.file == "create.json" {
				id = n.NoteID
			}
		}
	}
}

func TestEventRequestID(t *testing.T) {
	g := eventGateway(t, map[string]string{})
	for file, want := range map[string]string{
		"testdata/events/v1/list.json":      "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
		"testdata/events/v1/preflight.json": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
		"testdata/events/v2/list.json":      "JKJaXmPLvHcESHA=",
	} {
		if got := invokeFile(t, g, file, fixtureNoteID).header.Get("X-Request-Id"); got != want {
			t.Fatalf("%s: X-Request-Id = %q, want API Gateway's %q", file, got, want)
		}
	}
}

func TestSAMLocalEventFiles(t *testing.T) {
	checkSAMLocalFlow(t, eventGateway(t, map[string]string{"AWS_SAM_LOCAL": "true", "DEV_IDENTITY_ID": "sam-user"}))

	// The same sam local event, deployed for real, has no identity.
	deployed := eventGateway(t, map[string]string{})
	if r := invokeFile(t, deployed, "testdata/events/v1-sam-local/list.json", fixtureNoteID); r.status != 401 {
		t.Fatalf("sam local event without AWS_SAM_LOCAL = %d, want 401", r.status)
	}
}

// checkSAMLocalFlow runs the sam local events through an invoker with
// AWS_SAM_LOCAL=true and DEV_IDENTITY_ID=sam-user.
func checkSAMLocalFlow(t *testing.T, g invoker) {
	t.Helper()
	r := invokeFile(t, g, "testdata/events/v1-sam-local/create.json", fixtureNoteID)
	if r.status != 201 {
		t.Fatalf("create = %d %s", r.status, r.body)
	}
	var n note
	json.Unmarshal([]byte(r.body), &n)
	if n.UserID != "sam-user" {
		t.Fatalf("userId = %q, want the dev identity sam-user", n.UserID)
	}
	r = invokeFile(t, g, "testdata/events/v1-sam-local/list.json", fixtureNoteID)
	var list []note
	json.Unmarshal([]byte(r.body), &list)
	if r.status != 200 || len(list) != 1 || list[0].NoteID != n.NoteID {
		t.Fatalf("list = %d %s", r.status, r.body)
	}
	r = invokeFile(t, g, "testdata/events/v1-sam-local/preflight.json", fixtureNoteID)
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "*" || !headerListHas(r.header.Get("Access-Control-Allow-Headers"), "x-amz-security-token") {
		t.Fatalf("preflight = %d %v", r.status, r.header)
	}
}

func TestMalformedEvents(t *testing.T) {
	g := eventGateway(t, map[string]string{})
	for name, ev := range map[string]any{
		"v1 bad base64": events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/notes", Body: "%%%", IsBase64Encoded: true,
			MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"}},
			RequestContext:    events.APIGatewayProxyRequestContext{Identity: events.APIGatewayRequestIdentity{CognitoIdentityID: alice}}},
		"v2 bad base64": events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/notes", Body: "%%%", IsBase64Encoded: true,
			Headers: map[string]string{"content-type": "application/json"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/notes"},
				Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
					CognitoIdentity: events.APIGatewayV2HTTPRequestContextAuthorizerCognitoIdentity{IdentityID: alice}}}}},
		"v1 bad method": events.APIGatewayProxyRequest{HTTPMethod: "GE T", Path: "/notes",
			RequestContext: events.APIGatewayProxyRequestContext{RequestID: "rid-bad-method"}},
	} {
		var resp struct {
			StatusCode        int                 `json:"statusCode"`
			Headers           map[string]string   `json:"headers"`
			MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
			Body              string              `json:"body"`
		}
		invoke(t, g, ev, &resp)
		if resp.StatusCode != 400 || !strings.Contains(resp.Body, `"error"`) {
			t.Fatalf("%s: %d %s, want a 400 JSON error", name, resp.StatusCode, resp.Body)
		}
		if name == "v1 bad method" && resp.Headers["X-Request-Id"] != "rid-bad-method" {
			t.Fatalf("%s: headers %v, want the event's request id", name, resp.Headers)
		}
	}
	if _, err := g.Invoke(context.Background(), []byte(`"not an event"`)); err == nil {
		t.Fatal("Invoke accepted a payload that is not an event")
	}
}
