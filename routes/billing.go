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
	// Recent reads the purchase events Stripe made since then, payments
	// first (see billing.Stripe.Recent).
	Recent(ctx context.Context, since time.Time) ([]billing.Event, error)
}

// PurchaseStore keeps what users paid for, beside their notes. Errors
// wrap store.ErrNotFound (PurchaseOwner of an id no change named) and
// store.ErrUnavailable (worth retrying); anything else is internal.
type PurchaseStore interface {
	// ApplyPurchase applies c to purchase c.ID of c.UserID, made when
	// missing, in one step (see store.Purchase.Apply), keeps c.UserID as
	// the purchase's owner, and returns the purchase as it is now and
	// whether anything changed.
	ApplyPurchase(ctx context.Context, c store.PurchaseChange) (store.Purchase, bool, error)
	// PurchaseOwner returns whose purchase id is.
	PurchaseOwner(ctx context.Context, id string) (string, error)
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
	var n int64
	var err error
	if raw[0] == '"' {
		// A numeric string, as the original frontend sends: digits only.
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, errorf(http.StatusBadRequest, "storage must be a whole number of notes")
		}
		n, err = strconv.ParseInt(text, 10, 64)
	} else {
		n, err = wholeNumber(raw)
	}
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
		// Known before Stripe says anything of it: a refund or a dispute,
		// which names only the intent, finds whose it is. A store that
		// cannot take it now is a 503; the client's retry with the same
		// Idempotency-Key gets the same intent and records it.
		if _, _, err := s.purchases.ApplyPurchase(r.Context(), store.PurchaseChange{UserID: user, ID: pi.ID}); err != nil {
			s.writeError(w, r, err)
			return
		}
		s.count(r.Context(), metricIntents)
		s.writeJSON(w, r, http.StatusCreated, intentResult{PaymentIntentID: pi.ID, ClientSecret: pi.ClientSecret,
			Amount: pi.Amount, Storage: storage, Status: pi.Status})
		return
	}
	id, err := s.billing.Charge(r.Context(), billing.Charge{Amount: amount, Storage: storage, Source: *p.Source, IdentityID: user, IdempotencyKey: key})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The card is charged: the answer says so whatever happens next. A
	// purchase the store cannot take now is for the operator to record
	// (the log line says which); a retry with the same Idempotency-Key
	// records it too, as does the next reconcile.
	if _, _, err := s.purchases.ApplyPurchase(r.Context(), store.PurchaseChange{UserID: user, ID: id, Paid: true, Storage: storage,
		Amount: amount, CreatedAt: time.Now().UnixMilli()}); err != nil {
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
// of its body. What a purchase event says is recorded once, in whatever
// order Stripe delivers; any other verified event is acknowledged and
// ignored; a store failure is a 5xx, so that Stripe delivers the event
// again.
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
		var be *billing.Error
		if errors.As(err, &be) && be.Kind == billing.Invalid {
			s.log.WarnContext(ctx, "webhook refused", "error", err.Error())
		} // the rest, a configuration to fix, writeError logs at ERROR and counts
		s.writeError(w, r, err)
		return
	}
	res, err := s.recordEvent(ctx, ev)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, res)
}

// recordEvent records what a verified event says of a purchase, once,
// and says what it did in the log: the webhook's and reconciling's one
// way to do it.
func (s *Server) recordEvent(ctx context.Context, ev billing.Event) (webhookResult, error) {
	res := webhookResult{Received: true, Ignored: ev.Ignored}
	if ev.Mismatch {
		// Money came in that credits nothing: someone must look.
		s.log.ErrorContext(ctx, "payment for another amount than its storage: not credited", "eventId", ev.ID, "type", ev.Type, "ignored", ev.Ignored)
		s.count(ctx, metricPaymentMismatches)
	}
	if u := ev.Update; u != nil {
		owner := u.IdentityID
		if owner == "" {
			var err error
			owner, err = s.purchases.PurchaseOwner(ctx, u.PurchaseID)
			if errors.Is(err, store.ErrNotFound) {
				res.Ignored = "no purchase of this API has the id " + u.PurchaseID
				s.log.WarnContext(ctx, "event of an unknown purchase", "eventId", ev.ID, "type", ev.Type, "purchaseId", u.PurchaseID)
				return res, nil
			}
			if err != nil {
				return res, err
			}
		}
		c := store.PurchaseChange{UserID: owner, ID: u.PurchaseID, Refunded: u.Refunded, Dispute: string(u.Dispute)}
		if u.Paid != nil {
			c.Paid, c.Storage, c.Amount, c.CreatedAt = true, u.Paid.Storage, u.Paid.Amount, u.Paid.Created.UnixMilli()
		}
		p, changed, err := s.purchases.ApplyPurchase(ctx, c)
		if err != nil {
			return res, err
		}
		res.Recorded = changed
		if changed && u.Paid != nil && p.Paid {
			s.emit(ctx, "", metric{metricPayments, unitCount, 1}, metric{metricPaymentAmount, unitNone, float64(u.Paid.Amount)})
		}
		if changed && (u.Refunded > 0 || u.Dispute != "") {
			s.count(ctx, metricPurchaseChanges)
		}
	}
	s.log.InfoContext(ctx, "stripe event", "eventId", ev.ID, "type", ev.Type, "recorded", res.Recorded, "ignored", res.Ignored)
	return res, nil
}

// purchaseJSON is a purchase as GET /billing answers it.
type purchaseJSON struct {
	ID        string `json:"id"`
	Storage   int64  `json:"storage"`
	Amount    int64  `json:"amount"`
	CreatedAt int64  `json:"createdAt"`
	State     string `json:"state"`
	// Counted is the part of Storage that counts now.
	Counted int64 `json:"counted"`
}

// billingSummary is the answer to GET /billing.
type billingSummary struct {
	Storage   int64          `json:"storage"`
	Purchases []purchaseJSON `json:"purchases"`
}

// paidPurchases is what the user paid for: every purchase paid, in its
// state, and the storage that counts in all. An intent not paid (yet) is
// not one.
func (s *Server) paidPurchases(ctx context.Context, user string) (billingSummary, error) {
	ps, err := s.purchases.ListPurchases(ctx, user)
	if err != nil {
		return billingSummary{}, err
	}
	out := billingSummary{Purchases: make([]purchaseJSON, 0, len(ps))}
	for _, p := range ps {
		if !p.Paid {
			continue
		}
		out.Storage += p.Counted()
		out.Purchases = append(out.Purchases, purchaseJSON{ID: p.ID, Storage: p.Storage, Amount: p.Amount, CreatedAt: p.CreatedAt,
			State: p.State(), Counted: p.Counted()})
	}
	return out, nil
}

// handleBillingGet handles GET /billing: what the caller paid for.
func (s *Server) handleBillingGet(w http.ResponseWriter, r *http.Request) {
	out, err := s.paidPurchases(r.Context(), userIDFrom(r.Context()))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, out)
}
