package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scratch-notes/notes-api/store"
)

// contractStore is what routes.NoteStore and routes.PurchaseStore ask of
// a store; the suite below holds every implementation to it.
type contractStore interface {
	Create(ctx context.Context, n store.Note) (store.Note, error)
	Get(ctx context.Context, userID, noteID string) (store.Note, error)
	List(ctx context.Context, userID string, limit int, cursor string) (store.Page, error)
	Update(ctx context.Context, n store.Note) (store.Note, *string, error)
	Delete(ctx context.Context, userID, noteID string) (store.Note, error)
	AddPurchase(ctx context.Context, p store.Purchase) (bool, error)
	ListPurchases(ctx context.Context, userID string) ([]store.Purchase, error)
}

var (
	_ contractStore = (*store.Bolt)(nil)
)

func strp(s string) *string { return &s }

func newNote(t *testing.T, userID, content string) store.Note {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return store.Note{UserID: userID, NoteID: id.String(), Content: content, CreatedAt: time.Now().UnixMilli()}
}

func mustCreate(t *testing.T, s contractStore, n store.Note) store.Note {
	t.Helper()
	got, err := s.Create(context.Background(), n)
	if err != nil {
		t.Fatalf("Create(%s): %v", n.NoteID, err)
	}
	return got
}

// listAll pages through a user's notes with the given page size.
func listAll(t *testing.T, s contractStore, userID string, limit int) (notes []store.Note, pages []int) {
	t.Helper()
	cursor := ""
	for i := 0; i < 1000; i++ {
		p, err := s.List(context.Background(), userID, limit, cursor)
		if err != nil {
			t.Fatalf("List(limit %d): %v", limit, err)
		}
		notes = append(notes, p.Notes...)
		pages = append(pages, len(p.Notes))
		if p.Next == "" {
			return notes, pages
		}
		cursor = p.Next
	}
	t.Fatal("List never ended")
	return nil, nil
}

