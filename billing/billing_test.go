package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85"

	"github.com/scratch-notes/notes-api/internal/testenv"
)

func TestPrice(t *testing.T) {
	for _, tc := range []struct{ storage, want int64 }{
		{1, 400}, {10, 4000}, {11, 2200}, {21, 4200}, {100, 20000}, {101, 10100}, {MaxStorage, MaxStorage * 100},
	} {
		if got := Price(tc.storage); got != tc.want {
			t.Fatalf("Price(%d) = %d, want %d", tc.storage, got, tc.want)
		}
	}
	if Price(MaxStorage) > 99_999_999 {
		t.Fatalf("Price(MaxStorage) = %d cents, over Stripe's largest USD charge", Price(MaxStorage))
	}
}

// testStripe is a biller on base, as main builds it, without retries
// unless asked.
func testStripe(base string, retries int64) *Stripe {
	bc := &stripe.BackendConfig{
		URL:               stripe.String(base),
		MaxNetworkRetries: stripe.Int64(retries),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	return &Stripe{client: stripe.NewClient("sk_test_secret123", stripe.WithBackends(stripe.NewBackendsWithConfig(bc))), timeout: chargeTimeout}
}

// recorded is what the test Stripe server received.
type recorded struct {
	mu    sync.Mutex
	forms []url.Values
	hdrs  []http.Header
}

func (r *recorded) snapshot() ([]url.Values, []http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]url.Values(nil), r.forms...), append([]http.Header(nil), r.hdrs...)
}

// stripeServer answers POST /v1/charges and /v1/payment_intents with
// answer, recording requests.
func stripeServer(t *testing.T, rec *recorded, answer func(w http.ResponseWriter)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || (r.URL.Path != "/v1/charges" && r.URL.Path != "/v1/payment_intents") {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, 404)
			return
		}
		r.ParseForm()
		rec.mu.Lock()
		rec.forms = append(rec.forms, r.PostForm)
		rec.hdrs = append(rec.hdrs, r.Header.Clone())
		rec.mu.Unlock()
		answer(w)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func stripeJSON(status int, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

func TestChargeRequest(t *testing.T) {
	var rec recorded
	base := stripeServer(t, &rec, stripeJSON(200, `{"id":"ch_123","object":"charge","amount":4200,"currency":"usd"}`))
	s := testStripe(base, 0)
	for _, user := range []string{"us-east-1:alice", "us-east-1:bob"} {
		id, err := s.Charge(context.Background(), Charge{Amount: 4200, Storage: 21, Source: "tok_visa", IdentityID: user, IdempotencyKey: "order-42"})
		if err != nil || id != "ch_123" {
			t.Fatalf("Charge = %q, %v", id, err)
		}
	}
	forms, hdrs := rec.snapshot()
	f, h := forms[0], hdrs[0]
	for k, want := range map[string]string{"amount": "4200", "currency": "usd", "description": "Scratch charge", "source": "tok_visa",
		"metadata[identityId]": "us-east-1:alice", "metadata[storage]": "21"} {
		if got := f.Get(k); got != want {
			t.Fatalf("form %s = %q, want %q (form %v)", k, got, want, f)
		}
	}
	// The client's key, scoped to the caller: two callers who pick the
	// same key never share a charge.
	if got := h.Get("Idempotency-Key"); got == "order-42" || !strings.HasPrefix(got, "ch-") || got != scopedKey("ch", "us-east-1:alice", "order-42") {
		t.Fatalf("Idempotency-Key = %q, want the caller's own key made of order-42", got)
	}
	if hdrs[1].Get("Idempotency-Key") == h.Get("Idempotency-Key") {
		t.Fatal("two callers with the same Idempotency-Key share one at Stripe")
	}
	if got := h.Get("Authorization"); got != "Bearer sk_test_secret123" {
		t.Fatalf("Authorization = %q", got)
	}
}

func TestChargeFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answer   func(w http.ResponseWriter)
		kind     Kind
		message  string
		attempts int // 0: whatever stripe-go's retry policy makes it
	}{
		{"card declined", stripeJSON(402, `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","charge":"ch_x"}}`),
			Declined, "Your card has insufficient funds.", 1},
		{"invalid token", stripeJSON(400, `{"error":{"type":"invalid_request_error","message":"No such token: 'tok_nope'","param":"source"}}`),
			Invalid, "No such token: 'tok_nope'", 1},
		{"bad api key", stripeJSON(401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****t123"}}`),
			Upstream, upstreamMessage, 1},
		{"stripe 500", stripeJSON(500, `{"error":{"type":"api_error","message":"Something went wrong on Stripe's end."}}`),
			Upstream, upstreamMessage, 0},
		{"dropped connection", func(w http.ResponseWriter) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}, Upstream, upstreamMessage, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec recorded
			base := stripeServer(t, &rec, tc.answer)
			_, err := testStripe(base, 2).Charge(context.Background(), Charge{Amount: 4200, Source: "tok_visa"})
			var be *Error
			if !errors.As(err, &be) {
				t.Fatalf("err = %v, want *billing.Error", err)
			}
			if be.Kind != tc.kind || !strings.Contains(be.Message, tc.message) {
				t.Fatalf("err = kind %d %q, want kind %d containing %q", be.Kind, be.Message, tc.kind, tc.message)
			}
			if strings.Contains(be.Message, "sk_test") {
				t.Fatalf("message %q names the key", be.Message)
			}
			_, hdrs := rec.snapshot()
			if tc.attempts != 0 && len(hdrs) != tc.attempts {
				t.Fatalf("requests = %d, want %d", len(hdrs), tc.attempts)
			}
			// Retries carry one idempotency key, so they cannot charge twice.
			if len(hdrs) > 1 {
				k := hdrs[0].Get("Idempotency-Key")
				for _, h := range hdrs {
					if k == "" || h.Get("Idempotency-Key") != k {
						t.Fatalf("retries sent Idempotency-Keys %q and %q", k, h.Get("Idempotency-Key"))
					}
				}
			}
		})
	}
}

