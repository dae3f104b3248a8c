package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scratch-notes/notes-api/gateway"
	"github.com/scratch-notes/notes-api/routes"
)

// v1Event is a REST v1 event from alice, JSON-encoded.
func v1Event(method, path, body string) []byte {
	ev := events.APIGatewayProxyRequest{HTTPMethod: method, Path: path, Body: body,
		RequestContext: events.APIGatewayProxyRequestContext{Identity: events.APIGatewayRequestIdentity{CognitoIdentityID: alice}}}
	if body != "" {
		ev.MultiValueHeaders = map[string][]string{"Content-Type": {"application/json"}}
	}
	b, _ := json.Marshal(ev)
	return b
}

// gatewayCreate invokes a create event and returns the note it made.
func gatewayCreate(b *testing.B, g *gateway.Handler, event []byte) note {
	out, err := g.Invoke(context.Background(), event)
	if err != nil {
		b.Fatal(err)
	}
	var resp events.APIGatewayProxyResponse
	json.Unmarshal(out, &resp)
	var n note
	json.Unmarshal([]byte(resp.Body), &n)
	if n.NoteID == "" {
		b.Fatalf("create failed: %s", out)
	}
	return n
}

// The benchmarks measure what each front door adds to the same GET of one
// note: BenchmarkGetNote/handler is the baseline, the others are compared
// with it (ratios, same run, same machine).
func BenchmarkGetNote(b *testing.B) {
	log := slog.New(slog.DiscardHandler)
	c, err := loadConfig(func(k string) string {
		if k == "AWS_LAMBDA_RUNTIME_API" {
			return "127.0.0.1:9001"
		}
		return ""
	})
	if err != nil {
		b.Fatal(err)
	}
	db, s, err := openBolt(b.TempDir() + "/notes.db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	h, err := newHandler(c, s, nil, nil, log)
	if err != nil {
		b.Fatal(err)
	}
	g := gateway.New(h, log)

	// One note, created through the v1 door.
	n := gatewayCreate(b, g, v1Event("POST", "/notes", `{"content":"hello"}`))
	path := "/notes/" + n.NoteID

	b.Run("handler", func(b *testing.B) {
		// The deployed handler, called directly with the gateway context
		// the adapter would give it.
		req := httptest.NewRequestWithContext(routes.WithCaller(context.Background(), routes.Caller{IdentityID: alice}), "GET", path, nil)
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	})
	for name, ev := range map[string]any{
		"v1-event": events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: path,
			MultiValueHeaders: map[string][]string{"Origin": {appOrigin}},
			RequestContext:    events.APIGatewayProxyRequestContext{Identity: events.APIGatewayRequestIdentity{CognitoIdentityID: alice}}},
		"v2-event": events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: path, Headers: map[string]string{"origin": appOrigin},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path},
				Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
					CognitoIdentity: events.APIGatewayV2HTTPRequestContextAuthorizerCognitoIdentity{IdentityID: alice}}}}},
	} {
		payload, _ := json.Marshal(ev)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := g.Invoke(context.Background(), payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkColdStart measures what a new Lambda instance does before its
// first answer: parse the configuration, open the store, build the
// handler, and serve one request.
func BenchmarkColdStart(b *testing.B) {
	log := slog.New(slog.DiscardHandler)
	dir := b.TempDir()
	env := map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "NOTES_DB": dir + "/notes.db"}
	payload := v1Event("GET", "/notes", "")
	for b.Loop() {
		c, err := loadConfig(func(k string) string { return env[k] })
		if err != nil {
			b.Fatal(err)
		}
		db, s, err := openBolt(c.notesDB)
		if err != nil {
			b.Fatal(err)
		}
		h, err := newHandler(c, s, nil, nil, log)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := gateway.New(h, log).Invoke(context.Background(), payload); err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
}

// BenchmarkEndToEnd creates and reads back one note through the REST v1
// front door, on each store: "bolt" is the baseline for "dynamo" (dynalite
// on loopback, when make bench has started it).
func BenchmarkEndToEnd(b *testing.B) {
	log := slog.New(slog.DiscardHandler)
	c, err := loadConfig(func(k string) string {
		return map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}[k]
	})
	if err != nil {
		b.Fatal(err)
	}
	create := v1Event("POST", "/notes", `{"content":"hello","attachment":null}`)
	for _, st := range []struct {
		name string
		open func(testing.TB) routes.NoteStore
	}{
		{"bolt", func(tb testing.TB) routes.NoteStore {
			db, s, err := openBolt(tb.TempDir() + "/notes.db")
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { db.Close() })
			return s
		}},
		{"dynamo", openTestDynamo},
	} {
		b.Run(st.name, func(b *testing.B) {
			h, err := newHandler(c, st.open(b), nil, nil, log)
			if err != nil {
				b.Fatal(err)
			}
			g := gateway.New(h, log)
			for b.Loop() {
				n := gatewayCreate(b, g, create)
				out, err := g.Invoke(context.Background(), v1Event("GET", "/notes/"+n.NoteID, ""))
				var resp events.APIGatewayProxyResponse
				json.Unmarshal(out, &resp)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("get: %v %s", err, out)
				}
			}
		})
	}
}
