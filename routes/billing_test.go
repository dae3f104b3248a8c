package routes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scratch-notes/notes-api/billing"
	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/store"
)

// withStripe is defaults with billing through Stripe at apiBase, as main
// builds it from STRIPE_SECRET_KEY and STRIPE_API_BASE.
func withStripe(key, apiBase string) setup {
	s := defaults()
	s.billing = billing.New(billing.Config{Keys: billing.StaticKeys(billing.Keys{Secret: key, Webhook: testWebhookSecret}), APIBase: apiBase})
	return s
}

func billingRequest(body string, header map[string]string) apitest.Request {
	h := map[string]string{"Content-Type": "application/json; charset=UTF-8", "Origin": apitest.AppOrigin}
	for k, v := range header {
		h[k] = v
	}
	return apitest.Request{Method: "POST", Path: "/billing", Body: body, Header: h, User: apitest.Alice}
}

func TestBillingThroughStripeMock(t *testing.T) {
	for name, d := range doors(t, withStripe("sk_test_123", testenv.StripeMock(t))) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct {
				storage string
				amount  int64
			}{{`"21"`, 4200}, {`21`, 4200}, {`10`, 4000}, {`"100"`, 20000}, {`101`, 10100}, {`1`, 400}} {
				resp := d.Do(t, billingRequest(`{"storage":`+tc.storage+`,"source":"tok_visa"}`, nil))
				if resp.Status != http.StatusOK {
					t.Fatalf("storage %s: status = %d, want 200 (%s)", tc.storage, resp.Status, resp.Body)
				}
				var got struct {
					Status   bool   `json:"status"`
					Amount   int64  `json:"amount"`
					ChargeID string `json:"chargeId"`
				}
				resp.JSON(t, &got)
				if !got.Status || got.Amount != tc.amount || !strings.HasPrefix(got.ChargeID, "ch_") {
					t.Fatalf("storage %s: answer %s, want status true, amount %d, a ch_ id", tc.storage, resp.Body, tc.amount)
				}
				if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
					t.Fatal("billing answer has no CORS header")
				}
			}
		})
	}
}

func TestBillingBadInput(t *testing.T) {
	// Nothing here may reach Stripe: a server that fails the test if called.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("Stripe was called for bad input: %s %s", r.Method, r.URL)
		w.WriteHeader(500)
	}))
	defer srv.Close()
	for name, d := range doors(t, withStripe("sk_test_123", srv.URL)) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct {
				name, body string
				header     map[string]string
				want       int
			}{
				{"zero", `{"storage":0,"source":"tok_visa"}`, nil, 400},
				{"negative", `{"storage":-1,"source":"tok_visa"}`, nil, 400},
				{"fraction", `{"storage":1.5,"source":"tok_visa"}`, nil, 400},
				{"fraction string", `{"storage":"1.5","source":"tok_visa"}`, nil, 400},
				{"word", `{"storage":"abc","source":"tok_visa"}`, nil, 400},
				{"empty string", `{"storage":"","source":"tok_visa"}`, nil, 400},
				{"huge", `{"storage":1000000000000,"source":"tok_visa"}`, nil, 400},
				{"over int64", `{"storage":"99999999999999999999999","source":"tok_visa"}`, nil, 400},
				{"just over the bound", `{"storage":100001,"source":"tok_visa"}`, nil, 400},
				// 1e3 is the whole number 1000 (TestIntegerRules); these are not.
				{"exponent string", `{"storage":"1e3","source":"tok_visa"}`, nil, 400},
				{"exponent fraction", `{"storage":15e-1,"source":"tok_visa"}`, nil, 400},
				{"boolean", `{"storage":true,"source":"tok_visa"}`, nil, 400},
				{"null", `{"storage":null,"source":"tok_visa"}`, nil, 400},
				{"array", `{"storage":[21],"source":"tok_visa"}`, nil, 400},
				{"missing storage", `{"source":"tok_visa"}`, nil, 400},
				{"empty source", `{"storage":21,"source":"  "}`, nil, 400},
				{"source a number", `{"storage":21,"source":4242}`, nil, 400},
				{"unknown field", `{"storage":21,"source":"tok_visa","amount":1}`, nil, 400},
				{"not JSON", `storage=21`, nil, 400},
				{"text/plain", `{"storage":21,"source":"tok_visa"}`, map[string]string{"Content-Type": "text/plain"}, 415},
				{"long Idempotency-Key", `{"storage":21,"source":"tok_visa"}`, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, 400},
				// The same, for a PaymentIntent.
				{"intent: zero", `{"storage":0}`, nil, 400},
				{"intent: fraction string", `{"storage":"1.5"}`, nil, 400},
				{"intent: just over the bound", `{"storage":100001}`, nil, 400},
				{"intent: missing storage", `{}`, nil, 400},
				{"intent: unknown field", `{"storage":21,"currency":"eur"}`, nil, 400},
				{"intent: text/plain", `{"storage":21}`, map[string]string{"Content-Type": "text/plain"}, 415},
				{"intent: long Idempotency-Key", `{"storage":21}`, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, 400},
			} {
				resp := d.Do(t, billingRequest(tc.body, tc.header))
				if resp.Status != tc.want {
					t.Fatalf("%s: status = %d, want %d (%s)", tc.name, resp.Status, tc.want, resp.Body)
				}
				if msg := resp.ErrorMessage(t); len(msg) < 10 {
					t.Fatalf("%s: message %q is not one a person can act on", tc.name, msg)
				}
				if resp.Header.Get("Access-Control-Allow-Origin") == "" {
					t.Fatalf("%s: no CORS header", tc.name)
				}
			}
		})
	}
}

