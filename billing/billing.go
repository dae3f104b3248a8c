// Package billing prices note storage and charges it to a card through
// Stripe. Its errors say what the card holder or the caller can do about
// a failed charge; nothing else of Stripe leaves this package.
package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v85"
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

// Charge is one payment of the original frontend: Amount cents in USD
// from the card token Source, for Storage notes, by the Cognito identity
// IdentityID. A retried request of the same identity with the same
// IdempotencyKey charges at most once.
type Charge struct {
	Amount         int64
	Storage        int64
	Source         string
	IdentityID     string
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
	// Upstream: Stripe failed, refused our key, or did not answer; or the
	// key could not be read for now.
	Upstream
	// Unavailable: billing is configured with a key that cannot be had
	// (a missing or unreadable secret).
	Unavailable
	// RateLimited: Stripe refused for too many requests; retry soon.
	RateLimited
	// KeyInUse: a request with the same Idempotency-Key is still running.
	KeyInUse
	// KeyReused: the Idempotency-Key was used for a request with other
	// parameters.
	KeyReused
)

// Error is a failed charge. Message is safe to show the card holder;
// the cause, for the log only, is in the chain.
type Error struct {
	Kind    Kind
	Message string
	err     error
}

func (e *Error) Error() string { return redact(fmt.Sprintf("stripe: %s: %v", e.Message, e.err)) }

// redact blanks what must never reach a log line from an error's text,
// which may quote Stripe's messages: keys (sk_, rk_, pk_), webhook signing
// secrets (whsec_), card tokens (tok_) and client secrets (_secret_),
// each with the run of name characters after it.
func redact(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		n := 0
		for _, p := range []string{"sk_", "rk_", "pk_", "whsec_", "tok_", "_secret_"} {
			if strings.HasPrefix(s[i:], p) && (p[0] == '_' || i == 0 || !nameChar(s[i-1])) {
				n = len(p)
				break
			}
		}
		if n == 0 {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i + n
		for j < len(s) && (nameChar(s[j]) || s[j] == '*') {
			j++
		}
		b.WriteString(s[i:i+n] + "[redacted]")
		i = j
	}
	return b.String()
}

func nameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}
func (e *Error) Unwrap() error { return e.err }

// chargeTimeout is how long one charge may take, Stripe's own retries
// included: API Gateway gives up at 29 s, and an answer the client never
// reads must not be a charge it does not know about.
const chargeTimeout = 20 * time.Second

// newClient returns a Stripe client for key with stripe-go's retries (two,
// each with the same idempotency key) and its logging off. apiBase is
// Stripe's own API when empty (stripe-mock in tests).
func newClient(key, apiBase string) *stripe.Client {
	bc := &stripe.BackendConfig{
		HTTPClient:    &http.Client{Timeout: chargeTimeout},
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if apiBase != "" {
		bc.URL = stripe.String(apiBase)
	}
	return stripe.NewClient(key, stripe.WithBackends(stripe.NewBackendsWithConfig(bc)))
}

// Keys are what a Stripe account gives this API: its secret API key, and
// the signing secret of the webhook endpoint that sends it events (empty
// when none is set up).
type Keys struct {
	Secret  string // sk_live_... or sk_test_...
	Webhook string // whsec_...
}

// StaticKeys is a Config.Keys for keys known from the start
// (STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET).
func StaticKeys(k Keys) func(context.Context) (Keys, error) {
	return func(context.Context) (Keys, error) { return k, nil }
}

// ParseSecret reads the keys from a secret's string: a JSON object
// {"secretKey": "sk_...", "webhookSecret": "whsec_..."}, or, as the secret
// was first made, the plain secret key alone (no webhook then). A string
// that is neither wraps ErrNoKey.
func ParseSecret(s string) (Keys, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") {
		return Keys{Secret: s}, nil
	}
	var v struct {
		SecretKey     string `json:"secretKey"`
		WebhookSecret string `json:"webhookSecret"`
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		// The error may quote the secret: it names only what is wrong.
		return Keys{}, fmt.Errorf("the secret is not the JSON object {\"secretKey\", \"webhookSecret\"}: %w", ErrNoKey)
	}
	return Keys{Secret: strings.TrimSpace(v.SecretKey), Webhook: strings.TrimSpace(v.WebhookSecret)}, nil
}

