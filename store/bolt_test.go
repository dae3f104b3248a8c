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

// TestBoltRecordFormat pins the bytes the file holds, so that a change to
// the API's JSON (or to Note) can never silently change stored data.
func TestBoltRecordFormat(t *testing.T) {
	s, db := openBolt(t, filepath.Join(t.TempDir(), "notes.db"))
	defer db.Close()
	n := Note{UserID: "user-a", NoteID: "0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e", Content: "hi", Attachment: strp("k.jpg"), CreatedAt: 1603846842984}
	mustCreate(t, s, n)
	var raw string
	db.View(func(tx *bolt.Tx) error {
		raw = string(tx.Bucket(rootBucket).Bucket([]byte("user-a")).Get([]byte(n.NoteID)))
		return nil
	})
	want := `{"userId":"user-a","noteId":"0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e","content":"hi","attachment":"k.jpg","createdAt":1603846842984}`
	if raw != want {
		t.Fatalf("stored record = %s\nwant           %s", raw, want)
	}
	// A file written before this version reads back whole.
	db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(rootBucket).Bucket([]byte("user-a")).Put([]byte(n.NoteID), []byte(want[:len(want)-1]+`,"updatedAt":7}`))
	})
	got, err := s.Get(context.Background(), "user-a", n.NoteID)
	if err != nil || got.UpdatedAt != 7 || *got.Attachment != "k.jpg" || got.CreatedAt != 1603846842984 {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}
