package routes_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/store"
)

func TestNoteEndpoints(t *testing.T) {
	eachDoor(t, defaults(), func(t *testing.T, d apitest.Door) {
		resp := d.Do(t, apitest.Request{Method: "POST", Path: "/notes", Header: apitest.JSONHeader(), User: apitest.Alice,
			Body: `{"content":"hello world","attachment":"1603846842984-hello.jpg"}`})
		if resp.Status != http.StatusCreated {
			t.Fatalf("POST status = %d, want 201 (%s)", resp.Status, resp.Body)
		}
		var created apitest.Note
		resp.JSON(t, &created)
		if created.UserID != apitest.Alice || created.Content != "hello world" || created.Attachment != "1603846842984-hello.jpg" || created.CreatedAt == 0 || created.UpdatedAt != 0 {
			t.Fatalf("created = %+v", created)
		}
		if len(created.NoteID) != 36 || created.NoteID[14] != '7' {
			t.Fatalf("noteId = %q, want a UUIDv7", created.NoteID)
		}
		if got, want := resp.Header.Get("Location"), "/notes/"+created.NoteID; got != want {
			t.Fatalf("Location = %q, want %q", got, want)
		}
		if got := resp.Header.Get("Content-Type"); got != "application/json" {
			t.Fatalf("Content-Type = %q", got)
		}

		resp = d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + created.NoteID, User: apitest.Alice})
		var got apitest.Note
		resp.JSON(t, &got)
		if resp.Status != http.StatusOK || got != created {
			t.Fatalf("GET = %d %+v, want 200 %+v", resp.Status, got, created)
		}

		resp = d.Do(t, apitest.Request{Method: "GET", Path: "/notes", User: apitest.Alice})
		var list []apitest.Note
		resp.JSON(t, &list)
		if resp.Status != http.StatusOK || len(list) != 1 || list[0] != created {
			t.Fatalf("list = %d %s", resp.Status, resp.Body)
		}
		if resp.Header.Get("X-Next-Cursor") != "" {
			t.Fatalf("X-Next-Cursor on a complete list: %q", resp.Header.Get("X-Next-Cursor"))
		}

		resp = d.Do(t, apitest.Request{Method: "PUT", Path: "/notes/" + created.NoteID, Header: apitest.JSONHeader(), User: apitest.Alice,
			Body: `{"content":"new world"}`})
		var updated apitest.Note
		resp.JSON(t, &updated)
		if resp.Status != http.StatusOK || updated.Content != "new world" || updated.Attachment != nil ||
			updated.CreatedAt != created.CreatedAt || updated.UpdatedAt == 0 || updated.NoteID != created.NoteID {
			t.Fatalf("PUT = %d %s; want the note with content replaced and attachment null", resp.Status, resp.Body)
		}
		if !strings.Contains(string(resp.Body), `"attachment":null`) {
			t.Fatalf("PUT body %s: attachment must be present as null", resp.Body)
		}

		resp = d.Do(t, apitest.Request{Method: "DELETE", Path: "/notes/" + created.NoteID, User: apitest.Alice})
		if resp.Status != http.StatusNoContent || len(resp.Body) != 0 {
			t.Fatalf("DELETE = %d %q, want 204 and no body", resp.Status, resp.Body)
		}
		resp = d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + created.NoteID, User: apitest.Alice})
		if resp.Status != http.StatusNotFound {
			t.Fatalf("GET after DELETE = %d, want 404", resp.Status)
		}
		resp.ErrorMessage(t)

		resp = d.Do(t, apitest.Request{Method: "GET", Path: "/notes", User: apitest.Alice})
		if resp.Status != http.StatusOK || strings.TrimSpace(string(resp.Body)) != "[]" {
			t.Fatalf("empty list = %d %s, want 200 []", resp.Status, resp.Body)
		}
	})
}

func TestBillingIsNotConfigured(t *testing.T) {
	eachDoor(t, defaults(), func(t *testing.T, d apitest.Door) {
		resp := d.Do(t, apitest.Request{Method: "POST", Path: "/billing", Header: apitest.JSONHeader(), User: apitest.Alice,
			Body: `{"storage":"21","source":"tok_visa"}`})
		if resp.Status != http.StatusServiceUnavailable {
			t.Fatalf("status = %d, want 503", resp.Status)
		}
		if got := resp.ErrorMessage(t); got != "billing is not configured" {
			t.Fatalf("error = %q", got)
		}
	})
}

