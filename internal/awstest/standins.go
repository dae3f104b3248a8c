package awstest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scratch-notes/notes-api/internal/apitest"
)

// The two stand-ins below put a Lambda handler behind HTTP the way the
// tools that cannot run here do, so that a browser meets what it would
// meet. Each does what its tool does, read from the tool's source (SAM CLI
// 1.164's samcli/local/apigw) or from template.yaml, never copied.

var standinSeq atomic.Int64

// SAMLocal is `sam local start-api` on this template: every request is a
// REST v1 event for the function, and the function's answer the HTTP
// answer. Like the real tool it ignores the AWS_IAM authorizer (it runs
// only Lambda authorizers), so the event has no Cognito identity
// (identity holds none of those keys) and the function runs with
// AWS_SAM_LOCAL=true (the caller's job, setting up inv); it sends the body
// as raw UTF-8 (isBase64Encoded false: the template has no binary media
// types), the stage from the template (its Stage parameter's default),
// the last value of a repeated query key (queryStringParameters; the
// multi-value form has them all), and it adds Content-Type:
// application/json to an answer that has none, and nothing else. What a
// developer meets, as SAM CLI 1.164 and its web server (werkzeug) do it:
//
//   - every request has the same request id: RequestContext's default
//     request_id=str(uuid.uuid4()) is made once, when Python defines it;
//   - a repeated header arrives as one value joined with ","
//     (werkzeug's environ), in headers and in multiValueHeaders alike;
//   - a header with "_" in its name never arrives (werkzeug drops it);
//   - SAM's own 502, when the function fails, has no CORS headers.
type SAMLocal struct {
	inv       apitest.Invoker
	stage     string
	requestID string
}

// NewSAMLocal is sam local start-api in front of inv, the function run
// with AWS_SAM_LOCAL=true.
func NewSAMLocal(t testing.TB, inv apitest.Invoker) SAMLocal {
	t.Helper()
	return SAMLocal{inv: inv, stage: LoadTemplate(t).Value(t, "Parameters", "Stage", "Default"),
		requestID: fmt.Sprintf("c4a0b1e2-sam-local-%d", standinSeq.Add(1))}
}

func (s SAMLocal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	payload, _ := json.Marshal(s.event(r, body))
	out, err := s.inv.Invoke(r.Context(), payload)
	if err != nil {
		// SAM's lambda_failure_response.
		writeGatewayJSON(w, http.StatusBadGateway, nil, `{"message":"Internal server error"}`)
		return
	}
	var resp events.APIGatewayProxyResponse
	json.Unmarshal(out, &resp)
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		h[http.CanonicalHeaderKey(k)] = vs
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	writeGatewayJSON(w, resp.StatusCode, h, resp.Body)
}

// event is SAM's construct_v1_event for r, key for key (ApiGatewayLambdaEvent
// and RequestContext.to_dict): nulls where SAM has None.
func (s SAMLocal) event(r *http.Request, body []byte) map[string]any {
	orNil := func(m map[string]any) any {
		if len(m) == 0 {
			return nil
		}
		return m
	}
	headers, multiHeaders := map[string]any{}, map[string]any{}
	for k, vs := range r.Header {
		if strings.Contains(k, "_") {
			continue
		}
		joined := strings.Join(vs, ",")
		headers[k], multiHeaders[k] = joined, []string{joined}
	}
	headers["X-Forwarded-Proto"], multiHeaders["X-Forwarded-Proto"] = "http", []string{"http"}
	port := r.Host[strings.LastIndex(r.Host, ":")+1:]
	headers["X-Forwarded-Port"], multiHeaders["X-Forwarded-Port"] = port, []string{port}
	query, multiQuery := map[string]any{}, map[string]any{}
	for k, vs := range r.URL.Query() {
		query[k], multiQuery[k] = vs[len(vs)-1], vs
	}
	var b any
	if len(body) > 0 {
		b = string(body)
	}
	now := time.Now().UTC()
	return map[string]any{
		"httpMethod": r.Method, "body": b, "resource": "/{proxy+}", "path": r.URL.Path,
		"queryStringParameters": orNil(query), "multiValueQueryStringParameters": orNil(multiQuery),
		"headers": orNil(headers), "multiValueHeaders": orNil(multiHeaders),
		"pathParameters": map[string]any{"proxy": strings.TrimPrefix(r.URL.Path, "/")}, "stageVariables": nil,
		"isBase64Encoded": false,
		"requestContext": map[string]any{
			"resourceId": "123456", "apiId": "1234567890", "resourcePath": "/{proxy+}", "httpMethod": r.Method,
			"requestId": s.requestID, "accountId": "123456789012", "stage": s.stage,
			"identity": map[string]any{
				"apiKey": nil, "userArn": nil, "cognitoAuthenticationType": nil, "caller": nil, "userAgent": "Custom User Agent String",
				"user": nil, "cognitoIdentityPoolId": nil, "cognitoAuthenticationProvider": nil, "sourceIp": "127.0.0.1", "accountId": nil,
			},
			"extendedRequestId": nil, "path": "/{proxy+}", "protocol": "HTTP/1.1", "domainName": r.Host,
			"requestTimeEpoch": now.UnixMilli(), "requestTime": now.Format("02/Jan/2006:15:04:05 +0000"),
		},
	}
}

