package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/stripe/stripe-go/v85"
)

// Intent is a payment to be confirmed in the browser: Amount cents in USD
// for Storage notes, by the Cognito identity IdentityID. A retried request
// of the same identity with the same IdempotencyKey makes one intent.
type Intent struct {
	Amount         int64
	Storage        int64
	IdentityID     string
	IdempotencyKey string
}

// PaymentIntent is what the browser needs to confirm a payment with
// Stripe.js: ClientSecret is for the caller who made it, and no one else.
type PaymentIntent struct {
	ID           string
	ClientSecret string
	Status       string
	Amount       int64
}

// scopedKey is the Idempotency-Key Stripe gets for a caller's key: one of
// the caller's own, so that two callers who send the same key never share
// a payment (an intent's client secret, a charge). kind keeps an intent's
// keys and a charge's apart.
func scopedKey(kind, identityID, key string) string {
	if key == "" {
		return ""
	}
	h := sha256.New()
	h.Write([]byte("notes-api-" + kind + "\x00"))
	h.Write([]byte(identityID))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return kind + "-" + hex.EncodeToString(h.Sum(nil))
}

// CreateIntent creates a PaymentIntent with dynamic payment methods (the
// ones the account turns on in Stripe's dashboard, cards among them),
// none that must leave the page for a bank's site: the page confirms it
// with Stripe.js and no return URL. Within the timeout whatever Stripe
// does.
func (s *Stripe) CreateIntent(ctx context.Context, in Intent) (PaymentIntent, error) {
	return call(ctx, s, func(ctx context.Context, client *stripe.Client) (PaymentIntent, error) {
		params := &stripe.PaymentIntentCreateParams{
			Amount:      stripe.Int64(in.Amount),
			Currency:    stripe.String(string(stripe.CurrencyUSD)),
			Description: stripe.String("Scratch charge"),
			AutomaticPaymentMethods: &stripe.PaymentIntentCreateAutomaticPaymentMethodsParams{
				Enabled:        stripe.Bool(true),
				AllowRedirects: stripe.String("never"),
			},
			Metadata: map[string]string{metaIdentity: in.IdentityID, metaStorage: strconv.FormatInt(in.Storage, 10)},
		}
		if k := scopedKey("pi", in.IdentityID, in.IdempotencyKey); k != "" {
			params.SetIdempotencyKey(k)
		}
		params.Context = ctx
		pi, err := client.V1PaymentIntents.Create(ctx, params)
		if err != nil {
			return PaymentIntent{}, classify(err)
		}
		return PaymentIntent{ID: pi.ID, ClientSecret: pi.ClientSecret, Status: string(pi.Status), Amount: pi.Amount}, nil
	})
}
