//go:build !lambda

package routes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/scratch-notes/notes-api/internal/apitest"
)

// TestIntegerRules: a whole number in a body is judged by its value, as
// the validators a client checks openapi.json with judge JSON Schema's
// integer (21.0 and 1e3 are whole; 21.5 is not), and a string only where
// the document allows one (storage, digits only, "0" refused). The server
// and the document agree on each: a body the server takes is one the
// document describes, and one it refuses is one the document refuses.
func TestIntegerRules(t *testing.T) {
	s := defaults()
	s.billing = approvingBiller{}
	s.files = localBucket(t).files
	d := doors(t, s)["local"]
	_, router := apitest.Contract(t)
	cases := []struct {
		path, body string
		accepted   bool
		want       int64 // the whole number the server read
	}{
		{"/billing", `{"storage":21}`, true, 21},
		{"/billing", `{"storage":21.0}`, true, 21},
		{"/billing", `{"storage":2.1e1}`, true, 21},
		{"/billing", `{"storage":1e3}`, true, 1000},
		{"/billing", `{"storage":"21"}`, true, 21},
		{"/billing", `{"storage":21.5}`, false, 0},
		{"/billing", `{"storage":"0"}`, false, 0},
		{"/billing", `{"storage":0}`, false, 0},
		{"/billing", `{"storage":"1e3"}`, false, 0},
		{"/billing", `{"storage":1e300}`, false, 0},
		{"/attachments", `{"fileName":"a.txt","contentType":"text/plain","size":12}`, true, 12},
		{"/attachments", `{"fileName":"a.txt","contentType":"text/plain","size":12.0}`, true, 12},
		{"/attachments", `{"fileName":"a.txt","contentType":"text/plain","size":1.2e1}`, true, 12},
		{"/attachments", `{"fileName":"a.txt","contentType":"text/plain","size":"12"}`, false, 0},
		{"/attachments", `{"fileName":"a.txt","contentType":"text/plain","size":12.5}`, false, 0},
	}
	for _, tc := range cases {
		resp := d.Do(t, apitest.Request{Method: "POST", Path: tc.path, Header: apitest.JSONHeader(), User: apitest.Alice, Body: tc.body})
		if accepted := resp.Status/100 == 2; accepted != tc.accepted {
			t.Fatalf("POST %s %s = %d %s, want accepted %v", tc.path, tc.body, resp.Status, resp.Body, tc.accepted)
		}
		if tc.accepted {
			var got struct{ Storage, Amount int64 }
			json.Unmarshal(resp.Body, &got)
			if tc.path == "/billing" && got.Storage != tc.want {
				t.Fatalf("POST /billing %s bought %d notes, want %d", tc.body, got.Storage, tc.want)
			}
		}
		// The document, as a client's validator reads it.
		hr, _ := http.NewRequest("POST", "http://127.0.0.1:3000"+tc.path, bytes.NewReader([]byte(tc.body)))
		hr.Header.Set("Content-Type", "application/json")
		route, params, err := router.FindRoute(hr)
		if err != nil {
			t.Fatal(err)
		}
		err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}})
		if (err == nil) != tc.accepted {
			t.Fatalf("POST %s %s: the server accepts %v, openapi.json %v (%v)", tc.path, tc.body, tc.accepted, err == nil, err)
		}
	}
}
