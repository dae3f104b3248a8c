//go:build !lambda

package routes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scratch-notes/notes-api/attachments"
	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/routes"
	"github.com/scratch-notes/notes-api/store"
)

// eachBucket runs f through every door, with files in versitygw (a
// server that checks signatures) and in the local server's own endpoint.
func eachBucket(t *testing.T, f func(t *testing.T, d apitest.Door, b bucket, s setup)) {
	for name, open := range map[string]func(*testing.T) bucket{"s3": s3Bucket, "local": func(t *testing.T) bucket { return localBucket(t) }} {
		t.Run(name, func(t *testing.T) {
			b := open(t)
			s := defaults()
			s.files = b.files
			for name, d := range doors(t, s) {
				t.Run(name, func(t *testing.T) { f(t, d, b, s) })
			}
		})
	}
}

// TestPendingUploads: an upload is born pending; saving a note that names
// it (created or updated) makes it kept before the note is written; a
// note may name a key with no file behind it.
func TestPendingUploads(t *testing.T) {
	eachBucket(t, func(t *testing.T, d apitest.Door, b bucket, _ setup) {
		up := presign(t, d, b.alice, "a.txt", "text/plain", 1)
		if put(t, up, []byte("a")) != http.StatusOK {
			t.Fatal("upload failed")
		}
		key := "private/" + b.alice + "/" + up.Key
		if !b.pending(t, key) {
			t.Fatal("an upload no note names is not pending")
		}
		n := noteWith(t, d, b.alice, up.Key)
		if b.pending(t, key) {
			t.Fatal("the file of a saved note is still pending")
		}
		up2 := presign(t, d, b.alice, "b.txt", "text/plain", 1)
		put(t, up2, []byte("b"))
		resp := d.Do(t, apitest.Request{Method: "PUT", Path: "/notes/" + n.NoteID, Header: apitest.JSONHeader(), User: b.alice,
			Body: `{"content":"another file","attachment":"` + up2.Key + `"}`})
		if resp.Status != http.StatusOK || b.pending(t, "private/"+b.alice+"/"+up2.Key) {
			t.Fatalf("update naming an upload = %d, and it is still pending", resp.Status)
		}
		// A key with no file behind it (never uploaded, or swept) is
		// refused, on create and on update: a note's download never leads
		// to nothing.
		for _, req := range []apitest.Request{
			{Method: "POST", Path: "/notes", Body: `{"content":"x","attachment":"1603846842984-never-uploaded.jpg"}`},
			{Method: "PUT", Path: "/notes/" + n.NoteID, Body: `{"content":"x","attachment":"1603846842984-never-uploaded.jpg"}`},
		} {
			req.Header, req.User = apitest.JSONHeader(), b.alice
			if resp := d.Do(t, req); resp.Status != http.StatusBadRequest || !strings.Contains(resp.ErrorMessage(t), "upload it first") {
				t.Fatalf("%s naming no file = %d %s", req.Method, resp.Status, resp.Body)
			}
		}
		if got := d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + n.NoteID, User: b.alice}); !strings.Contains(string(got.Body), up2.Key) {
			t.Fatalf("a refused update changed the note: %s", got.Body)
		}
	})
}

// TestKeepFailure: if the bucket cannot keep the file a note is about to
// name, the note is not written and the answer is a 503 with
// Retry-After: the client retries, nothing is half done.
func TestKeepFailure(t *testing.T) {
	b := localBucket(t)
	s := defaults()
	s.files = failKeep{Files: b.files}
	for name, d := range doors(t, s) {
		t.Run(name, func(t *testing.T) {
			n := apitest.CreateNote(t, d, b.alice, "before")
			for _, req := range []apitest.Request{
				{Method: "POST", Path: "/notes", Body: `{"content":"new","attachment":"1603846842984-a.txt"}`},
				{Method: "PUT", Path: "/notes/" + n.NoteID, Body: `{"content":"changed","attachment":"1603846842984-a.txt"}`},
			} {
				req.User, req.Header = b.alice, map[string]string{"Content-Type": "application/json", "Origin": apitest.AppOrigin}
				resp := d.Do(t, req)
				if resp.Status != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Access-Control-Allow-Origin") == "" {
					t.Fatalf("%s %s with the bucket failing = %d %v", req.Method, req.Path, resp.Status, resp.Header)
				}
				resp.ErrorMessage(t)
			}
			resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes", User: b.alice})
			var notes []apitest.Note
			resp.JSON(t, &notes)
			if len(notes) != 1 || notes[0].Content != "before" || notes[0].Attachment != nil {
				t.Fatalf("notes = %+v, want the one note, unchanged", notes)
			}
		})
	}
}

