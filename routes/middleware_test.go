package routes_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scratch-notes/notes-api/internal/logtest"
	"github.com/scratch-notes/notes-api/routes"
)

// TestOneLogLinePerRequest: each request is one JSON log line with its
// request id, method, route pattern, status, size, duration and whether
// it was the first (a cold start), and nothing of its body or headers;
// the metrics it counts are Embedded Metric Format lines.
func TestOneLogLinePerRequest(t *testing.T) {
	var buf bytes.Buffer
	s := defaults()
	s.log = slog.New(slog.NewJSONHandler(&buf, nil))
	h := s.handler(t, openBolt(t), routes.IdentityLocal)
	body := `{"content":"a secret note body"}`
	req := httptest.NewRequest("POST", "/notes", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Signature=topsecret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	var requests []map[string]any
	for _, line := range logtest.Lines(t, buf.Bytes(), "msg") {
		switch line["msg"] {
		case "request":
			requests = append(requests, line)
		case "metrics":
			if err := logtest.CheckEMF(line); err != nil {
				t.Fatalf("metrics line %v: %v", line, err)
			}
		default:
			t.Fatalf("a line of another kind: %v", line)
		}
	}
	if len(requests) != 1 {
		t.Fatalf("request lines = %d, want 1:\n%s", len(requests), buf.String())
	}
	entry := requests[0]
	if entry["apiRequestId"] != rec.Header().Get("X-Request-Id") || entry["method"] != "POST" || entry["route"] != "/notes" ||
		entry["status"] != float64(http.StatusCreated) || entry["bytes"] != float64(rec.Body.Len()) || entry["durationMs"] == nil ||
		entry["coldStart"] != true {
		t.Fatalf("log entry = %v", entry)
	}
	if strings.Contains(buf.String(), "secret") {
		t.Fatalf("log holds a body or a secret: %s", buf.String())
	}
}
