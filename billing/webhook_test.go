package billing

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/scratch-notes/notes-api/internal/testenv"
)

func TestParseSecret(t *testing.T) {
	for _, tc := range []struct {
		secret string
		want   Keys
	}{
		{"sk_test_plain\n", Keys{Secret: "sk_test_plain"}},
		{`{"secretKey":"sk_test_1","webhookSecret":"whsec_1"}`, Keys{Secret: "sk_test_1", Webhook: "whsec_1"}},
		{` {"secretKey": "sk_test_2"} `, Keys{Secret: "sk_test_2"}},
	} {
		got, err := ParseSecret(tc.secret)
		if err != nil || got != tc.want {
			t.Fatalf("ParseSecret(%q) = %+v, %v; want %+v", tc.secret, got, err, tc.want)
		}
	}
	for _, bad := range []string{`{"secretKey":"sk_test_leak"`, `{"secretKey":"sk_test_leak","other":"whsec_leak"}`, `{"secretKey":7}`} {
		_, err := ParseSecret(bad)
		if !errors.Is(err, ErrNoKey) || strings.Contains(err.Error(), "leak") {
			t.Fatalf("ParseSecret(%q) = %v, want ErrNoKey naming nothing of the secret", bad, err)
		}
	}
}

// signed is a Stripe-Signature for payload at ts with secret, as Stripe
// documents its scheme.
func signed(payload, secret string, ts time.Time) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.%s", ts.Unix(), payload)
	return fmt.Sprintf("t=%d,v1=%s", ts.Unix(), hex.EncodeToString(mac.Sum(nil)))
}