// TestIntentRequest: a PaymentIntent with dynamic payment methods and
// no redirect (the page confirms it with no return URL), never
// payment_method_types, which Stripe's 2026 API versions refuse.
func TestIntentRequest(t *testing.T) {
	var rec recorded
	base := stripeServer(t, &rec, stripeJSON(200, `{"id":"pi_1","object":"payment_intent","amount":4200,"client_secret":"pi_1_secret_x","status":"requires_payment_method"}`))
	pi, err := testStripe(base, 0).CreateIntent(context.Background(), Intent{Amount: 4200, Storage: 21, IdentityID: "us-east-1:alice", IdempotencyKey: "k"})
	if err != nil || pi.ID != "pi_1" || pi.ClientSecret == "" {
		t.Fatalf("CreateIntent = %+v, %v", pi, err)
	}
	forms, hdrs := rec.snapshot()
	f := forms[0]
	for k := range f {
		if strings.HasPrefix(k, "payment_method_types") {
			t.Fatalf("the intent sends %s: Stripe's 2026 API refuses it (form %v)", k, f)
		}
	}
	for k, want := range map[string]string{"amount": "4200", "currency": "usd", "automatic_payment_methods[enabled]": "true",
		"automatic_payment_methods[allow_redirects]": "never", "metadata[identityId]": "us-east-1:alice", "metadata[storage]": "21"} {
		if got := f.Get(k); got != want {
			t.Fatalf("form %s = %q, want %q (form %v)", k, got, want, f)
		}
	}
	if got := hdrs[0].Get("Idempotency-Key"); got != scopedKey("pi", "us-east-1:alice", "k") {
		t.Fatalf("Idempotency-Key = %q", got)
	}
}

