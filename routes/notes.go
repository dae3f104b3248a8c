package routes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/scratch-notes/notes-api/store"
)

const (
	maxContentBytes    = 256 << 10
	maxAttachmentBytes = 1024
	maxListLimit       = 1000
	// maxNoteIDBytes bounds a path id; longer ids cannot exist.
	maxNoteIDBytes = 256
)

// noteJSON is a note as the API answers it (openapi.json's Note).
// Attachment is always present, null when there is no file; updatedAt
// only once the note has changed.
type noteJSON struct {
	UserID     string  `json:"userId"`
	NoteID     string  `json:"noteId"`
	Content    string  `json:"content"`
	Attachment *string `json:"attachment"`
	CreatedAt  int64   `json:"createdAt"`
	UpdatedAt  int64   `json:"updatedAt,omitempty"`
}

func toJSON(n store.Note) noteJSON { return noteJSON(n) }

// notePayload is what a client may send for a note; the server owns every
// other field.
type notePayload struct {
	Content    *string `json:"content"`
	Attachment *string `json:"attachment"`
}

// decodeNote reads and checks a note payload.
func decodeNote(w http.ResponseWriter, r *http.Request) (notePayload, error) {
	var p notePayload
	if err := decodeJSON(w, r, &p); err != nil {
		return p, err
	}
	return p, p.validate()
}

func (p notePayload) validate() error {
	if p.Content == nil {
		return errorf(http.StatusBadRequest, "content is required: a string")
	}
	if len(*p.Content) > maxContentBytes {
		return errorf(http.StatusRequestEntityTooLarge, "content is larger than %d KiB", maxContentBytes>>10)
	}
	if p.Attachment != nil {
		return validateAttachment(*p.Attachment)
	}
	return nil
}

// validateAttachment keeps a key inside the caller's private/<identityId>/
// prefix: relative, with no way to climb out of it.
func validateAttachment(a string) error {
	switch {
	case a == "":
		return errorf(http.StatusBadRequest, "attachment must be null or a non-empty key")
	case len(a) > maxAttachmentBytes:
		return errorf(http.StatusBadRequest, "attachment is longer than %d bytes", maxAttachmentBytes)
	case !utf8.ValidString(a) || strings.ContainsFunc(a, unicode.IsControl):
		return errorf(http.StatusBadRequest, "attachment must not contain control characters")
	case strings.HasPrefix(a, "/"):
		return errorf(http.StatusBadRequest, "attachment must be a key relative to your folder, not start with /")
	case strings.ContainsAny(a, `\:`):
		// No key POST /attachments issues has one (its file names have
		// neither); a backslash is a separator to some clients.
		return errorf(http.StatusBadRequest, `attachment must not contain \ or :`)
	}
	for _, seg := range strings.Split(a, "/") {
		if seg == ".." || seg == "." || seg == "" {
			return errorf(http.StatusBadRequest, "attachment must not contain an empty, . or .. segment")
		}
	}
	return nil
}

// noteID is the {id} of the path; one that no note can have is not found.
func noteID(r *http.Request) (string, error) {
	id := chi.URLParam(r, "id")
	if id == "" || len(id) > maxNoteIDBytes {
		return "", fmt.Errorf("path id of %d bytes: %w", len(id), store.ErrNotFound)
	}
	return id, nil
}

