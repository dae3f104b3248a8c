package routes_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scratch-notes/notes-api/billing"
	"github.com/scratch-notes/notes-api/gateway"
	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/routes"
	"github.com/scratch-notes/notes-api/store"
)

// testWebhookSecret is the endpoint's signing secret in these tests.
const testWebhookSecret = "whsec_test_0123456789abcdef"

// sign is the Stripe-Signature header Stripe sends for payload at time
// ts, done by hand as Stripe documents its scheme (not with stripe-go,
// whose check it tests): t=<unix time>,v1=<hex HMAC-SHA256 of
// "<t>.<payload>" with the secret>.
func sign(payload, secret string, ts time.Time) string {
	return fmt.Sprintf("t=%d,v1=%s", ts.Unix(), v1(payload, secret, ts))
}

func v1(payload, secret string, ts time.Time) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.%s", ts.Unix(), payload)
	return hex.EncodeToString(mac.Sum(nil))
}

var eventSeq atomic.Int64

// succeeded is a payment_intent.succeeded event as Stripe sends it, for
// an intent of this API (metadata identityId and storage) of amount cents.
func succeeded(intentID, identity string, storage, amount int64) string {
	meta := map[string]string{}
	if identity != "" {
		meta = map[string]string{"identityId": identity, "storage": fmt.Sprint(storage)}
	}
	ev := map[string]any{
		"id": fmt.Sprintf("evt_test_%d", eventSeq.Add(1)), "object": "event", "api_version": "2024-06-20",
		"created": time.Now().Unix(), "livemode": false, "pending_webhooks": 1, "type": "payment_intent.succeeded",
		"data": map[string]any{"object": map[string]any{
			"id": intentID, "object": "payment_intent", "amount": amount, "amount_received": amount, "currency": "usd",
			"created": 1764547200, "description": "Scratch charge", "metadata": meta, "status": "succeeded",
		}},
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

// webhook posts an event as Stripe does: no identity, its own signature.
func webhook(d apitest.Door, t *testing.T, payload, signature string) apitest.Response {
	t.Helper()
	h := map[string]string{"Content-Type": "application/json; charset=utf-8", "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}
	if signature != "" {
		h["Stripe-Signature"] = signature
	}
	return d.Do(t, apitest.Request{Method: "POST", Path: "/billing/webhook", Body: payload, Header: h})
}

// purchasesOf is what GET /billing answers user.
func purchasesOf(t *testing.T, d apitest.Door, user string) (total int64, ids []string) {
	t.Helper()
	resp := d.Do(t, apitest.Request{Method: "GET", Path: "/billing", User: user})
	if resp.Status != http.StatusOK {
		t.Fatalf("GET /billing = %d %s", resp.Status, resp.Body)
	}
	var got struct {
		Storage   int64 `json:"storage"`
		Purchases []struct {
			ID string `json:"id"`
		} `json:"purchases"`
	}
	resp.JSON(t, &got)
	for _, p := range got.Purchases {
		ids = append(ids, p.ID)
	}
	return got.Storage, ids
}

// webhookDoors are the front doors on one store, REST v1 with a base64
// body among them: the signature must hold on the bytes Stripe sent,
// however the gateway carried them.
func webhookDoors(t *testing.T, st storetest.Store, s setup) map[string]apitest.Door {
	t.Helper()
	doors := doorsOn(t, func(testing.TB) storetest.Store { return st }, s)
	doors["v1-base64"] = apitest.Checked{Door: apitest.V1{Invoker: gateway.New(s.handler(t, st, routes.IdentityDeployed), nil), Base64: true}}
	return doors
}

// eachWebhookDoor runs f through every webhook door on both stores, each
// door on a store of its own.
func eachWebhookDoor(t *testing.T, s setup, f func(t *testing.T, d apitest.Door, st storetest.Store)) {
	for _, open := range []struct {
		name string
		open func(testing.TB) storetest.Store
	}{{"bolt", openBolt}, {"dynamo", openDynamo}} {
		t.Run(open.name, func(t *testing.T) {
			for _, name := range []string{"local", "v1", "v1-base64", "v2"} {
				t.Run(name, func(t *testing.T) {
					st := open.open(t)
					f(t, webhookDoors(t, st, s)[name], st)
				})
			}
		})
	}
}

// TestWebhookRecordsPayments: a verified payment_intent.succeeded of an
// intent this API made records the purchase for the identity in its
// metadata, once however often Stripe delivers it, through every front
// door; GET /billing shows it.
func TestWebhookRecordsPayments(t *testing.T) {
	eachWebhookDoor(t, withStripe("sk_test_123", "http://127.0.0.1:1"), func(t *testing.T, d apitest.Door, st storetest.Store) {
		if total, ids := purchasesOf(t, d, apitest.Alice); total != 0 || len(ids) != 0 {
			t.Fatalf("before any payment: storage %d, purchases %v", total, ids)
		}
		ev := succeeded("pi_alice_21", apitest.Alice, 21, 4200)
		for i := range 2 { // Stripe may deliver an event twice
			resp := webhook(d, t, ev, sign(ev, testWebhookSecret, time.Now()))
			var got struct{ Received, Recorded bool }
			resp.JSON(t, &got)
			if resp.Status != http.StatusOK || !got.Received || got.Recorded != (i == 0) {
				t.Fatalf("delivery %d = %d %s, want 200, recorded %v", i+1, resp.Status, resp.Body, i == 0)
			}
		}
		// The same intent, in an event of another id (a retried delivery
		// is the same event; a replayed one may not be): still once.
		ev2 := succeeded("pi_alice_21", apitest.Alice, 21, 4200)
		if resp := webhook(d, t, ev2, sign(ev2, testWebhookSecret, time.Now())); resp.Status != http.StatusOK {
			t.Fatalf("the same intent again = %d %s", resp.Status, resp.Body)
		}
		// Another user's intent is theirs, whoever calls.
		ev3 := succeeded("pi_bob_101", apitest.Bob, 101, 10100)
		if resp := webhook(d, t, ev3, sign(ev3, testWebhookSecret, time.Now())); resp.Status != http.StatusOK {
			t.Fatalf("Bob's payment = %d %s", resp.Status, resp.Body)
		}
		if total, ids := purchasesOf(t, d, apitest.Alice); total != 21 || strings.Join(ids, ",") != "pi_alice_21" {
			t.Fatalf("Alice has storage %d and purchases %v, want 21 and pi_alice_21", total, ids)
		}
		if total, ids := purchasesOf(t, d, apitest.Bob); total != 101 || strings.Join(ids, ",") != "pi_bob_101" {
			t.Fatalf("Bob has storage %d and purchases %v, want 101 and pi_bob_101", total, ids)
		}
		got, err := st.ListPurchases(context.Background(), apitest.Alice)
		if err != nil || len(got) != 1 || got[0] != (store.Purchase{UserID: apitest.Alice, ID: "pi_alice_21", Paid: true, Storage: 21, Amount: 4200, CreatedAt: 1764547200000}) {
			t.Fatalf("stored = %+v, %v", got, err)
		}
		// Purchases are never notes.
		resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes", User: apitest.Alice})
		if resp.Status != http.StatusOK || strings.TrimSpace(string(resp.Body)) != "[]" {
			t.Fatalf("GET /notes = %d %s, want no notes", resp.Status, resp.Body)
		}
	})
}

// TestWebhookRefusals: every event the webhook must not trust is a 400
// (or, not configured, a 503) and records nothing; every verified event
// it has no use for is a 200 that records nothing.
func TestWebhookRefusals(t *testing.T) {
	ev := succeeded("pi_refused", apitest.Alice, 21, 4200)
	now := time.Now()
	other := strings.Replace(ev, `"amount":4200`, `"amount":1`, 1)
	unknown := strings.Replace(ev, "payment_intent.succeeded", "customer.created", 1)
	live := strings.Replace(ev, `"livemode":false`, `"livemode":true`, 1)
	foreign := succeeded("pi_foreign", "", 0, 4200)
	cheap := succeeded("pi_cheap", apitest.Alice, 21, 100)
	for _, tc := range []struct {
		name, payload, signature string
		want                     int
	}{
		{"missing header", ev, "", 400},
		{"malformed header", ev, "this is not a signature", 400},
		{"no v1 signature", ev, fmt.Sprintf("t=%d,v0=%s", now.Unix(), v1(ev, testWebhookSecret, now)), 400},
		{"tampered body", other, sign(ev, testWebhookSecret, now), 400},
		{"a byte added", ev + "\n", sign(ev, testWebhookSecret, now), 400},
		{"wrong secret", ev, sign(ev, "whsec_someone_else", now), 400},
		{"stale timestamp", ev, sign(ev, testWebhookSecret, now.Add(-5*time.Minute-10*time.Second)), 400},
		{"another timestamp", ev, fmt.Sprintf("t=%d,v1=%s", now.Unix()+1, v1(ev, testWebhookSecret, now)), 400},
		{"dated in the future", ev, sign(ev, testWebhookSecret, now.Add(5*time.Minute+10*time.Second)), 400},
		{"unknown type", unknown, sign(unknown, testWebhookSecret, now), 200},
		{"a live event on a test key", live, sign(live, testWebhookSecret, now), 200},
		{"an intent this API did not make", foreign, sign(foreign, testWebhookSecret, now), 200},
		{"an amount that is not the price", cheap, sign(cheap, testWebhookSecret, now), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachWebhookDoor(t, withStripe("sk_test_123", "http://127.0.0.1:1"), func(t *testing.T, d apitest.Door, st storetest.Store) {
				resp := webhook(d, t, tc.payload, tc.signature)
				if resp.Status != tc.want {
					t.Fatalf("status = %d, want %d (%s)", resp.Status, tc.want, resp.Body)
				}
				if tc.want != 200 {
					if msg := resp.ErrorMessage(t); strings.Contains(msg, "whsec_") {
						t.Fatalf("message %q names the secret", msg)
					}
				} else {
					var got struct{ Received, Recorded bool }
					resp.JSON(t, &got)
					if !got.Received || got.Recorded {
						t.Fatalf("answer %s, want received and not recorded", resp.Body)
					}
				}
				for _, user := range []string{apitest.Alice, apitest.Bob, ""} {
					if got, err := st.ListPurchases(context.Background(), user); err != nil || len(got) != 0 {
						t.Fatalf("%q has purchases %+v (%v), want none", user, got, err)
					}
				}
			})
		})
	}

	t.Run("two signatures, one valid", func(t *testing.T) {
		// Stripe signs with both secrets while an endpoint's secret is
		// rolled.
		eachWebhookDoor(t, withStripe("sk_test_123", "http://127.0.0.1:1"), func(t *testing.T, d apitest.Door, st storetest.Store) {
			sig := fmt.Sprintf("t=%d,v1=%s,v1=%s", now.Unix(), v1(ev, "whsec_the_old_one", now), v1(ev, testWebhookSecret, now))
			if resp := webhook(d, t, ev, sig); resp.Status != http.StatusOK {
				t.Fatalf("status = %d, want 200 (%s)", resp.Status, resp.Body)
			}
			if got, _ := st.ListPurchases(context.Background(), apitest.Alice); len(got) != 1 {
				t.Fatalf("purchases = %+v, want the one", got)
			}
		})
	})
}

// TestWebhookNotConfigured: with no signing secret the webhook answers
// 503 and says why in the log; with no billing at all, 503 too.
func TestWebhookNotConfigured(t *testing.T) {
	ev := succeeded("pi_x", apitest.Alice, 21, 4200)
	noSecret := defaults()
	noSecret.billing = billing.New(billing.Config{Keys: billing.StaticKeys(billing.Keys{Secret: "sk_test_123"})})
	var logs testenv.Buffer
	noSecret.log = slog.New(slog.NewJSONHandler(&logs, nil))
	for name, s := range map[string]setup{"no signing secret": noSecret, "no billing": defaults()} {
		t.Run(name, func(t *testing.T) {
			eachWebhookDoor(t, s, func(t *testing.T, d apitest.Door, st storetest.Store) {
				resp := webhook(d, t, ev, sign(ev, testWebhookSecret, time.Now()))
				if resp.Status != http.StatusServiceUnavailable {
					t.Fatalf("status = %d, want 503 (%s)", resp.Status, resp.Body)
				}
				resp.ErrorMessage(t)
				if got, _ := st.ListPurchases(context.Background(), apitest.Alice); len(got) != 0 {
					t.Fatalf("purchases = %+v, want none", got)
				}
			})
		})
	}
	if !strings.Contains(logs.String(), "no webhook signing secret") {
		t.Fatalf("the log does not say why:\n%s", logs.String())
	}
}

// TestWebhookStoreFailure: a store that cannot record the purchase is a
// 5xx, so that Stripe delivers the event again; the next delivery records
// it.
func TestWebhookStoreFailure(t *testing.T) {
	for _, fault := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("throttled: %w", store.ErrUnavailable), 503},
		{errors.New("dial tcp 10.0.0.5:8000: connection refused"), 500},
	} {
		ev := succeeded("pi_retry", apitest.Alice, 10, 4000)
		st := storetest.Bolt(t)
		var fail atomic.Bool
		fail.Store(true)
		s := withStripe("sk_test_123", "http://127.0.0.1:1")
		s.wrap = func(st storetest.Store) storetest.Store {
			return storetest.Faulty{Inner: st, ApplyPurchaseFn: func(ctx context.Context, c store.PurchaseChange) (store.Purchase, bool, error) {
				if fail.Load() {
					return store.Purchase{}, false, fault.err
				}
				return st.ApplyPurchase(ctx, c)
			}}
		}
		d := webhookDoors(t, st, s)["v1"]
		if resp := webhook(d, t, ev, sign(ev, testWebhookSecret, time.Now())); resp.Status != fault.want {
			t.Fatalf("with the store failing: %d %s, want %d", resp.Status, resp.Body, fault.want)
		}
		fail.Store(false)
		if resp := webhook(d, t, ev, sign(ev, testWebhookSecret, time.Now())); resp.Status != http.StatusOK {
			t.Fatalf("delivered again: %d %s", resp.Status, resp.Body)
		}
		if total, _ := purchasesOf(t, d, apitest.Alice); total != 10 {
			t.Fatalf("storage paid = %d, want 10", total)
		}
	}
}

