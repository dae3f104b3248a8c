package store

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
)

// A cursor is the last note id of a page, bound to the user it was issued
// to by a checksum. It is not a secret (it only ever continues the
// caller's own partition); the checksum makes a mangled or borrowed cursor
// an ErrBadCursor instead of a silently different page.
const cursorSumLen = 8

func cursorSum(userID, noteID string) []byte {
	h := sha256.New()
	h.Write([]byte("notes-cursor-v1\x00"))
	h.Write([]byte(userID))
	h.Write([]byte{0})
	h.Write([]byte(noteID))
	return h.Sum(nil)[:cursorSumLen]
}

// encodeCursor returns the cursor that continues after noteID.
func encodeCursor(userID, noteID string) string {
	b := append(cursorSum(userID, noteID), noteID...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the note id a cursor continues after.
func decodeCursor(userID, cursor string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) <= cursorSumLen {
		return "", fmt.Errorf("decode cursor: %w", ErrBadCursor)
	}
	noteID := string(b[cursorSumLen:])
	if subtle.ConstantTimeCompare(b[:cursorSumLen], cursorSum(userID, noteID)) != 1 {
		return "", fmt.Errorf("cursor checksum: %w", ErrBadCursor)
	}
	return noteID, nil
}
