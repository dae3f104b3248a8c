package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/scratch-notes/notes-api/routes"
	"github.com/scratch-notes/notes-api/store"
)

// missing stops a test whose real component is not here: a loud skip on a
// developer's machine, a failure when CI=true, where everything must be.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s, and CI=true requires it: run make test", msg)
	}
	t.Skipf("SKIPPED: %s; make test provides it", msg)
}

// response is what a client sees, whichever front door answered.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
}

// errorMessage returns the "error" of a JSON error body, failing the test
// when the body is not one.
func (r response) errorMessage(t *testing.T) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type = %q, want application/json (body %q)", ct, r.body)
	}
	var e map[string]any
	r.json(t, &e)
	msg, ok := e["error"].(string)
	if !ok || msg == "" || len(e) != 1 {
		t.Fatalf("error body = %s, want {\"error\": message}", r.body)
	}
	return msg
}

// request is one call; user is the caller's identity, sent the way the
// front door carries it ("" sends none).
type request struct {
	method, path string
	body         string
	header       map[string]string
	user         string
}

// door is one way into the API.
type door interface {
	do(t *testing.T, req request) response
}

// localDoor is the local HTTP server, over real HTTP; identity travels in
// X-Dev-Identity-Id.
type localDoor struct{ url string }

func (d localDoor) do(t *testing.T, req request) response {
	t.Helper()
	hr, err := http.NewRequest(req.method, d.url+req.path, strings.NewReader(req.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range req.header {
		hr.Header.Set(k, v)
	}
	if req.user != "" {
		hr.Header.Set("X-Dev-Identity-Id", req.user)
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
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// v1Door is the Lambda front door given REST API events as API Gateway
// sends them deployed: identity in requestContext.identity.
type v1Door struct{ g *gateway }

func (d v1Door) do(t *testing.T, req request) response {
	t.Helper()
	u, err := url.Parse(req.path)
	if err != nil {
		t.Fatal(err)
	}
	ev := events.APIGatewayProxyRequest{
		Resource:          "/{proxy+}",
		Path:              u.Path,
		HTTPMethod:        req.method,
		MultiValueHeaders: map[string][]string{},
		Body:              req.body,
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID: "v1-" + t.Name(), Stage: "prod", ResourcePath: "/{proxy+}", HTTPMethod: req.method,
			Identity: events.APIGatewayRequestIdentity{CognitoIdentityID: req.user, SourceIP: "203.0.113.7"},
		},
	}
	if q := u.Query(); len(q) > 0 {
		ev.MultiValueQueryStringParameters = q
	}
	for k, v := range req.header {
		ev.MultiValueHeaders[k] = []string{v}
	}
	var resp events.APIGatewayProxyResponse
	invoke(t, d.g, ev, &resp)
	h := http.Header{}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		h.Add(k, v)
	}
	return response{status: resp.StatusCode, header: h, body: []byte(resp.Body)}
}

// v2Door is the Lambda front door given HTTP API (payload 2.0) events:
// lower-case single-value headers, identity in the IAM authorizer.
type v2Door struct{ g *gateway }

func (d v2Door) do(t *testing.T, req request) response {
	t.Helper()
	u, err := url.Parse(req.path)
	if err != nil {
		t.Fatal(err)
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "ANY /{proxy+}",
		RawPath:        u.Path,
		RawQueryString: u.RawQuery,
		Headers:        map[string]string{},
		Body:           req.body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "v2-" + t.Name(),
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: req.method, Path: u.Path, SourceIP: "203.0.113.7"},
		},
	}
	if req.user != "" {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
				CognitoIdentity: events.APIGatewayV2HTTPRequestContextAuthorizerCognitoIdentity{IdentityID: req.user},
			},
		}
	}
	for k, v := range req.header {
		ev.Headers[strings.ToLower(k)] = v
	}
	var resp events.APIGatewayV2HTTPResponse
	invoke(t, d.g, ev, &resp)
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	return response{status: resp.StatusCode, header: h, body: []byte(resp.Body)}
}

// invoke sends an event through the Lambda handler as the runtime would:
// JSON in, JSON out.
func invoke(t *testing.T, g *gateway, ev, resp any) {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out, err := g.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if err := json.Unmarshal(out, resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
}

// testConfig is the configuration the tests start from: the defaults.
func testConfig(t *testing.T, env map[string]string) config {
	t.Helper()
	c, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("loadConfig(%v): %v", env, err)
	}
	return c
}

