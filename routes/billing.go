package routes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/scratch-notes/notes-api/billing"
)

// Biller charges a card. Errors are *billing.Error, whose Kind and
// Message say what the client is told; anything else is internal.
type Biller interface {
	Charge(ctx context.Context, c billing.Charge) (chargeID string, err error)
}

// maxIdempotencyKey is the longest key Stripe accepts.
const maxIdempotencyKey = 255

// billingPayload is what the frontend posts. The original frontend sends
// storage as the string value of an <input type=number>, so both a JSON
// number and a numeric string are taken.
type billingPayload struct {
	Storage json.RawMessage `json:"storage"`
	Source  *string         `json:"source"`
}

// storage returns the whole number of notes the payload asks to buy.
func (p billingPayload) storage() (int64, error) {
	raw := bytes.TrimSpace(p.Storage)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, errorf(http.StatusBadRequest, "storage is required: the number of notes to pay for")
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, errorf(http.StatusBadRequest, "storage must be a whole number of notes")
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	var numErr *strconv.NumError
	switch {
	case errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange), err == nil && n > billing.MaxStorage:
		return 0, errorf(http.StatusBadRequest, "storage must be at most %d notes", billing.MaxStorage)
	case err != nil:
		return 0, errorf(http.StatusBadRequest, "storage must be a whole number of notes, as a number or a numeric string")
	case n < 1:
		return 0, errorf(http.StatusBadRequest, "storage must be at least 1 note")
	}
	return n, nil
}

// billingResult is the answer to a successful charge.
type billingResult struct {
	Status   bool   `json:"status"`
	Amount   int64  `json:"amount"`
	ChargeID string `json:"chargeId"`
}

// handleBilling handles POST /billing.
func (s *Server) handleBilling(w http.ResponseWriter, r *http.Request) {
	if s.billing == nil {
		s.writeError(w, r, errorf(http.StatusServiceUnavailable, "billing is not configured"))
		return
	}
	var p billingPayload
	if err := decodeJSON(w, r, &p); err != nil {
		s.writeError(w, r, err)
		return
	}
	storage, err := p.storage()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.Source == nil || strings.TrimSpace(*p.Source) == "" {
		s.writeError(w, r, errorf(http.StatusBadRequest, "source is required: the card token from Stripe.js (tok_...)"))
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey {
		s.writeError(w, r, errorf(http.StatusBadRequest, "Idempotency-Key is longer than %d characters", maxIdempotencyKey))
		return
	}
	amount := billing.Price(storage)
	id, err := s.billing.Charge(r.Context(), billing.Charge{Amount: amount, Source: *p.Source, IdempotencyKey: key})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, billingResult{Status: true, Amount: amount, ChargeID: id})
}
