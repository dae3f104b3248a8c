package routes

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/scratch-notes/notes-api/attachments"
	"github.com/scratch-notes/notes-api/billing"
	"github.com/scratch-notes/notes-api/store"
)

// setLoggers fills in the loggers New was not given, and puts the
// request's id on every line.
func (s *Server) setLoggers() {
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = s.log
	}
	s.log = slog.New(contextHandler{s.log.Handler()})
	s.metrics = slog.New(contextHandler{s.metrics.Handler()})
}

// contextHandler puts on every log line of a request the id an operator
// searches by: apiRequestId, API Gateway's request id (the X-Request-Id
// the client saw), the local server's own otherwise. (Lambda's request
// id and the trace id are the front door's: gateway.LogHandler.)
type contextHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := requestIDFrom(ctx); id != "" {
		r.AddAttrs(slog.String("apiRequestId", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// The metrics of the API, as CloudWatch Embedded Metric Format lines in
// the log: CloudWatch makes them metrics from the log, with no API call
// and nothing in the cold start. Every line has the Service dimension;
// failures have Kind too.
const (
	metricNamespace = "ScratchNotes"
	metricService   = "notes-api"

	metricColdStart      = "ColdStarts"
	metricNotesCreated   = "NotesCreated"
	metricUploadsSigned  = "UploadsSigned"
	metricCharges        = "Charges"
	metricChargeAmount   = "ChargeAmountCents"
	metricIntents        = "PaymentIntents"
	metricPayments       = "PaymentsRecorded"
	metricPaymentAmount  = "PaymentAmountCents"
	metricStripeFailures = "StripeFailures"
	// metricPaymentMismatches counts payments of this API for another
	// amount than their storage costs: money in that credits nothing.
	metricPaymentMismatches = "PaymentMismatches"
	// metricPurchaseChanges counts refunds and disputes recorded.
	metricPurchaseChanges = "PurchaseChanges"
	// metricReconciled counts the events a reconcile recorded that the
	// webhook had not.
	metricReconciled      = "ReconciledEvents"
	metricStoreFailures   = "StoreFailures"
	metricFileFailures    = "FileStoreFailures"
	metricInternalErrors  = "InternalErrors"
	unitCount, unitNone   = "Count", "None"
	metricDimensionKind   = "Kind"
	metricDimensionSource = "Service"
)

// metric is one value of a metric, with its unit.
type metric struct {
	name  string
	unit  string
	value float64
}

// emit writes one EMF line of the metrics ms, with the Kind dimension
// when kind is not empty.
func (s *Server) emit(ctx context.Context, kind string, ms ...metric) {
	dims := []string{metricDimensionSource}
	attrs := []slog.Attr{slog.String(metricDimensionSource, metricService)}
	if kind != "" {
		dims = append(dims, metricDimensionKind)
		attrs = append(attrs, slog.String(metricDimensionKind, kind))
	}
	defs := make([]map[string]string, 0, len(ms))
	for _, m := range ms {
		defs = append(defs, map[string]string{"Name": m.name, "Unit": m.unit})
		attrs = append(attrs, slog.Float64(m.name, m.value))
	}
	aws := map[string]any{
		"Timestamp": time.Now().UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  metricNamespace,
			"Dimensions": [][]string{dims},
			"Metrics":    defs,
		}},
	}
	s.metrics.LogAttrs(ctx, slog.LevelInfo, "metrics", append(attrs, slog.Any("_aws", aws))...)
}

// count emits one metric of value 1.
func (s *Server) count(ctx context.Context, name string) {
	s.emit(ctx, "", metric{name, unitCount, 1})
}

// countFailure emits the metric of a failed request: Stripe's by the kind
// of its failure, the stores' when they were unavailable, and every other
// 500.
func (s *Server) countFailure(ctx context.Context, err error, status int) {
	var be *billing.Error
	switch {
	case errors.As(err, &be):
		kind := map[billing.Kind]string{billing.Declined: "declined", billing.Invalid: "invalid",
			billing.Upstream: "upstream", billing.Unavailable: "unavailable", billing.RateLimited: "rate_limited",
			billing.KeyInUse: "key_in_use", billing.KeyReused: "key_reused"}[be.Kind]
		s.emit(ctx, kind, metric{metricStripeFailures, unitCount, 1})
	case errors.Is(err, attachments.ErrUnavailable):
		s.emit(ctx, "unavailable", metric{metricFileFailures, unitCount, 1})
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		s.emit(ctx, "unavailable", metric{metricStoreFailures, unitCount, 1})
	case status == http.StatusInternalServerError:
		s.count(ctx, metricInternalErrors)
	}
}
