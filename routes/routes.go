// Package routes is the HTTP layer of the notes API: the chi route table,
// CORS, identity, and JSON in and out. The same handler serves the local
// HTTP server and the Lambda adapter.
package routes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/scratch-notes/notes-api/origins"
	"github.com/scratch-notes/notes-api/store"
)

// NoteStore keeps notes. Errors wrap store.ErrNotFound (no such note in
// that user's partition: never created by Update), store.ErrConflict,
// store.ErrBadCursor (a cursor this store did not issue to this user) and
// store.ErrUnavailable (throttled or unreachable: worth retrying); anything
// else is an internal failure.
type NoteStore interface {
	Create(ctx context.Context, n store.Note) (store.Note, error)
	Get(ctx context.Context, userID, noteID string) (store.Note, error)
	// List returns at most limit (> 0) notes newest first, continuing
	// after cursor when it is not empty.
	List(ctx context.Context, userID string, limit int, cursor string) (store.Page, error)
	// Update replaces Content and Attachment and sets UpdatedAt of an
	// existing note, and returns the whole updated note and the
	// attachment it replaced (nil when the note had none).
	Update(ctx context.Context, n store.Note) (updated store.Note, replaced *string, err error)
	// Delete removes a note and returns it as it was.
	Delete(ctx context.Context, userID, noteID string) (store.Note, error)
	// Count returns how many notes the user has, and how many of them
	// name an attachment, as of one moment.
	Count(ctx context.Context, userID string) (notes, attachments int, err error)
}

// IdentityMode says where the caller's identity may come from.
type IdentityMode int

const (
	// IdentityDeployed trusts only the API Gateway request context.
	IdentityDeployed IdentityMode = iota
	// IdentityLocal takes the gateway identity when there is one, then the
	// X-Dev-Identity-Id header, then Config.DevIdentity: the local server
	// and sam local.
	IdentityLocal
)

// Config is everything New needs; main builds it from the environment.
type Config struct {
	Notes NoteStore
	// Billing is nil when no Stripe key is configured: POST /billing
	// and the webhook then answer 503.
	Billing Biller
	// Purchases keeps what was paid for (the notes' store, beside them).
	Purchases PurchaseStore
	// Files is nil when no bucket is configured: POST /attachments then
	// answers 503, and nothing deletes files.
	Files  Files
	Logger *slog.Logger
	// Metrics takes the metric lines (Embedded Metric Format), whatever
	// Logger's level: they are metrics, not logs, and an alarm that
	// watches one must not go quiet when the log level is raised. Nil:
	// Logger.
	Metrics     *slog.Logger
	CORS        origins.Policy
	Identity    IdentityMode
	DevIdentity string
	// EraseBudget is how long one DELETE /me works before it answers
	// 202 (10 s when zero).
	EraseBudget time.Duration
	// FreeNotes is how many notes a user keeps without paying (FREE_NOTES);
	// nil: no limit.
	FreeNotes *int64
	// MaxAnswerBytes is the largest answer Lambda returns
	// (gateway.MaxResponseBytes): lists stop short of it, through every
	// front door alike.
	MaxAnswerBytes int
}

// Server holds the dependencies of every handler.
type Server struct {
	notes       NoteStore
	billing     Biller
	purchases   PurchaseStore
	files       Files
	log         *slog.Logger
	metrics     *slog.Logger // the metric lines; see Config.Metrics
	identity    IdentityMode
	devIdentity string
	// maxListAnswer bounds a list's body once escaped into a Lambda
	// answer.
	maxListAnswer int
	eraseBudget   time.Duration
	freeNotes     *int64
	// served is set once the process has answered a request: the first
	// is a cold start.
	served atomic.Bool
}

// New returns the API's handler, or an error for a configuration that
// must not serve (see origins.Policy.Validate).
func New(cfg Config) (http.Handler, error) {
	corsMW, err := cfg.CORS.API()
	if err != nil {
		return nil, err
	}
	if cfg.Purchases == nil {
		return nil, errors.New("routes: no PurchaseStore")
	}
	if cfg.MaxAnswerBytes <= 2*answerHeadroom {
		return nil, fmt.Errorf("routes: MaxAnswerBytes %d is too small for any list", cfg.MaxAnswerBytes)
	}
	s := &Server{
		notes:         cfg.Notes,
		billing:       cfg.Billing,
		purchases:     cfg.Purchases,
		files:         cfg.Files,
		log:           cfg.Logger,
		metrics:       cfg.Metrics,
		identity:      cfg.Identity,
		devIdentity:   cfg.DevIdentity,
		maxListAnswer: cfg.MaxAnswerBytes - answerHeadroom,
		eraseBudget:   cmp.Or(cfg.EraseBudget, defaultEraseBudget),
		freeNotes:     cfg.FreeNotes,
	}
	s.setLoggers()
	if s.devIdentity == "" {
		s.devIdentity = "local-user"
	}

	r := chi.NewRouter()
	r.Use(corsMW, headAsGet, s.recoverPanic, s.rejectUnreadable)
	s.routes(r)

	// Request ids and logs wrap the router, so that the preflights
	// go-chi/cors answers itself carry them too.
	return s.withRequestID(s.logRequests(r)), nil
}

// routes is the whole route table. Every route is in openapi.json, and
// every path there is a route (a test walks both).
func (s *Server) routes(r *chi.Mux) {
	r.NotFound(s.handleNotFound)
	r.MethodNotAllowed(s.handleMethodNotAllowed(r))

	// No identity needed: what this API is.
	r.Get("/", s.handleIndex)
	r.Get("/openapi.json", s.handleOpenAPI)
	// Stripe's call: its own signature, no identity.
	r.Post("/billing/webhook", s.handleBillingWebhook)

	r.Group(func(r chi.Router) {
		r.Use(s.requireIdentity)
		r.Post("/notes", s.handleNoteCreate)
		r.Get("/notes", s.handleNoteList)
		r.Get("/notes/{id}", s.handleNoteGet)
		r.Put("/notes/{id}", s.handleNoteUpdate)
		r.Delete("/notes/{id}", s.handleNoteDelete)
		r.Get("/notes/{id}/attachment", s.handleAttachmentGet)
		r.Post("/attachments", s.handleAttachmentCreate)
		r.Post("/billing", s.handleBilling)
		r.Get("/billing", s.handleBillingGet)
		r.Get("/me", s.handleMe)
		r.Get("/me/export", s.handleMeExport)
		r.Delete("/me", s.handleMeDelete)
	})
}

func newUUIDv7() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}
