// Package store keeps notes: the Note record, the errors every
// implementation translates its backend's failures into, and the
// implementations themselves (an embedded bbolt file for local use).
package store

import "errors"

// Note is one user's note. Attachment is the S3 key relative to the
// user's private/<identityId>/ prefix, or nil when the note has no file.
// It has no wire tags: each backend has its own record type and the API
// its own answer type, so that renaming a field on one side never
// silently changes another.
type Note struct {
	UserID     string
	NoteID     string
	Content    string
	Attachment *string
	// CreatedAt and UpdatedAt are Unix epoch milliseconds; UpdatedAt is
	// zero until the note is first changed.
	CreatedAt int64
	UpdatedAt int64
}

// Page is one slice of a user's notes, newest first. Next is the opaque
// cursor that continues after the last note, empty when none remain.
type Page struct {
	Notes []Note
	Next  string
}

// The errors every implementation returns (wrapped, test with errors.Is).
var (
	// ErrNotFound: no note with that id in that user's partition.
	ErrNotFound = errors.New("note not found")
	// ErrConflict: a note with that id already exists.
	ErrConflict = errors.New("note already exists")
	// ErrBadCursor: the cursor was not issued for this user by this store.
	ErrBadCursor = errors.New("invalid cursor")
	// ErrUnavailable: the backend is throttled or unreachable; the call
	// may succeed if retried later.
	ErrUnavailable = errors.New("store unavailable")
)
