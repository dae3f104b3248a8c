package routes

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/scratch-notes/notes-api/store"
)

// meJSON is the answer to GET /me.
type meJSON struct {
	IdentityID  string `json:"identityId"`
	Notes       int    `json:"notes"`
	Attachments int    `json:"attachments"`
	StoragePaid int64  `json:"storagePaid"`
	// FreeNotes and Allowance (free and paid together) are null when
	// there is no limit (FREE_NOTES unset).
	FreeNotes *int64 `json:"freeNotes"`
	Allowance *int64 `json:"allowance"`
}

// handleMe handles GET /me: what the caller has, counted from the stores.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	user := userIDFrom(r.Context())
	notes, files, err := s.notes.Count(r.Context(), user)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	paid, err := s.storagePaid(r.Context(), user)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	me := meJSON{IdentityID: user, Notes: notes, Attachments: files, StoragePaid: paid, FreeNotes: s.freeNotes}
	if s.freeNotes != nil {
		me.Allowance = new(*s.freeNotes + paid)
	}
	s.writeJSON(w, r, http.StatusOK, me)
}

// storagePaid is the storage of the user's purchases that counts now.
func (s *Server) storagePaid(ctx context.Context, user string) (int64, error) {
	b, err := s.paidPurchases(ctx, user)
	return b.Storage, err
}

// exportedNote is a note as GET /me/export answers it: the note, and a
// fresh download URL of its file when it names one.
type exportedNote struct {
	noteJSON
	Download *downloadJSON `json:"download"`
}

// exportJSON is one page of GET /me/export. Purchases are on the first
// page only.
type exportJSON struct {
	IdentityID string            `json:"identityId"`
	Notes      []json.RawMessage `json:"notes"`
	Purchases  []purchaseJSON    `json:"purchases"`
}

// handleMeExport handles GET /me/export: everything of the caller, one
// page at a time with the same cursor and size rules as GET /notes.
func (s *Server) handleMeExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cursor := q.Get("cursor")
	if q.Has("cursor") && cursor == "" {
		s.writeError(w, r, errorf(http.StatusBadRequest, "cursor is empty: leave it out to start at the newest note"))
		return
	}
	user := userIDFrom(r.Context())
	out := exportJSON{IdentityID: user, Purchases: []purchaseJSON{}}
	if cursor == "" {
		b, err := s.paidPurchases(r.Context(), user)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out.Purchases = b.Purchases
	}
	envelope, err := json.Marshal(out)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	notes, next, err := s.listNotes(r.Context(), user, 0, cursor, 2*len(envelope), func(n store.Note) ([]byte, error) {
		e := exportedNote{noteJSON: toJSON(n)}
		if n.Attachment != nil && s.files != nil && s.files.CheckKey(objectKey(user, *n.Attachment)) == nil {
			d, err := s.files.PresignDownload(r.Context(), objectKey(user, *n.Attachment))
			if err != nil {
				return nil, err
			}
			e.Download = &downloadJSON{URL: d.URL, ExpiresAt: d.Expires.UnixMilli()}
		}
		return json.Marshal(e)
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out.Notes = notes
	if next != "" {
		w.Header().Set("X-Next-Cursor", next)
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// eraseWorkers is how many deletes one DELETE /me runs at once.
const eraseWorkers = 8

// handleMeDelete handles DELETE /me: it erases every note of the caller
// and every file under their folder, pending or not, and nothing of
// anyone else, for at most the erase budget (well inside API Gateway's
// 29 s), then answers 204 when nothing is left and 202 {"remaining":
// true} when the caller should call again. It is safe to repeat, to
// interrupt and to run twice at once: each note and file is deleted by
// whoever gets to it first, and one already gone is no error. What was
// paid for is kept (a record of payments the business must keep).
func (s *Server) handleMeDelete(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.eraseBudget)
	defer cancel()
	user := userIDFrom(r.Context())
	done, err := s.erase(ctx, user)
	if err != nil && ctx.Err() == nil {
		s.writeError(w, r, err)
		return
	}
	if !done {
		s.writeJSON(w, r, http.StatusAccepted, map[string]bool{"remaining": true})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// erase deletes the user's notes, then their files, a page at a time,
// until none is left (done) or ctx ends.
func (s *Server) erase(ctx context.Context, user string) (done bool, err error) {
	for {
		page, err := s.notes.List(ctx, user, 100, "")
		if err != nil {
			return false, err
		}
		if len(page.Notes) == 0 {
			break
		}
		if err := parallel(ctx, len(page.Notes), func(i int) error {
			_, err := s.notes.Delete(ctx, user, page.Notes[i].NoteID)
			if errors.Is(err, store.ErrNotFound) {
				return nil // another eraser got there first
			}
			return err
		}); err != nil {
			return false, err
		}
	}
	if s.files == nil {
		return true, nil
	}
	prefix := objectKey(user, "")
	for {
		keys, _, err := s.files.List(ctx, prefix, "")
		if err != nil {
			return false, err
		}
		if len(keys) == 0 {
			return true, nil
		}
		if err := parallel(ctx, len(keys), func(i int) error { return s.files.Delete(ctx, keys[i]) }); err != nil {
			return false, err
		}
	}
}

// parallel runs f(0) to f(n-1), eraseWorkers at a time, and returns the
// first error; it starts nothing once ctx has ended.
func parallel(ctx context.Context, n int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	work := make(chan int)
	for range min(eraseWorkers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := f(i); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// defaultEraseBudget is how long one DELETE /me works: well inside API
// Gateway's 29 s, with room for the answer.
const defaultEraseBudget = 10 * time.Second
