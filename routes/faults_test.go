//go:build !lambda

package routes_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/store"
)

// TestStoreFaults fails each store operation each way, through every
// front door: the answer is the right 5xx as JSON with CORS headers and a
// request id that the log names, and nothing was half done: no note
// created, changed or deleted, no file deleted.
func TestStoreFaults(t *testing.T) {
	internal := errors.New("dial tcp 10.0.0.5:8000: connection refused")
	for _, fault := range []struct {
		name       string
		err        error
		status     int
		retryAfter bool
	}{
		{"error", internal, 500, false},
		{"deadline", fmt.Errorf("dynamo get: %w", context.DeadlineExceeded), 503, true},
		{"cancelled", fmt.Errorf("dynamo get: %w", context.Canceled), 503, true},
		{"unavailable", fmt.Errorf("throttled: %w", store.ErrUnavailable), 503, true},
	} {
		for _, c := range []struct {
			op, method, path, body string
		}{
			{"Create", "POST", "/notes", `{"content":"new"}`},
			{"Get", "GET", "/notes/{id}", ""},
			{"Get", "GET", "/notes/{id}/attachment", ""},
			{"List", "GET", "/notes", ""},
			{"Update", "PUT", "/notes/{id}", `{"content":"changed","attachment":null}`},
			{"Delete", "DELETE", "/notes/{id}", ""},
		} {
			t.Run(fault.name+"/"+c.op+" "+c.path, func(t *testing.T) {
				var logs testenv.Buffer
				files := localBucket(t)
				notes := openBolt(t)
				s := withOrigins(apitest.AppOrigin)
				s.files = files.files
				s.log = slog.New(slog.NewJSONHandler(&logs, nil))
				s.wrap = func(storetest.Store) storetest.Store {
					return storetest.Failing(notes, c.op, fault.err)
				}
				for name, d := range doorsOn(t, func(testing.TB) storetest.Store { return notes }, s) {
					t.Run(name, func(t *testing.T) {
						good := s
						good.wrap = nil
						setup := doorsOn(t, func(testing.TB) storetest.Store { return notes }, good)["local"]
						up := presign(t, setup, files.alice, "a.txt", "text/plain", 1)
						if put(t, up, []byte("a")) != http.StatusOK {
							t.Fatal("upload failed")
						}
						n := noteWith(t, setup, files.alice, up.Key)
						before := listAll(t, setup, files.alice)

						resp := d.Do(t, apitest.Request{Method: c.method, Path: strings.Replace(c.path, "{id}", n.NoteID, 1), Body: c.body,
							User: files.alice, Header: map[string]string{"Content-Type": "application/json", "Origin": apitest.AppOrigin}})
						if resp.Status != fault.status {
							t.Fatalf("status = %d, want %d (%s)", resp.Status, fault.status, resp.Body)
						}
						msg := resp.ErrorMessage(t)
						if strings.Contains(msg, "10.0.0.5") || strings.Contains(msg, "dynamo") {
							t.Fatalf("message %q names internals", msg)
						}
						if got := resp.Header.Get("Retry-After") != ""; got != fault.retryAfter {
							t.Fatalf("Retry-After present = %v, want %v", got, fault.retryAfter)
						}
						if resp.Header.Get("Access-Control-Allow-Origin") != apitest.AppOrigin {
							t.Fatalf("no CORS headers: %v", resp.Header)
						}
						id := resp.Header.Get("X-Request-Id")
						if id == "" || !loggedFailure(logs.String(), id, fault.status) {
							t.Fatalf("the log has no failure line for request id %q:\n%s", id, logs.String())
						}
						if after := listAll(t, setup, files.alice); after != before {
							t.Fatalf("the notes changed:\nbefore %s\nafter  %s", before, after)
						}
						if !files.exists(t, "private/"+files.alice+"/"+up.Key) {
							t.Fatal("the note's file was deleted")
						}
					})
				}
			})
		}
	}
}

// listAll is a user's notes as stored, for comparing before and after.
func listAll(t *testing.T, d apitest.Door, user string) string {
	t.Helper()
	resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes", User: user})
	if resp.Status != http.StatusOK {
		t.Fatalf("list = %d", resp.Status)
	}
	return string(resp.Body)
}

// loggedFailure reports whether the JSON log has a failure line for the
// request, with its status.
func loggedFailure(logs, requestID string, status int) bool {
	for _, line := range strings.Split(logs, "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["msg"] == "request failed" &&
			e["apiRequestId"] == requestID && e["status"] == float64(status) {
			return true
		}
	}
	return false
}
