package apitest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/scratch-notes/notes-api/routes"
)

var (
	contractOnce   sync.Once
	contractDoc    *openapi3.T
	contractRouter routers.Router
	contractErr    error
)

// Contract is the API's OpenAPI document (routes.OpenAPI), checked and
// ready to match requests.
func Contract(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	contractOnce.Do(func() {
		contractDoc, contractErr = openapi3.NewLoader().LoadFromData(routes.OpenAPI())
		if contractErr == nil {
			contractErr = contractDoc.Validate(context.Background())
		}
		if contractErr == nil {
			contractRouter, contractErr = gorillamux.NewRouter(contractDoc)
		}
	})
	if contractErr != nil {
		t.Fatalf("openapi.json: %v", contractErr)
	}
	return contractDoc, contractRouter
}

// ContractDoc is Contract's document.
func ContractDoc(t testing.TB) *openapi3.T {
	t.Helper()
	doc, _ := Contract(t)
	return doc
}

// Checked is a door whose every answer is held to the OpenAPI document:
// its status must be one the document gives the operation, its headers
// and body must match what the document says of that status; and a
// request the API accepted (2xx) must be one the document describes.
type Checked struct{ Door }

// Do implements Door.
func (c Checked) Do(t testing.TB, req Request) Response {
	t.Helper()
	resp := c.Door.Do(t, req)
	CheckContract(t, req, resp)
	return resp
}

// CheckContract holds one request and its answer to the OpenAPI document.
func CheckContract(t testing.TB, req Request, resp Response) {
	t.Helper()
	_, router := Contract(t)
	if req.Method == http.MethodHead {
		// HEAD is GET's answer without its body (RFC 9110): the document
		// describes GET, and the status must be one of GET's.
		if len(resp.Body) != 0 {
			t.Fatalf("HEAD %s answered a body: %.100s", req.Path, resp.Body)
		}
		get, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:3000"+req.Path, nil)
		route, _, err := router.FindRoute(get)
		if err != nil {
			if resp.Status != http.StatusNotFound && resp.Status != http.StatusMethodNotAllowed {
				t.Fatalf("HEAD %s: GET is no operation of openapi.json, yet HEAD answered %d", req.Path, resp.Status)
			}
			return
		}
		if route.Operation.Responses.Status(resp.Status) == nil && route.Operation.Responses.Default() == nil {
			t.Fatalf("HEAD %s answered %d, which openapi.json does not give GET", req.Path, resp.Status)
		}
		return
	}
	hr := httptest.NewRequest(req.Method, "http://127.0.0.1:3000"+req.Path, strings.NewReader(req.Body))
	for k, v := range req.Header {
		hr.Header.Set(k, v)
	}
	route, params, err := router.FindRoute(hr)
	if err != nil {
		// Not an operation of the document: a preflight, or a path or
		// method the API does not have, which must be answered as such.
		if req.Method != http.MethodOptions && resp.Status != http.StatusNotFound && resp.Status != http.StatusMethodNotAllowed {
			t.Fatalf("%s %s is no operation of openapi.json, yet answered %d", req.Method, req.Path, resp.Status)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if resp.Status/100 == 2 {
		hr.Body = io.NopCloser(strings.NewReader(req.Body))
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Fatalf("%s %s was accepted (%d) but openapi.json does not describe it: %v", req.Method, req.Path, resp.Status, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.Status, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(resp.Body)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Fatalf("%s %s answered %d %.300s, which openapi.json does not describe: %v", req.Method, req.Path, resp.Status, resp.Body, err)
	}
}
