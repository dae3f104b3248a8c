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
	contractRouter routers.Router
	contractErr    error
)

// Contract is the API's OpenAPI document (routes.OpenAPI), checked and
// ready to match requests.
func Contract(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	var doc *openapi3.T
	contractOnce.Do(func() {
		doc, contractErr = openapi3.NewLoader().LoadFromData(routes.OpenAPI())
		if contractErr == nil {
			contractErr = doc.Validate(context.Background())
		}
		if contractErr == nil {
			contractRouter, contractErr = gorillamux.NewRouter(doc)
		}
	})
	if contractErr != nil {
		t.Fatalf("openapi.json: %v", contractErr)
	}
	return doc, contractRouter
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