func TestUserIsolation(t *testing.T) {
	eachDoor(t, defaults(), func(t *testing.T, d apitest.Door) {
		a := apitest.CreateNote(t, d, apitest.Alice, "alice's secret")
		for _, req := range []apitest.Request{
			{Method: "GET", Path: "/notes/" + a.NoteID},
			{Method: "PUT", Path: "/notes/" + a.NoteID, Header: apitest.JSONHeader(), Body: `{"content":"bob was here"}`},
			{Method: "DELETE", Path: "/notes/" + a.NoteID},
		} {
			req.User = apitest.Bob
			if resp := d.Do(t, req); resp.Status != http.StatusNotFound {
				t.Fatalf("bob %s alice's note = %d, want 404", req.Method, resp.Status)
			}
		}
		resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes", User: apitest.Bob})
		if strings.TrimSpace(string(resp.Body)) != "[]" {
			t.Fatalf("bob's list = %s, want []", resp.Body)
		}
		resp = d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + a.NoteID, User: apitest.Alice})
		var got apitest.Note
		resp.JSON(t, &got)
		if got != a {
			t.Fatalf("alice's note after bob = %+v, want unchanged %+v", got, a)
		}
	})
}

func TestMissingNotes(t *testing.T) {
	eachDoor(t, defaults(), func(t *testing.T, d apitest.Door) {
		const id = "0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e"
		resp := d.Do(t, apitest.Request{Method: "PUT", Path: "/notes/" + id, Header: apitest.JSONHeader(), User: apitest.Alice, Body: `{"content":"x"}`})
		if resp.Status != http.StatusNotFound {
			t.Fatalf("PUT missing = %d, want 404", resp.Status)
		}
		resp.ErrorMessage(t)
		if resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + id, User: apitest.Alice}); resp.Status != http.StatusNotFound {
			t.Fatalf("GET after PUT of a missing note = %d, want 404: PUT must not create", resp.Status)
		}
		if resp := d.Do(t, apitest.Request{Method: "DELETE", Path: "/notes/" + id, User: apitest.Alice}); resp.Status != http.StatusNotFound {
			t.Fatalf("DELETE missing = %d, want 404", resp.Status)
		}
		if resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + strings.Repeat("x", 2000), User: apitest.Alice}); resp.Status != http.StatusNotFound {
			t.Fatalf("GET of an overlong id = %d, want 404", resp.Status)
		}
	})
}

func TestPagination(t *testing.T) {
	eachDoor(t, defaults(), func(t *testing.T, d apitest.Door) {
		var ids []string
		for i := 0; i < 25; i++ {
			ids = append(ids, apitest.CreateNote(t, d, apitest.Alice, fmt.Sprint(i)).NoteID)
		}
		apitest.CreateNote(t, d, apitest.Bob, "not alice's")

		var got []string
		var sizes []int
		path := "/notes?limit=10"
		var lastCursor string
		for i := 0; ; i++ {
			if i > 5 {
				t.Fatal("pagination never ended")
			}
			resp := d.Do(t, apitest.Request{Method: "GET", Path: path, User: apitest.Alice})
			if resp.Status != http.StatusOK {
				t.Fatalf("GET %s = %d %s", path, resp.Status, resp.Body)
			}
			var page []apitest.Note
			resp.JSON(t, &page)
			sizes = append(sizes, len(page))
			for _, n := range page {
				got = append(got, n.NoteID)
			}
			next := resp.Header.Get("X-Next-Cursor")
			if next == "" {
				break
			}
			lastCursor = next
			path = "/notes?limit=10&cursor=" + next
		}
		if fmt.Sprint(sizes) != "[10 10 5]" {
			t.Fatalf("page sizes = %v, want [10 10 5]", sizes)
		}
		for i := range got {
			if want := ids[len(ids)-1-i]; got[i] != want {
				t.Fatalf("note %d = %s, want %s (newest first, no gaps or duplicates)", i, got[i], want)
			}
		}

		resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes", User: apitest.Alice})
		var all []apitest.Note
		resp.JSON(t, &all)
		if len(all) != 25 || all[0].NoteID != ids[24] {
			t.Fatalf("GET /notes without limit = %d notes, want all 25 newest first", len(all))
		}

		tampered := []byte(lastCursor)
		tampered[3] ^= 0x01
		for _, q := range []string{"limit=0", "limit=1001", "limit=abc", "limit=-1", "limit=", "limit=2.5",
			"limit=10&cursor=" + string(tampered), "cursor=not-a-cursor", "limit=10&cursor="} {
			resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes?" + q, User: apitest.Alice})
			if resp.Status != http.StatusBadRequest {
				t.Fatalf("GET /notes?%s = %d, want 400", q, resp.Status)
			}
			resp.ErrorMessage(t)
		}
		// A cursor is bound to its user: bob cannot continue alice's list.
		if resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes?limit=10&cursor=" + lastCursor, User: apitest.Bob}); resp.Status != http.StatusBadRequest {
			t.Fatalf("bob with alice's cursor = %d, want 400", resp.Status)
		}
	})
}

