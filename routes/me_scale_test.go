//go:build !race && !lambda

// Ten thousand notes and five thousand files: make test runs this file in
// its race-free pass, beside TestListFitsLambda.

package routes_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/store"
)

// seedAtScale gives user n notes on st, the first files of them with a
// file in b, in parallel, and returns the files' keys.
func seedAtScale(t *testing.T, st storetest.Store, b bucket, user string, n, files int) []string {
	t.Helper()
	ctx := context.Background()
	keys := make([]string, files)
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, n)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				id, _ := uuid.NewV7()
				note := store.Note{UserID: user, NoteID: id.String(), Content: fmt.Sprint("note ", i), CreatedAt: time.Now().UnixMilli()}
				if i < files {
					key := fmt.Sprintf("1764547200000-file-%05d.txt", i)
					up, err := b.files.PresignUpload(ctx, "private/"+user+"/"+key, "text/plain", 1)
					if err != nil {
						errs <- err
						continue
					}
					req, _ := http.NewRequest(up.Method, up.URL, bytes.NewReader([]byte("x")))
					for k, v := range up.Header {
						req.Header.Set(k, v)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil || resp.StatusCode != http.StatusOK {
						errs <- fmt.Errorf("upload %d: %v %v", i, resp, err)
						continue
					}
					resp.Body.Close()
					note.Attachment = &key
					keys[i] = "private/" + user + "/" + key
				}
				if _, err := st.Create(ctx, note); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return keys
}

// TestMeAtScale: on DynamoDB (dynalite) and S3 (versitygw), a user with
// 10,000 notes, 5,000 of them with files: GET /me counts them inside the
// store's time budget; DELETE /me, interrupted in the middle and resumed,
// erases them all and nothing of another user, checked item by item.
// The times go to the log (the README has them).
func TestMeAtScale(t *testing.T) {
	st, _, _ := storetest.Dynamo(t)
	b := s3Bucket(t)
	s := defaults()
	s.files = b.files
	var log testenv.Buffer
	s.log = slog.New(slog.NewJSONHandler(&log, nil))
	doors := doorsOn(t, func(testing.TB) storetest.Store { return st }, s)

	start := time.Now()
	seedAtScale(t, st, b, b.alice, 10_000, 5_000)
	bobKeys := seedAtScale(t, st, b, b.bob, 50, 25)
	t.Logf("seeded 10,050 notes and 5,025 files in %v", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	resp := doors["v1"].Do(t, apitest.Request{Method: "GET", Path: "/me", User: b.alice})
	took := time.Since(start)
	var me struct{ Notes, Attachments int }
	resp.JSON(t, &me)
	if resp.Status != http.StatusOK || me.Notes != 10_000 || me.Attachments != 5_000 {
		t.Fatalf("GET /me = %d %s", resp.Status, resp.Body)
	}
	if took > 8*time.Second {
		t.Fatalf("GET /me of 10,000 notes took %v, over the store's 8 s budget", took)
	}
	t.Logf("GET /me of 10,000 notes (5,000 with files) on dynalite: %v", took.Round(time.Millisecond))

	// Interrupted: the client gives up after half a second.
	local := doors["local"].(apitest.Checked).Door.(apitest.Local)
	req, _ := http.NewRequest("DELETE", local.URL+"/me", nil)
	req.Header.Set("X-Dev-Identity-Id", b.alice)
	start = time.Now()
	if _, err := (&http.Client{Timeout: 500 * time.Millisecond}).Do(req); err == nil {
		t.Log("the first DELETE /me finished within half a second")
	}
	// A client calls again on 202, and on 503 after its Retry-After (a
	// store on two shared cores may be busy once or twice; more is a
	// failure, its cause in the log).
	calls, busy := 1, 0
	for ; calls < 100; calls++ {
		resp := doors["v1"].Do(t, apitest.Request{Method: "DELETE", Path: "/me", User: b.alice})
		if resp.Status == http.StatusNoContent {
			break
		}
		if resp.Status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" && busy < 2 {
			busy++
			t.Logf("DELETE /me = 503 %s; the log says:\n%s", resp.Body, errorLines(log.String()))
			time.Sleep(2 * time.Second)
			continue
		}
		if resp.Status != http.StatusAccepted {
			t.Fatalf("DELETE /me = %d %s; the log says:\n%s", resp.Status, resp.Body, errorLines(log.String()))
		}
	}
	t.Logf("DELETE /me of 10,000 notes and 5,000 files on dynalite and versitygw, interrupted once: %d calls (%d busy), %v",
		calls+1, busy, time.Since(start).Round(time.Millisecond))

	ctx := context.Background()
	if n, files, err := st.Count(ctx, b.alice); err != nil || n != 0 || files != 0 {
		t.Fatalf("alice has %d notes (%d with files) left, %v", n, files, err)
	}
	if left, _, err := b.files.List(ctx, "private/"+b.alice+"/", ""); err != nil || len(left) != 0 {
		t.Fatalf("alice has %d files left, %v", len(left), err)
	}
	page, err := st.List(ctx, b.bob, 100, "")
	if err != nil || len(page.Notes) != 50 {
		t.Fatalf("bob has %d notes, %v; want all 50", len(page.Notes), err)
	}
	for _, n := range page.Notes {
		if got, err := st.Get(ctx, b.bob, n.NoteID); err != nil || got.Content != n.Content {
			t.Fatalf("bob's note %s: %+v, %v", n.NoteID, got, err)
		}
	}
	for _, k := range bobKeys {
		if !b.exists(t, k) {
			t.Fatalf("bob's file %s is gone", k)
		}
	}
}

// errorLines are the log's lines at level ERROR or WARN.
func errorLines(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, `"level":"ERROR"`) || strings.Contains(l, `"level":"WARN"`) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
