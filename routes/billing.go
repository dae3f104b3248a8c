package routes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/scratch-notes/notes-api/billing"
	"github.com/scratch-notes/notes-api/store"
)

// Biller takes payments through Stripe. Errors are *billing.Error, whose
// Kind and Message say what the client is told; anything else is
// internal.
type Biller interface {
	// CreateIntent makes a PaymentIntent the browser confirms.
	CreateIntent(ctx context.Context, in billing.Intent) (billing.PaymentIntent, error)
	// Charge charges a card token (the original frontend's).
	Charge(ctx context.Context, c billing.Charge) (chargeID string, err error)
	// Event verifies and reads a webhook event: payload is the exact
	// bytes Stripe sent, signature its Stripe-Signature header.
	Event(ctx context.Context, payload []byte, signature string) (billing.Event, error)
}

// PurchaseStore keeps what users paid for, beside their notes. Errors
// wrap store.ErrUnavailable (worth retrying); anything else is internal.
type PurchaseStore interface {
	// AddPurchase records p once per p.ID: recording an id that is there
	// already changes nothing and reports added false.
	AddPurchase(ctx context.Context, p store.Purchase) (added bool, err error)
	// ListPurchases returns every purchase of the user, newest first.
	ListPurchases(ctx context.Context, userID string) ([]store.Purchase, error)
}

// maxIdempotencyKey is the longest key Stripe accepts.
const maxIdempotencyKey = 255

// billingPayload is what the frontend posts. The original frontend sends
// storage as the string value of an <input type=number>, so both a JSON
// number and a numeric string are taken; it also sends source, a card
// token, which makes the request a charge.
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

// chargeResult is the answer to a successful charge.
type chargeResult struct {
	Status   bool   `json:"status"`
	Amount   int64  `json:"amount"`
	ChargeID string `json:"chargeId"`
}

// intentResult is the answer to a PaymentIntent made.
type intentResult struct {
	PaymentIntentID string `json:"paymentIntentId"`
	ClientSecret    string `json:"clientSecret"`
	Amount          int64  `json:"amount"`
	Storage         int64  `json:"storage"`
	Status          string `json:"status"`
}

// errNoBilling answers when no Stripe key is configured.
var errNoBilling = errorf(http.StatusServiceUnavailable, "billing is not configured")

