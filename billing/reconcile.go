package billing

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/stripe/stripe-go/v85"
)

// reconcileTimeout bounds one reconcile's reading of Stripe's events:
// under the scheduled function's own time-out (25 s).
const reconcileTimeout = 20 * time.Second

// maxReconcileEvents bounds how many events one reconcile reads: the
// rest wait for the next run.
const maxReconcileEvents = 1000

// Recent returns the purchase events Stripe made since then (Stripe keeps
// 30 days of them), read as the webhook reads them: what the webhook
// missed, if it did. Payments come first, then refunds and disputes, each
// oldest first, so that a refund finds its payment's owner.
func (s *Stripe) Recent(ctx context.Context, since time.Time) ([]Event, error) {
	ctx, cancel := context.WithTimeout(ctx, reconcileTimeout)
	defer cancel()
	k, err := s.accountKeys(ctx)
	if err != nil {
		return nil, err
	}
	client, err := s.stripeClient(ctx)
	if err != nil {
		return nil, err
	}
	params := &stripe.EventListParams{Types: stripe.StringSlice(purchaseEvents),
		CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()}}
	params.Limit = stripe.Int64(100)
	params.Context = ctx
	type dated struct {
		ev      Event
		created int64
	}
	var all []dated
	for e, err := range client.V1Events.List(ctx, params).All(ctx) {
		if err != nil {
			return nil, classify(err)
		}
		if e.Data == nil {
			continue
		}
		raw := rawEvent{ID: e.ID, Type: string(e.Type), Livemode: e.Livemode}
		raw.Data.Object = e.Data.Raw
		ev, err := s.read(raw, k.Secret)
		if err != nil {
			ev = Event{ID: e.ID, Type: string(e.Type), Ignored: fmt.Sprintf("unreadable: %v", err)}
		}
		all = append(all, dated{ev, e.Created})
		if len(all) >= maxReconcileEvents {
			break
		}
	}
	slices.SortStableFunc(all, func(a, b dated) int {
		pa, pb := a.ev.Type == EventPaymentSucceeded, b.ev.Type == EventPaymentSucceeded
		if pa != pb {
			if pa {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.created, b.created)
	})
	out := make([]Event, len(all))
	for i, d := range all {
		out[i] = d.ev
	}
	return out, nil
}
