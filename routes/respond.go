package routes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/scratch-notes/notes-api/attachments"
	"github.com/scratch-notes/notes-api/billing"
	"github.com/scratch-notes/notes-api/store"
)

// maxBodyBytes bounds every request body.
const maxBodyBytes = 1 << 20

// apiError is an error whose status and message are meant for the client.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// statusOf maps an error to the status and message a client sees. It is the
// only place that does; anything it does not know is a 500 that names no
// internals.
func statusOf(err error) (int, string) {
	var (
		ae *apiError
		be *billing.Error
	)
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.msg
	case errors.As(err, &be):
		switch be.Kind {
		case billing.Declined:
			return http.StatusPaymentRequired, be.Message
		case billing.Invalid:
			return http.StatusBadRequest, be.Message
		case billing.Unavailable, billing.RateLimited:
			return http.StatusServiceUnavailable, be.Message
		case billing.KeyInUse:
			return http.StatusConflict, be.Message
		case billing.KeyReused:
			return http.StatusUnprocessableEntity, be.Message
		default:
			return http.StatusBadGateway, be.Message
		}
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "note not found"
	case errors.Is(err, store.ErrBadCursor):
		return http.StatusBadRequest, "cursor is not valid: start again without one"
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, "note already exists"
	case errors.Is(err, attachments.ErrUnavailable):
		return http.StatusServiceUnavailable, filesBusy
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// A store that ran out of time (or was abandoned) may well answer
		// the same request next time.
		return http.StatusServiceUnavailable, storeBusy
	default:
		return http.StatusInternalServerError, "internal error"
	}
}

// storeBusy is the answer to a store that is throttled, unreachable or
// out of time, sent with Retry-After.
const storeBusy = "the notes store is busy: retry shortly"

// filesBusy is the answer to a bucket that could not keep a file a note
// is about to name, sent with Retry-After: the note was not written.
const filesBusy = "the file store is busy: the note was not saved, retry shortly"

// retryAfterSeconds is how long a client should wait out a busy store.
const retryAfterSeconds = "2"

// writeJSON marshals v first, so a value that cannot be encoded is a 500
// and not half a response.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("encode response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// writeError answers err as {"error": ...}; the details of an internal
// error go to the log under the request id, never to the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := statusOf(err)
	id := requestIDFrom(r.Context())
	s.countFailure(r.Context(), err, status)
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "status", status, "error", err.Error())
		if status == http.StatusInternalServerError {
			msg = fmt.Sprintf("internal error (request id %s)", id)
		}
	}
	var be *billing.Error
	if msg == storeBusy || msg == filesBusy || (errors.As(err, &be) && (be.Kind == billing.RateLimited || be.Kind == billing.KeyInUse)) {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	body, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// decodeJSON reads one JSON object of at most maxBodyBytes into dst,
// refusing other content types and unknown fields.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errorf(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return decodeError(err)
		}
		return errorf(http.StatusBadRequest, "request body must be a single JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return errorf(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", maxBodyBytes)
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, "request body is empty: send a JSON object")
	case errors.As(err, &syntax):
		return errorf(http.StatusBadRequest, "request body is not valid JSON (at byte %d)", syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, "request body is not valid JSON (it ends early)")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errorf(http.StatusBadRequest, "request body must be a JSON object")
		}
		return errorf(http.StatusBadRequest, "field %q must be %s", typ.Field, jsonKind(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errorf(http.StatusBadRequest, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return errorf(http.StatusBadRequest, "request body is not valid JSON")
	}
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "string", "ptr":
		return "a string"
	case "int", "int64", "float64":
		return "a number"
	case "bool":
		return "true or false"
	default:
		return "of another type"
	}
}

// maxExactWhole is the largest whole number a JSON number written with a
// fraction or an exponent (21.0, 1e3) is taken as: beyond 2^53 a float64
// no longer holds every whole number.
const maxExactWhole = 1 << 53

// wholeNumber reads a JSON number whose value is whole, as JSON Schema's
// integer is judged by the validators a client checks against
// openapi.json (Ajv, kin-openapi): 21, 21.0 and 1e3 are whole numbers,
// 21.5 and "21" are not. raw is a JSON value the decoder has read (so
// never Go's own float syntax: inf, hex, _). The range is the caller's.
func wholeNumber(raw []byte) (int64, error) {
	s := string(raw)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > maxExactWhole {
		return 0, fmt.Errorf("%.20q is not a whole number", s)
	}
	return int64(f), nil
}
