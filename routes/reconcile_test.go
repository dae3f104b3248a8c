package routes_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scratch-notes/notes-api/billing"
	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/routes"
)

// eventsStripe is a Stripe whose event list holds events (each event's
// JSON): what Stripe's GET /v1/events answers, in one page.
func eventsStripe(t *testing.T, events *[]string, mu *sync.Mutex) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/events" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, `{"object":"list","url":"/v1/events","has_more":false,"data":[%s]}`, strings.Join(*events, ","))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestReconcile: what the webhook missed, a reconcile records, on both
// stores; run again, or after the webhook got it, it changes nothing. A
// refund listed before its payment (Stripe lists newest first) still
// finds its purchase: payments are recorded first.
func TestReconcile(t *testing.T) {
	for _, open := range []struct {
		name string
		open func(testing.TB) storetest.Store
	}{{"bolt", openBolt}, {"dynamo", openDynamo}} {
		t.Run(open.name, func(t *testing.T) {
			var mu sync.Mutex
			events := []string{refunded("pi_missed", "ch_m", 2100, nil), succeeded("pi_missed", apitest.Alice, 21, 4200), succeeded("pi_seen", apitest.Alice, 10, 4000)}
			b := billing.New(billing.Config{Keys: billing.StaticKeys(billing.Keys{Secret: "sk_test_123", Webhook: testWebhookSecret}),
				APIBase: eventsStripe(t, &events, &mu)})
			st := open.open(t)
			s := defaults()
			s.billing = b
			d := webhookDoors(t, st, s)["v1"]
			// The webhook got one of them.
			seen := events[2]
			if resp := webhook(d, t, seen, sign(seen, testWebhookSecret, time.Now())); resp.Status != http.StatusOK {
				t.Fatalf("webhook = %d %s", resp.Status, resp.Body)
			}
			rc, err := routes.NewReconciler(routes.Config{Billing: b, Purchases: st})
			if err != nil {
				t.Fatal(err)
			}
			got, err := rc.Run(context.Background())
			if err != nil || got.Events != 3 || got.Recorded != 2 {
				t.Fatalf("reconcile = %+v, %v; want 3 events, 2 recorded (the payment and the refund the webhook missed)", got, err)
			}
			if total, state := billingOf(t, d, apitest.Alice); total != 21 || state["pi_missed"] != "partially_refunded 11" || state["pi_seen"] != "paid 10" {
				t.Fatalf("after reconciling: storage %d, %v", total, state)
			}
			if again, err := rc.Run(context.Background()); err != nil || again.Recorded != 0 {
				t.Fatalf("reconcile again = %+v, %v; want nothing recorded", again, err)
			}
		})
	}
}

// TestReconcileFailures: a Stripe that fails is an error (the scheduled
// invocation fails, which alarms, and the next run tries again); with no
// billing configured, the reconcile says so.
func TestReconcileFailures(t *testing.T) {
	st := storetest.Bolt(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Stripe-Should-Retry", "false")
		http.Error(w, `{"error":{"type":"api_error","message":"down"}}`, http.StatusInternalServerError)
	}))
	defer down.Close()
	b := billing.New(billing.Config{Keys: billing.StaticKeys(billing.Keys{Secret: "sk_test_123"}), APIBase: down.URL})
	rc, _ := routes.NewReconciler(routes.Config{Billing: b, Purchases: st})
	if _, err := rc.Run(context.Background()); err == nil {
		t.Fatal("a reconcile with Stripe down succeeded")
	}
	rc, _ = routes.NewReconciler(routes.Config{Purchases: st})
	if _, err := rc.Run(context.Background()); err == nil {
		t.Fatal("a reconcile with no billing succeeded")
	}
}
