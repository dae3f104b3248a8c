package routes

import (
	"context"
	"errors"
	"time"
)

// ReconcileWindow is how far back a reconcile reads Stripe's events:
// days of the webhook's own retries (Stripe tries for three days), well
// inside the 30 days Stripe keeps events.
const ReconcileWindow = 72 * time.Hour

// Reconciled is what one reconcile did.
type Reconciled struct {
	Events   int `json:"events"`   // read from Stripe
	Recorded int `json:"recorded"` // that changed a purchase: the webhook had missed them
	Ignored  int `json:"ignored"`
}

// Reconciler records what Stripe's events say of purchases, as the
// webhook does, for the events the webhook missed (the function was
// down, the signing secret rotated). Recording an event twice changes
// nothing, so it reads them all again.
type Reconciler struct {
	s *Server
}

// NewReconciler returns the reconciler of cfg's billing and purchases.
func NewReconciler(cfg Config) (*Reconciler, error) {
	if cfg.Purchases == nil {
		return nil, errors.New("routes: no PurchaseStore")
	}
	s := &Server{billing: cfg.Billing, purchases: cfg.Purchases, log: cfg.Logger, metrics: cfg.Metrics}
	s.setLoggers()
	return &Reconciler{s: s}, nil
}

// Run reads the purchase events of the last ReconcileWindow and records
// each, one at a time, stopping at the first the store cannot take.
func (rc *Reconciler) Run(ctx context.Context) (Reconciled, error) {
	var out Reconciled
	if rc.s.billing == nil {
		return out, errNoBilling
	}
	evs, err := rc.s.billing.Recent(ctx, time.Now().Add(-ReconcileWindow))
	if err != nil {
		rc.s.log.ErrorContext(ctx, "reconcile: Stripe's events could not be read", "error", err.Error())
		rc.s.countFailure(ctx, err, 0)
		return out, err
	}
	for _, ev := range evs {
		res, err := rc.s.recordEvent(ctx, ev)
		if err != nil {
			rc.s.log.ErrorContext(ctx, "reconcile: an event could not be recorded", "eventId", ev.ID, "error", err.Error())
			return out, err
		}
		out.Events++
		switch {
		case res.Recorded:
			out.Recorded++
		case res.Ignored != "":
			out.Ignored++
		}
	}
	if out.Recorded > 0 {
		rc.s.emit(ctx, "", metric{metricReconciled, unitCount, float64(out.Recorded)})
	}
	rc.s.log.InfoContext(ctx, "reconciled", "events", out.Events, "recorded", out.Recorded, "ignored", out.Ignored)
	return out, nil
}
