package store

import (
	"context"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestBoltRecordFormat pins the bytes the file holds, so that a change to
// the API's JSON (or to Note) can never silently change stored data.
func TestBoltRecordFormat(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "notes.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := newBolt(db)
	if err != nil {
		t.Fatal(err)
	}
	k := "k.jpg"
	n := Note{UserID: "user-a", NoteID: "0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e", Content: "hi", Attachment: &k, CreatedAt: 1603846842984}
	if _, err := s.Create(context.Background(), n); err != nil {
		t.Fatal(err)
	}
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
