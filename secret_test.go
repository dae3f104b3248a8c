package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/scratch-notes/notes-api/internal/testenv"
)

// countingProxy forwards to target and counts Secrets Manager reads.
func countingProxy(t *testing.T, target string) (string, *atomic.Int64) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var reads atomic.Int64
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") == "secretsmanager.GetSecretValue" {
			reads.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &reads
}

func charge(t *testing.T, base string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/billing", strings.NewReader(`{"storage":"21","source":"tok_visa"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", appOrigin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("billing answer %d has no CORS header", resp.StatusCode)
	}
	return resp.StatusCode, string(b)
}

// TestStripeKeyFromSecret runs the built binary with STRIPE_SECRET_ARN, as
// deployed: the key is read from Secrets Manager (moto_server behind a
// counting proxy) at the first charge, not at start-up, and kept; a
// secret that is missing or unreadable makes billing answer 503, and one
// that cannot be reached 502, with messages that name no secret.
func TestStripeKeyFromSecret(t *testing.T) {
	endpoint, reads := countingProxy(t, testenv.SecretsManager(t))
	stripeMock := testenv.StripeMock(t)
	aws := []string{"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "STRIPE_API_BASE=" + stripeMock}

	arn := testenv.Secret(t, "sk_test_123\n", false)
	base, _ := startBinary(t, append(aws, "STRIPE_SECRET_ARN="+arn, "AWS_ENDPOINT_URL_SECRETS_MANAGER="+endpoint)...)
	if n := reads.Load(); n != 0 {
		t.Fatalf("start-up read the secret %d times, want none", n)
	}
	for i := range 3 {
		status, body := charge(t, base)
		var got struct {
			Status   bool
			ChargeID string
		}
		json.Unmarshal([]byte(body), &got)
		if status != http.StatusOK || !got.Status || !strings.HasPrefix(got.ChargeID, "ch_") {
			t.Fatalf("charge %d = %d %s", i, status, body)
		}
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("three charges read the secret %d times, want once", n)
	}

	for _, tc := range []struct {
		name, arn, endpoint string
		want                int
	}{
		{"missing", "arn:aws:secretsmanager:us-east-1:123456789012:secret:stripe-key-missing-AbCdEf", endpoint, 503},
		{"empty", testenv.Secret(t, " ", false), endpoint, 503},
		{"unreachable", arn, "http://127.0.0.1:1", 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, _ := startBinary(t, append(aws, "STRIPE_SECRET_ARN="+tc.arn, "AWS_ENDPOINT_URL_SECRETS_MANAGER="+tc.endpoint)...)
			status, body := charge(t, base)
			if status != tc.want {
				t.Fatalf("status = %d, want %d (%s)", status, tc.want, body)
			}
			for _, leak := range []string{"arn:", "secret", "stripe-key", "123456789012"} {
				if strings.Contains(strings.ToLower(body), leak) {
					t.Fatalf("message %s names the secret (%q)", body, leak)
				}
			}
		})
	}

	t.Run("both a key and a secret", func(t *testing.T) {
		cmd := exec.Command(binary(t))
		cmd.Env = []string{"STRIPE_SECRET_KEY=sk_test_1", "STRIPE_SECRET_ARN=" + arn, "PORT=" + strconv.Itoa(freePort(t)), "NOTES_DB=" + t.TempDir() + "/n.db"}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "STRIPE_SECRET_ARN") {
			t.Fatalf("start-up = %v %s, want a refusal naming both", err, out)
		}
	})
}
