package main

// What the binary writes, through a full run of it: the local server as
// make run starts it, and the release bootstrap under the Lambda Runtime
// Interface Emulator.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/awstest"
	"github.com/scratch-notes/notes-api/internal/logtest"
	"github.com/scratch-notes/notes-api/internal/testenv"
)

// neverLogged are what a run below sends that must never reach a log line:
// note content, a file's name, a card token, Stripe's keys, a webhook
// signing secret, a PaymentIntent's client secret.
var neverLogged = []string{"NOTE-CONTENT-do-not-log", "secret-file-name", "tok_visa", "DoNotLog4eC39Hq", "whsec_do_not_log", "_secret_"}

// checkLogs holds every line of out to docs/api.md's Logs: one JSON object with
// a level and a message; each request's line with the ids, method, route
// pattern (never a raw path), status, duration and cold start; metric
// lines in Embedded Metric Format; nothing of secrets.
func checkLogs(t *testing.T, out []byte, lambda bool) {
	t.Helper()
	for _, s := range neverLogged {
		if bytes.Contains(out, []byte(s)) {
			t.Fatalf("the logs hold %q:\n%s", s, out)
		}
	}
	requests, metrics := 0, 0
	camel := regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)
	for _, line := range logtest.Lines(t, out, "message") {
		// One naming for an operator's queries: camelCase, as Lambda's own
		// keys (requestId); a metric line's members are its metrics' names.
		if line["message"] != "metrics" {
			for k := range line {
				if !camel.MatchString(k) {
					t.Fatalf("a log line has the key %q, not camelCase: %v", k, line)
				}
			}
		}
		switch line["message"] {
		case "request":
			requests++
			for _, k := range []string{"timestamp", "apiRequestId", "method", "route", "status", "durationMs", "coldStart"} {
				if _, ok := line[k]; !ok {
					t.Fatalf("a request line has no %s: %v", k, line)
				}
			}
			if lambda && line["requestId"] == nil {
				t.Fatalf("a request line under Lambda has no Lambda requestId: %v", line)
			}
			if r, _ := line["route"].(string); strings.Contains(r, "0193") || strings.Count(r, "-") > 2 {
				t.Fatalf("a request line names a raw path: %v", line)
			}
		case "metrics":
			metrics++
			if err := logtest.CheckEMF(line); err != nil {
				t.Fatalf("metrics line %v: %v", line, err)
			}
		}
	}
	if requests == 0 || metrics == 0 {
		t.Fatalf("%d request lines and %d metric lines in:\n%s", requests, metrics, out)
	}
}

// TestLogsLocal runs the local server through notes, a file, a charge,
// an intent and a webhook event, bad input and a 404, and reads all it
// wrote.
func TestLogsLocal(t *testing.T) {
	p := startBinary(t, "STRIPE_SECRET_KEY=sk_test_DoNotLog4eC39Hq", "STRIPE_WEBHOOK_SECRET=whsec_do_not_log",
		"STRIPE_API_BASE="+testenv.StripeMock(t))
	base := p.URL
	status, body := post(t, base+"/notes", `{"content":"NOTE-CONTENT-do-not-log"}`, nil)
	var n apitest.Note
	json.Unmarshal([]byte(body), &n)
	if status != http.StatusCreated {
		t.Fatalf("create = %d", status)
	}
	_, body = post(t, base+"/attachments", `{"fileName":"secret-file-name.txt","contentType":"text/plain","size":1}`, nil)
	var up struct {
		Key, UploadURL string
		Headers        map[string]string
	}
	json.Unmarshal([]byte(body), &up)
	call(t, "PUT", up.UploadURL, up.Headers["Content-Type"], "x", map[string]string{"X-Amz-Tagging": up.Headers["X-Amz-Tagging"]})
	call(t, "PUT", base+"/notes/"+n.NoteID, "application/json", `{"content":"NOTE-CONTENT-do-not-log 2","attachment":"`+up.Key+`"}`, nil)
	call(t, "GET", base+"/notes/"+n.NoteID+"/attachment", "", "", nil)
	call(t, "DELETE", base+"/notes/"+n.NoteID, "", "", nil)
	post(t, base+"/billing", `{"storage":21,"source":"tok_visa"}`, nil)
	post(t, base+"/billing", `{"storage":21}`, nil)
	event := `{"id":"evt_l","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_l","object":"payment_intent",` +
		`"amount":4200,"amount_received":4200,"currency":"usd","created":1,"metadata":{"identityId":"local-user","storage":"21"}}}}`
	post(t, base+"/billing/webhook", event, map[string]string{"Stripe-Signature": stripeSignature(event, "whsec_do_not_log")})
	post(t, base+"/billing/webhook", event, map[string]string{"Stripe-Signature": "t=1,v1=00"})
	post(t, base+"/notes", `{"content":"NOTE-CONTENT-do-not-log","x":1}`, nil)
	call(t, "GET", base+"/notes/0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e", "", "", nil)
	call(t, "GET", base+"/me", "", "", nil)
	checkLogs(t, p.output(), false)
}