func TestBadInput(t *testing.T) {
	big := strings.Repeat("a", 256<<10+1)
	huge := strings.Repeat("a", 1<<20)
	cases := []struct {
		name, method, body, ctype string
		want                      int
	}{
		{"invalid JSON", "POST", `{"content":`, "application/json", 400},
		{"not JSON at all", "POST", `hello`, "application/json", 400},
		{"empty body", "POST", ``, "application/json", 400},
		{"JSON array", "POST", `["content"]`, "application/json", 400},
		{"two objects", "POST", `{"content":"a"}{"content":"b"}`, "application/json", 400},
		{"content wrong type", "POST", `{"content":5}`, "application/json", 400},
		{"attachment wrong type", "POST", `{"content":"a","attachment":{}}`, "application/json", 400},
		{"unknown field", "POST", `{"content":"a","userId":"someone-else"}`, "application/json", 400},
		{"missing content", "POST", `{"attachment":null}`, "application/json", 400},
		{"null content", "POST", `{"content":null}`, "application/json", 400},
		{"content over 256 KiB", "POST", `{"content":"` + big + `"}`, "application/json", 413},
		{"body over 1 MiB", "POST", `{"content":"` + huge + `"}`, "application/json", 413},
		{"text/plain", "POST", `{"content":"a"}`, "text/plain", 415},
		{"no content type", "POST", `{"content":"a"}`, "", 415},
		{"form", "POST", `content=a`, "application/x-www-form-urlencoded", 415},
		{"attachment with ..", "POST", `{"content":"a","attachment":"x/../../other-user/f.jpg"}`, "application/json", 400},
		{"attachment only ..", "POST", `{"content":"a","attachment":".."}`, "application/json", 400},
		{"attachment leading /", "POST", `{"content":"a","attachment":"/private/x/f.jpg"}`, "application/json", 400},
		{"attachment control char", "POST", `{"content":"a","attachment":"f\u0000.jpg"}`, "application/json", 400},
		{"attachment empty", "POST", `{"content":"a","attachment":""}`, "application/json", 400},
		// Only keys POST /attachments could have issued: no backslash, no
		// colon, no empty or dot segment.
		{"attachment backslash", "POST", `{"content":"a","attachment":"x\\..\\f.jpg"}`, "application/json", 400},
		{"attachment colon", "POST", `{"content":"a","attachment":"C:f.jpg"}`, "application/json", 400},
		{"attachment dot segment", "POST", `{"content":"a","attachment":"./f.jpg"}`, "application/json", 400},
		{"attachment empty segment", "POST", `{"content":"a","attachment":"x//f.jpg"}`, "application/json", 400},
		{"PUT attachment backslash", "PUT", `{"content":"a","attachment":"f\\g"}`, "application/json", 400},
		{"attachment over 1024 bytes", "POST", `{"content":"a","attachment":"` + strings.Repeat("k", 1025) + `"}`, "application/json", 400},
		{"PUT invalid JSON", "PUT", `{`, "application/json", 400},
		{"PUT text/plain", "PUT", `{"content":"a"}`, "text/plain", 415},
		{"PUT content over 256 KiB", "PUT", `{"content":"` + big + `"}`, "application/json", 413},
		{"PUT attachment with ..", "PUT", `{"content":"a","attachment":"../f"}`, "application/json", 400},
		{"PUT unknown field", "PUT", `{"content":"a","createdAt":1}`, "application/json", 400},
	}
	eachDoor(t, defaults(), func(t *testing.T, d apitest.Door) {
		n := apitest.CreateNote(t, d, apitest.Alice, "original")
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				path := "/notes"
				if tc.method == "PUT" {
					path = "/notes/" + n.NoteID
				}
				h := map[string]string{}
				if tc.ctype != "" {
					h["Content-Type"] = tc.ctype
				}
				resp := d.Do(t, apitest.Request{Method: tc.method, Path: path, Body: tc.body, Header: h, User: apitest.Alice})
				if resp.Status != tc.want {
					t.Fatalf("status = %d, want %d (%s)", resp.Status, tc.want, resp.Body)
				}
				resp.ErrorMessage(t)
			})
		}
		// Nothing was written by any of them.
		resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes", User: apitest.Alice})
		var list []apitest.Note
		resp.JSON(t, &list)
		if len(list) != 1 || list[0] != n {
			t.Fatalf("after bad input, notes = %s; want only the original, unchanged", resp.Body)
		}
	})
}

