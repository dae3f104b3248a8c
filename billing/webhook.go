package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"
)

// Tolerance is how far a webhook event's signature may be from now,
// either way: Stripe's own default, and the most the contract allows.
const Tolerance = 5 * time.Minute

// The event types that change a purchase.
const (
	EventPaymentSucceeded = "payment_intent.succeeded"
	EventChargeRefunded   = "charge.refunded"
	EventDisputeCreated   = "charge.dispute.created"
	EventDisputeClosed    = "charge.dispute.closed"
)

// purchaseEvents are the event types reconciling asks Stripe for.
var purchaseEvents = []string{EventPaymentSucceeded, EventChargeRefunded, EventDisputeCreated, EventDisputeClosed}

// Event is a verified Stripe event. Update is what it says about a
// purchase of this API; nil for anything else (Ignored then says why,
// when it is a purchase event this API does not take).
type Event struct {
	ID       string
	Type     string
	Livemode bool
	Update   *Update
	Ignored  string
	// Mismatch is set when a payment of this API is for another amount
	// than its storage costs: it credits nothing, and someone must look.
	Mismatch bool
}

// Dispute is where a purchase's dispute stands.
type Dispute string

// The states of a dispute: none, open (the storage is suspended), won
// (given back) and lost (taken back).
const (
	DisputeNone Dispute = ""
	DisputeOpen Dispute = "open"
	DisputeWon  Dispute = "won"
	DisputeLost Dispute = "lost"
)

// Update is one thing Stripe says about a purchase, keyed by PurchaseID:
// the PaymentIntent's id (pi_...), or a legacy charge's (ch_...).
type Update struct {
	PurchaseID string
	// IdentityID is whose purchase it is, when the event says so (a
	// payment's metadata, a legacy charge's); "" when it does not (a
	// PaymentIntent's charge carries none of the intent's metadata).
	IdentityID string
	// Paid is set when the payment succeeded.
	Paid *Payment
	// Refunded, when above zero, is how many cents are refunded in all.
	Refunded int64
	// Dispute is the dispute's news, if any.
	Dispute Dispute
}

// Payment is a payment of this API that succeeded.
type Payment struct {
	Storage int64
	Amount  int64
	// Created is when Stripe made it.
	Created time.Time
}

// ErrBadSignature: the Stripe-Signature header is missing, malformed, does
// not sign these bytes with the endpoint's secret, or is dated more than
// Tolerance from now.
var ErrBadSignature = errors.New("bad Stripe-Signature")

// signatureMessage is what a caller learns of a refused event.
const signatureMessage = "the Stripe-Signature header is missing, malformed, does not match the body, or is dated more than 5 minutes from now"

// noWebhookSecret is the error of a webhook with no signing secret: a
// configuration to fix, which alarms (see routes' StripeFailures).
var noWebhookSecret = &Error{Kind: Unavailable, Message: "the webhook is not configured: it has no signing secret",
	err: fmt.Errorf("no webhook signing secret: %w", ErrNoKey)}

// Event verifies payload, the exact bytes of Stripe's request, against its
// Stripe-Signature header with the endpoint's signing secret, and reads
// it. A refused signature is an *Error of Kind Invalid wrapping
// ErrBadSignature; no signing secret is one of Kind Unavailable wrapping
// ErrNoKey.
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
		return Event{}, noWebhookSecret
	}
	// stripe-go checks only that a signature is not too old: one dated in
	// the future is refused here.
	if ts, ok := signedAt(signature); ok && ts.After(s.now().Add(Tolerance)) {
		return Event{}, &Error{Kind: Invalid, Message: signatureMessage, err: fmt.Errorf("%w: dated %v, in the future", ErrBadSignature, ts)}
	}
	if err := webhook.ValidatePayloadWithTolerance(payload, signature, k.Webhook, Tolerance); err != nil {
		return Event{}, &Error{Kind: Invalid, Message: signatureMessage, err: fmt.Errorf("%w: %w", ErrBadSignature, err)}
	}
	var ev rawEvent
	if err := json.Unmarshal(payload, &ev); err != nil || ev.ID == "" || ev.Type == "" {
		return Event{}, &Error{Kind: Invalid, Message: "the event is not a Stripe event", err: fmt.Errorf("signed, but not an event: %v", err)}
	}
	return s.read(ev, k.Secret)
}

// signedAt is the t= of a Stripe-Signature header.
func signedAt(header string) (time.Time, bool) {
	for _, part := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return time.Unix(n, 0), err == nil
		}
	}
	return time.Time{}, false
}

// rawEvent is the part of an event this package reads.
type rawEvent struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Livemode bool   `json:"livemode"`
	Data     struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// liveKey reports whether a secret key is a live one, and whether its
// prefix says at all.
func liveKey(secret string) (live, known bool) {
	switch {
	case strings.HasPrefix(secret, "sk_live_"), strings.HasPrefix(secret, "rk_live_"):
		return true, true
	case strings.HasPrefix(secret, "sk_test_"), strings.HasPrefix(secret, "rk_test_"):
		return false, true
	}
	return false, false
}

