package routes_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/storetest"
)

// meOf is GET /me's answer for user.
func meOf(t *testing.T, d apitest.Door, user string) (notes int, paid int64, free, allowance *int64) {
	t.Helper()
	resp := d.Do(t, apitest.Request{Method: "GET", Path: "/me", User: user})
	var got struct {
		Notes       int
		StoragePaid int64
		FreeNotes   *int64
		Allowance   *int64
	}
	resp.JSON(t, &got)
	return got.Notes, got.StoragePaid, got.FreeNotes, got.Allowance
}

// TestAllowance: with FREE_NOTES, a user keeps that many notes free and as
// many more as their purchases count; one more is a 402 that says how
// many they may keep and how to buy more. Storage taken back (a refund)
// deletes nothing: the user just cannot add notes. GET /me shows it all.
// Through every door, on both stores.
func TestAllowance(t *testing.T) {
	s := withStripe("sk_test_123", "http://127.0.0.1:1")
	two := int64(2)
	s.freeNotes = &two
	for _, open := range []struct {
		name string
		open func(testing.TB) storetest.Store
	}{{"bolt", openBolt}, {"dynamo", openDynamo}} {
		t.Run(open.name, func(t *testing.T) {
			for _, door := range []string{"local", "v1", "v2"} {
				t.Run(door, func(t *testing.T) {
					d := webhookDoors(t, open.open(t), s)[door]
					create := func() apitest.Response {
						return d.Do(t, apitest.Request{Method: "POST", Path: "/notes", User: apitest.Alice, Header: apitest.JSONHeader(), Body: `{"content":"n"}`})
					}
					pay := func(ev string) {
						t.Helper()
						if resp := webhook(d, t, ev, sign(ev, testWebhookSecret, time.Now())); resp.Status != http.StatusOK {
							t.Fatalf("webhook = %d %s", resp.Status, resp.Body)
						}
					}
					for i := range 2 {
						if resp := create(); resp.Status != http.StatusCreated {
							t.Fatalf("free note %d = %d %s", i+1, resp.Status, resp.Body)
						}
					}
					resp := create()
					if resp.Status != http.StatusPaymentRequired {
						t.Fatalf("a third note with 2 free = %d %s, want 402", resp.Status, resp.Body)
					}
					if msg := resp.ErrorMessage(t); !strings.Contains(msg, "you may keep 2 notes") || !strings.Contains(msg, "POST /billing") {
						t.Fatalf("402 says %q: want how many and how to buy more", msg)
					}
					if notes, paid, free, allowance := meOf(t, d, apitest.Alice); notes != 2 || paid != 0 || free == nil || *free != 2 || allowance == nil || *allowance != 2 {
						t.Fatalf("GET /me = %d notes, %d paid, free %v, allowance %v", notes, paid, free, allowance)
					}
					pay(succeeded("pi_allow", apitest.Alice, 1, 400))
					if resp := create(); resp.Status != http.StatusCreated {
						t.Fatalf("a note paid for = %d %s", resp.Status, resp.Body)
					}
					if resp := create(); resp.Status != http.StatusPaymentRequired {
						t.Fatalf("beyond free and paid = %d, want 402", resp.Status)
					}
					// Refunded: the storage is taken back, every note stays.
					pay(refunded("pi_allow", "ch_allow", 400, nil))
					if notes, paid, _, allowance := meOf(t, d, apitest.Alice); notes != 3 || paid != 0 || *allowance != 2 {
						t.Fatalf("after a refund: %d notes, %d paid, allowance %d; want 3 notes kept, allowance 2", notes, paid, *allowance)
					}
					if resp := create(); resp.Status != http.StatusPaymentRequired {
						t.Fatalf("after a refund, a note = %d, want 402", resp.Status)
					}
					// Another user has their own allowance.
					resp = d.Do(t, apitest.Request{Method: "POST", Path: "/notes", User: apitest.Bob, Header: apitest.JSONHeader(), Body: `{"content":"b"}`})
					if resp.Status != http.StatusCreated {
						t.Fatalf("Bob's first note = %d", resp.Status)
					}
				})
			}
		})
	}
}

// TestNoAllowance: FREE_NOTES unset is no limit, as the original app had;
// GET /me says so with nulls.
func TestNoAllowance(t *testing.T) {
	d := doors(t, defaults())["v1"]
	for i := range 5 {
		if resp := d.Do(t, apitest.Request{Method: "POST", Path: "/notes", User: apitest.Alice, Header: apitest.JSONHeader(), Body: fmt.Sprintf(`{"content":"%d"}`, i)}); resp.Status != http.StatusCreated {
			t.Fatalf("note %d = %d", i, resp.Status)
		}
	}
	if notes, _, free, allowance := meOf(t, d, apitest.Alice); notes != 5 || free != nil || allowance != nil {
		t.Fatalf("GET /me = %d notes, free %v, allowance %v; want nulls", notes, free, allowance)
	}
}