// proxyEvent is the REST v1 event of r, as API Gateway sends it deployed.
func proxyEvent(r *http.Request, body []byte) events.APIGatewayProxyRequest {
	ev := events.APIGatewayProxyRequest{
		Resource: "/{proxy+}", Path: r.URL.Path, HTTPMethod: r.Method,
		Headers: map[string]string{}, MultiValueHeaders: map[string][]string{},
		PathParameters: map[string]string{"proxy": strings.TrimPrefix(r.URL.Path, "/")},
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID: fmt.Sprintf("standin-%d-%d", time.Now().UnixNano(), standinSeq.Add(1)), ResourcePath: "/{proxy+}",
			HTTPMethod: r.Method, Path: "/{proxy+}", Protocol: "HTTP/1.1", RequestTimeEpoch: time.Now().UnixMilli(),
		},
		Body: string(body),
	}
	for k, vs := range r.Header {
		ev.Headers[k] = vs[0]
		ev.MultiValueHeaders[k] = vs
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = map[string]string{}
		ev.MultiValueQueryStringParameters = q
		for k, vs := range q {
			ev.QueryStringParameters[k] = vs[len(vs)-1]
		}
	}
	return ev
}

func writeGatewayJSON(w http.ResponseWriter, status int, h http.Header, body string) {
	for k, vs := range h {
		w.Header()[k] = vs
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// Deployed is the template's REST API as API Gateway serves it: a
// request to a method whose Auth is the default AWS_IAM and that is not
// signed is refused by API Gateway itself, with 403, the body and the
// headers of the template's DEFAULT_4XX gateway response; a signed one reaches the function with the caller's
// Cognito identity. The routes and which of them need no signature are
// read from the template's events. It cannot check a signature (there is
// no IAM here): any SigV4 Authorization header stands for a valid one.
type Deployed struct {
	t              testing.TB
	stage          string
	inv            apitest.Invoker
	allowedOrigins string // the AllowedOrigins parameter
	identity       string // the Cognito identity of a signed request
	doc            Template
	events         []apiEvent // every event of the function
	unsigned       []apiEvent // those with Auth NONE
}

type apiEvent struct{ path, method string }

// NewDeployed is API Gateway serving the template in front of inv, with
// the AllowedOrigins parameter allowedOrigins; a signed request reaches the
// function as the Cognito identity identity.
func NewDeployed(t testing.TB, inv apitest.Invoker, allowedOrigins, identity string) Deployed {
	t.Helper()
	d := LoadTemplate(t)
	api := Deployed{t: t, inv: inv, allowedOrigins: allowedOrigins, identity: identity, doc: d,
		stage: d.Value(t, "Parameters", "Stage", "Default")}
	evs := d.Must(t, "Resources", "NotesFunction", "Properties", "Events")
	for i := 1; i < len(evs.Content); i += 2 {
		e := evs.Content[i]
		if At(e, "Type").Value != "Api" {
			continue // the schedule: no route of API Gateway's
		}
		ev := apiEvent{At(e, "Properties", "Path").Value, strings.ToUpper(At(e, "Properties", "Method").Value)}
		api.events = append(api.events, ev)
		if a := At(e, "Properties", "Auth", "Authorizer"); a != nil && a.Value == "NONE" {
			api.unsigned = append(api.unsigned, ev)
		}
	}
	if len(api.unsigned) == 0 {
		t.Fatal("the template lets no request through unsigned: not even preflights")
	}
	return api
}

// needsSignature reports whether API Gateway asks r for a signature: it
// matches path and method together (an event on r's exact path for r's
// method, or ANY), then falls back to /{proxy+} for that method, so that
// an unsigned OPTIONS /openapi.json reaches the preflight handler; only
// the template's unsigned events need none.
func (d Deployed) needsSignature(r *http.Request) bool {
	matches := func(e apiEvent, path string) bool {
		return e.path == path && (e.method == r.Method || e.method == "ANY")
	}
	if slices.ContainsFunc(d.events, func(e apiEvent) bool { return matches(e, r.URL.Path) }) {
		return !slices.ContainsFunc(d.unsigned, func(e apiEvent) bool { return matches(e, r.URL.Path) })
	}
	return !slices.ContainsFunc(d.unsigned, func(e apiEvent) bool { return matches(e, "/{proxy+}") })
}

// gatewayBody is the body of the gateway response named response, as the
// template's application/json ResponseTemplate makes it for API Gateway's
// message and request id (API Gateway's own {"message"} without one).
func (d Deployed) gatewayBody(response, message, requestID string) string {
	quoted, _ := json.Marshal(message)
	tpl := At(d.doc.Root, "Resources", "NotesApi", "Properties", "GatewayResponses", response, "ResponseTemplates", "application/json")
	if tpl == nil {
		return `{"message":` + string(quoted) + `}`
	}
	return strings.NewReplacer("$context.error.messageString", string(quoted), "$context.requestId", requestID).Replace(tpl.Value)
}

func (d Deployed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	signed := strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")
	if d.needsSignature(r) && !signed {
		writeGatewayJSON(w, http.StatusForbidden, d.gatewayHeaders(r, "DEFAULT_4XX"),
			d.gatewayBody("DEFAULT_4XX", "Missing Authentication Token", fmt.Sprintf("gw-%d", standinSeq.Add(1))))
		return
	}
	body, _ := io.ReadAll(r.Body)
	ev := proxyEvent(r, body)
	ev.RequestContext.Stage = d.stage
	ev.RequestContext.DomainName = "abc123defg.execute-api.us-east-1.amazonaws.com"
	if signed && d.needsSignature(r) {
		ev.RequestContext.Identity.CognitoIdentityID = d.identity
	}
	payload, _ := json.Marshal(ev)
	out, err := d.inv.Invoke(r.Context(), payload)
	var resp events.APIGatewayProxyResponse
	if err != nil || json.Unmarshal(out, &resp) != nil || resp.StatusCode == 0 {
		writeGatewayJSON(w, http.StatusBadGateway, d.gatewayHeaders(r, "DEFAULT_5XX"),
			d.gatewayBody("DEFAULT_5XX", "Internal server error", ev.RequestContext.RequestID))
		return
	}
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		h[http.CanonicalHeaderKey(k)] = vs
	}
	b := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, _ = base64.StdEncoding.DecodeString(resp.Body)
	}
	for k, vs := range h {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(b)
}

// gatewayHeaders are the template's gateway response headers, evaluated
// for AllowedOrigins and r as API Gateway evaluates them: 'quoted' values
// as they are, method.request.header.X as the request's header X.
func (d Deployed) gatewayHeaders(r *http.Request, response string) http.Header {
	h := http.Header{}
	n := At(d.doc.Root, "Resources", "NotesApi", "Properties", "GatewayResponses", response, "ResponseParameters", "Headers")
	for i := 1; n != nil && i < len(n.Content); i += 2 {
		v := n.Content[i].Value
		if tag := n.Content[i].Tag; tag == "!If" || tag == "!Sub" {
			v = d.doc.GatewayOrigin(d.t, n.Content[i], d.allowedOrigins)
		}
		if name, ok := strings.CutPrefix(v, "method.request.header."); ok {
			if rv := r.Header.Get(name); rv != "" {
				h.Set(n.Content[i-1].Value, rv)
			}
			continue
		}
		h.Set(n.Content[i-1].Value, strings.Trim(v, "'"))
	}
	return h
}
