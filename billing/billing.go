// Package billing prices note storage and charges it to a card through
// Stripe. Its errors say what the card holder or the caller can do about
// a failed charge; nothing else of Stripe leaves this package.
package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/stripe/stripe-go/v82"
)

// MaxStorage bounds what one charge may buy: 100,000 notes is $100,000.00,
// well inside the largest charge Stripe takes in USD ($999,999.99).
const MaxStorage = 100_000

// Price returns what storing n notes costs, in cents: $4 a note up to 10
// notes, $2 up to 100, $1 above, as the original app charged.
func Price(n int64) int64 {
	rate := int64(1)
	switch {
	case n <= 10:
		rate = 4
	case n <= 100:
		rate = 2
	}
	return rate * n * 100
}

// Charge is one payment: Amount cents in USD from the card token Source.
// A retried request with the same IdempotencyKey charges at most once.
type Charge struct {
	Amount         int64
	Source         string
	IdempotencyKey string
}

// Kind says who can fix a failed charge.
type Kind int

const (
	// Declined: the card was refused; the card holder can try another.
	Declined Kind = iota + 1
	// Invalid: the request was wrong (a bad or used token, a reused
	// idempotency key); the caller can fix it.
	Invalid
	// Upstream: Stripe failed, refused our key, or did not answer.
	Upstream
)

// Error is a failed charge. Message is safe to show the card holder;
// the cause, for the log only, is in the chain.
type Error struct {
	Kind    Kind
	Message string
	err     error
}

func (e *Error) Error() string { return fmt.Sprintf("stripe charge: %s: %v", e.Message, e.err) }
func (e *Error) Unwrap() error { return e.err }

// Stripe charges cards with the Charges API, the one the original
// frontend's card tokens (tok_...) were made for.
type Stripe struct {
	client *stripe.Client
}

// NewStripe returns a biller on a ready Stripe client.
func NewStripe(client *stripe.Client) *Stripe {
	return &Stripe{client: client}
}

// Charge makes the charge and returns its id (ch_...).
func (s *Stripe) Charge(ctx context.Context, c Charge) (string, error) {
	params := &stripe.ChargeCreateParams{
		Amount:      stripe.Int64(c.Amount),
		Currency:    stripe.String(string(stripe.CurrencyUSD)),
		Description: stripe.String("Scratch charge"),
	}
	if err := params.SetSource(c.Source); err != nil {
		return "", &Error{Kind: Invalid, Message: "source is not a card token", err: err}
	}
	if c.IdempotencyKey != "" {
		params.SetIdempotencyKey(c.IdempotencyKey)
	}
	params.Context = ctx
	ch, err := s.client.V1Charges.Create(ctx, params)
	if err != nil {
		return "", classify(err)
	}
	return ch.ID, nil
}

// upstreamMessage is all a client learns of a Stripe failure: whether the
// charge went through is unknown, and the same Idempotency-Key makes a
// retry safe.
const upstreamMessage = "the payment service failed: retry with the same Idempotency-Key"

// classify turns what stripe-go returned into an *Error.
func classify(err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return &Error{Kind: Upstream, Message: upstreamMessage, err: err}
	}
	switch {
	case se.Type == stripe.ErrorTypeCard:
		msg := se.Msg
		if msg == "" {
			msg = "your card was declined"
		}
		return &Error{Kind: Declined, Message: msg, err: err}
	case (se.Type == stripe.ErrorTypeInvalidRequest || se.Type == stripe.ErrorTypeIdempotency) &&
		se.HTTPStatusCode != http.StatusUnauthorized && se.HTTPStatusCode != http.StatusForbidden:
		// Stripe's messages here name a parameter or a token, never a key;
		// a refused key is a 401 or 403, and is ours to fix, not the caller's.
		return &Error{Kind: Invalid, Message: "the payment was refused: " + se.Msg, err: err}
	default:
		return &Error{Kind: Upstream, Message: upstreamMessage, err: err}
	}
}
