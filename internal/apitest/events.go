package apitest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FixtureNoteID is the note id the testdata events name; the tests swap in
// the id of a note they created.
const FixtureNoteID = "0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e"

// EventUser is the Cognito identity in the deployed testdata events.
const EventUser = "us-east-1:3f0c6a2e-1b7d-4c55-9a2e-0d6f4b8e9c11"

// EventResponse is a v1 or v2 proxy response, read as the gateway would.
type EventResponse struct {
	Status int
	Header http.Header
	Body   string
}

// InvokeFile sends the event in file, with noteID in place of
// FixtureNoteID, and checks that the answer is in the event's own format:
// a file under a directory named v2 is a payload 2.0 event.
func InvokeFile(t testing.TB, inv Invoker, file, noteID string) EventResponse {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	payload := strings.ReplaceAll(string(raw), FixtureNoteID, noteID)
	out, err := inv.Invoke(context.Background(), []byte(payload))
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
	v2 := filepath.Base(filepath.Dir(file)) == "v2"
	if !v2 && r.Headers != nil {
		t.Fatalf("%s: a REST v1 answer has v2 single-value headers", file)
	}
	if v2 && r.MultiValueHeaders != nil {
		t.Fatalf("%s: a v2 answer has v1 multi-value headers", file)
	}
	return EventResponse{Status: r.StatusCode, Header: h, Body: r.Body}
}

// CheckEventFlow sends the events of dir (testdata/events/v1 or v2) in
// the order a user would, to an invoker configured as deployed with
// CORS_ALLOWED_ORIGINS=https://app.example.com and no billing, and checks
// what API Gateway would return to the browser at that origin.
func CheckEventFlow(t testing.TB, inv Invoker, dir string) {
	t.Helper()
	steps := []struct {
		file       string
		want       int
		wantUserID string
	}{
		{"create.json", 201, EventUser},
		{"get.json", 200, EventUser},
		{"list.json", 200, ""},
		{"update.json", 200, EventUser},
		{"billing.json", 503, ""},
		{"preflight.json", 200, ""},
		{"delete.json", 204, ""},
		{"get.json", 404, ""},
		{"no-identity.json", 401, ""},
	}
	id := FixtureNoteID
	for _, s := range steps {
		file := filepath.Join(dir, s.file)
		r := InvokeFile(t, inv, file, id)
		if r.Status != s.want {
			t.Fatalf("%s: status = %d, want %d (%s)", file, r.Status, s.want, r.Body)
		}
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != AppOrigin {
			t.Fatalf("%s: Allow-Origin = %q, want %q", file, got, AppOrigin)
		}
		if r.Header.Get("X-Request-Id") == "" {
			t.Fatalf("%s: no X-Request-Id", file)
		}
		if s.want == 204 || s.file == "preflight.json" {
			if r.Body != "" {
				t.Fatalf("%s: body %q, want none", file, r.Body)
			}
			continue
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s: Content-Type = %q", file, ct)
		}
		if s.wantUserID != "" {
			var n Note
			if err := json.Unmarshal([]byte(r.Body), &n); err != nil {
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

// CheckSAMLocalFlow sends the events of dir (testdata/events/v1-sam-local)
// to an invoker with AWS_SAM_LOCAL=true and DEV_IDENTITY_ID=sam-user.
func CheckSAMLocalFlow(t testing.TB, inv Invoker, dir string) {
	t.Helper()
	r := InvokeFile(t, inv, filepath.Join(dir, "create.json"), FixtureNoteID)
	if r.Status != 201 {
		t.Fatalf("create = %d %s", r.Status, r.Body)
	}
	var n Note
	json.Unmarshal([]byte(r.Body), &n)
	if n.UserID != "sam-user" {
		t.Fatalf("userId = %q, want the dev identity sam-user", n.UserID)
	}
	r = InvokeFile(t, inv, filepath.Join(dir, "list.json"), FixtureNoteID)
	var list []Note
	json.Unmarshal([]byte(r.Body), &list)
	if r.Status != 200 || len(list) != 1 || list[0].NoteID != n.NoteID {
		t.Fatalf("list = %d %s", r.Status, r.Body)
	}
	r = InvokeFile(t, inv, filepath.Join(dir, "preflight.json"), FixtureNoteID)
	if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "*" || !HeaderListHas(r.Header.Get("Access-Control-Allow-Headers"), "x-amz-security-token") {
		t.Fatalf("preflight = %d %v", r.Status, r.Header)
	}
}

// ReadEvent reads an event file of testdata/events.
func ReadEvent(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ReplaceNoteID puts noteID where an event file names FixtureNoteID.
func ReplaceNoteID(event, noteID string) string {
	return strings.ReplaceAll(event, FixtureNoteID, noteID)
}