// TestLogsLambda sends the event files and a webhook to the release
// bootstrap under the emulator, and reads what the function wrote (the
// emulator's own lines, START, END, REPORT and its text logs, aside).
func TestLogsLambda(t *testing.T) {
	bootstrap := testenv.Build(t, ".", testenv.ReleaseTags(t))
	plain := awstest.StartRIE(t, bootstrap, "CORS_ALLOWED_ORIGINS="+apitest.AppOrigin)
	apitest.CheckEventFlow(t, plain, filepath.Join("testdata", "events", "v1"))
	r := awstest.StartRIE(t, bootstrap, "CORS_ALLOWED_ORIGINS="+apitest.AppOrigin,
		"STRIPE_SECRET_KEY=sk_test_DoNotLog4eC39Hq", "STRIPE_WEBHOOK_SECRET=whsec_do_not_log", "STRIPE_API_BASE="+testenv.StripeMock(t))
	d := apitest.V1{Invoker: r}
	d.Do(t, apitest.Request{Method: "POST", Path: "/notes", Header: apitest.JSONHeader(), User: apitest.Alice,
		Body: `{"content":"NOTE-CONTENT-do-not-log"}`})
	d.Do(t, apitest.Request{Method: "POST", Path: "/billing", Header: apitest.JSONHeader(), User: apitest.Alice,
		Body: `{"storage":21,"source":"tok_visa"}`})
	event := fmt.Sprintf(`{"id":"evt_r","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_r","object":"payment_intent",`+
		`"amount":4200,"amount_received":4200,"currency":"usd","created":1,"metadata":{"identityId":%q,"storage":"21"}}}}`, apitest.Alice)
	d.Do(t, apitest.Request{Method: "POST", Path: "/billing/webhook", Body: event,
		Header: map[string]string{"Content-Type": "application/json", "Stripe-Signature": stripeSignature(event, "whsec_do_not_log")}})
	checkLogs(t, functionLines(append(plain.Logs(), r.Logs()...)), true)
}

// functionLines are the lines of the emulator's output that the function
// wrote: not the emulator's START, END, REPORT and text lines.
func functionLines(out []byte) []byte {
	var own bytes.Buffer
	for _, line := range bytes.Split(out, []byte("\n")) {
		s := string(bytes.TrimSpace(line))
		if s == "" || strings.HasPrefix(s, "START RequestId:") || strings.HasPrefix(s, "END RequestId:") ||
			strings.HasPrefix(s, "REPORT RequestId:") || strings.HasPrefix(s, "time=") {
			continue
		}
		own.WriteString(s + "\n")
	}
	return own.Bytes()
}

// TestMetricsAtEveryLevel: with LOG_LEVEL=ERROR (what an operator sets to
// cut the log's cost) the release bootstrap writes no INFO log line, yet
// every metric line still: they are metrics, and alarms watch them. The
// lines are INFO, which the template keeps Lambda's own filter at or
// below (TestTemplateLogLevels).
func TestMetricsAtEveryLevel(t *testing.T) {
	bootstrap := testenv.Build(t, ".", testenv.ReleaseTags(t))
	r := awstest.StartRIE(t, bootstrap, "LOG_LEVEL=ERROR", "AWS_LAMBDA_LOG_LEVEL=INFO")
	d := apitest.V1{Invoker: r}
	d.Do(t, apitest.Request{Method: "POST", Path: "/notes", Header: apitest.JSONHeader(), User: apitest.Alice, Body: `{"content":"x"}`})
	d.Do(t, apitest.Request{Method: "POST", Path: "/billing", Header: apitest.JSONHeader(), User: apitest.Alice, Body: `{"storage":21}`})
	names := map[string]bool{}
	for _, line := range logtest.Lines(t, functionLines(r.Logs()), "message") {
		if line["message"] != "metrics" {
			if line["level"] != "ERROR" {
				t.Fatalf("LOG_LEVEL=ERROR, and the function wrote %v", line)
			}
			continue
		}
		if line["level"] != "INFO" {
			t.Fatalf("a metric line at %v, want INFO: %v", line["level"], line)
		}
		for k := range line {
			names[k] = true
		}
	}
	for _, want := range []string{"ColdStarts", "NotesCreated"} {
		if !names[want] {
			t.Fatalf("LOG_LEVEL=ERROR lost the %s metric:\n%s", want, r.Logs())
		}
	}
}