// refunded is a charge.refunded event of intentID's charge (a legacy
// charge's when intentID is ""), amount refunded in all.
func refunded(intentID, chargeID string, refundedAmount int64, metadata map[string]string) string {
	var pi any = intentID
	if intentID == "" {
		pi = nil
	}
	if metadata == nil {
		metadata = map[string]string{}
	}
	b, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("evt_test_%d", eventSeq.Add(1)), "object": "event", "livemode": false,
		"type": "charge.refunded", "data": map[string]any{"object": map[string]any{"id": chargeID, "object": "charge",
			"amount_refunded": refundedAmount, "payment_intent": pi, "metadata": metadata, "refunded": true}}})
	return string(b)
}

// disputed is a charge.dispute.created event, or, with status won or lost,
// a charge.dispute.closed one, of intentID's charge.
func disputed(intentID, status string) string {
	typ := "charge.dispute.created"
	if status == "won" || status == "lost" {
		typ = "charge.dispute.closed"
	}
	b, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("evt_test_%d", eventSeq.Add(1)), "object": "event", "livemode": false,
		"type": typ, "data": map[string]any{"object": map[string]any{"id": "dp_" + intentID, "object": "dispute",
			"charge": "ch_" + intentID, "payment_intent": intentID, "status": status}}})
	return string(b)
}