// TestRefusals: each refusal of Stripe's is what it is: the card's, the
// request's, too many requests, a key still in use or reused with other
// parameters, and Stripe's own failure.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter)
		kind   Kind
	}{
		{"rate limit", stripeJSON(429, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`), RateLimited},
		{"key in use", stripeJSON(409, `{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use","message":"in use"}}`), KeyInUse},
		{"key reused", stripeJSON(400, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}`), KeyReused},
		{"card", stripeJSON(402, `{"error":{"type":"card_error","code":"card_declined","message":"Your card was declined."}}`), Declined},
		{"stripe down", stripeJSON(503, `{"error":{"type":"api_error","message":"down"}}`), Upstream},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec recorded
			_, err := testStripe(stripeServer(t, &rec, tc.answer), 0).CreateIntent(context.Background(), Intent{Amount: 400, Storage: 1, IdentityID: "u", IdempotencyKey: "k"})
			var be *Error
			if !errors.As(err, &be) || be.Kind != tc.kind {
				t.Fatalf("err = %v, want kind %d", err, tc.kind)
			}
		})
	}
}

// TestStripeMock charges through the real stripe-go wiring against
// stripe-mock, which `make test` starts.
func TestStripeMock(t *testing.T) {
	id, err := New(Config{Keys: StaticKeys(Keys{Secret: "sk_test_123"}), APIBase: testenv.StripeMock(t)}).Charge(context.Background(), Charge{Amount: 4200, Source: "tok_visa", IdempotencyKey: "k1"})
	if err != nil || !strings.HasPrefix(id, "ch_") {
		t.Fatalf("Charge = %q, %v; want a ch_ id", id, err)
	}
}

// TestChargeGivesUp: whatever Stripe does, a charge answers within its
// timeout, retries included, as an Upstream error (a 502 to the client).
func TestChargeGivesUp(t *testing.T) {
	const timeout = 600 * time.Millisecond
	hang := make(chan struct{})
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter)
	}{
		{"never answers", func(http.ResponseWriter) { <-hang }},
		{"answers too slowly", func(w http.ResponseWriter) {
			time.Sleep(2 * timeout)
			stripeJSON(200, `{"id":"ch_late","object":"charge"}`)(w)
		}},
		{"fails, retried past the timeout", func(w http.ResponseWriter) {
			time.Sleep(timeout / 3)
			http.Error(w, "upstream connect error", http.StatusBadGateway)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec recorded
			s := testStripe(stripeServer(t, &rec, tc.answer), 2)
			s.timeout = timeout
			// Runs before the server's Close, which waits for handlers.
			t.Cleanup(func() {
				select {
				case <-hang:
				default:
					close(hang)
				}
			})
			start := time.Now()
			_, err := s.Charge(context.Background(), Charge{Amount: 4200, Source: "tok_visa", IdempotencyKey: "k"})
			took := time.Since(start)
			var be *Error
			if !errors.As(err, &be) || be.Kind != Upstream {
				t.Fatalf("err = %v, want an Upstream *billing.Error", err)
			}
			if took > timeout+500*time.Millisecond || took < timeout-50*time.Millisecond {
				t.Fatalf("Charge took %v, want its %v", took, timeout)
			}
		})
	}
}

// TestChargeRetriesOnce: a Stripe that fails once in a way stripe-go
// retries (a 500 that is not Stripe's JSON, as a load balancer sends; a
// 429 lock timeout) and then succeeds gets two requests with one
// idempotency key (the one made of the client's, or stripe-go's own when
// the client sent none), and the charge succeeds.
func TestChargeRetriesOnce(t *testing.T) {
	first := map[string]func(http.ResponseWriter){
		"500": func(w http.ResponseWriter) { http.Error(w, "upstream connect error", http.StatusInternalServerError) },
		"429": stripeJSON(429, `{"error":{"type":"invalid_request_error","code":"lock_timeout","message":"locked"}}`),
	}
	for _, key := range []string{"client-key", ""} {
		for name, fail := range first {
			var (
				rec   recorded
				calls atomic.Int64
			)
			base := stripeServer(t, &rec, func(w http.ResponseWriter) {
				if calls.Add(1) == 1 {
					fail(w)
					return
				}
				stripeJSON(200, `{"id":"ch_2nd","object":"charge"}`)(w)
			})
			id, err := testStripe(base, 2).Charge(context.Background(), Charge{Amount: 400, Source: "tok_visa", IdempotencyKey: key})
			if err != nil || id != "ch_2nd" {
				t.Fatalf("%s, key %q: Charge = %q, %v", name, key, id, err)
			}
			_, hdrs := rec.snapshot()
			if len(hdrs) != 2 || hdrs[0].Get("Idempotency-Key") == "" || hdrs[0].Get("Idempotency-Key") != hdrs[1].Get("Idempotency-Key") {
				t.Fatalf("%s, key %q: Stripe got %d requests with keys %q", name, key, len(hdrs), keysOf(hdrs))
			}
			if key != "" && hdrs[0].Get("Idempotency-Key") != scopedKey("ch", "", key) {
				t.Fatalf("%s: Stripe got key %q, want the one made of the client's %q", name, hdrs[0].Get("Idempotency-Key"), key)
			}
		}
	}
}

func keysOf(hs []http.Header) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Get("Idempotency-Key"))
	}
	return out
}
