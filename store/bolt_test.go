package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/store"
)

func TestBoltContract(t *testing.T) {
	testContract(t, func(t *testing.T) contractStore { return storetest.Bolt(t) })
}

func TestBoltSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.db")
	s, err := store.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	n := newNote(t, "user-a", "kept")
	mustCreate(t, s, n)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = store.OpenBolt(path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get(context.Background(), "user-a", n.NoteID)
	if err != nil || got.Content != "kept" {
		t.Fatalf("after reopen Get = %+v, %v", got, err)
	}
}
