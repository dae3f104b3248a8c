package gateway_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scratch-notes/notes-api/gateway"
	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/origins"
	"github.com/scratch-notes/notes-api/routes"
	"github.com/scratch-notes/notes-api/store"
)

var theNote = store.Note{UserID: apitest.Alice, NoteID: "0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e", Content: "hello", CreatedAt: 1603846842984}

// fixedNote is a store that has one note and does nothing else: the
// router, CORS and adapter measured alone.
var fixedNote = storetest.Faulty{GetFn: func(context.Context, string, string) (store.Note, error) { return theNote, nil }}

// getEvent is API Gateway's REST v1 event for GET /notes/{id} from the
// frontend, as deployed (testdata/events/v1/get.json).
func getEvent(b *testing.B, noteID string) []byte {
	ev := apitest.ReadEvent(b, filepath.Join(events_, "v1", "get.json"))
	return []byte(apitest.ReplaceNoteID(string(ev), noteID))
}

func newBenchGateway(b *testing.B, notes storetest.Store) *gateway.Handler {
	h, err := routes.New(routes.Config{Notes: notes, Purchases: notes, Logger: slog.New(slog.DiscardHandler),
		CORS: origins.Policy{AllowedOrigins: []string{apitest.AppOrigin}, MaxAge: 600}, MaxAnswerBytes: gateway.MaxResponseBytes})
	if err != nil {
		b.Fatal(err)
	}
	return gateway.New(h, nil)
}

// boltWithNote is a bbolt store holding theNote as the event files'
// user's.
func boltWithNote(b *testing.B) *store.Bolt {
	notes := storetest.Bolt(b)
	n := theNote
	n.UserID = apitest.EventUser
	if _, err := notes.Create(context.Background(), n); err != nil {
		b.Fatal(err)
	}
	return notes
}

// BenchmarkRequest is one request through the Lambda front door, as the
// runtime hands it over (JSON in, JSON out):
//
//   - floor: decoding the event and encoding a fixed answer, what any
//     proxy-integration Lambda does and nothing more;
//   - get: GET /notes/{id} through adapter, CORS, router, identity, JSON,
//     on a store that only returns the note (floor's ratio: our overhead);
//   - preflight: a CORS preflight, which the middleware answers;
//   - get-bolt: GET /notes/{id} on a real bbolt store.
func BenchmarkRequest(b *testing.B) {
	ctx := context.Background()
	get := getEvent(b, theNote.NoteID)
	b.Run("floor", func(b *testing.B) {
		answer := events.APIGatewayProxyResponse{StatusCode: 200,
			MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"}, "Access-Control-Allow-Origin": {apitest.AppOrigin},
				"Vary": {"Origin"}, "Access-Control-Expose-Headers": {"X-Next-Cursor, X-Request-Id, Location"}, "X-Request-Id": {"x"}},
			Body: `{"userId":"us-east-1:alice","noteId":"0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e","content":"hello","attachment":null,"createdAt":1603846842984}`}
		for b.Loop() {
			var ev events.APIGatewayProxyRequest
			if err := json.Unmarshal(get, &ev); err != nil {
				b.Fatal(err)
			}
			answer.MultiValueHeaders["X-Request-Id"][0] = ev.RequestContext.RequestID
			if _, err := json.Marshal(answer); err != nil {
				b.Fatal(err)
			}
		}
	})
	g := newBenchGateway(b, fixedNote)
	b.Run("get", func(b *testing.B) {
		for b.Loop() {
			if _, err := g.Invoke(ctx, get); err != nil {
				b.Fatal(err)
			}
		}
	})
	preflight := apitest.ReadEvent(b, filepath.Join(events_, "v1", "preflight.json"))
	b.Run("preflight", func(b *testing.B) {
		for b.Loop() {
			if _, err := g.Invoke(ctx, preflight); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get-bolt", func(b *testing.B) {
		g := newBenchGateway(b, boltWithNote(b))
		out, _ := g.Invoke(ctx, get)
		var resp events.APIGatewayProxyResponse
		if json.Unmarshal(out, &resp); resp.StatusCode != 200 {
			b.Fatalf("GET = %s", out)
		}
		for b.Loop() {
			if _, err := g.Invoke(ctx, get); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLiveHeap serves b.N GET /notes/{id} on bbolt in process (make
// bench: 50,000) and reports the live heap after a collection at a fifth
// of them and at the end: what requests leave behind, without the
// runtime's own settling that a process's RSS also shows.
func BenchmarkLiveHeap(b *testing.B) {
	g := newBenchGateway(b, boltWithNote(b))
	live := func() float64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapInuse) / (1 << 20)
	}
	get := getEvent(b, theNote.NoteID)
	var early float64
	i := 0
	for b.Loop() {
		if _, err := g.Invoke(context.Background(), get); err != nil {
			b.Fatal(err)
		}
		if i++; i == max(b.N/5, 1) {
			early = live()
		}
	}
	b.ReportMetric(early, "MiB-live-heap-at-a-fifth")
	b.ReportMetric(live(), "MiB-live-heap-at-the-end")
}

// countingWriter counts what a logger writes.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// BenchmarkLogBytes is what the function writes to its log per request
// (docs/costs.md prices CloudWatch Logs' ingestion from it): GET
// /notes/{id} on bbolt through the Lambda front door, the JSON log
// handler as the binary builds it, at INFO and at WARN (the request line
// is INFO; a cold start's metric line is written once per instance, not
// per request). Lambda adds its own START, END and REPORT lines beside.
func BenchmarkLogBytes(b *testing.B) {
	ctx := context.Background()
	get := getEvent(b, theNote.NoteID)
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		b.Run(level.String(), func(b *testing.B) {
			var w countingWriter
			log := slog.New(gateway.LogHandler(slog.NewJSONHandler(&w, &slog.HandlerOptions{Level: level})))
			notes := boltWithNote(b)
			h, err := routes.New(routes.Config{Notes: notes, Purchases: notes, Logger: log,
				CORS: origins.Policy{AllowedOrigins: []string{apitest.AppOrigin}, MaxAge: 600}, MaxAnswerBytes: gateway.MaxResponseBytes})
			if err != nil {
				b.Fatal(err)
			}
			g := gateway.New(h, nil)
			g.Invoke(ctx, get) // the cold start's lines
			w.n = 0
			for b.Loop() {
				if _, err := g.Invoke(ctx, get); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(w.n)/float64(b.N), "log-bytes/request")
		})
	}
}
