package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// goodDB writes a real notes database with one note and returns its bytes.
func goodDB(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "good.db")
	db, _, err := openBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket([]byte("notes")).CreateBucketIfNotExists([]byte("u"))
		if err != nil {
			return err
		}
		return b.Put([]byte("0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e"), bytes.Repeat([]byte("x"), 20000))
	})
	db.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unwritable is a path whose directory this process cannot write: a
// read-only directory, or, for root, which writes anywhere else, sysfs.
func unwritable(t *testing.T) string {
	if os.Geteuid() == 0 {
		return "/sys/notes-test.db"
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o500)
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	return filepath.Join(dir, "notes.db")
}

// TestBrokenStoreFile starts the built binary on a NOTES_DB it must not
// use: it must exit within seconds, with a message that names the file and
// says what to do, and leave the file as it was.
func TestBrokenStoreFile(t *testing.T) {
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
		name  string
		data  []byte // nil: no file, at an unwritable path
		wants []string
	}{
		{"unwritable directory", nil, []string{"cannot be opened or created", "a directory you can write"}},
		{"random bytes", random, []string{"is not a notes database", "move it away"}},
		{"text", []byte("these are my notes, not a database\n"), []string{"is not a notes database", "move it away"}},
		{"empty", []byte{}, []string{"is not a notes database", "empty"}},
		{"truncated to a page", good[:4096], []string{"is not a notes database"}},
		{"truncated to half", good[:len(good)/2], []string{"cut short", "move it away"}},
		{"a newer bbolt format", newer, []string{"written by a newer version", "run that version"}},
		{"a newer notes format", newerNotesFormat(t), []string{"written by a newer version", "format"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := unwritable(t)
			if tc.data != nil {
				path = filepath.Join(t.TempDir(), "notes.db")
				if err := os.WriteFile(path, tc.data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(binary(t))
			cmd.Env = []string{"NOTES_DB=" + path, "PORT=" + strconv.Itoa(freePort(t))}
			done := make(chan []byte, 1)
			go func() { out, _ := cmd.CombinedOutput(); done <- out }()
			var out []byte
			select {
			case out = <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatal("start-up did not end within 10 s")
			}
			if cmd.ProcessState.ExitCode() == 0 {
				t.Fatalf("exit 0 with NOTES_DB %s:\n%s", tc.name, out)
			}
			msg := string(out)
			for _, w := range append(tc.wants, "NOTES_DB="+path) {
				if !strings.Contains(msg, w) {
					t.Fatalf("message %q does not say %q", msg, w)
				}
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

// newerNotesFormat is a bbolt file a later notes-api wrote (format 2).
func newerNotesFormat(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "newer.db")
	db, _, err := openBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("format"), []byte("2")) })
	db.Close()
	b, _ := os.ReadFile(path)
	return b
}