// billingOf is GET /billing's answer: the total, and each purchase's id,
// state and counted storage.
func billingOf(t *testing.T, d apitest.Door, user string) (int64, map[string]string) {
	t.Helper()
	resp := d.Do(t, apitest.Request{Method: "GET", Path: "/billing", User: user})
	var got struct {
		Storage   int64
		Purchases []struct {
			ID, State string
			Counted   int64
		}
	}
	resp.JSON(t, &got)
	out := map[string]string{}
	for _, p := range got.Purchases {
		out[p.ID] = fmt.Sprintf("%s %d", p.State, p.Counted)
	}
	return got.Storage, out
}

// TestWebhookPurchaseLife: a purchase's whole life through the webhook,
// through every door on both stores: paid, refunded in part (storage
// taken back in proportion, rounded down), disputed (suspended), dispute
// won (restored), refunded in full; another purchase's dispute lost; a
// legacy charge's refund by its own metadata. Each event twice: once.
func TestWebhookPurchaseLife(t *testing.T) {
	eachWebhookDoor(t, withStripe("sk_test_123", "http://127.0.0.1:1"), func(t *testing.T, d apitest.Door, st storetest.Store) {
		deliver := func(ev string) {
			t.Helper()
			for range 2 {
				if resp := webhook(d, t, ev, sign(ev, testWebhookSecret, time.Now())); resp.Status != http.StatusOK {
					t.Fatalf("webhook = %d %s", resp.Status, resp.Body)
				}
			}
		}
		for _, step := range []struct {
			ev    string
			total int64
			state map[string]string
		}{
			{succeeded("pi_life", apitest.Alice, 21, 4200), 21, map[string]string{"pi_life": "paid 21"}},
			{refunded("pi_life", "ch_life", 1050, nil), 16, map[string]string{"pi_life": "partially_refunded 16"}},
			{disputed("pi_life", "needs_response"), 0, map[string]string{"pi_life": "disputed 0"}},
			{disputed("pi_life", "won"), 16, map[string]string{"pi_life": "dispute_won 16"}},
			{succeeded("pi_lost", apitest.Alice, 10, 4000), 26, map[string]string{"pi_life": "dispute_won 16", "pi_lost": "paid 10"}},
			{disputed("pi_lost", "needs_response"), 16, map[string]string{"pi_life": "dispute_won 16", "pi_lost": "disputed 0"}},
			{disputed("pi_lost", "lost"), 16, map[string]string{"pi_life": "dispute_won 16", "pi_lost": "dispute_lost 0"}},
			{refunded("pi_life", "ch_life", 4200, nil), 0, map[string]string{"pi_life": "refunded 0", "pi_lost": "dispute_lost 0"}},
		} {
			deliver(step.ev)
			total, state := billingOf(t, d, apitest.Alice)
			if total != step.total || fmt.Sprint(state) != fmt.Sprint(step.state) {
				t.Fatalf("after %.60s: storage %d, purchases %v; want %d, %v", step.ev[strings.Index(step.ev, `"type"`):], total, state, step.total, step.state)
			}
		}
		// A legacy charge, recorded as POST /billing records it: its
		// refund names its owner in its own metadata.
		if _, _, err := st.ApplyPurchase(context.Background(), store.PurchaseChange{UserID: apitest.Bob, ID: "ch_legacy", Paid: true, Storage: 10, Amount: 4000, CreatedAt: 1}); err != nil {
			t.Fatal(err)
		}
		deliver(refunded("", "ch_legacy", 2000, map[string]string{"identityId": apitest.Bob, "storage": "10"}))
		if total, state := billingOf(t, d, apitest.Bob); total != 5 || state["ch_legacy"] != "partially_refunded 5" {
			t.Fatalf("Bob after his charge's refund: %d %v", total, state)
		}
	})
}