// Config is how New reaches Stripe.
type Config struct {
	// Keys returns the account's keys. It is called at the first call that
	// needs them, never before, and what it returns is kept; a failed read
	// is tried again at the next call, and counts against that call's
	// Timeout. An error that wraps ErrNoKey means billing is unavailable
	// until its configuration is fixed; any other is taken for a passing
	// failure.
	Keys func(context.Context) (Keys, error)
	// APIBase is Stripe's API when empty (stripe-mock in tests).
	APIBase string
	// Timeout bounds one call, Stripe's retries included: chargeTimeout
	// when zero.
	Timeout time.Duration
}

// Stripe takes payments through Stripe: PaymentIntents that the browser
// confirms with Stripe.js (3-D Secure included), their outcome from
// Stripe's signed webhook events, and charges of the original frontend's
// card tokens (tok_...) with the Charges API.
type Stripe struct {
	timeout time.Duration
	readKey func(context.Context) (Keys, error)
	apiBase string

	mu     sync.Mutex
	keys   *Keys          // once read
	client *stripe.Client // made from keys.Secret
	// failed is the last failed read, and when it was: for
	// retryKeysAfter, every call gets its answer without trying again,
	// so that a broken secret or a hung Secrets Manager does not cost
	// every payment its seconds.
	failed   error
	failedAt time.Time
	now      func() time.Time
}

// retryKeysAfter is how long a failed read of the keys is remembered.
const retryKeysAfter = time.Minute

// New returns the biller cfg describes.
func New(cfg Config) *Stripe {
	if cfg.Timeout == 0 {
		cfg.Timeout = chargeTimeout
	}
	return &Stripe{readKey: cfg.Keys, apiBase: cfg.APIBase, timeout: cfg.Timeout, now: time.Now}
}

// ErrNoKey wraps a key that could not be read because it does not exist,
// may not be read or is empty: billing is then unavailable until someone
// fixes its configuration. Any other error from a key function is taken
// for a passing failure.
var ErrNoKey = errors.New("no Stripe key")

// accountKeys returns the keys, reading them first if need be.
func (s *Stripe) accountKeys(ctx context.Context) (Keys, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys != nil {
		return *s.keys, nil
	}
	if s.failed != nil && s.now().Sub(s.failedAt) < retryKeysAfter {
		return Keys{}, s.failed
	}
	k, err := s.readKey(ctx)
	switch {
	case errors.Is(err, ErrNoKey):
		s.failed, s.failedAt = &Error{Kind: Unavailable, Message: unavailableMessage, err: err}, s.now()
		return Keys{}, s.failed
	case err != nil:
		s.failed, s.failedAt = &Error{Kind: Upstream, Message: upstreamMessage, err: err}, s.now()
		return Keys{}, s.failed
	}
	s.failed = nil
	k.Secret, k.Webhook = strings.TrimSpace(k.Secret), strings.TrimSpace(k.Webhook)
	s.keys = &k
	return k, nil
}

// stripeClient returns the client of the secret key.
func (s *Stripe) stripeClient(ctx context.Context) (*stripe.Client, error) {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	if c != nil {
		return c, nil
	}
	k, err := s.accountKeys(ctx)
	if err != nil {
		return nil, err
	}
	if k.Secret == "" {
		return nil, &Error{Kind: Unavailable, Message: unavailableMessage, err: fmt.Errorf("the key is empty: %w", ErrNoKey)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		s.client = newClient(k.Secret, s.apiBase)
	}
	return s.client, nil
}

// call runs f with the client within the timeout, whatever Stripe does:
// stripe-go sleeps between retries without watching the context, so the
// call runs on its own and is left to end (its next attempt sees the
// expired context and stops).
func call[T any](ctx context.Context, s *Stripe, f func(ctx context.Context, client *stripe.Client) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		client, err := s.stripeClient(ctx)
		if err != nil {
			done <- result{err: err}
			return
		}
		v, err := f(ctx, client)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, &Error{Kind: Upstream, Message: upstreamMessage,
			err: fmt.Errorf("no answer within %v: %w", s.timeout, ctx.Err())}
	}
}