// handleBilling handles POST /billing: a PaymentIntent for the browser to
// confirm, or, given the original frontend's card token, a charge.
func (s *Server) handleBilling(w http.ResponseWriter, r *http.Request) {
	if s.billing == nil {
		s.writeError(w, r, errNoBilling)
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
	if p.Source != nil && strings.TrimSpace(*p.Source) == "" {
		s.writeError(w, r, errorf(http.StatusBadRequest, "source must be a card token from Stripe.js (tok_...), or left out for a PaymentIntent"))
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey {
		s.writeError(w, r, errorf(http.StatusBadRequest, "Idempotency-Key is longer than %d characters", maxIdempotencyKey))
		return
	}
	amount := billing.Price(storage)
	user := userIDFrom(r.Context())
	if p.Source == nil {
		pi, err := s.billing.CreateIntent(r.Context(), billing.Intent{Amount: amount, Storage: storage, IdentityID: user, IdempotencyKey: key})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.count(r.Context(), metricIntents)
		s.writeJSON(w, r, http.StatusCreated, intentResult{PaymentIntentID: pi.ID, ClientSecret: pi.ClientSecret,
			Amount: pi.Amount, Storage: storage, Status: pi.Status})
		return
	}
	id, err := s.billing.Charge(r.Context(), billing.Charge{Amount: amount, Source: *p.Source, IdempotencyKey: key})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The card is charged: the answer says so whatever happens next. A
	// purchase the store cannot take now is for the operator to record
	// (the log line says which); a retry with the same Idempotency-Key
	// records it too.
	if _, err := s.purchases.AddPurchase(r.Context(), store.Purchase{UserID: user, ID: id, Storage: storage, Amount: amount,
		CreatedAt: time.Now().UnixMilli()}); err != nil {
		s.log.ErrorContext(r.Context(), "charge not recorded", "chargeId", id, "identityId", user, "storage", storage, "error", err.Error())
	}
	s.emit(r.Context(), "", metric{metricCharges, unitCount, 1}, metric{metricChargeAmount, unitNone, float64(amount)})
	s.writeJSON(w, r, http.StatusOK, chargeResult{Status: true, Amount: amount, ChargeID: id})
}

// maxEventBytes bounds a webhook event: Stripe's are a few KiB.
const maxEventBytes = 1 << 20

// webhookTimeout bounds a webhook's work, well inside the time Stripe
// waits for an answer before it counts a delivery failed.
const webhookTimeout = 10 * time.Second

// webhookResult is the answer to a verified event: Stripe shows it in the
// dashboard's delivery log.
type webhookResult struct {
	Received bool   `json:"received"`
	Recorded bool   `json:"recorded"`
	Ignored  string `json:"ignored,omitempty"`
}

// handleBillingWebhook handles POST /billing/webhook: Stripe's call, with
// no identity; what proves it is Stripe's signature over the exact bytes
// of its body. A payment_intent.succeeded records the purchase once; any
// other verified event is acknowledged and ignored; a store failure is a
// 5xx, so that Stripe delivers the event again.
func (s *Server) handleBillingWebhook(w http.ResponseWriter, r *http.Request) {
	if s.billing == nil {
		s.log.WarnContext(r.Context(), "webhook called, billing is not configured")
		s.writeError(w, r, errNoBilling)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), webhookTimeout)
	defer cancel()
	payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventBytes))
	if err != nil {
		s.writeError(w, r, decodeError(err))
		return
	}
	ev, err := s.billing.Event(ctx, payload, r.Header.Get("Stripe-Signature"))
	if err != nil {
		s.log.WarnContext(ctx, "webhook refused", "error", err.Error())
		s.writeError(w, r, err)
		return
	}
	res := webhookResult{Received: true, Ignored: ev.Ignored}
	if ev.Payment != nil {
		p := ev.Payment
		res.Recorded, err = s.purchases.AddPurchase(ctx, store.Purchase{UserID: p.IdentityID, ID: p.IntentID,
			Storage: p.Storage, Amount: p.Amount, CreatedAt: p.Created.UnixMilli()})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if res.Recorded {
			s.emit(ctx, "", metric{metricPayments, unitCount, 1}, metric{metricPaymentAmount, unitNone, float64(p.Amount)})
		}
	}
	s.log.InfoContext(ctx, "webhook event", "eventId", ev.ID, "type", ev.Type,
		"recorded", res.Recorded, "ignored", ev.Ignored)
	s.writeJSON(w, r, http.StatusOK, res)
}

// purchaseJSON is a purchase as GET /billing answers it.
type purchaseJSON struct {
	ID        string `json:"id"`
	Storage   int64  `json:"storage"`
	Amount    int64  `json:"amount"`
	CreatedAt int64  `json:"createdAt"`
}

// billingSummary is the answer to GET /billing.
type billingSummary struct {
	Storage   int64          `json:"storage"`
	Purchases []purchaseJSON `json:"purchases"`
}

// handleBillingGet handles GET /billing: what the caller paid for.
func (s *Server) handleBillingGet(w http.ResponseWriter, r *http.Request) {
	ps, err := s.purchases.ListPurchases(r.Context(), userIDFrom(r.Context()))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := billingSummary{Purchases: make([]purchaseJSON, 0, len(ps))}
	for _, p := range ps {
		out.Storage += p.Storage
		out.Purchases = append(out.Purchases, purchaseJSON{ID: p.ID, Storage: p.Storage, Amount: p.Amount, CreatedAt: p.CreatedAt})
	}
	s.writeJSON(w, r, http.StatusOK, out)
}
