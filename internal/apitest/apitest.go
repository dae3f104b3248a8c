// Package apitest drives the API the way its users meet it, through any
// front door: the local HTTP server over real HTTP, or the Lambda handler
// given the API Gateway events it receives deployed (REST v1 and v2).
// Every package's tests use the same doors, requests and checks.
//
// Only tests import it.
package apitest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// Two users of the deployed shape (Cognito identity ids).
const (
	Alice = "us-east-1:alice"
	Bob   = "us-east-1:bob"
)

// AppOrigin is the frontend's origin in the CORS tests.
const AppOrigin = "https://app.example.com"

// JSONHeader is the header of a JSON request.
func JSONHeader() map[string]string { return map[string]string{"Content-Type": "application/json"} }

// Request is one call; User is the caller's identity, sent the way the
// front door carries it ("" sends none).
type Request struct {
	Method, Path string
	Body         string
	Header       map[string]string
	User         string
}

// Response is what a client sees, whichever front door answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.Body, err)
	}
}

// ErrorMessage returns the "error" of a JSON error body, failing the test
// when the body is not one.
func (r Response) ErrorMessage(t testing.TB) string {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type = %q, want application/json (body %q)", ct, r.Body)
	}
	var e map[string]any
	r.JSON(t, &e)
	msg, ok := e["error"].(string)
	if !ok || msg == "" || len(e) != 1 {
		t.Fatalf("error body = %s, want {\"error\": message}", r.Body)
	}
	return msg
}

// Door is one way into the API.
type Door interface {
	Do(t testing.TB, req Request) Response
}

// Local is the local HTTP server at URL, over real HTTP; identity travels
// in X-Dev-Identity-Id.
type Local struct{ URL string }

// Do implements Door.
func (d Local) Do(t testing.TB, req Request) Response {
	t.Helper()
	hr, err := http.NewRequest(req.Method, d.URL+req.Path, strings.NewReader(req.Body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range req.Header {
		hr.Header.Set(k, v)
	}
	if req.User != "" {
		hr.Header.Set("X-Dev-Identity-Id", req.User)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// Invoker runs one Lambda invocation: the handler in process, or the built
// bootstrap under the Runtime Interface Emulator.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// V1 is the Lambda front door given REST API events as API Gateway sends
// them deployed: identity in requestContext.identity. With Base64, the
// body arrives base64-encoded (isBase64Encoded), as API Gateway sends a
// body of a binary media type.
type V1 struct {
	Invoker
	Base64 bool
}

// Do implements Door.
func (d V1) Do(t testing.TB, req Request) Response {
	t.Helper()
	u, err := url.Parse(req.Path)
	if err != nil {
		t.Fatal(err)
	}
	ev := events.APIGatewayProxyRequest{
		Resource:          "/{proxy+}",
		Path:              u.Path,
		HTTPMethod:        req.Method,
		MultiValueHeaders: map[string][]string{},
		Body:              req.Body,
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID: "v1-" + t.Name(), Stage: "prod", ResourcePath: "/{proxy+}", HTTPMethod: req.Method,
			Identity: events.APIGatewayRequestIdentity{CognitoIdentityID: req.User, SourceIP: "203.0.113.7"},
		},
	}
	if q := u.Query(); len(q) > 0 {
		ev.MultiValueQueryStringParameters = q
	}
	if d.Base64 {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(req.Body)), true
	}
	for k, v := range req.Header {
		ev.MultiValueHeaders[k] = []string{v}
	}
	var resp events.APIGatewayProxyResponse
	Invoke(t, d.Invoker, ev, &resp)
	h := http.Header{}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		h.Add(k, v)
	}
	return Response{Status: resp.StatusCode, Header: h, Body: []byte(resp.Body)}
}

// V2 is the Lambda front door given HTTP API (payload 2.0) events:
// lower-case single-value headers, identity in the IAM authorizer.
type V2 struct{ Invoker }

// Do implements Door.
func (d V2) Do(t testing.TB, req Request) Response {
	t.Helper()
	u, err := url.Parse(req.Path)
	if err != nil {
		t.Fatal(err)
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "ANY /{proxy+}",
		RawPath:        u.Path,
		RawQueryString: u.RawQuery,
		Headers:        map[string]string{},
		Body:           req.Body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "v2-" + t.Name(),
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: req.Method, Path: u.Path, SourceIP: "203.0.113.7"},
		},
	}
	if req.User != "" {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
				CognitoIdentity: events.APIGatewayV2HTTPRequestContextAuthorizerCognitoIdentity{IdentityID: req.User},
			},
		}
	}
	for k, v := range req.Header {
		ev.Headers[strings.ToLower(k)] = v
	}
	var resp events.APIGatewayV2HTTPResponse
	Invoke(t, d.Invoker, ev, &resp)
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	return Response{Status: resp.StatusCode, Header: h, Body: []byte(resp.Body)}
}

// Invoke sends an event through a Lambda handler as the runtime would:
// JSON in, JSON out.
func Invoke(t testing.TB, inv Invoker, ev, resp any) {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out, err := inv.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if err := json.Unmarshal(out, resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
}

// Note is a note as a client reads it.
type Note struct {
	UserID     string `json:"userId"`
	NoteID     string `json:"noteId"`
	Content    string `json:"content"`
	Attachment any    `json:"attachment"` // a string or nil, comparable with ==
	CreatedAt  int64  `json:"createdAt"`
	UpdatedAt  int64  `json:"updatedAt"`
}

// CreateNote creates a note through d and returns it.
func CreateNote(t testing.TB, d Door, user, content string) Note {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"content": content, "attachment": nil})
	resp := d.Do(t, Request{Method: "POST", Path: "/notes", Body: string(body), Header: JSONHeader(), User: user})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create: status = %d, want 201 (body %s)", resp.Status, resp.Body)
	}
	var n Note
	resp.JSON(t, &n)
	return n
}

// HeaderListHas reports whether a comma-separated header value lists want,
// in any letter case.
func HeaderListHas(list, want string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), want) {
			return true
		}
	}
	return false
}

// AllowHeaders returns the names of the Access-Control-Allow-* headers of
// a response.
func AllowHeaders(h http.Header) []string {
	var got []string
	for k := range h {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), "Access-Control-Allow-") {
			got = append(got, k)
		}
	}
	return got
}

// Preflight is a browser's CORS preflight for a note.
func Preflight(origin, method, headers string) Request {
	return Request{Method: "OPTIONS", Path: "/notes/0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e", Header: map[string]string{
		"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers,
	}}
}

// InvokerFunc is a function as an Invoker.
type InvokerFunc func(ctx context.Context, payload []byte) ([]byte, error)

// Invoke implements Invoker.
func (f InvokerFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f(ctx, payload)
}
