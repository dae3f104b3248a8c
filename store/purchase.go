package store

import (
	"cmp"
	"slices"
)

// Purchase is storage a user paid for: one Stripe PaymentIntent that
// succeeded, or one charge of the original frontend's card token. ID is
// Stripe's id of it (pi_... or ch_...), so that recording it again is
// recording nothing.
type Purchase struct {
	UserID string
	ID     string
	// Storage is how many notes it paid for; Amount what it cost, in
	// cents (USD).
	Storage int64
	Amount  int64
	// CreatedAt is when Stripe made it, Unix epoch milliseconds.
	CreatedAt int64
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