// testContract runs the behaviour every store must have. open returns an
// empty store that lives for the test.
func testContract(t *testing.T, open func(t *testing.T) contractStore) {
	ctx := context.Background()

	t.Run("create then get round-trips every field", func(t *testing.T) {
		s := open(t)
		n := newNote(t, "user-a", "hello world")
		n.Attachment = strp("1603846842984-hello.jpg")
		mustCreate(t, s, n)
		got, err := s.Get(ctx, "user-a", n.NoteID)
		if err != nil {
			t.Fatal(err)
		}
		if got.NoteID != n.NoteID || got.UserID != n.UserID || got.Content != n.Content ||
			got.Attachment == nil || *got.Attachment != *n.Attachment || got.CreatedAt != n.CreatedAt || got.UpdatedAt != 0 {
			t.Fatalf("Get = %+v, want %+v", got, n)
		}
	})

	t.Run("null attachment stays null", func(t *testing.T) {
		s := open(t)
		n := mustCreate(t, s, newNote(t, "user-a", "x"))
		got, err := s.Get(ctx, "user-a", n.NoteID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Attachment != nil {
			t.Fatalf("attachment = %q, want nil", *got.Attachment)
		}
	})

	t.Run("create of an existing id is ErrConflict and keeps the first", func(t *testing.T) {
		s := open(t)
		n := mustCreate(t, s, newNote(t, "user-a", "first"))
		dup := n
		dup.Content = "second"
		if _, err := s.Create(ctx, dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("Create duplicate: err = %v, want ErrConflict", err)
		}
		got, _ := s.Get(ctx, "user-a", n.NoteID)
		if got.Content != "first" {
			t.Fatalf("content = %q, want first", got.Content)
		}
	})

	t.Run("missing note is ErrNotFound everywhere and nothing is created", func(t *testing.T) {
		s := open(t)
		id := newNote(t, "user-a", "").NoteID
		if _, err := s.Get(ctx, "user-a", id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get: err = %v, want ErrNotFound", err)
		}
		if _, _, err := s.Update(ctx, store.Note{UserID: "user-a", NoteID: id, Content: "x", UpdatedAt: 1}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Update: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Delete(ctx, "user-a", id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Delete: err = %v, want ErrNotFound", err)
		}
		if notes, _ := listAll(t, s, "user-a", 10); len(notes) != 0 {
			t.Fatalf("after update of a missing note, list = %d notes, want 0", len(notes))
		}
	})

	t.Run("users are isolated", func(t *testing.T) {
		s := open(t)
		a := newNote(t, "user-a", "a's note")
		a.Attachment = strp("a.jpg")
		mustCreate(t, s, a)
		if _, err := s.Get(ctx, "user-b", a.NoteID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("B Get A's note: err = %v, want ErrNotFound", err)
		}
		if _, _, err := s.Update(ctx, store.Note{UserID: "user-b", NoteID: a.NoteID, Content: "b was here", UpdatedAt: 1}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("B Update A's note: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Delete(ctx, "user-b", a.NoteID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("B Delete A's note: err = %v, want ErrNotFound", err)
		}
		if notes, _ := listAll(t, s, "user-b", 10); len(notes) != 0 {
			t.Fatalf("B's list = %d notes, want 0", len(notes))
		}
		got, err := s.Get(ctx, "user-a", a.NoteID)
		if err != nil || got.Content != "a's note" || got.Attachment == nil || *got.Attachment != "a.jpg" || got.UpdatedAt != 0 {
			t.Fatalf("A's note after B = %+v, %v; want unchanged", got, err)
		}
	})

	t.Run("update replaces content and attachment, keeps createdAt", func(t *testing.T) {
		s := open(t)
		n := newNote(t, "user-a", "old")
		n.Attachment = strp("old.jpg")
		mustCreate(t, s, n)
		got, replaced, err := s.Update(ctx, store.Note{UserID: "user-a", NoteID: n.NoteID, Content: "new", UpdatedAt: n.CreatedAt + 5})
		if err != nil {
			t.Fatal(err)
		}
		if got.Content != "new" || got.Attachment != nil || got.CreatedAt != n.CreatedAt || got.UpdatedAt != n.CreatedAt+5 {
			t.Fatalf("Update = %+v", got)
		}
		if replaced == nil || *replaced != "old.jpg" {
			t.Fatalf("Update replaced %v, want old.jpg", replaced)
		}
		if _, replaced, _ := s.Update(ctx, store.Note{UserID: "user-a", NoteID: n.NoteID, Content: "newer", Attachment: strp("b.png"), UpdatedAt: 9}); replaced != nil {
			t.Fatalf("Update of a note with no attachment replaced %q, want nil", *replaced)
		}
		got, replaced, err = s.Update(ctx, store.Note{UserID: "user-a", NoteID: n.NoteID, Content: "new", UpdatedAt: n.CreatedAt + 5})
		if err != nil || replaced == nil || *replaced != "b.png" || got.Attachment != nil {
			t.Fatalf("Update = %+v, replaced %v, %v; want b.png replaced", got, replaced, err)
		}
		stored, _ := s.Get(ctx, "user-a", n.NoteID)
		if stored != got {
			t.Fatalf("stored = %+v, want %+v", stored, got)
		}
	})

	t.Run("delete returns the old note and removes it", func(t *testing.T) {
		s := open(t)
		n := newNote(t, "user-a", "bye")
		n.Attachment = strp("f.txt")
		mustCreate(t, s, n)
		old, err := s.Delete(ctx, "user-a", n.NoteID)
		if err != nil {
			t.Fatal(err)
		}
		if old.Content != "bye" || old.Attachment == nil || *old.Attachment != "f.txt" {
			t.Fatalf("Delete returned %+v", old)
		}
		if _, err := s.Get(ctx, "user-a", n.NoteID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get after delete: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("list pages newest first with no gaps or duplicates", func(t *testing.T) {
		s := open(t)
		var ids []string
		for i := 0; i < 25; i++ {
			n := mustCreate(t, s, newNote(t, "user-a", fmt.Sprint(i)))
			ids = append(ids, n.NoteID)
		}
		mustCreate(t, s, newNote(t, "user-b", "other"))
		notes, pages := listAll(t, s, "user-a", 10)
		if fmt.Sprint(pages) != "[10 10 5]" {
			t.Fatalf("page sizes = %v, want [10 10 5]", pages)
		}
		for i, n := range notes {
			if want := ids[len(ids)-1-i]; n.NoteID != want {
				t.Fatalf("notes[%d] = %s, want %s (newest first)", i, n.NoteID, want)
			}
		}
		if _, pages := listAll(t, s, "user-a", 25); fmt.Sprint(pages) != "[25]" {
			t.Fatalf("exact page: sizes = %v, want [25] with no empty trailing page", pages)
		}
	})

	t.Run("list of a user with no notes is empty, not nil", func(t *testing.T) {
		s := open(t)
		p, err := s.List(ctx, "nobody", 10, "")
		if err != nil || p.Notes == nil || len(p.Notes) != 0 || p.Next != "" {
			t.Fatalf("List = %+v, %v; want empty page", p, err)
		}
	})

	t.Run("cursor survives deletion of its note", func(t *testing.T) {
		s := open(t)
		var ids []string
		for i := 0; i < 6; i++ {
			ids = append(ids, mustCreate(t, s, newNote(t, "user-a", fmt.Sprint(i))).NoteID)
		}
		p, err := s.List(ctx, "user-a", 3, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Delete(ctx, "user-a", p.Notes[2].NoteID); err != nil {
			t.Fatal(err)
		}
		p2, err := s.List(ctx, "user-a", 3, p.Next)
		if err != nil {
			t.Fatal(err)
		}
		if len(p2.Notes) != 3 || p2.Notes[0].NoteID != ids[2] {
			t.Fatalf("second page = %v, want 3 notes from %s", p2.Notes, ids[2])
		}
	})

	t.Run("bad cursors are ErrBadCursor", func(t *testing.T) {
		s := open(t)
		for i := 0; i < 3; i++ {
			mustCreate(t, s, newNote(t, "user-a", "x"))
		}
		p, err := s.List(ctx, "user-a", 1, "")
		if err != nil || p.Next == "" {
			t.Fatalf("List = %+v, %v", p, err)
		}
		tampered := []byte(p.Next)
		tampered[len(tampered)-1] ^= 1
		for name, c := range map[string]string{
			"garbage":  "!!!not-base64!!!",
			"tampered": string(tampered),
			"short":    "AAAA",
		} {
			if _, err := s.List(ctx, "user-a", 1, c); !errors.Is(err, store.ErrBadCursor) {
				t.Fatalf("%s cursor: err = %v, want ErrBadCursor", name, err)
			}
		}
		if _, err := s.List(ctx, "user-b", 1, p.Next); !errors.Is(err, store.ErrBadCursor) {
			t.Fatalf("A's cursor used by B: err = %v, want ErrBadCursor", err)
		}
	})

	t.Run("200 concurrent creates lose nothing", func(t *testing.T) {
		s := open(t)
		const n = 200
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				id, _ := uuid.NewV7()
				_, err := s.Create(ctx, store.Note{UserID: "user-a", NoteID: id.String(), Content: fmt.Sprint(i), CreatedAt: int64(i)})
				errs <- err
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		notes, _ := listAll(t, s, "user-a", 1000)
		seen := map[string]bool{}
		for _, n := range notes {
			seen[n.Content] = true
		}
		if len(notes) != n || len(seen) != n {
			t.Fatalf("listed %d notes (%d distinct), want %d", len(notes), len(seen), n)
		}
	})

	t.Run("a cancelled context does nothing", func(t *testing.T) {
		s := open(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		n := newNote(t, "user-a", "x")
		if _, err := s.Create(cctx, n); err == nil {
			t.Fatal("Create with cancelled context succeeded")
		}
		if _, err := s.Get(ctx, "user-a", n.NoteID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("a purchase is recorded once per id, and listed newest first", func(t *testing.T) {
		s := open(t)
		first := store.Purchase{UserID: "user-a", ID: "pi_1", Storage: 10, Amount: 4000, CreatedAt: 1000}
		for i, p := range []store.Purchase{first, {UserID: "user-a", ID: "ch_2", Storage: 101, Amount: 10100, CreatedAt: 3000},
			{UserID: "user-a", ID: "pi_3", Storage: 1, Amount: 400, CreatedAt: 2000}} {
			if added, err := s.AddPurchase(ctx, p); err != nil || !added {
				t.Fatalf("AddPurchase %d = %v, %v; want added", i, added, err)
			}
		}
		again := first
		again.Storage, again.CreatedAt = 99, 5000
		if added, err := s.AddPurchase(ctx, again); err != nil || added {
			t.Fatalf("AddPurchase of an id already there = %v, %v; want not added, no error", added, err)
		}
		got, err := s.ListPurchases(ctx, "user-a")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].ID != "ch_2" || got[1].ID != "pi_3" || got[2] != first {
			t.Fatalf("ListPurchases = %+v, want ch_2, pi_3 and the first pi_1 unchanged", got)
		}
	})

	t.Run("purchases are their user's and never notes", func(t *testing.T) {
		s := open(t)
		if _, err := s.AddPurchase(ctx, store.Purchase{UserID: "user-a", ID: "pi_a", Storage: 1, Amount: 400, CreatedAt: 1}); err != nil {
			t.Fatal(err)
		}
		got, err := s.ListPurchases(ctx, "user-b")
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("user-b's purchases = %#v, %v; want an empty list", got, err)
		}
		if notes, _ := listAll(t, s, "user-a", 10); len(notes) != 0 {
			t.Fatalf("user-a lists %d notes, want none: a purchase is not a note", len(notes))
		}
	})

	t.Run("the same purchase recorded at once by many is added once", func(t *testing.T) {
		s := open(t)
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			added int
		)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.AddPurchase(ctx, store.Purchase{UserID: "user-a", ID: "pi_race", Storage: 2, Amount: 800, CreatedAt: 1})
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					added++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if got, _ := s.ListPurchases(ctx, "user-a"); added != 1 || len(got) != 1 {
			t.Fatalf("added %d times, %d stored; want once", added, len(got))
		}
	})
}
