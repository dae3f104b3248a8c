package awstest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/testenv"
)

// recorder keeps the last event an invoker was given.
type recorder struct {
	apitest.Invoker
	last []byte
}

func (r *recorder) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	r.last = payload
	return r.Invoker.Invoke(ctx, payload)
}

// keysOf lists the keys of a JSON object at path (dot-separated), sorted.
func keysOf(t *testing.T, doc []byte, path string) []string {
	t.Helper()
	var v any
	json.Unmarshal(doc, &v)
	for _, p := range strings.Split(path, ".") {
		if p != "" {
			v = v.(map[string]any)[p]
		}
	}
	var keys []string
	for k := range v.(map[string]any) {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestSAMLocalEventFilesMatchStandin: the v1-sam-local events that `sam local invoke
// -e` takes have the shape the sam local start-api stand-in sends, which
// is SAM CLI's.
func TestSAMLocalEventFilesMatchStandin(t *testing.T) {
	rec := &recorder{Invoker: apitest.InvokerFunc(func(context.Context, []byte) ([]byte, error) {
		return []byte(`{"statusCode":204}`), nil
	})}
	api := NewSAMLocal(t, rec)
	req := httptest.NewRequest("POST", "/notes?limit=1&limit=2", strings.NewReader(`{"content":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Add("X-Twice", "first")
	req.Header.Add("X-Twice", "second")
	req.Header["X_Under"] = []string{"dropped"}
	w := httptest.NewRecorder()
	api.ServeHTTP(w, req)
	if w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("an answer with no Content-Type got %q, want application/json added", w.Header().Get("Content-Type"))
	}
	var sent events.APIGatewayProxyRequest
	json.Unmarshal(rec.last, &sent)
	if sent.IsBase64Encoded || sent.Body != `{"content":"x"}` || sent.Headers["X-Twice"] != "first,second" ||
		len(sent.MultiValueHeaders["X-Twice"]) != 1 || sent.Headers["X_Under"] != "" ||
		sent.QueryStringParameters["limit"] != "2" || sent.RequestContext.Stage != "dev" {
		t.Fatalf("the stand-in sent %s", rec.last)
	}
	files, _ := filepath.Glob(filepath.Join(testenv.Root(), "testdata", "events", "v1-sam-local", "*.json"))
	if len(files) < 3 {
		t.Fatalf("%d sam local events", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"", "requestContext", "requestContext.identity"} {
			if got, want := keysOf(t, b, path), keysOf(t, rec.last, path); !slices.Equal(got, want) {
				t.Fatalf("%s %s keys = %v, want sam local's %v", f, path, got, want)
			}
		}
		var ev events.APIGatewayProxyRequest
		json.Unmarshal(b, &ev)
		if ev.IsBase64Encoded || ev.RequestContext.Stage != sent.RequestContext.Stage || ev.RequestContext.Identity.CognitoIdentityID != "" {
			t.Fatalf("%s: base64 %v, stage %q, identity %q; sam local sends none, %q, none", f,
				ev.IsBase64Encoded, ev.RequestContext.Stage, ev.RequestContext.Identity.CognitoIdentityID, sent.RequestContext.Stage)
		}
	}
}

// TestSAMLocalSameRequestID: under sam local every request carries one
// request id, as SAM CLI 1.164 makes it once; and its own 502 has no CORS
// headers.
func TestSAMLocalSameRequestID(t *testing.T) {
	rec := &recorder{Invoker: apitest.InvokerFunc(func(context.Context, []byte) ([]byte, error) {
		return []byte(`{"statusCode":204}`), nil
	})}
	api := NewSAMLocal(t, rec)
	var ids []string
	for range 2 {
		api.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/notes", nil))
		var sent events.APIGatewayProxyRequest
		json.Unmarshal(rec.last, &sent)
		ids = append(ids, sent.RequestContext.RequestID)
	}
	if ids[0] == "" || ids[0] != ids[1] {
		t.Fatalf("request ids %v, want one for every request", ids)
	}
	failing := NewSAMLocal(t, apitest.InvokerFunc(func(context.Context, []byte) ([]byte, error) { return nil, errors.New("crashed") }))
	w := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/notes", nil)
	req.Header.Set("Origin", "https://app.example.com")
	failing.ServeHTTP(w, req)
	if w.Code != http.StatusBadGateway || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("SAM's own failure = %d %v, want a 502 without CORS", w.Code, w.Header())
	}
}

// TestDeployedMatchesMethod: API Gateway matches path and method
// together, then falls back to /{proxy+}: an unsigned OPTIONS
// /openapi.json is the preflight route's (unsigned), an unsigned PUT
// /openapi.json the proxy's (signed), and API Gateway's own errors have
// the function's shape.
func TestDeployedMatchesMethod(t *testing.T) {
	var reached []string
	api := NewDeployed(t, apitest.InvokerFunc(func(_ context.Context, payload []byte) ([]byte, error) {
		var ev events.APIGatewayProxyRequest
		json.Unmarshal(payload, &ev)
		reached = append(reached, ev.HTTPMethod+" "+ev.Path)
		return []byte(`{"statusCode":200,"body":"{}"}`), nil
	}), "*", "us-east-1:someone")
	for _, tc := range []struct {
		method, path string
		reaches      bool
	}{
		{"OPTIONS", "/openapi.json", true}, {"GET", "/openapi.json", true}, {"PUT", "/openapi.json", false},
		{"POST", "/billing/webhook", true}, {"GET", "/billing/webhook", false}, {"OPTIONS", "/notes", true}, {"GET", "/notes", false},
	} {
		reached = nil
		w := httptest.NewRecorder()
		api.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		if got := len(reached) == 1; got != tc.reaches {
			t.Fatalf("unsigned %s %s reached the function = %v, want %v (%d %s)", tc.method, tc.path, got, tc.reaches, w.Code, w.Body)
		}
		if !tc.reaches {
			var body struct{ Error, RequestID string }
			if w.Code != http.StatusForbidden || json.Unmarshal(w.Body.Bytes(), &body) != nil || body.Error != "Missing Authentication Token" || body.RequestID == "" {
				t.Fatalf("unsigned %s %s = %d %s, want 403 {error, requestId}", tc.method, tc.path, w.Code, w.Body)
			}
		}
	}
}