// TestBillingStripeAnswers drives the router against a Stripe stand-in
// that answers with Stripe's own error bodies (stripe-mock always
// approves) and records what was sent.
func TestBillingStripeAnswers(t *testing.T) {
	var (
		mu     sync.Mutex
		answer string
		status int
		keys   []string
		forms  []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		defer mu.Unlock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		forms = append(forms, r.PostForm.Encode())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Stripe-Should-Retry", "false")
		w.WriteHeader(status)
		fmt.Fprint(w, answer)
	}))
	defer srv.Close()
	d := doors(t, withStripe("sk_live_do_not_leak", srv.URL))["v1"]
	for _, tc := range []struct {
		name, answer string
		status, want int
		message      string
	}{
		{"charged", `{"id":"ch_777","object":"charge","amount":4200}`, 200, 200, ""},
		{"declined", `{"error":{"type":"card_error","code":"card_declined","message":"Your card was declined."}}`, 402, 402, "Your card was declined."},
		{"expired", `{"error":{"type":"card_error","code":"expired_card","message":"Your card has expired."}}`, 402, 402, "Your card has expired."},
		{"invalid request", `{"error":{"type":"invalid_request_error","message":"No such token: 'tok_gone'","param":"source"}}`, 400, 400, "No such token: 'tok_gone'"},
		{"key refused", `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_live_****leak"}}`, 401, 502, "payment service failed"},
		{"stripe down", `{"error":{"type":"api_error","message":"internal"}}`, 500, 502, "payment service failed"},
		{"rate limit", `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests hit the API too quickly."}}`, 429, 503, "busy: retry in a few seconds"},
		{"key in use", `{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use","message":"in use"}}`, 409, 409, "Idempotency-Key is still being processed"},
		{"key reused", `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}`, 400, 422, "Idempotency-Key was used for another payment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			answer, status = tc.answer, tc.status
			mu.Unlock()
			resp := d.Do(t, billingRequest(`{"storage":"21","source":"tok_visa"}`, map[string]string{"Idempotency-Key": "key-" + tc.name}))
			if resp.Status != tc.want {
				t.Fatalf("status = %d, want %d (%s)", resp.Status, tc.want, resp.Body)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") == "" {
				t.Fatal("no CORS header")
			}
			if tc.want != 200 {
				msg := resp.ErrorMessage(t)
				if !strings.Contains(msg, tc.message) || strings.Contains(msg, "sk_live") || strings.Contains(msg, "leak") {
					t.Fatalf("message = %q, want one containing %q and no key", msg, tc.message)
				}
			}
			if retry := resp.Header.Get("Retry-After"); (retry != "") != (tc.want == 503 || tc.want == 409) {
				t.Fatalf("Retry-After = %q with %d", retry, tc.want)
			}
			mu.Lock()
			defer mu.Unlock()
			if got := keys[len(keys)-1]; got == "" || got == "key-"+tc.name {
				t.Fatalf("Stripe got Idempotency-Key %q, want one made of the caller and key-%s", got, tc.name)
			}
			want := "amount=4200&currency=usd&description=Scratch+charge&metadata%5BidentityId%5D=" + url.QueryEscape(apitest.Alice) +
				"&metadata%5Bstorage%5D=21&source=tok_visa"
			if got := forms[len(forms)-1]; got != want {
				t.Fatalf("Stripe got form %q\nwant %q", got, want)
			}
		})
	}
}

