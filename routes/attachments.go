package routes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scratch-notes/notes-api/attachments"
)

// Files keeps the files attached to notes. Keys are whole object keys,
// private/<identityId>/<key>; every error is internal, but CheckKey's.
type Files interface {
	// CheckKey says why a key is not one the files can keep (nil when it
	// is): the API asks before it signs anything.
	CheckKey(key string) error
	// PresignUpload signs a PUT of exactly size bytes of contentType.
	PresignUpload(ctx context.Context, key, contentType string, size int64) (attachments.Presigned, error)
	// PresignDownload signs a GET.
	PresignDownload(ctx context.Context, key string) (attachments.Presigned, error)
	// Exists reports whether a file is at key; a failure to tell wraps
	// attachments.ErrUnavailable.
	Exists(ctx context.Context, key string) (bool, error)
	// Delete removes a file; a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// Keep removes a file's pending tag, so that it is never swept; a
	// missing file wraps attachments.ErrNoFile, a failure
	// attachments.ErrUnavailable.
	Keep(ctx context.Context, key string) error
	// List returns up to 1,000 keys under prefix after from, and where
	// to continue ("" when none remain).
	List(ctx context.Context, prefix, from string) (keys []string, next string, err error)
}

const (
	// maxFileNameBytes is the longest file name most file systems keep.
	maxFileNameBytes = 255
	// maxUploadBytes is the original frontend's MAX_ATTACHMENT_SIZE.
	maxUploadBytes = 5_000_000
)

// isMediaType reports whether s is a type/subtype media type, each part
// one of RFC 6838's restricted names (a letter or digit, then up to 126 of
// letters, digits and !#$&^_.+-), with no parameters: what a browser's
// File.type holds. (A regular expression with these counts costs the cold
// start three milliseconds to compile.)
func isMediaType(s string) bool {
	typ, sub, ok := strings.Cut(s, "/")
	return ok && restrictedName(typ) && restrictedName(sub)
}

func restrictedName(s string) bool {
	if len(s) == 0 || len(s) > 127 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("!#$&^_.+-", rune(c))) {
			return false
		}
	}
	return true
}

// uploadPayload is what a client sends to get an upload URL.
type uploadPayload struct {
	FileName    *string         `json:"fileName"`
	ContentType *string         `json:"contentType"`
	Size        json.RawMessage `json:"size"`
}