func TestEvent(t *testing.T) {
	s := New(Config{Keys: StaticKeys(Keys{Secret: "sk_test_1", Webhook: "whsec_1"})})
	intent := func(apiVersion, metadata string, amount int64) string {
		return `{"id":"evt_1","object":"event","livemode":false,"api_version":"` + apiVersion + `","type":"payment_intent.succeeded","data":{"object":` +
			`{"id":"pi_1","object":"payment_intent","amount":` + fmt.Sprint(amount) + `,"amount_received":` + fmt.Sprint(amount) +
			`,"currency":"usd","created":1764547200,"metadata":` + metadata + `}}}`
	}
	event := func(typ, object string) string {
		return `{"id":"evt_9","object":"event","livemode":false,"type":"` + typ + `","data":{"object":` + object + `}}`
	}
	ours := `{"identityId":"us-east-1:alice","storage":"21"}`
	paid := &Update{PurchaseID: "pi_1", IdentityID: "us-east-1:alice", Paid: &Payment{Storage: 21, Amount: 4200, Created: time.Unix(1764547200, 0)}}
	for _, tc := range []struct {
		name, payload string
		update        *Update
		ignored       bool
		mismatch      bool
	}{
		// An endpoint's API version is the account's, not stripe-go's.
		{"an old API version", intent("2020-08-27", ours, 4200), paid, false, false},
		{"this API version", intent("2026-03-25.dahlia", ours, 4200), paid, false, false},
		{"not ours", intent("2020-08-27", `{}`, 4200), nil, true, false},
		{"storage out of bounds", intent("2020-08-27", `{"identityId":"u","storage":"100001"}`, 4200), nil, true, false},
		{"not the price", intent("2020-08-27", ours, 4100), nil, true, true},
		{"a live event on a test key", strings.Replace(intent("2020-08-27", ours, 4200), `"livemode":false`, `"livemode":true`, 1), nil, true, false},
		{"another type", `{"id":"evt_2","type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}`, nil, false, false},
		{"a refund of an intent's charge", event("charge.refunded", `{"id":"ch_1","object":"charge","amount":4200,"amount_refunded":1000,"payment_intent":"pi_1","metadata":{}}`),
			&Update{PurchaseID: "pi_1", Refunded: 1000}, false, false},
		{"a refund of a legacy charge", event("charge.refunded", `{"id":"ch_2","object":"charge","amount":4200,"amount_refunded":4200,"payment_intent":null,"metadata":`+ours+`}`),
			&Update{PurchaseID: "ch_2", IdentityID: "us-east-1:alice", Refunded: 4200}, false, false},
		{"a refund with the intent expanded", event("charge.refunded", `{"id":"ch_3","object":"charge","amount_refunded":5,"payment_intent":{"id":"pi_3","object":"payment_intent"}}`),
			&Update{PurchaseID: "pi_3", Refunded: 5}, false, false},
		{"a dispute opened", event("charge.dispute.created", `{"id":"dp_1","object":"dispute","charge":"ch_1","payment_intent":"pi_1","status":"needs_response"}`),
			&Update{PurchaseID: "pi_1", Dispute: DisputeOpen}, false, false},
		{"a dispute of a legacy charge", event("charge.dispute.created", `{"id":"dp_2","object":"dispute","charge":"ch_2","payment_intent":null,"status":"needs_response"}`),
			&Update{PurchaseID: "ch_2", Dispute: DisputeOpen}, false, false},
		{"a dispute won", event("charge.dispute.closed", `{"id":"dp_1","object":"dispute","charge":"ch_1","payment_intent":"pi_1","status":"won"}`),
			&Update{PurchaseID: "pi_1", Dispute: DisputeWon}, false, false},
		{"an inquiry closed", event("charge.dispute.closed", `{"id":"dp_1","object":"dispute","charge":"ch_1","payment_intent":"pi_1","status":"warning_closed"}`),
			&Update{PurchaseID: "pi_1", Dispute: DisputeWon}, false, false},
		{"a dispute lost", event("charge.dispute.closed", `{"id":"dp_1","object":"dispute","charge":"ch_1","payment_intent":"pi_1","status":"lost"}`),
			&Update{PurchaseID: "pi_1", Dispute: DisputeLost}, false, false},
	} {
		ev, err := s.Event(context.Background(), []byte(tc.payload), signed(tc.payload, "whsec_1", time.Now()))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		same := (ev.Update == nil) == (tc.update == nil)
		if same && ev.Update != nil {
			a, b := *ev.Update, *tc.update
			same = (a.Paid == nil) == (b.Paid == nil) && (a.Paid == nil || *a.Paid == *b.Paid)
			a.Paid, b.Paid = nil, nil
			same = same && a == b
		}
		if !same || (ev.Ignored != "") != tc.ignored || ev.Mismatch != tc.mismatch {
			t.Fatalf("%s: event = %+v (update %+v), want update %+v, ignored %v, mismatch %v", tc.name, ev, ev.Update, tc.update, tc.ignored, tc.mismatch)
		}
	}
	// Refused: an *Error a client reads as a 400, wrapping ErrBadSignature.
	p := intent("2020-08-27", ours, 4200)
	for name, sig := range map[string]string{
		"none": "", "garbage": "garbage", "wrong secret": signed(p, "whsec_2", time.Now()),
		"stale": signed(p, "whsec_1", time.Now().Add(-5*time.Minute-2*time.Second)), "another body": signed(p+" ", "whsec_1", time.Now()),
		"from the future": signed(p, "whsec_1", time.Now().Add(5*time.Minute+2*time.Second)),
	} {
		_, err := s.Event(context.Background(), []byte(p), sig)
		var be *Error
		if !errors.As(err, &be) || be.Kind != Invalid || !errors.Is(err, ErrBadSignature) || strings.Contains(be.Message, "whsec") {
			t.Fatalf("%s: err = %v, want an Invalid ErrBadSignature", name, err)
		}
	}
	// Inside the tolerance either way, not refused.
	for _, d := range []time.Duration{-4 * time.Minute, 4 * time.Minute} {
		if _, err := s.Event(context.Background(), []byte(p), signed(p, "whsec_1", time.Now().Add(d))); err != nil {
			t.Fatalf("a signature %v from now: %v", d, err)
		}
	}
	// A live key takes live events only.
	live := New(Config{Keys: StaticKeys(Keys{Secret: "rk_live_1", Webhook: "whsec_1"})})
	if ev, err := live.Event(context.Background(), []byte(p), signed(p, "whsec_1", time.Now())); err != nil || ev.Update != nil || ev.Ignored == "" {
		t.Fatalf("a test event on a live key: %+v, %v; want it ignored", ev, err)
	}
	// No signing secret: Unavailable, a configuration to fix (ErrNoKey).
	_, err := New(Config{Keys: StaticKeys(Keys{Secret: "sk_test_1"})}).Event(context.Background(), []byte(p), signed(p, "", time.Now()))
	var be *Error
	if !errors.As(err, &be) || be.Kind != Unavailable || !errors.Is(err, ErrNoKey) {
		t.Fatalf("no webhook secret: err = %v, want Unavailable", err)
	}
}