// TestBillingStripeHangs: a Stripe that never answers is a 502 the browser
// can read, when the call's time is up (20 s deployed; less here), for a
// charge and for an intent alike.
func TestBillingStripeHangs(t *testing.T) {
	s := defaults()
	s.billing = billing.New(billing.Config{Keys: billing.StaticKeys(billing.Keys{Secret: "sk_test_123"}), APIBase: testenv.HungServer(t), Timeout: 300 * time.Millisecond})
	for name, d := range doors(t, s) {
		t.Run(name, func(t *testing.T) {
			for _, body := range []string{`{"storage":21,"source":"tok_visa"}`, `{"storage":21}`} {
				start := time.Now()
				resp := d.Do(t, billingRequest(body, map[string]string{"Idempotency-Key": "k-" + name}))
				if took := time.Since(start); resp.Status != http.StatusBadGateway || took > 5*time.Second {
					t.Fatalf("%s: status = %d after %v, want 502 at the timeout (%s)", body, resp.Status, took, resp.Body)
				}
				if msg := resp.ErrorMessage(t); !strings.Contains(msg, "Idempotency-Key") || strings.Contains(msg, "sk_test") {
					t.Fatalf("message %q", msg)
				}
				if resp.Header.Get("Access-Control-Allow-Origin") == "" {
					t.Fatal("no CORS header")
				}
			}
		})
	}
}

// TestBillingIntentThroughStripeMock: without a card token, POST /billing
// makes a PaymentIntent (stripe-mock reflects the amount it was asked for)
// and answers 201 with what Stripe.js needs, through every front door.
func TestBillingIntentThroughStripeMock(t *testing.T) {
	for name, d := range doors(t, withStripe("sk_test_123", testenv.StripeMock(t))) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct {
				storage      string
				want, amount int64
			}{{`10`, 10, 4000}, {`"21"`, 21, 4200}, {`100`, 100, 20000}, {`"101"`, 101, 10100}} {
				resp := d.Do(t, billingRequest(`{"storage":`+tc.storage+`}`, map[string]string{"Idempotency-Key": "order-" + tc.storage}))
				if resp.Status != http.StatusCreated {
					t.Fatalf("storage %s: status = %d, want 201 (%s)", tc.storage, resp.Status, resp.Body)
				}
				var got struct {
					PaymentIntentID, ClientSecret, Status string
					Amount, Storage                       int64
				}
				resp.JSON(t, &got)
				if !strings.HasPrefix(got.PaymentIntentID, "pi_") || got.ClientSecret == "" || got.Status == "" ||
					got.Amount != tc.amount || got.Storage != tc.want {
					t.Fatalf("storage %s: answer %s, want a pi_ with its client secret, amount %d, storage %d", tc.storage, resp.Body, tc.amount, tc.want)
				}
				if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
					t.Fatal("no CORS header")
				}
			}
		})
	}
}

// stripeRecorder is a Stripe stand-in that answers every call with one
// answer and records what it was sent.
type stripeRecorder struct {
	mu     sync.Mutex
	status int
	answer string
	keys   []string
	forms  []string
	paths  []string
}

func (s *stripeRecorder) set(status int, answer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.answer = status, answer
}

func (s *stripeRecorder) last() (key, form, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.keys) - 1
	return s.keys[n], s.forms[n], s.paths[n]
}