// failKeep is a bucket that cannot keep files.
type failKeep struct{ routes.Files }

func (failKeep) Keep(context.Context, string) error {
	return fmt.Errorf("untag: %w", attachments.ErrUnavailable)
}

// TestMe: what a user has, counted, and nothing of another's.
func TestMe(t *testing.T) {
	eachBucket(t, func(t *testing.T, d apitest.Door, b bucket, _ setup) {
		me := func(user string) (got struct {
			IdentityID                      string
			Notes, Attachments, StoragePaid int
		}) {
			resp := d.Do(t, apitest.Request{Method: "GET", Path: "/me", User: user})
			if resp.Status != http.StatusOK {
				t.Fatalf("GET /me = %d %s", resp.Status, resp.Body)
			}
			resp.JSON(t, &got)
			return got
		}
		if got := me(b.alice); got.IdentityID != b.alice || got.Notes != 0 || got.Attachments != 0 || got.StoragePaid != 0 {
			t.Fatalf("a new user's /me = %+v", got)
		}
		for i := range 3 {
			apitest.CreateNote(t, d, b.alice, fmt.Sprint("plain ", i))
		}
		up := presign(t, d, b.alice, "a.txt", "text/plain", 1)
		put(t, up, []byte("a"))
		noteWith(t, d, b.alice, up.Key)
		apitest.CreateNote(t, d, b.bob, "bob's")
		if got := me(b.alice); got.Notes != 4 || got.Attachments != 1 {
			t.Fatalf("alice's /me = %+v, want 4 notes, 1 with a file", got)
		}
		if got := me(b.bob); got.IdentityID != b.bob || got.Notes != 1 || got.Attachments != 0 {
			t.Fatalf("bob's /me = %+v", got)
		}
	})
}

// TestMeExport: everything of the caller as JSON, page by page with the
// cursor rules of GET /notes, each file with a fresh download URL that
// works, purchases on the first page.
func TestMeExport(t *testing.T) {
	eachBucket(t, func(t *testing.T, d apitest.Door, b bucket, s setup) {
		up := presign(t, d, b.alice, "a.txt", "text/plain", 5)
		put(t, up, []byte("hello"))
		withFile := noteWith(t, d, b.alice, up.Key)
		big := strings.Repeat("x", 200<<10)
		for range 30 { // 6 MB of notes: more than one answer holds
			resp := d.Do(t, apitest.Request{Method: "POST", Path: "/notes", Header: apitest.JSONHeader(), User: b.alice,
				Body: `{"content":"` + big + `"}`})
			if resp.Status != http.StatusCreated {
				t.Fatalf("create = %d", resp.Status)
			}
		}
		apitest.CreateNote(t, d, b.bob, "bob's")
		seen, pages, path := map[string]bool{}, 0, "/me/export"
		for {
			resp := d.Do(t, apitest.Request{Method: "GET", Path: path, User: b.alice})
			if resp.Status != http.StatusOK || len(resp.Body) > 5<<20 {
				t.Fatalf("GET %s = %d, %d bytes", path, resp.Status, len(resp.Body))
			}
			var page struct {
				IdentityID string
				Notes      []struct {
					NoteID, UserID string
					Download       *struct{ URL string }
				}
				Purchases []json.RawMessage
			}
			resp.JSON(t, &page)
			pages++
			for _, n := range page.Notes {
				if n.UserID != b.alice || seen[n.NoteID] {
					t.Fatalf("page %d: note %s of %s, seen before %v", pages, n.NoteID, n.UserID, seen[n.NoteID])
				}
				seen[n.NoteID] = true
				if n.NoteID == withFile.NoteID {
					if n.Download == nil {
						t.Fatal("the note with a file has no download URL")
					}
					got, err := http.Get(n.Download.URL)
					if err != nil {
						t.Fatal(err)
					}
					body, _ := io.ReadAll(got.Body)
					got.Body.Close()
					if string(body) != "hello" {
						t.Fatalf("the export's download URL gave %d %q", got.StatusCode, body)
					}
				} else if n.Download != nil {
					t.Fatalf("note %s names no file, yet has a download", n.NoteID)
				}
			}
			next := resp.Header.Get("X-Next-Cursor")
			if next == "" {
				break
			}
			path = "/me/export?cursor=" + next
		}
		if len(seen) != 31 || pages < 2 {
			t.Fatalf("the export held %d notes in %d pages, want 31 in more than one", len(seen), pages)
		}
	})
}