// TestCreateIntentStripeMock makes PaymentIntents through the real
// stripe-go wiring against stripe-mock.
func TestCreateIntentStripeMock(t *testing.T) {
	s := New(Config{Keys: StaticKeys(Keys{Secret: "sk_test_123"}), APIBase: testenv.StripeMock(t)})
	for _, storage := range []int64{10, 21, 100, 101} {
		pi, err := s.CreateIntent(context.Background(), Intent{Amount: Price(storage), Storage: storage, IdentityID: "us-east-1:alice", IdempotencyKey: "k"})
		if err != nil || !strings.HasPrefix(pi.ID, "pi_") || pi.ClientSecret == "" || pi.Amount != Price(storage) || pi.Status == "" {
			t.Fatalf("CreateIntent(%d) = %+v, %v", storage, pi, err)
		}
	}
}

// TestKeysFailureRemembered: a read of the keys that failed is not tried
// again for a minute: every call answers at once, as the failed read did.
func TestKeysFailureRemembered(t *testing.T) {
	for _, tc := range []struct {
		err  error
		kind Kind
	}{{fmt.Errorf("secret gone: %w", ErrNoKey), Unavailable}, {errors.New("Secrets Manager timed out"), Upstream}} {
		reads := 0
		s := New(Config{Keys: func(context.Context) (Keys, error) { reads++; return Keys{}, tc.err }})
		now := time.Unix(1764547200, 0)
		s.now = func() time.Time { return now }
		for range 3 {
			_, err := s.CreateIntent(context.Background(), Intent{Amount: 400, Storage: 1, IdentityID: "u"})
			var be *Error
			if !errors.As(err, &be) || be.Kind != tc.kind {
				t.Fatalf("err = %v, want kind %v", err, tc.kind)
			}
		}
		if reads != 1 {
			t.Fatalf("three calls within a minute read the keys %d times, want once", reads)
		}
		now = now.Add(retryKeysAfter + time.Second)
		s.CreateIntent(context.Background(), Intent{Amount: 400, Storage: 1, IdentityID: "u"})
		if reads != 2 {
			t.Fatalf("a call a minute later read the keys %d times in all, want a second read", reads)
		}
	}
}

// TestErrorRedacts: an error's text, which goes to the log, never holds
// a key, a signing secret, a card token or a client secret, whatever
// Stripe's message quoted.
func TestErrorRedacts(t *testing.T) {
	e := &Error{Kind: Upstream, Message: upstreamMessage, err: errors.New(
		"Invalid API Key provided: sk_live_abc123; Authorization was 'Bearer sk_test_4eC39HqLyjWDarjtT1zdp7dc'; " +
			"No such token: 'tok_visa'; whsec_x1y2; pi_3Mt_secret_YrKJUK; rk_live_z (pk_test_q)")}
	got := e.Error()
	for _, leak := range []string{"abc123", "4eC39", "tok_visa", "x1y2", "YrKJUK", "rk_live_z", "pk_test_q"} {
		if strings.Contains(got, leak) {
			t.Fatalf("Error() = %q holds %q", got, leak)
		}
	}
	if !strings.Contains(got, "Invalid API Key provided") || !strings.Contains(got, "No such token") {
		t.Fatalf("Error() = %q lost what an operator needs", got)
	}
}
