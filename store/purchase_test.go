package store_test

import (
	"testing"

	"github.com/scratch-notes/notes-api/store"
)

// TestPurchaseLife: what each state of a purchase shows and counts. A
// refund takes back storage in proportion, the part taken back rounded
// down; a dispute suspends it all, a won one gives it back, a lost one
// keeps it taken.
func TestPurchaseLife(t *testing.T) {
	paid := store.Purchase{Paid: true, Storage: 21, Amount: 4200}
	with := func(refunded int64, dispute string) store.Purchase {
		p := paid
		p.Refunded, p.Dispute = refunded, dispute
		return p
	}
	for _, tc := range []struct {
		name    string
		p       store.Purchase
		state   string
		counted int64
	}{
		{"not paid yet", store.Purchase{Storage: 21, Amount: 4200, Refunded: 4200}, "", 0},
		{"paid", paid, store.StatePaid, 21},
		{"a quarter refunded", with(1050, ""), store.StatePartiallyRefunded, 16}, // 5.25 taken back: 5
		{"a fifth refunded", with(840, ""), store.StatePartiallyRefunded, 17},    // 4.2 taken back: 4
		{"all refunded", with(4200, ""), store.StateRefunded, 0},
		{"more than all refunded", with(5000, ""), store.StateRefunded, 0},
		{"disputed", with(0, store.DisputeOpen), store.StateDisputed, 0},
		{"dispute won", with(0, store.DisputeWon), store.StateDisputeWon, 21},
		{"dispute won, part refunded", with(2100, store.DisputeWon), store.StateDisputeWon, 11},
		{"dispute lost", with(0, store.DisputeLost), store.StateDisputeLost, 0},
	} {
		if got := tc.p.State(); got != tc.state {
			t.Errorf("%s: State = %q, want %q", tc.name, got, tc.state)
		}
		if got := tc.p.Counted(); got != tc.counted {
			t.Errorf("%s: Counted = %d, want %d", tc.name, got, tc.counted)
		}
	}
}

// TestPurchaseApply: each piece of news counts once, whatever the order.
func TestPurchaseApply(t *testing.T) {
	p := store.Purchase{UserID: "u", ID: "pi_1"}
	steps := []struct {
		c       store.PurchaseChange
		changed bool
	}{
		{store.PurchaseChange{Refunded: 1000}, true}, // a refund before its payment
		{store.PurchaseChange{Paid: true, Storage: 21, Amount: 4200, CreatedAt: 1}, true},
		{store.PurchaseChange{Paid: true, Storage: 99, Amount: 1, CreatedAt: 2}, false},
		{store.PurchaseChange{Refunded: 500}, false},
		{store.PurchaseChange{Dispute: store.DisputeLost}, true},
		{store.PurchaseChange{Dispute: store.DisputeOpen}, false}, // a created event after the closed one
		{store.PurchaseChange{Dispute: store.DisputeWon}, false},
	}
	for i, s := range steps {
		var changed bool
		p, changed = p.Apply(s.c)
		if changed != s.changed {
			t.Fatalf("step %d: changed = %v, want %v (%+v)", i, changed, s.changed, p)
		}
	}
	if p.Storage != 21 || p.Refunded != 1000 || p.Dispute != store.DisputeLost || p.Counted() != 0 {
		t.Fatalf("after all the news: %+v", p)
	}
}
