package routes_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scratch-notes/notes-api/routes"
)

// TestOneLogLinePerRequest: each request is one JSON log line with its
// request id, method, route pattern, status, size and duration, and
// nothing of its body or headers.
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

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("log lines = %d, want 1:\n%s", len(lines), buf.String())
	}
	var entry map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
		t.Fatal(err)
	}
	if entry["request_id"] != rec.Header().Get("X-Request-Id") || entry["method"] != "POST" || entry["route"] != "/notes" ||
		entry["status"] != float64(http.StatusCreated) || entry["bytes"] != float64(rec.Body.Len()) || entry["duration_ms"] == nil {
		t.Fatalf("log entry = %v", entry)
	}
	if strings.Contains(buf.String(), "secret") {
		t.Fatalf("log holds a body or a secret: %s", buf.String())
	}
}
