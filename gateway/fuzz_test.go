package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/origins"
	"github.com/scratch-notes/notes-api/routes"
)

// browserOrigin is the one Origin a v1 or v2 event carries, as the adapter
// reads it, when a browser could have sent the request: its method is one
// that needs no preflight (GET, HEAD, POST) or one the API's preflight
// allows (PUT, DELETE), or a plain OPTIONS. It is "" otherwise, and
// when the event carries no Origin or several.
func browserOrigin(payload []byte, v2 bool) string {
	var ev struct {
		Headers           map[string]string   `json:"headers"`
		MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
		HTTPMethod        string              `json:"httpMethod"`
		RequestContext    struct {
			HTTP struct {
				Method string `json:"method"`
			} `json:"http"`
		} `json:"requestContext"`
	}
	if json.Unmarshal(payload, &ev) != nil {
		return ""
	}
	method := ev.HTTPMethod
	if v2 {
		method = ev.RequestContext.HTTP.Method
	}
	switch strings.ToUpper(method) {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS":
	default:
		return ""
	}
	var found []string
	has := func(name string) bool {
		for k := range ev.MultiValueHeaders {
			if strings.EqualFold(k, name) {
				return true
			}
		}
		for k := range ev.Headers {
			if strings.EqualFold(k, name) {
				return true
			}
		}
		return false
	}
	if strings.EqualFold(method, "OPTIONS") && has("Access-Control-Request-Method") {
		return "" // a preflight: its own rules, in routes' CORS tests
	}
	if !v2 && ev.MultiValueHeaders != nil {
		for k, vs := range ev.MultiValueHeaders {
			if strings.EqualFold(k, "Origin") {
				found = append(found, vs...)
			}
		}
	} else {
		for k, v := range ev.Headers {
			if strings.EqualFold(k, "Origin") {
				found = append(found, strings.Split(v, ",")...)
			}
		}
	}
	if len(found) != 1 {
		return ""
	}
	return found[0]
}

// FuzzInvoke: any bytes as a Lambda event never panic nor fail the
// invocation, and always give a well-formed proxy answer in the event's
// format, whose body (when there is one) is JSON, which carries CORS
// headers when a browser at an allowed origin sent it, and which is never
// a 5xx of ours (a 503 for the billing this gateway has not configured is
// one of the contract's answers, openapi.json).
func FuzzInvoke(f *testing.F) {
	for _, dir := range []string{"v1", "v2", "v1-sam-local"} {
		files, _ := filepath.Glob(filepath.Join(events_, dir, "*.json"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`{"version":"2.0","rawPath":"/notes","requestContext":{"http":{"method":"G T"}}}`))
	f.Add([]byte(`{"httpMethod":"POST","path":"/notes","body":"%%%","isBase64Encoded":true}`))
	g := newGateway(f, routes.IdentityDeployed, origins.Policy{AllowedOrigins: []string{apitest.AppOrigin}}, "")
	f.Fuzz(func(t *testing.T, payload []byte) {
		out, err := g.Invoke(context.Background(), payload)
		if err != nil {
			t.Fatalf("Invoke failed the invocation: %v", err)
		}
		var probe struct {
			Version string `json:"version"`
		}
		v2 := json.Unmarshal(payload, &probe) == nil && probe.Version == "2.0"
		var resp struct {
			StatusCode        int                 `json:"statusCode"`
			Headers           map[string]string   `json:"headers"`
			MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
			Body              *string             `json:"body"`
			IsBase64Encoded   bool                `json:"isBase64Encoded"`
		}
		if err := json.Unmarshal(out, &resp); err != nil || resp.Body == nil {
			t.Fatalf("answer %s is not a proxy response: %v", out, err)
		}
		h := http.Header{}
		if v2 {
			if resp.MultiValueHeaders != nil {
				t.Fatalf("a 2.0 event got a REST v1 answer: %s", out)
			}
			for k, v := range resp.Headers {
				h.Set(k, v)
			}
		} else {
			if resp.Headers != nil {
				t.Fatalf("a REST v1 event got a 2.0 answer: %s", out)
			}
			h = resp.MultiValueHeaders
		}
		if resp.StatusCode < 200 || resp.StatusCode > 599 || resp.StatusCode >= 500 && resp.StatusCode != 503 {
			t.Fatalf("status %d: %s", resp.StatusCode, *resp.Body)
		}
		if *resp.Body != "" && (resp.IsBase64Encoded || !json.Valid([]byte(*resp.Body))) {
			t.Fatalf("body %q is not JSON", *resp.Body)
		}
		if browserOrigin(payload, v2) == apitest.AppOrigin && h.Get("Access-Control-Allow-Origin") != apitest.AppOrigin {
			t.Fatalf("an event from the allowed origin got no CORS headers: %s", out)
		}
	})
}