// TestMeDelete: DELETE /me erases every note and file of the caller,
// pending or not, a budget at a time (202 while more remains, then 204),
// is safe to repeat, keeps what was paid for, and touches nothing of
// anyone else.
func TestMeDelete(t *testing.T) {
	for name, open := range map[string]func(*testing.T) bucket{"s3": s3Bucket, "local": func(t *testing.T) bucket { return localBucket(t) }} {
		t.Run(name, func(t *testing.T) {
			b := open(t)
			s := defaults()
			s.files = b.files
			s.eraseBudget = 30 * time.Millisecond
			for name, d := range doors(t, s) {
				t.Run(name, func(t *testing.T) {
					seed := func(user string) (keys []string) {
						for i := range 40 {
							up := presign(t, d, user, fmt.Sprint("f", i, ".txt"), "text/plain", 1)
							put(t, up, []byte("x"))
							keys = append(keys, "private/"+user+"/"+up.Key)
							if i%4 != 0 { // a quarter stay pending uploads
								noteWith(t, d, user, up.Key)
							}
						}
						return keys
					}
					aliceKeys, bobKeys := seed(b.alice), seed(b.bob)
					bobNotes := listAll(t, d, b.bob)
					rounds := 0
					for ; rounds < 200; rounds++ {
						resp := d.Do(t, apitest.Request{Method: "DELETE", Path: "/me", User: b.alice})
						if resp.Status == http.StatusNoContent {
							break
						}
						var got struct{ Remaining bool }
						resp.JSON(t, &got)
						if resp.Status != http.StatusAccepted || !got.Remaining {
							t.Fatalf("DELETE /me = %d %s", resp.Status, resp.Body)
						}
					}
					if rounds == 0 {
						t.Log("erased in one call (the budget was enough)")
					}
					for _, k := range aliceKeys {
						if b.exists(t, k) {
							t.Fatalf("alice's %s is still there", k)
						}
					}
					if got := listAll(t, d, b.alice); strings.TrimSpace(got) != "[]" {
						t.Fatalf("alice's notes after erasing: %s", got)
					}
					// Again: nothing left, nothing to do.
					if resp := d.Do(t, apitest.Request{Method: "DELETE", Path: "/me", User: b.alice}); resp.Status != http.StatusNoContent {
						t.Fatalf("DELETE /me again = %d", resp.Status)
					}
					for _, k := range bobKeys {
						if !b.exists(t, k) {
							t.Fatalf("bob's %s is gone", k)
						}
					}
					if got := listAll(t, d, b.bob); got != bobNotes {
						t.Fatal("bob's notes changed")
					}
				})
			}
		})
	}
}

// TestMeDeleteKeepsPayments: erasing an account keeps what it paid for.
func TestMeDeleteKeepsPayments(t *testing.T) {
	st := storetest.Bolt(t)
	if _, _, err := st.ApplyPurchase(context.Background(), store.PurchaseChange{UserID: apitest.Alice, ID: "pi_1", Paid: true, Storage: 10, Amount: 4000, CreatedAt: 1}); err != nil {
		t.Fatal(err)
	}
	d := doorsOn(t, func(testing.TB) storetest.Store { return st }, defaults())["v1"]
	apitest.CreateNote(t, d, apitest.Alice, "x")
	if resp := d.Do(t, apitest.Request{Method: "DELETE", Path: "/me", User: apitest.Alice}); resp.Status != http.StatusNoContent {
		t.Fatalf("DELETE /me = %d %s", resp.Status, resp.Body)
	}
	if total, ids := purchasesOf(t, d, apitest.Alice); total != 10 || len(ids) != 1 {
		t.Fatalf("after erasing: storage paid %d, purchases %v; want them kept", total, ids)
	}
}

// TestMeDeleteStoreFailure: a store that fails mid-erase is a 5xx; the
// next call goes on.
func TestMeDeleteStoreFailure(t *testing.T) {
	st := storetest.Bolt(t)
	var fail atomic.Bool
	fail.Store(true)
	s := defaults()
	s.wrap = func(st storetest.Store) storetest.Store {
		return storetest.Faulty{Inner: st, DeleteFn: func(ctx context.Context, user, id string) (store.Note, error) {
			if fail.Load() {
				return store.Note{}, fmt.Errorf("throttled: %w", store.ErrUnavailable)
			}
			return st.Delete(ctx, user, id)
		}}
	}
	d := doorsOn(t, func(testing.TB) storetest.Store { return st }, s)["local"]
	apitest.CreateNote(t, d, apitest.Alice, "x")
	resp := d.Do(t, apitest.Request{Method: "DELETE", Path: "/me", User: apitest.Alice})
	if resp.Status != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("DELETE /me with the store failing = %d", resp.Status)
	}
	fail.Store(false)
	if resp := d.Do(t, apitest.Request{Method: "DELETE", Path: "/me", User: apitest.Alice}); resp.Status != http.StatusNoContent {
		t.Fatalf("DELETE /me again = %d", resp.Status)
	}
}
