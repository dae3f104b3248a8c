package billing

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/scratch-notes/notes-api/internal/testenv"
)

// TestRecent: the events Stripe lists, payments first, each read as the
// webhook reads it; asked for only the purchase event types, since then,
// across Stripe's pages.
func TestRecent(t *testing.T) {
	since := time.Unix(1764547200, 0)
	ev := func(id, typ string, created int64, object string) string {
		return fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"created":%d,"livemode":false,"data":{"object":%s}}`, id, typ, created, object)
	}
	pages := [][]string{
		{ev("evt_r", "charge.refunded", 300, `{"id":"ch_1","object":"charge","amount_refunded":4200,"payment_intent":"pi_1"}`),
			ev("evt_p2", "payment_intent.succeeded", 200, `{"id":"pi_2","object":"payment_intent","amount":400,"amount_received":400,"currency":"usd","created":200,"metadata":{"identityId":"u","storage":"1"}}`)},
		{ev("evt_d", "charge.dispute.created", 100, `{"id":"dp_1","object":"dispute","charge":"ch_1","payment_intent":"pi_1","status":"needs_response"}`),
			ev("evt_p1", "payment_intent.succeeded", 50, `{"id":"pi_1","object":"payment_intent","amount":4200,"amount_received":4200,"currency":"usd","created":50,"metadata":{"identityId":"u","storage":"21"}}`)},
	}
	var queries []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/events" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		queries = append(queries, q)
		page, more := pages[0], true
		if q.Get("starting_after") != "" {
			page, more = pages[1], false
		}
		fmt.Fprintf(w, `{"object":"list","url":"/v1/events","has_more":%v,"data":[%s,%s]}`, more, page[0], page[1])
	}))
	defer srv.Close()
	got, err := New(Config{Keys: StaticKeys(Keys{Secret: "sk_test_1"}), APIBase: srv.URL}).Recent(context.Background(), since)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
		if e.Update == nil {
			t.Fatalf("%s was not read: %+v", e.ID, e)
		}
	}
	if want := []string{"evt_p1", "evt_p2", "evt_d", "evt_r"}; !slices.Equal(ids, want) {
		t.Fatalf("events = %v, want %v (payments first, each oldest first)", ids, want)
	}
	q := queries[0]
	var types []string
	for i := range purchaseEvents {
		types = append(types, q.Get(fmt.Sprintf("types[%d]", i)))
	}
	if !slices.Equal(types, purchaseEvents) || q.Get("created[gte]") != fmt.Sprint(since.Unix()) {
		t.Fatalf("asked Stripe for %v", q)
	}
	if len(queries) != 2 {
		t.Fatalf("%d pages read, want 2", len(queries))
	}
}

// TestRecentStripeMock: stripe-mock takes the call as Stripe's API
// describes it.
func TestRecentStripeMock(t *testing.T) {
	s := New(Config{Keys: StaticKeys(Keys{Secret: "sk_test_123"}), APIBase: testenv.StripeMock(t)})
	if _, err := s.Recent(context.Background(), time.Now().Add(-72*time.Hour)); err != nil {
		t.Fatalf("Recent against stripe-mock: %v", err)
	}
}
