package store_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/store"
)

// notesFile is a real notes database, changed by change with bbolt
// itself, as bytes.
func notesFile(t *testing.T, change func(tx *bolt.Tx) error) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notes.db")
	s, err := store.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(change); err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goodDB is a notes database with one large note.
func goodDB(t *testing.T) []byte {
	return notesFile(t, func(tx *bolt.Tx) error {
		b, err := tx.Bucket([]byte("notes")).CreateBucketIfNotExists([]byte("u"))
		if err != nil {
			return err
		}
		return b.Put([]byte("0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e"), bytes.Repeat([]byte("x"), 20000))
	})
}

// newerNotesFormat is a notes database a later notes-api wrote (format 2).
func newerNotesFormat(t *testing.T) []byte {
	return notesFile(t, func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("format"), []byte("2")) })
}

// TestOpenBoltRefuses: a file OpenBolt must not use is refused, at once,
// with the error that says why, and left exactly as it was. A cut-short
// file crashed bbolt itself (SIGBUS) before the file was checked first.
func TestOpenBoltRefuses(t *testing.T) {
	good := goodDB(t)
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(i*131 + i>>8)
	}
	newer := bytes.Clone(good)
	// bbolt's meta version, in both meta pages.
	pageSize := int(newer[16+8]) | int(newer[16+9])<<8 | int(newer[16+10])<<16
	newer[16+4], newer[pageSize+16+4] = 3, 3
	for _, tc := range []struct {
		name string
		data []byte // nil: no file, at an unwritable path
		want error
	}{
		{"unwritable directory", nil, store.ErrUnwritable},
		{"random bytes", random, store.ErrNotNotes},
		{"text", []byte("these are my notes, not a database\n"), store.ErrNotNotes},
		{"empty", []byte{}, store.ErrNotNotes},
		{"truncated to a page", good[:4096], store.ErrNotNotes},
		{"truncated to half", good[:len(good)/2], store.ErrNotNotes},
		{"a newer bbolt format", newer, store.ErrFormat},
		{"a newer notes format", newerNotesFormat(t), store.ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := testenv.Unwritable(t)
			if tc.data != nil {
				path = filepath.Join(t.TempDir(), "notes.db")
				if err := os.WriteFile(path, tc.data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := store.OpenBolt(path)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("OpenBolt = %v, want %v", err, tc.want)
			}
			if tc.data != nil {
				after, err := os.ReadFile(path)
				if err != nil || !bytes.Equal(after, tc.data) {
					t.Fatalf("the file changed: %d bytes before, %d after (%v)", len(tc.data), len(after), err)
				}
			}
		})
	}
}

// TestOpenBoltHeld: a file another process (here, another open) holds is
// ErrLocked within a few seconds, not a hang.
func TestOpenBoltHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.db")
	s, err := store.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := store.OpenBolt(path); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second open = %v, want ErrLocked", err)
	}
}
