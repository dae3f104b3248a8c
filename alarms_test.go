package main

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/awstest"
	"github.com/scratch-notes/notes-api/internal/logtest"
	"github.com/scratch-notes/notes-api/internal/testenv"
)

// TestAlarmsWatchEmittedMetrics reads every alarm of template.yaml on the
// function's own namespace, runs the release bootstrap under the Lambda
// emulator through each failure an alarm is for, and fails when an alarm
// watches a metric (namespace, name, dimensions and their values) that
// no metric line of the function carries: such an alarm could never
// fire. Stripe's faults come from a fake Stripe (stripe-mock answers
// neither a 429 nor a refused key).
func TestAlarmsWatchEmittedMetrics(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.Header.Get("Authorization") {
		case "Bearer sk_test_limited":
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests hit the API too quickly."}}`)
		default:
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****used"}}`)
		}
	}))
	defer fake.Close()
	bootstrap := testenv.Build(t, ".", testenv.ReleaseTags(t))

	var out []byte
	// Stripe's rate limit on a payment (rate_limited); the webhook with
	// no signing secret (unavailable).
	limited := awstest.StartRIE(t, bootstrap, "STRIPE_SECRET_KEY=sk_test_limited", "STRIPE_API_BASE="+fake.URL, "LOG_LEVEL=ERROR")
	d := apitest.V1{Invoker: limited}
	d.Do(t, apitest.Request{Method: "POST", Path: "/billing", Header: apitest.JSONHeader(), User: apitest.Alice, Body: `{"storage":21}`})
	d.Do(t, apitest.Request{Method: "POST", Path: "/billing/webhook", Body: `{}`,
		Header: map[string]string{"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=00"}})
	// Our key refused (upstream); a payment for another amount than its
	// storage (PaymentMismatches).
	refused := awstest.StartRIE(t, bootstrap, "STRIPE_SECRET_KEY=sk_test_refused", "STRIPE_WEBHOOK_SECRET=whsec_alarms",
		"STRIPE_API_BASE="+fake.URL, "LOG_LEVEL=ERROR")
	d = apitest.V1{Invoker: refused}
	d.Do(t, apitest.Request{Method: "POST", Path: "/billing", Header: apitest.JSONHeader(), User: apitest.Alice, Body: `{"storage":21}`})
	event := fmt.Sprintf(`{"id":"evt_mismatch","object":"event","livemode":false,"type":"payment_intent.succeeded","data":{"object":{"id":"pi_m","object":"payment_intent",`+
		`"amount":999,"amount_received":999,"currency":"usd","created":1,"metadata":{"identityId":%q,"storage":"21"}}}}`, apitest.Alice)
	d.Do(t, apitest.Request{Method: "POST", Path: "/billing/webhook", Body: event,
		Header: map[string]string{"Content-Type": "application/json", "Stripe-Signature": stripeSignature(event, "whsec_alarms")}})
	out = append(functionLines(limited.Logs()), functionLines(refused.Logs())...)

	// What the function emitted: "namespace name dim=value,..." (sorted).
	emitted := map[string]bool{}
	for _, line := range logtest.Lines(t, out, "message") {
		if line["message"] != "metrics" {
			continue
		}
		aws := line["_aws"].(map[string]any)
		for _, cwm := range aws["CloudWatchMetrics"].([]any) {
			def := cwm.(map[string]any)
			for _, set := range def["Dimensions"].([]any) {
				var dims []string
				for _, name := range set.([]any) {
					dims = append(dims, fmt.Sprintf("%s=%v", name, line[name.(string)]))
				}
				slices.Sort(dims)
				for _, m := range def["Metrics"].([]any) {
					emitted[fmt.Sprintf("%s %s %s", def["Namespace"], m.(map[string]any)["Name"], strings.Join(dims, ","))] = true
				}
			}
		}
	}

	checked := 0
	for _, m := range awstest.LoadTemplate(t).AlarmMetrics(t) {
		if strings.HasPrefix(m.Namespace, "AWS/") {
			continue // AWS's own: TestAlarmsWatchPublishedMetrics
		}
		var dims []string
		for name, v := range m.Dims {
			if v.Kind != yaml.ScalarNode || v.Tag != "!!str" { // the function's values are constants
				t.Fatalf("%s: dimension %s is %s %q, not a value", m.Alarm, name, v.Tag, v.Value)
			}
			dims = append(dims, name+"="+v.Value)
		}
		slices.Sort(dims)
		key := fmt.Sprintf("%s %s %s", m.Namespace, m.Name, strings.Join(dims, ","))
		if !emitted[key] {
			t.Errorf("%s watches %q, which the function never emitted; it emitted:\n%s", m.Alarm, key, strings.Join(slices.Sorted(maps.Keys(emitted)), "\n"))
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no alarm on the function's own metrics")
	}
}