func newStripeRecorder(t *testing.T) (*stripeRecorder, string) {
	rec := &stripeRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.keys = append(rec.keys, r.Header.Get("Idempotency-Key"))
		rec.forms = append(rec.forms, r.PostForm.Encode())
		rec.paths = append(rec.paths, r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Stripe-Should-Retry", "false")
		w.WriteHeader(rec.status)
		fmt.Fprint(w, rec.answer)
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

// TestBillingIntentRequest: what Stripe is asked for an intent (the amount
// computed here, usd, the description, the caller and the storage in its
// metadata, card payments), and an Idempotency-Key of the caller's own:
// the caller's retry makes one intent, another caller's same key another.
func TestBillingIntentRequest(t *testing.T) {
	rec, base := newStripeRecorder(t)
	rec.set(200, `{"id":"pi_777","object":"payment_intent","amount":4200,"client_secret":"pi_777_secret_abc","status":"requires_payment_method"}`)
	d := doors(t, withStripe("sk_test_123", base))["v1"]
	keyOf := func(user, key string) string {
		t.Helper()
		req := billingRequest(`{"storage":"21"}`, map[string]string{"Idempotency-Key": key})
		req.User = user
		if resp := d.Do(t, req); resp.Status != http.StatusCreated {
			t.Fatalf("status = %d (%s)", resp.Status, resp.Body)
		}
		got, form, path := rec.last()
		want := "amount=4200&automatic_payment_methods%5Ballow_redirects%5D=never&automatic_payment_methods%5Benabled%5D=true" +
			"&currency=usd&description=Scratch+charge&metadata%5BidentityId%5D=" + url.QueryEscape(user) + "&metadata%5Bstorage%5D=21"
		if path != "/v1/payment_intents" || form != want {
			t.Fatalf("Stripe got %s %q\nwant /v1/payment_intents %q", path, form, want)
		}
		return got
	}
	first := keyOf(apitest.Alice, "order-1")
	if first == "" || first == "order-1" || keyOf(apitest.Alice, "order-1") != first {
		t.Fatalf("Alice's key order-1 reached Stripe as %q, then differently: want one key of her own", first)
	}
	if keyOf(apitest.Bob, "order-1") == first {
		t.Fatal("Bob's order-1 is Alice's key at Stripe: he would get her intent and its client secret")
	}
	if keyOf(apitest.Alice, "order-2") == first {
		t.Fatal("two keys of Alice's are one at Stripe")
	}
	// With none, stripe-go makes one of its own for its retries: never the
	// same twice.
	if a, b := keyOf(apitest.Alice, ""), keyOf(apitest.Alice, ""); a == b || a == first {
		t.Fatalf("two calls without an Idempotency-Key reached Stripe with %q and %q", a, b)
	}
}

// TestBillingIntentStripeAnswers: Stripe's refusals and failures of an
// intent are answered as a charge's are, with nothing of the key.
func TestBillingIntentStripeAnswers(t *testing.T) {
	rec, base := newStripeRecorder(t)
	d := doors(t, withStripe("sk_live_do_not_leak", base))["v2"]
	for _, tc := range []struct {
		name, answer string
		status, want int
		message      string
	}{
		{"declined", `{"error":{"type":"card_error","code":"card_declined","message":"Your card was declined."}}`, 402, 402, "Your card was declined."},
		{"invalid request", `{"error":{"type":"invalid_request_error","message":"Amount must be at least $0.50 usd","param":"amount"}}`, 400, 400, "Amount must be at least"},
		{"key refused", `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_live_****leak"}}`, 401, 502, "payment service failed"},
		{"stripe down", `{"error":{"type":"api_error","message":"internal"}}`, 500, 502, "payment service failed"},
		{"rate limit", `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests hit the API too quickly."}}`, 429, 503, "busy: retry in a few seconds"},
		{"key in use", `{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use","message":"in use"}}`, 409, 409, "Idempotency-Key is still being processed"},
		{"key reused", `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}`, 400, 422, "Idempotency-Key was used for another payment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.set(tc.status, tc.answer)
			resp := d.Do(t, billingRequest(`{"storage":21}`, nil))
			if resp.Status != tc.want {
				t.Fatalf("status = %d, want %d (%s)", resp.Status, tc.want, resp.Body)
			}
			if msg := resp.ErrorMessage(t); !strings.Contains(msg, tc.message) || strings.Contains(msg, "sk_live") || strings.Contains(msg, "leak") {
				t.Fatalf("message = %q, want one containing %q and no key", msg, tc.message)
			}
		})
	}
}

// TestBillingChargeIsRecorded: a charge of a card token is a purchase
// too, which GET /billing shows beside the intents' (and a failed one is
// not).
func TestBillingChargeIsRecorded(t *testing.T) {
	eachDoor(t, withStripe("sk_test_123", testenv.StripeMock(t)), func(t *testing.T, d apitest.Door) {
		resp := d.Do(t, billingRequest(`{"storage":"21","source":"tok_visa"}`, nil))
		var charged struct{ ChargeID string }
		resp.JSON(t, &charged)
		if resp.Status != http.StatusOK || charged.ChargeID == "" {
			t.Fatalf("charge = %d %s", resp.Status, resp.Body)
		}
		total, ids := purchasesOf(t, d, apitest.Alice)
		if total != 21 || strings.Join(ids, ",") != charged.ChargeID {
			t.Fatalf("after a charge: storage %d, purchases %v; want 21 and %s", total, ids, charged.ChargeID)
		}
		if total, ids := purchasesOf(t, d, apitest.Bob); total != 0 || len(ids) != 0 {
			t.Fatalf("Bob has %d and %v", total, ids)
		}
	})
}

// TestBillingChargeNotRecorded: a card charged when the store cannot
// take the purchase is still a 200 (the money moved), and the log's ERROR
// line names the charge, the identity and the storage for an operator,
// never the card token; a retry with the same Idempotency-Key records it.
func TestBillingChargeNotRecorded(t *testing.T) {
	st := openBolt(t)
	var log testenv.Buffer
	s := withStripe("sk_test_123", testenv.StripeMock(t))
	s.log = slog.New(slog.NewJSONHandler(&log, nil))
	var down atomic.Bool
	down.Store(true)
	s.wrap = func(st storetest.Store) storetest.Store {
		return storetest.Faulty{Inner: st, ApplyPurchaseFn: func(ctx context.Context, c store.PurchaseChange) (store.Purchase, bool, error) {
			if down.Load() {
				return store.Purchase{}, false, store.ErrUnavailable
			}
			return st.ApplyPurchase(ctx, c)
		}}
	}
	d := doorsOn(t, func(testing.TB) storetest.Store { return st }, s)["local"]
	req := billingRequest(`{"storage":"21","source":"tok_visa"}`, map[string]string{"Idempotency-Key": "retry-me"})
	resp := d.Do(t, req)
	var charged struct{ ChargeID string }
	resp.JSON(t, &charged)
	if resp.Status != http.StatusOK || charged.ChargeID == "" {
		t.Fatalf("charge with the store down = %d %s, want 200", resp.Status, resp.Body)
	}
	var line map[string]any
	for _, l := range strings.Split(log.String(), "\n") {
		if strings.Contains(l, `"charge not recorded"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line["level"] != "ERROR" || line["chargeId"] != charged.ChargeID || line["identityId"] != apitest.Alice || line["storage"] != float64(21) {
		t.Fatalf("the log has no ERROR line naming the charge, identity and storage: %v\n%s", line, log.String())
	}
	if strings.Contains(log.String(), "tok_visa") {
		t.Fatal("the log holds the card token")
	}
	if total, _ := purchasesOf(t, d, apitest.Alice); total != 0 {
		t.Fatalf("storage %d recorded with the store down", total)
	}
	// Stripe answers a retry with the same key with the same charge;
	// stripe-mock makes a new id each time, so the retry's is the one.
	down.Store(false)
	resp = d.Do(t, req)
	resp.JSON(t, &charged)
	if resp.Status != http.StatusOK {
		t.Fatalf("retry = %d %s", resp.Status, resp.Body)
	}
	if total, ids := purchasesOf(t, d, apitest.Alice); total != 21 || strings.Join(ids, ",") != charged.ChargeID {
		t.Fatalf("after the retry: storage %d, purchases %v; want 21 and %s", total, ids, charged.ChargeID)
	}
}
