package store

import (
	"cmp"
	"slices"
)

// Purchase is storage a user pays for: one Stripe PaymentIntent, or one
// charge of the original frontend's card token. ID is Stripe's id of it
// (pi_... or ch_...). Its fields are what Stripe has said of it so far,
// in whatever order Stripe said it: recording the same news again, or
// news in another order, comes to the same purchase.
type Purchase struct {
	UserID string
	ID     string
	// Paid is set once the payment succeeded; Storage (notes), Amount
	// (cents, USD) and CreatedAt (when Stripe made it, Unix epoch
	// milliseconds) with it.
	Paid      bool
	Storage   int64
	Amount    int64
	CreatedAt int64
	// Refunded is how many cents are refunded in all.
	Refunded int64
	// Dispute is DisputeOpen, DisputeWon, DisputeLost or "".
	Dispute string
}

// The states of a purchase's dispute.
const (
	DisputeOpen = "open"
	DisputeWon  = "won"
	DisputeLost = "lost"
)

// PurchaseChange is one piece of news about purchase ID of UserID: its
// payment succeeded (Paid, with Storage, Amount and CreatedAt), Refunded
// cents are refunded in all (when above zero), or its Dispute stands so.
// A change with none of them only makes the purchase known, as not paid.
type PurchaseChange struct {
	UserID    string
	ID        string
	Paid      bool
	Storage   int64
	Amount    int64
	CreatedAt int64
	Refunded  int64
	Dispute   string
}

// Apply returns p with c's news in it, and whether that changed anything.
// Each piece of news counts once whatever the order: a payment is
// recorded once, the refunded amount only grows, a dispute closed stays
// closed.
func (p Purchase) Apply(c PurchaseChange) (Purchase, bool) {
	was := p
	if c.Paid && !p.Paid {
		p.Paid, p.Storage, p.Amount, p.CreatedAt = true, c.Storage, c.Amount, c.CreatedAt
	}
	p.Refunded = max(p.Refunded, c.Refunded)
	closed := p.Dispute == DisputeWon || p.Dispute == DisputeLost
	switch {
	case c.Dispute == DisputeOpen && p.Dispute == "":
		p.Dispute = DisputeOpen
	case (c.Dispute == DisputeWon || c.Dispute == DisputeLost) && !closed:
		p.Dispute = c.Dispute
	}
	return p, p != was
}

// The states GET /billing shows a purchase in.
const (
	StatePaid              = "paid"
	StateRefunded          = "refunded"
	StatePartiallyRefunded = "partially_refunded"
	StateDisputed          = "disputed"
	StateDisputeWon        = "dispute_won"
	StateDisputeLost       = "dispute_lost"
)

// State is where the purchase stands; "" when it is not paid (yet).
func (p Purchase) State() string {
	switch {
	case !p.Paid:
		return ""
	case p.Dispute == DisputeOpen:
		return StateDisputed
	case p.Dispute == DisputeLost:
		return StateDisputeLost
	case p.Refunded >= p.Amount:
		return StateRefunded
	case p.Dispute == DisputeWon:
		return StateDisputeWon
	case p.Refunded > 0:
		return StatePartiallyRefunded
	}
	return StatePaid
}

// Counted is how many notes of its storage the purchase still pays for:
// none before it is paid, while disputed or once the dispute is lost;
// with a refund, the storage less the refunded share of it, that share
// rounded down.
func (p Purchase) Counted() int64 {
	if !p.Paid || p.Dispute == DisputeOpen || p.Dispute == DisputeLost || p.Amount <= 0 {
		return 0
	}
	refunded := min(p.Refunded, p.Amount)
	return p.Storage - p.Storage*refunded/p.Amount
}

// sortPurchases orders purchases newest first (by CreatedAt, then by
// ID, so that the order is the same however they were read).
func sortPurchases(p []Purchase) {
	slices.SortFunc(p, func(a, b Purchase) int {
		if c := cmp.Compare(b.CreatedAt, a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
}
