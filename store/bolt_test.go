package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openBolt(t *testing.T, path string) (*Bolt, *bolt.DB) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewBolt(db)
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

func TestBoltContract(t *testing.T) {
	testContract(t, func(t *testing.T) contractStore {
		s, db := openBolt(t, filepath.Join(t.TempDir(), "notes.db"))
		t.Cleanup(func() { db.Close() })
		return s
	})
}

func TestBoltSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.db")
	s, db := openBolt(t, path)
	n := newNote(t, "user-a", "kept")
	mustCreate(t, s, n)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, db = openBolt(t, path)
	defer db.Close()
	got, err := s.Get(context.Background(), "user-a", n.NoteID)
	if err != nil || got.Content != "kept" {
		t.Fatalf("after reopen Get = %+v, %v", got, err)
	}
}