// TestWebhookAnyOrder: Stripe does not promise the order of its events. A
// refund, or a whole dispute, seen before its payment comes to the same
// purchase: the payment then credits only what the refund left.
func TestWebhookAnyOrder(t *testing.T) {
	eachWebhookDoor(t, withStripe("sk_test_123", "http://127.0.0.1:1"), func(t *testing.T, d apitest.Door, st storetest.Store) {
		// POST /billing makes the intent known first, as it does.
		for _, id := range []string{"pi_early_refund", "pi_early_dispute"} {
			if _, _, err := st.ApplyPurchase(context.Background(), store.PurchaseChange{UserID: apitest.Alice, ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		for _, ev := range []string{refunded("pi_early_refund", "ch_1", 4200, nil), disputed("pi_early_dispute", "needs_response"),
			disputed("pi_early_dispute", "lost"), succeeded("pi_early_refund", apitest.Alice, 21, 4200), succeeded("pi_early_dispute", apitest.Alice, 10, 4000)} {
			if resp := webhook(d, t, ev, sign(ev, testWebhookSecret, time.Now())); resp.Status != http.StatusOK {
				t.Fatalf("webhook = %d %s", resp.Status, resp.Body)
			}
		}
		if total, state := billingOf(t, d, apitest.Alice); total != 0 || state["pi_early_refund"] != "refunded 0" || state["pi_early_dispute"] != "dispute_lost 0" {
			t.Fatalf("storage %d, purchases %v; want nothing credited", total, state)
		}
		// A refund of a purchase this API never made known is answered
		// and recorded nowhere.
		ev := refunded("pi_stranger", "ch_s", 100, nil)
		resp := webhook(d, t, ev, sign(ev, testWebhookSecret, time.Now()))
		var got struct{ Recorded bool }
		resp.JSON(t, &got)
		if resp.Status != http.StatusOK || got.Recorded {
			t.Fatalf("a stranger's refund = %d %s", resp.Status, resp.Body)
		}
	})
}

// TestWebhookMismatchAlarms: a payment of this API for another amount than
// its storage costs credits nothing, and says so at ERROR with the event's
// id and in the PaymentMismatches metric, which an alarm watches.
func TestWebhookMismatchAlarms(t *testing.T) {
	s := withStripe("sk_test_123", "http://127.0.0.1:1")
	var logs testenv.Buffer
	s.log = slog.New(slog.NewJSONHandler(&logs, nil))
	st := storetest.Bolt(t)
	d := webhookDoors(t, st, s)["local"]
	ev := succeeded("pi_cheap", apitest.Alice, 21, 100)
	if resp := webhook(d, t, ev, sign(ev, testWebhookSecret, time.Now())); resp.Status != http.StatusOK {
		t.Fatalf("webhook = %d %s", resp.Status, resp.Body)
	}
	var id struct{ ID string }
	json.Unmarshal([]byte(ev), &id)
	var errorLine, metricLine bool
	for _, l := range strings.Split(logs.String(), "\n") {
		errorLine = errorLine || (strings.Contains(l, `"level":"ERROR"`) && strings.Contains(l, `"eventId":"`+id.ID+`"`))
		metricLine = metricLine || (strings.Contains(l, `"PaymentMismatches":1`) && strings.Contains(l, `"_aws"`))
	}
	if !errorLine || !metricLine {
		t.Fatalf("no ERROR line with the event id (%v) or no PaymentMismatches metric (%v):\n%s", errorLine, metricLine, logs.String())
	}
	if total, _ := billingOf(t, d, apitest.Alice); total != 0 {
		t.Fatalf("a mismatched payment credited %d", total)
	}
}