func TestAcceptedInput(t *testing.T) {
	eachDoor(t, defaults(), func(t *testing.T, d apitest.Door) {
		for _, tc := range []struct{ name, ctype, body string }{
			{"charset", "application/json; charset=UTF-8", `{"content":"a","attachment":null}`},
			{"upper-case type", "Application/JSON", `{"content":"a"}`},
			{"content exactly 256 KiB", "application/json", `{"content":"` + strings.Repeat("a", 256<<10) + `"}`},
			{"nested key", "application/json", `{"content":"a","attachment":"2026/11/1603846842984-photo..v2.jpg"}`},
			{"empty content", "application/json", `{"content":""}`},
		} {
			resp := d.Do(t, apitest.Request{Method: "POST", Path: "/notes", Body: tc.body, Header: map[string]string{"Content-Type": tc.ctype}, User: apitest.Alice})
			if resp.Status != http.StatusCreated {
				t.Fatalf("%s: status = %d, want 201 (%.200s)", tc.name, resp.Status, resp.Body)
			}
		}
	})
}

func TestUnknownPathAndMethod(t *testing.T) {
	eachDoor(t, defaults(), func(t *testing.T, d apitest.Door) {
		resp := d.Do(t, apitest.Request{Method: "GET", Path: "/nope", User: apitest.Alice})
		if resp.Status != http.StatusNotFound {
			t.Fatalf("GET /nope = %d, want 404", resp.Status)
		}
		resp.ErrorMessage(t)
		for _, tc := range []struct{ method, path, allow string }{
			{"DELETE", "/notes", "GET, HEAD, POST"},
			{"PATCH", "/notes/abc", "GET, HEAD, PUT, DELETE"},
			{"PUT", "/billing", "GET, HEAD, POST"},
			{"GET", "/billing/webhook", "POST"},
		} {
			resp := d.Do(t, apitest.Request{Method: tc.method, Path: tc.path, User: apitest.Alice})
			if resp.Status != http.StatusMethodNotAllowed {
				t.Fatalf("%s %s = %d, want 405", tc.method, tc.path, resp.Status)
			}
			resp.ErrorMessage(t)
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Fatalf("%s %s: Allow = %q, want %q", tc.method, tc.path, got, tc.allow)
			}
		}
	})
}

func TestStoreFailures(t *testing.T) {
	secret := "dial tcp 10.0.0.5:8000: connection refused (table arn:aws:dynamodb:secret)"
	cases := []struct {
		name       string
		fail       func() error
		want       int
		retryAfter bool
	}{
		{"internal error", func() error { return errors.New(secret) }, 500, false},
		{"unavailable", func() error { return fmt.Errorf("%s: %w", secret, store.ErrUnavailable) }, 503, true},
		{"panic", func() error { panic(secret) }, 500, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			faulty := defaults()
			faulty.wrap = func(s storetest.Store) storetest.Store {
				return storetest.Faulty{Inner: s,
					GetFn: func(ctx context.Context, userID, noteID string) (store.Note, error) {
						if err := tc.fail(); err != nil {
							return store.Note{}, err
						}
						return s.Get(ctx, userID, noteID)
					},
					ListFn: func(ctx context.Context, userID string, limit int, cursor string) (store.Page, error) {
						if err := tc.fail(); err != nil {
							return store.Page{}, err
						}
						return s.List(ctx, userID, limit, cursor)
					}}
			}
			eachDoor(t, faulty, func(t *testing.T, d apitest.Door) {
				resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes", User: apitest.Alice,
					Header: map[string]string{"Origin": "https://app.example.com"}})
				if resp.Status != tc.want {
					t.Fatalf("status = %d, want %d", resp.Status, tc.want)
				}
				msg := resp.ErrorMessage(t)
				if strings.Contains(msg, "10.0.0.5") || strings.Contains(msg, "arn:") || strings.Contains(msg, "refused") {
					t.Fatalf("error %q leaks internals", msg)
				}
				if tc.want == 500 && !strings.Contains(msg, resp.Header.Get("X-Request-Id")) {
					t.Fatalf("500 message %q does not name the request id %q", msg, resp.Header.Get("X-Request-Id"))
				}
				if got := resp.Header.Get("Retry-After") != ""; got != tc.retryAfter {
					t.Fatalf("Retry-After present = %v, want %v", got, tc.retryAfter)
				}
				if resp.Header.Get("Access-Control-Allow-Origin") != "*" || !apitest.HeaderListHas(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
					t.Fatalf("%d answer lacks Access-Control-Allow-Origin or Vary: Origin: %v", resp.Status, resp.Header)
				}
			})
		})
	}
}