func (p uploadPayload) validate() (size int64, err error) {
	switch name := p.FileName; {
	case name == nil || *name == "":
		return 0, errorf(http.StatusBadRequest, "fileName is required: the name of the file to upload")
	case len(*name) > maxFileNameBytes:
		return 0, errorf(http.StatusBadRequest, "fileName is longer than %d bytes", maxFileNameBytes)
	case !utf8.ValidString(*name) || strings.ContainsFunc(*name, unicode.IsControl):
		return 0, errorf(http.StatusBadRequest, "fileName must be UTF-8 text with no control characters")
	case strings.ContainsAny(*name, `/\`) || strings.Contains(*name, "..") || *name == ".":
		return 0, errorf(http.StatusBadRequest, "fileName must be a bare file name, with no / or \\ and no ..")
	}
	if p.ContentType == nil || !isMediaType(*p.ContentType) {
		return 0, errorf(http.StatusBadRequest, "contentType must be a media type such as image/jpeg (type/subtype, no parameters)")
	}
	raw := bytes.TrimSpace(p.Size)
	n, perr := wholeNumber(raw)
	if len(raw) == 0 || string(raw) == "null" || perr != nil || n < 1 || n > maxUploadBytes {
		return 0, errorf(http.StatusBadRequest, "size must be a whole number of bytes from 1 to %d", maxUploadBytes)
	}
	return n, nil
}

// cleanFileName keeps letters, digits, '.', '_' and '-' of a file name,
// turning every other run of characters into one '-', so that a key
// reads well in a URL; a name with nothing left is "file".
func cleanFileName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
			dash = r == '-'
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	if out := strings.Trim(b.String(), "-."); out != "" {
		return out
	}
	return "file"
}

// fitName is prefix+name, with name shortened when the two would be over
// maxFileNameBytes (a key's last segment is a file name on the local
// endpoint's disk): its stem is cut on a rune boundary and its extension
// kept.
func fitName(prefix, name string) string {
	room := maxFileNameBytes - len(prefix)
	if len(name) <= room {
		return prefix + name
	}
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 16 {
		ext = name[i:]
	}
	stem := name[:len(name)-len(ext)]
	for len(stem)+len(ext) > room {
		_, size := utf8.DecodeLastRuneInString(stem)
		stem = stem[:len(stem)-size]
	}
	return prefix + strings.TrimRight(stem, "-.") + ext
}

// objectKey is where a user's attachment key lives in the bucket.
func objectKey(userID, key string) string { return "private/" + userID + "/" + key }

// uploadJSON is the answer to POST /attachments.
type uploadJSON struct {
	Key       string            `json:"key"`
	UploadURL string            `json:"uploadUrl"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt int64             `json:"expiresAt"`
}

// downloadJSON is the answer to GET /notes/{id}/attachment.
type downloadJSON struct {
	URL       string `json:"url"`
	ExpiresAt int64  `json:"expiresAt"`
}

var errNoFiles = errorf(http.StatusServiceUnavailable, "attachments are not configured")

// handleAttachmentCreate handles POST /attachments.
func (s *Server) handleAttachmentCreate(w http.ResponseWriter, r *http.Request) {
	var p uploadPayload
	if err := decodeJSON(w, r, &p); err != nil {
		s.writeError(w, r, err)
		return
	}
	size, err := p.validate()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.files == nil {
		s.writeError(w, r, errNoFiles)
		return
	}
	key := fitName(strconv.FormatInt(time.Now().UnixMilli(), 10)+"-", cleanFileName(*p.FileName))
	if user := userIDFrom(r.Context()); strings.Contains(user, "/") {
		// A folder inside another user's: never a Cognito identity, and
		// refused for a dev identity.
		s.writeError(w, r, errorf(http.StatusBadRequest, "the identity %q cannot name a folder of files: it has a /", user))
		return
	}
	if err := s.files.CheckKey(objectKey(userIDFrom(r.Context()), key)); err != nil {
		s.writeError(w, r, errorf(http.StatusBadRequest, "the file cannot be kept for this identity and file name: %v", err))
		return
	}
	up, err := s.files.PresignUpload(r.Context(), objectKey(userIDFrom(r.Context()), key), *p.ContentType, size)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.count(r.Context(), metricUploadsSigned)
	s.writeJSON(w, r, http.StatusCreated, uploadJSON{Key: key, UploadURL: up.URL, Method: up.Method,
		Headers: up.Header, ExpiresAt: up.Expires.UnixMilli()})
}

// handleAttachmentGet handles GET /notes/{id}/attachment.
func (s *Server) handleAttachmentGet(w http.ResponseWriter, r *http.Request) {
	n, ok := s.callersNote(w, r)
	if !ok {
		return
	}
	if n.Attachment == nil {
		s.writeError(w, r, errorf(http.StatusNotFound, "this note has no attachment"))
		return
	}
	if s.files == nil {
		s.writeError(w, r, errNoFiles)
		return
	}
	if err := s.files.CheckKey(objectKey(userIDFrom(r.Context()), *n.Attachment)); err != nil {
		s.writeError(w, r, errorf(http.StatusNotFound, "this note's attachment is not a file that can be kept here: %v", err))
		return
	}
	// A note saved before files were checked, or whose file was removed
	// by hand, must not hand out a link to nothing.
	switch there, err := s.files.Exists(r.Context(), objectKey(userIDFrom(r.Context()), *n.Attachment)); {
	case err != nil:
		s.writeError(w, r, err)
		return
	case !there:
		s.writeError(w, r, errorf(http.StatusNotFound, "this note's file is missing: it was never uploaded, or was removed"))
		return
	}
	down, err := s.files.PresignDownload(r.Context(), objectKey(userIDFrom(r.Context()), *n.Attachment))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, downloadJSON{URL: down.URL, ExpiresAt: down.Expires.UnixMilli()})
}

// keepFile makes the file a note is about to name a kept one (see
// Files.Keep), before the note is written: a saved file is never swept,
// and if the bucket cannot say so now the note is not written either
// (503 with Retry-After; nothing is half done). A key with no file behind
// it (never uploaded, or swept) is refused with 400: a note names only a
// file that is there.
func (s *Server) keepFile(ctx context.Context, userID string, attachment *string) error {
	if s.files == nil || attachment == nil {
		return nil
	}
	key := objectKey(userID, *attachment)
	if s.files.CheckKey(key) != nil {
		return errNoUpload // no file can be there
	}
	err := s.files.Keep(ctx, key)
	if errors.Is(err, attachments.ErrNoFile) {
		return errNoUpload
	}
	return err
}

// errNoUpload is the answer to a note naming a file that is not there.
var errNoUpload = errorf(http.StatusBadRequest, "attachment names no uploaded file: upload it first (POST /attachments, then PUT the file to its uploadUrl)")

// deleteFile removes a file a note no longer names. The note change it
// follows has already happened and stands: a failure is logged with the
// key, for someone to remove the file, and never reaches the client.
func (s *Server) deleteFile(r *http.Request, userID, key string) {
	if s.files == nil {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	if err := s.files.Delete(ctx, objectKey(userID, key)); err != nil {
		s.log.ErrorContext(ctx, "attachment file not deleted",
			"key", objectKey(userID, key), "error", err.Error())
	}
}