// handleNoteCreate handles POST /notes.
func (s *Server) handleNoteCreate(w http.ResponseWriter, r *http.Request) {
	p, err := decodeNote(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.checkAllowance(r.Context(), userIDFrom(r.Context())); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := newUUIDv7()
	if err != nil {
		s.writeError(w, r, fmt.Errorf("new note id: %w", err))
		return
	}
	if err := s.keepFile(r.Context(), userIDFrom(r.Context()), p.Attachment); err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := s.notes.Create(r.Context(), store.Note{
		UserID:     userIDFrom(r.Context()),
		NoteID:     id,
		Content:    *p.Content,
		Attachment: p.Attachment,
		CreatedAt:  time.Now().UnixMilli(),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.count(r.Context(), metricNotesCreated)
	w.Header().Set("Location", "/notes/"+n.NoteID)
	s.writeJSON(w, r, http.StatusCreated, toJSON(n))
}

// checkAllowance refuses a new note with 402 when the user already keeps
// all their allowance: FREE_NOTES and the storage paid for that counts.
// Nothing is ever deleted when storage is taken back; the user keeps
// every note, and may add one once under the allowance again.
func (s *Server) checkAllowance(ctx context.Context, user string) error {
	if s.freeNotes == nil {
		return nil
	}
	notes, _, err := s.notes.Count(ctx, user)
	if err != nil {
		return err
	}
	paid, err := s.storagePaid(ctx, user)
	if err != nil {
		return err
	}
	if allowance := *s.freeNotes + paid; int64(notes) >= allowance {
		return errorf(http.StatusPaymentRequired, "you may keep %d notes (%d free and %d paid for) and you keep %d: "+
			"buy more storage with POST /billing, or delete a note", allowance, *s.freeNotes, paid, notes)
	}
	return nil
}

// handleNoteList handles GET /notes.
func (s *Server) handleNoteList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 0
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > maxListLimit {
			s.writeError(w, r, errorf(http.StatusBadRequest, "limit must be a whole number from 1 to %d", maxListLimit))
			return
		}
		limit = n
	}
	cursor := q.Get("cursor")
	if q.Has("cursor") && cursor == "" {
		s.writeError(w, r, errorf(http.StatusBadRequest, "cursor is empty: leave it out to start at the newest note"))
		return
	}
	notes, next, err := s.listNotes(r.Context(), userIDFrom(r.Context()), limit, cursor, 0, func(n store.Note) ([]byte, error) {
		return json.Marshal(toJSON(n))
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if next != "" {
		w.Header().Set("X-Next-Cursor", next)
	}
	s.writeJSON(w, r, http.StatusOK, notes)
}

const (
	// maxListBody bounds a list's body: 5 MiB, as openapi.json says.
	maxListBody = 5 << 20
	// answerHeadroom is what a list's Lambda answer leaves, under
	// Config.MaxAnswerBytes, for its status and headers.
	answerHeadroom = 64 << 10
	// listPageSize is how many notes one store call reads: at most
	// 25 MiB of notes in memory at once.
	listPageSize = 100
)

// listNotes reads the caller's notes newest first, after cursor, each as
// encode makes it, until limit notes (every note when limit is 0) or
// until the next note would take the body over maxListBody or its Lambda
// answer (the body escaped into a proxy answer's "body" string) over
// s.maxListAnswer, reserved bytes of either taken by what else the
// answer holds; next continues after the last note returned, empty when
// none remain. The first note is always returned, so a client always gets
// forward.
func (s *Server) listNotes(ctx context.Context, user string, limit int, cursor string, reserved int,
	encode func(store.Note) ([]byte, error)) (notes []json.RawMessage, next string, err error) {
	notes = []json.RawMessage{}
	body, answer := len("[]\n")+reserved, len("[]\n")+reserved
	start := cursor
	for {
		size := listPageSize
		if limit > 0 {
			size = min(size, limit-len(notes))
		}
		page, err := s.notes.List(ctx, user, size, start)
		if err != nil {
			return nil, "", err
		}
		for i, n := range page.Notes {
			b, err := encode(n)
			if err != nil {
				return nil, "", fmt.Errorf("encode note %s: %w", n.NoteID, err)
			}
			comma := min(len(notes), 1)
			if len(notes) > 0 && (body+comma+len(b) > maxListBody || answer+comma+escapedLen(b) > s.maxListAnswer) {
				if i == 0 {
					return notes, start, nil // start continues after the last note returned
				}
				// A cursor after the note before this one: the store's own.
				before, err := s.notes.List(ctx, user, i, start)
				if err != nil {
					return nil, "", err
				}
				return notes, before.Next, nil
			}
			notes = append(notes, b)
			body += comma + len(b)
			answer += comma + escapedLen(b)
		}
		if page.Next == "" || (limit > 0 && len(notes) == limit) {
			return notes, page.Next, nil
		}
		start = page.Next
	}
}

// escapedLen is the length of b once encoded as a JSON string by
// encoding/json (HTML-safe), as a Lambda proxy answer's "body" holds it,
// without its quotes.
func escapedLen(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
				n += 2
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			n += 6
		} else {
			n += size
		}
		i += size
	}
	return n
}

// handleNoteGet handles GET /notes/{id}.
func (s *Server) handleNoteGet(w http.ResponseWriter, r *http.Request) {
	if n, ok := s.callersNote(w, r); ok {
		s.writeJSON(w, r, http.StatusOK, toJSON(n))
	}
}

// callersNote reads the caller's note of the path's {id}, or answers why
// it cannot and returns false.
func (s *Server) callersNote(w http.ResponseWriter, r *http.Request) (store.Note, bool) {
	id, err := noteID(r)
	if err != nil {
		s.writeError(w, r, err)
		return store.Note{}, false
	}
	n, err := s.notes.Get(r.Context(), userIDFrom(r.Context()), id)
	if err != nil {
		s.writeError(w, r, err)
		return store.Note{}, false
	}
	return n, true
}

// handleNoteUpdate handles PUT /notes/{id}: content and attachment are
// replaced together, and a missing note is not created.
func (s *Server) handleNoteUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := noteID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := decodeNote(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user := userIDFrom(r.Context())
	if err := s.keepFile(r.Context(), user, p.Attachment); err != nil {
		s.writeError(w, r, err)
		return
	}
	n, replaced, err := s.notes.Update(r.Context(), store.Note{
		UserID:     user,
		NoteID:     id,
		Content:    *p.Content,
		Attachment: p.Attachment,
		UpdatedAt:  time.Now().UnixMilli(),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if replaced != nil && (n.Attachment == nil || *n.Attachment != *replaced) {
		s.deleteFile(r, user, *replaced)
	}
	s.writeJSON(w, r, http.StatusOK, toJSON(n))
}

// handleNoteDelete handles DELETE /notes/{id}.
func (s *Server) handleNoteDelete(w http.ResponseWriter, r *http.Request) {
	id, err := noteID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user := userIDFrom(r.Context())
	old, err := s.notes.Delete(r.Context(), user, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if old.Attachment != nil {
		s.deleteFile(r, user, *old.Attachment)
	}
	w.WriteHeader(http.StatusNoContent)
}