// read turns a verified event into what it says about a purchase. An
// event of the other mode than the key's (a live event on a test key)
// credits nothing.
func (s *Stripe) read(ev rawEvent, secret string) (Event, error) {
	out := Event{ID: ev.ID, Type: ev.Type, Livemode: ev.Livemode}
	switch ev.Type {
	case EventPaymentSucceeded, EventChargeRefunded, EventDisputeCreated, EventDisputeClosed:
	default:
		return out, nil
	}
	if live, known := liveKey(secret); known && live != ev.Livemode {
		out.Ignored = fmt.Sprintf("a livemode=%v event, and the key is a %s key", ev.Livemode, map[bool]string{true: "live", false: "test"}[live])
		return out, nil
	}
	var err error
	switch ev.Type {
	case EventPaymentSucceeded:
		err = readPayment(ev.Data.Object, &out)
	case EventChargeRefunded:
		err = readRefund(ev.Data.Object, &out)
	default:
		err = readDispute(ev.Type, ev.Data.Object, &out)
	}
	if err != nil {
		return Event{}, &Error{Kind: Invalid, Message: "the event holds no " + strings.SplitN(ev.Type, ".", 2)[0] + " it should",
			err: fmt.Errorf("%s %s: %w", ev.Type, ev.ID, err)}
	}
	return out, nil
}

// The metadata keys every payment of this API carries: whose it is and
// what it pays for.
const (
	metaIdentity = "identityId"
	metaStorage  = "storage"
)

// ours reads whose payment it is and what it buys from a payment's
// metadata; ok false when this API did not make it.
func ours(metadata map[string]string) (identity string, storage int64, ok bool) {
	identity = metadata[metaIdentity]
	storage, err := strconv.ParseInt(metadata[metaStorage], 10, 64)
	return identity, storage, identity != "" && err == nil && storage >= 1 && storage <= MaxStorage
}

func readPayment(object json.RawMessage, out *Event) error {
	var pi struct {
		ID             string            `json:"id"`
		Object         string            `json:"object"`
		Amount         int64             `json:"amount"`
		AmountReceived int64             `json:"amount_received"`
		Currency       string            `json:"currency"`
		Created        int64             `json:"created"`
		Metadata       map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal(object, &pi); err != nil || pi.Object != "payment_intent" || pi.ID == "" {
		return fmt.Errorf("not a payment_intent: %v", err)
	}
	identity, storage, ok := ours(pi.Metadata)
	switch {
	case !ok:
		out.Ignored = "the intent was not made by this API (no identityId and storage in its metadata)"
	case pi.Currency != "usd" || pi.Amount != Price(storage) || pi.AmountReceived < pi.Amount:
		out.Ignored = fmt.Sprintf("the intent is for %d %s, received %d, where %d notes cost %d usd", pi.Amount, pi.Currency, pi.AmountReceived, storage, Price(storage))
		out.Mismatch = true
	default:
		out.Update = &Update{PurchaseID: pi.ID, IdentityID: identity,
			Paid: &Payment{Storage: storage, Amount: pi.Amount, Created: time.Unix(pi.Created, 0)}}
	}
	return nil
}

// purchaseOf is the purchase a charge or a dispute belongs to: its
// PaymentIntent, or, for a legacy charge, the charge itself. Stripe sends
// the intent as an id, or as an object when expanded.
func purchaseOf(intent json.RawMessage, charge string) string {
	var id string
	if json.Unmarshal(intent, &id) == nil && id != "" {
		return id
	}
	var obj struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(intent, &obj) == nil && obj.ID != "" {
		return obj.ID
	}
	return charge
}

func readRefund(object json.RawMessage, out *Event) error {
	var ch struct {
		ID             string            `json:"id"`
		Object         string            `json:"object"`
		AmountRefunded int64             `json:"amount_refunded"`
		PaymentIntent  json.RawMessage   `json:"payment_intent"`
		Metadata       map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal(object, &ch); err != nil || ch.Object != "charge" || ch.ID == "" {
		return fmt.Errorf("not a charge: %v", err)
	}
	if ch.AmountRefunded <= 0 {
		out.Ignored = "nothing is refunded"
		return nil
	}
	identity, _, _ := ours(ch.Metadata)
	out.Update = &Update{PurchaseID: purchaseOf(ch.PaymentIntent, ch.ID), IdentityID: identity, Refunded: ch.AmountRefunded}
	return nil
}

func readDispute(typ string, object json.RawMessage, out *Event) error {
	var d struct {
		ID            string          `json:"id"`
		Object        string          `json:"object"`
		Charge        json.RawMessage `json:"charge"`
		PaymentIntent json.RawMessage `json:"payment_intent"`
		Status        string          `json:"status"`
	}
	if err := json.Unmarshal(object, &d); err != nil || d.Object != "dispute" || d.ID == "" {
		return fmt.Errorf("not a dispute: %v", err)
	}
	charge := purchaseOf(d.Charge, "")
	if charge == "" {
		return errors.New("a dispute of no charge")
	}
	u := &Update{PurchaseID: purchaseOf(d.PaymentIntent, charge), Dispute: DisputeOpen}
	if typ == EventDisputeClosed {
		switch d.Status {
		case "won", "warning_closed": // an inquiry closed without a chargeback keeps the money
			u.Dispute = DisputeWon
		case "lost":
			u.Dispute = DisputeLost
		default:
			out.Ignored = "a dispute closed as " + d.Status
			return nil
		}
	}
	out.Update = u
	return nil
}
