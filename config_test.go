package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/scratch-notes/notes-api/store"
)

func TestConfigDefaults(t *testing.T) {
	c := testConfig(t, nil)
	if c.lambda || c.port != 3000 || c.notesDB != "notes.db" || c.cors.MaxAge != 600 ||
		c.cors.AllowCredentials || len(c.cors.AllowedOrigins) != 0 {
		t.Fatalf("defaults = %+v", c)
	}
	c = testConfig(t, map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"})
	if !c.lambda || c.notesDB != "/tmp/notes.db" {
		t.Fatalf("lambda defaults = %+v, want the store in /tmp", c)
	}
	c = testConfig(t, map[string]string{"PORT": "8080", "CORS_MAX_AGE": "0", "CORS_ALLOWED_ORIGINS": " https://a.example.com ,http://localhost:5173", "NOTES_DB": "x.db"})
	if c.port != 8080 || c.cors.MaxAge != 0 || strings.Join(c.cors.AllowedOrigins, " ") != "https://a.example.com http://localhost:5173" || c.notesDB != "x.db" {
		t.Fatalf("parsed = %+v", c)
	}
}

func TestConfigRejectsBadValues(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{"PORT", "http"}, {"PORT", "0"}, {"PORT", "70000"},
		{"CORS_MAX_AGE", "ten"}, {"CORS_MAX_AGE", "-1"},
		{"CORS_ALLOW_CREDENTIALS", "yes please"},
		{"AWS_SAM_LOCAL", "maybe"},
		{"CORS_ALLOWED_ORIGINS", "app.example.com"},
		{"CORS_ALLOWED_ORIGINS", "https://app.example.com/"},
		{"CORS_ALLOWED_ORIGINS", "https://app.example.com/path"},
		{"CORS_ALLOWED_ORIGINS", "ftp://app.example.com"},
		{"CORS_ALLOWED_ORIGINS", "https://*.*.example.com"},
		{"CORS_ALLOWED_ORIGINS", "https://app.*.com"},
		{"CORS_ALLOWED_ORIGINS", "https://a.example.com,"},
		{"AWS_ENDPOINT_URL_DYNAMODB", "localhost:8000"},
		{"AWS_ENDPOINT_URL_S3", "ftp://127.0.0.1:9000"},
		{"AWS_ENDPOINT_URL_SECRETS_MANAGER", "not a url"},
		{"STRIPE_API_BASE", "stripe.example"},
		{"AWS_ENDPOINT_URL", "127.0.0.1"},
	} {
		_, err := loadConfig(func(k string) string {
			if k == tc.name {
				return tc.value
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Fatalf("%s=%q: err = %v, want an error naming %s", tc.name, tc.value, err, tc.name)
		}
	}
}

func TestDynamoNeedsRegion(t *testing.T) {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	_, _, err := openStore(testConfig(t, map[string]string{"NOTES_TABLE": "notes"}), func() (aws.Config, error) { return loadAWS(context.Background(), os.Getenv) })
	if err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Fatalf("NOTES_TABLE without a region: err = %v, want one naming AWS_REGION", err)
	}
}

func TestSecondProcessGetsClearError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.db")
	db, _, err := openBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, _, err = openBolt(path)
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second open: err = %v, want a clear in-use error", err)
	}
}

func TestOneLogLinePerRequest(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	h, err := newHandler(testConfig(t, nil), openTestStore(t), nil, nil, log)
	if err != nil {
		t.Fatal(err)
	}
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

func TestCredentialsWithWildcardRefused(t *testing.T) {
	for _, origins := range []string{"", "*", "https://*.example.com", appOrigin + ",*"} {
		getenv := func(k string) string {
			return map[string]string{"CORS_ALLOW_CREDENTIALS": "true", "CORS_ALLOWED_ORIGINS": origins, "NOTES_DB": t.TempDir() + "/n.db"}[k]
		}
		err := run(getenv, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "CORS_ALLOW_CREDENTIALS") {
			t.Fatalf("origins %q with credentials: run = %v, want a refusal naming CORS_ALLOW_CREDENTIALS", origins, err)
		}
	}
}

// TestDynamoFromEnvironment: main's DynamoDB store, configured the way main
// configures it (NOTES_TABLE and the SDK's own variables, the endpoint
// among them), reaches the table.
func TestDynamoFromEnvironment(t *testing.T) {
	s := openTestDynamo(t)
	n, err := s.Create(context.Background(), store.Note{UserID: "u", NoteID: "0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e", Content: "x", CreatedAt: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(context.Background(), "u", n.NoteID); err != nil || got.Content != "x" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}
