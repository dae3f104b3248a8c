package apitest

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/scratch-notes/notes-api/store"
)

// Bolt is a real bbolt store in a temporary directory, closed when the
// test ends.
func Bolt(t testing.TB) *store.Bolt {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "notes.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := store.NewBolt(db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
