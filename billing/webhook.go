package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

// Tolerance is how old a webhook event's signature may be: Stripe's own
// default, and the most the contract allows.
const Tolerance = 5 * time.Minute

// Event is a webhook event whose signature was verified. Payment is set
// for a payment_intent.succeeded of an intent this API made; for anything
// else it is nil, and the event is only acknowledged.
type Event struct {
	ID      string
	Type    string
	Payment *Payment
	// Ignored says why a payment_intent.succeeded has no Payment (not
	// made by this API, or for another amount than it should be).
	Ignored string
}

// Payment is a PaymentIntent of this API that succeeded.
type Payment struct {
	IntentID   string
	IdentityID string
	Storage    int64
	Amount     int64
	// Created is when Stripe made the intent.
	Created time.Time
}

// ErrBadSignature: the Stripe-Signature header is missing, malformed, does
// not sign these bytes with the endpoint's secret, or is older than
// Tolerance.
var ErrBadSignature = errors.New("bad Stripe-Signature")

// signatureMessage is what a caller learns of a refused event.
const signatureMessage = "the Stripe-Signature header is missing, malformed, does not match the body, or is too old"

// Event verifies payload, the exact bytes of Stripe's request, against its
// Stripe-Signature header with the endpoint's signing secret, and reads
// it. A refused signature is an *Error of Kind Invalid wrapping
// ErrBadSignature; no signing secret is one of Kind Unavailable.
//
// Only the fields it uses are read, not a whole stripe.Event: those are
// the same in every Stripe API version, and the endpoint's version (the
// account's, chosen in Stripe's dashboard) need not be stripe-go's.
func (s *Stripe) Event(ctx context.Context, payload []byte, signature string) (Event, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	k, err := s.accountKeys(ctx)
	if err != nil {
		return Event{}, err
	}
	if k.Webhook == "" {
		return Event{}, &Error{Kind: Unavailable, Message: "the webhook is not configured: it has no signing secret",
			err: errors.New("no webhook signing secret")}
	}
	if err := webhook.ValidatePayloadWithTolerance(payload, signature, k.Webhook, Tolerance); err != nil {
		return Event{}, &Error{Kind: Invalid, Message: signatureMessage, err: fmt.Errorf("%w: %w", ErrBadSignature, err)}
	}
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil || ev.ID == "" || ev.Type == "" {
		return Event{}, &Error{Kind: Invalid, Message: "the event is not a Stripe event", err: fmt.Errorf("signed, but not an event: %v", err)}
	}
	out := Event{ID: ev.ID, Type: ev.Type}
	if ev.Type != "payment_intent.succeeded" {
		return out, nil
	}
	var pi struct {
		ID             string            `json:"id"`
		Object         string            `json:"object"`
		Amount         int64             `json:"amount"`
		AmountReceived int64             `json:"amount_received"`
		Currency       string            `json:"currency"`
		Created        int64             `json:"created"`
		Metadata       map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal(ev.Data.Object, &pi); err != nil || pi.Object != "payment_intent" || pi.ID == "" {
		return Event{}, &Error{Kind: Invalid, Message: "the event holds no PaymentIntent", err: fmt.Errorf("payment_intent.succeeded without an intent: %v", err)}
	}
	identity := pi.Metadata[metaIdentity]
	storage, err := strconv.ParseInt(pi.Metadata[metaStorage], 10, 64)
	switch {
	case identity == "" || err != nil || storage < 1 || storage > MaxStorage:
		out.Ignored = "the intent was not made by this API (no identityId and storage in its metadata)"
	case pi.Currency != "usd" || pi.Amount != Price(storage) || pi.AmountReceived < pi.Amount:
		out.Ignored = fmt.Sprintf("the intent is for %d %s, received %d, where %d notes cost %d usd", pi.Amount, pi.Currency, pi.AmountReceived, storage, Price(storage))
	default:
		out.Payment = &Payment{IntentID: pi.ID, IdentityID: identity, Storage: storage, Amount: pi.Amount, Created: time.Unix(pi.Created, 0)}
	}
	return out, nil
}