// openTestStore is a real bbolt store in a temporary directory.
func openTestStore(t *testing.T) routes.NoteStore {
	t.Helper()
	db, s, err := openBolt(filepath.Join(t.TempDir(), "notes.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return s
}

var tableSeq atomic.Int64

// openTestDynamo is the DynamoDB store on a fresh table in dynalite,
// configured the way main configures it: NOTES_TABLE and the SDK's own
// AWS_* variables, AWS_ENDPOINT_URL_DYNAMODB among them.
func openTestDynamo(t *testing.T) routes.NoteStore {
	t.Helper()
	s, _, _ := newTestDynamo(t)
	return s
}

// newTestDynamo is openTestDynamo with the client and table, for tests
// that seed items directly.
func newTestDynamo(t testing.TB) (routes.NoteStore, *dynamodb.Client, string) {
	t.Helper()
	ep := os.Getenv("NOTES_TEST_DYNAMODB_ENDPOINT")
	if ep == "" {
		missing(t, "no DynamoDB-compatible server (NOTES_TEST_DYNAMODB_ENDPOINT)")
	}
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": ep, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	table := fmt.Sprintf("notes-main-%d-%d", os.Getpid(), tableSeq.Add(1))
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodb.NewFromConfig(awsCfg)
	if err := store.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &table}) })
	c, err := loadConfig(func(k string) string { return map[string]string{"NOTES_TABLE": table}[k] })
	if err != nil {
		t.Fatal(err)
	}
	s, closeStore, err := openStore(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStore() })
	return s, client, table
}

// doors returns the three front doors, each on its own fresh bbolt store
// and configured from env like main would be.
func doors(t *testing.T, env map[string]string, wrap func(routes.NoteStore) routes.NoteStore) map[string]door {
	t.Helper()
	return doorsOn(t, openTestStore, env, wrap)
}

// doorsOn is doors on the stores open makes.
func doorsOn(t *testing.T, open func(*testing.T) routes.NoteStore, env map[string]string, wrap func(routes.NoteStore) routes.NoteStore) map[string]door {
	t.Helper()
	if wrap == nil {
		wrap = func(s routes.NoteStore) routes.NoteStore { return s }
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	local := testConfig(t, env)
	h, err := newHandler(local, wrap(open(t)), log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	lambdaEnv := map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}
	for k, v := range env {
		lambdaEnv[k] = v
	}
	deployed := testConfig(t, lambdaEnv)
	gw := func() *gateway {
		h, err := newHandler(deployed, wrap(open(t)), log)
		if err != nil {
			t.Fatal(err)
		}
		return newGateway(h, log)
	}
	return map[string]door{
		"local": localDoor{url: srv.URL},
		"v1":    v1Door{g: gw()},
		"v2":    v2Door{g: gw()},
	}
}

// eachDoor runs f as a subtest through every front door, on the embedded
// store and on DynamoDB (dynalite).
func eachDoor(t *testing.T, env map[string]string, wrap func(routes.NoteStore) routes.NoteStore, f func(t *testing.T, d door)) {
	for _, st := range []struct {
		name string
		open func(*testing.T) routes.NoteStore
	}{{"bolt", openTestStore}, {"dynamo", openTestDynamo}} {
		t.Run(st.name, func(t *testing.T) {
			for name, d := range doorsOn(t, st.open, env, wrap) {
				t.Run(name, func(t *testing.T) { f(t, d) })
			}
		})
	}
}

var jsonHeader = map[string]string{"Content-Type": "application/json"}

type note struct {
	UserID     string `json:"userId"`
	NoteID     string `json:"noteId"`
	Content    string `json:"content"`
	Attachment any    `json:"attachment"` // a string or nil, comparable with ==
	CreatedAt  int64  `json:"createdAt"`
	UpdatedAt  int64  `json:"updatedAt"`
}

func createNote(t *testing.T, d door, user, content string) note {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"content": content, "attachment": nil})
	resp := d.do(t, request{method: "POST", path: "/notes", body: string(body), header: jsonHeader, user: user})
	if resp.status != http.StatusCreated {
		t.Fatalf("create: status = %d, want 201 (body %s)", resp.status, resp.body)
	}
	var n note
	resp.json(t, &n)
	return n
}
