package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/store"
)

// contractStore is what routes.NoteStore and routes.PurchaseStore ask of
// a store, the one method set (storetest.Store); the suite below holds
// every implementation to all of it (TestContractCoversEveryMethod).
type contractStore = storetest.Store

var (
	_ contractStore = (*store.Bolt)(nil)
	_ contractStore = (*store.Dynamo)(nil)
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

	t.Run("Count counts the user's notes and those that name a file, nobody else's", func(t *testing.T) {
		s := open(t)
		for i := range 5 {
			n := newNote(t, "user-a", fmt.Sprint(i))
			if i%2 == 0 {
				n.Attachment = strp(fmt.Sprintf("%d-a.txt", i))
			}
			mustCreate(t, s, n)
		}
		mustCreate(t, s, newNote(t, "user-b", "b"))
		if notes, files, err := s.Count(ctx, "user-a"); err != nil || notes != 5 || files != 3 {
			t.Fatalf("Count(user-a) = %d, %d, %v; want 5 notes, 3 with a file", notes, files, err)
		}
		if notes, files, err := s.Count(ctx, "user-c"); err != nil || notes != 0 || files != 0 {
			t.Fatalf("Count of a user with nothing = %d, %d, %v", notes, files, err)
		}
	})

	paid := func(user, id string, storage, amount, created int64) store.PurchaseChange {
		return store.PurchaseChange{UserID: user, ID: id, Paid: true, Storage: storage, Amount: amount, CreatedAt: created}
	}

	t.Run("a payment is recorded once per id, and listed newest first", func(t *testing.T) {
		s := open(t)
		for i, c := range []store.PurchaseChange{paid("user-a", "pi_1", 10, 4000, 1000), paid("user-a", "ch_2", 101, 10100, 3000),
			paid("user-a", "pi_3", 1, 400, 2000)} {
			if _, changed, err := s.ApplyPurchase(ctx, c); err != nil || !changed {
				t.Fatalf("ApplyPurchase %d = %v, %v; want changed", i, changed, err)
			}
		}
		if p, changed, err := s.ApplyPurchase(ctx, paid("user-a", "pi_1", 99, 1, 5000)); err != nil || changed || p.Storage != 10 {
			t.Fatalf("a payment recorded again = %+v, %v, %v; want nothing changed", p, changed, err)
		}
		got, err := s.ListPurchases(ctx, "user-a")
		if err != nil {
			t.Fatal(err)
		}
		want := store.Purchase{UserID: "user-a", ID: "pi_1", Paid: true, Storage: 10, Amount: 4000, CreatedAt: 1000}
		if len(got) != 3 || got[0].ID != "ch_2" || got[1].ID != "pi_3" || got[2] != want {
			t.Fatalf("ListPurchases = %+v, want ch_2, pi_3 and the first pi_1 unchanged", got)
		}
	})

	t.Run("a purchase's news, in any order, comes to the same purchase", func(t *testing.T) {
		news := []store.PurchaseChange{
			{UserID: "user-a", ID: "pi_x"}, // made known when the intent is made
			paid("user-a", "pi_x", 21, 4200, 1000),
			{UserID: "user-a", ID: "pi_x", Refunded: 1000},
			{UserID: "user-a", ID: "pi_x", Refunded: 2100},
			{UserID: "user-a", ID: "pi_x", Dispute: store.DisputeOpen},
			{UserID: "user-a", ID: "pi_x", Dispute: store.DisputeWon},
		}
		want := store.Purchase{UserID: "user-a", ID: "pi_x", Paid: true, Storage: 21, Amount: 4200, CreatedAt: 1000, Refunded: 2100, Dispute: store.DisputeWon}
		for _, order := range [][]int{{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}, {3, 5, 1, 2, 4, 0, 3, 1}} {
			s := open(t)
			for _, i := range order {
				if _, _, err := s.ApplyPurchase(ctx, news[i]); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.ListPurchases(ctx, "user-a")
			if err != nil || len(got) != 1 || got[0] != want {
				t.Fatalf("order %v: %+v, %v; want %+v", order, got, err, want)
			}
			if owner, err := s.PurchaseOwner(ctx, "pi_x"); err != nil || owner != "user-a" {
				t.Fatalf("PurchaseOwner = %q, %v", owner, err)
			}
		}
	})

	t.Run("a purchase's owner is known from its first news, and only its", func(t *testing.T) {
		s := open(t)
		if _, err := s.PurchaseOwner(ctx, "pi_unknown"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("PurchaseOwner of an unknown id: %v, want ErrNotFound", err)
		}
		if _, _, err := s.ApplyPurchase(ctx, store.PurchaseChange{UserID: "user-b", ID: "pi_b"}); err != nil {
			t.Fatal(err)
		}
		if owner, err := s.PurchaseOwner(ctx, "pi_b"); err != nil || owner != "user-b" {
			t.Fatalf("PurchaseOwner = %q, %v; want user-b", owner, err)
		}
		if got, _ := s.ListPurchases(ctx, "user-b"); len(got) != 1 || got[0].Paid {
			t.Fatalf("an intent made known is listed unpaid: %+v", got)
		}
	})

	t.Run("purchases are their user's and never notes", func(t *testing.T) {
		s := open(t)
		if _, _, err := s.ApplyPurchase(ctx, paid("user-a", "pi_a", 1, 400, 1)); err != nil {
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

	t.Run("news of one purchase told at once by many is all kept", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := paid("user-a", "pi_race", 2, 800, 1)
				switch i % 4 {
				case 1:
					c = store.PurchaseChange{UserID: "user-a", ID: "pi_race", Refunded: int64(100 + i)}
				case 2:
					c = store.PurchaseChange{UserID: "user-a", ID: "pi_race", Dispute: store.DisputeOpen}
				}
				if _, _, err := s.ApplyPurchase(ctx, c); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, _ := s.ListPurchases(ctx, "user-a")
		if len(got) != 1 || !got[0].Paid || got[0].Refunded != 117 || got[0].Dispute != store.DisputeOpen {
			t.Fatalf("after racing news: %+v; want one purchase, paid, 117 refunded, disputed", got)
		}
	})
}

// TestContractCoversEveryMethod: every method of the store's one method
// set is called by the contract suite, so no method of a store goes
// untested (a method added to routes.NoteStore or routes.PurchaseStore
// fails this until the suite calls it).
func TestContractCoversEveryMethod(t *testing.T) {
	src, err := os.ReadFile("contract_test.go")
	if err != nil {
		t.Fatal(err)
	}
	methods := reflect.TypeFor[contractStore]()
	for i := range methods.NumMethod() {
		name := methods.Method(i).Name
		if !strings.Contains(string(src), "s."+name+"(ctx") && !strings.Contains(string(src), "s."+name+"(context.Background()") {
			t.Errorf("the contract suite never calls %s", name)
		}
	}
}