// Charge makes the charge and returns its id (ch_...), within the
// timeout whatever Stripe does.
func (s *Stripe) Charge(ctx context.Context, c Charge) (string, error) {
	return call(ctx, s, func(ctx context.Context, client *stripe.Client) (string, error) {
		return charge(ctx, client, c)
	})
}

func charge(ctx context.Context, client *stripe.Client, c Charge) (string, error) {
	params := &stripe.ChargeCreateParams{
		Amount:      stripe.Int64(c.Amount),
		Currency:    stripe.String(string(stripe.CurrencyUSD)),
		Description: stripe.String("Scratch charge"),
		Metadata:    map[string]string{metaIdentity: c.IdentityID, metaStorage: strconv.FormatInt(c.Storage, 10)},
	}
	if err := params.SetSource(c.Source); err != nil {
		return "", &Error{Kind: Invalid, Message: "source is not a card token", err: err}
	}
	if k := scopedKey("ch", c.IdentityID, c.IdempotencyKey); k != "" {
		params.SetIdempotencyKey(k)
	}
	params.Context = ctx
	ch, err := client.V1Charges.Create(ctx, params)
	if err != nil {
		return "", classify(err)
	}
	return ch.ID, nil
}

// unavailableMessage is all a client learns of a key that cannot be had:
// nothing names the secret.
const unavailableMessage = "billing is unavailable: its configuration is being fixed"

// upstreamMessage is all a client learns of a Stripe failure: whether the
// charge went through is unknown, and the same Idempotency-Key makes a
// retry safe.
const upstreamMessage = "the payment service failed: retry with the same Idempotency-Key"

// The messages of Stripe's refusals that are not the card's.
const (
	rateLimitedMessage = "the payment service is busy: retry in a few seconds"
	keyInUseMessage    = "a request with this Idempotency-Key is still being processed: retry it in a moment"
	keyReusedMessage   = "this Idempotency-Key was used for another payment: send a new Idempotency-Key for a new payment"
)

// classify turns what stripe-go returned into an *Error, each refusal for
// what it is: the card's (402), the request's (400), too many requests
// (503, retry), an Idempotency-Key still in use (409) or reused for
// another payment (422), or Stripe's own failure (502).
func classify(err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return &Error{Kind: Upstream, Message: upstreamMessage, err: err}
	}
	switch {
	case se.HTTPStatusCode == http.StatusTooManyRequests || se.Code == stripe.ErrorCodeRateLimit:
		return &Error{Kind: RateLimited, Message: rateLimitedMessage, err: err}
	case se.Code == stripe.ErrorCodeIdempotencyKeyInUse || se.HTTPStatusCode == http.StatusConflict:
		return &Error{Kind: KeyInUse, Message: keyInUseMessage, err: err}
	case se.Type == stripe.ErrorTypeIdempotency:
		return &Error{Kind: KeyReused, Message: keyReusedMessage, err: err}
	case se.Type == stripe.ErrorTypeCard:
		msg := se.Msg
		if msg == "" {
			msg = "your card was declined"
		}
		return &Error{Kind: Declined, Message: msg, err: err}
	case se.Type == stripe.ErrorTypeInvalidRequest &&
		se.HTTPStatusCode != http.StatusUnauthorized && se.HTTPStatusCode != http.StatusForbidden:
		// Stripe's messages here name a parameter or a token, never a key;
		// a refused key is a 401 or 403, and is ours to fix, not the caller's.
		return &Error{Kind: Invalid, Message: "the payment was refused: " + se.Msg, err: err}
	default:
		return &Error{Kind: Upstream, Message: upstreamMessage, err: err}
	}
}
