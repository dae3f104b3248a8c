package attachments_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/scratch-notes/notes-api/internal/s3test"
	"github.com/scratch-notes/notes-api/internal/testenv"
)

// TestS3 holds the signing to a real S3-compatible server (versitygw,
// which make test starts), the way it holds the local endpoint.
func TestS3(t *testing.T) {
	endpoint := testenv.S3(t)
	s3test.RoundTrip(t, s3test.Server{Endpoint: endpoint, Bucket: testenv.S3Bucket(t), Creds: testenv.S3Credentials()},
		"us-east-1:3f0c6a2e-1b7d-4c55-9a2e-0d6f4b8e9c11")
}

// TestDeleteRetries: a DeleteObject that S3 answers with a 5xx or 429, or
// whose connection fails, is tried again with the SDK's standard retryer,
// signed anew each time, and each answer is read to its end, so that the
// one connection is reused; a 403 is not tried again.
func TestDeleteRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fail     func(w http.ResponseWriter)
		attempts int
		ok       bool
	}{
		{"503 then done", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write(bytes.Repeat([]byte("<Error>SlowDown</Error>"), 4000))
		}, 2, true},
		{"429 then done", func(w http.ResponseWriter) { w.WriteHeader(http.StatusTooManyRequests) }, 2, true},
		{"a broken connection then done", func(w http.ResponseWriter) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}, 2, true},
		{"403", func(w http.ResponseWriter) { w.WriteHeader(http.StatusForbidden) }, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				mu    sync.Mutex
				auths []string
				conns int
			)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				auths = append(auths, r.Header.Get("Authorization"))
				n := len(auths)
				mu.Unlock()
				if n == 1 || tc.attempts == 1 {
					tc.fail(w)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					mu.Lock()
					conns++
					mu.Unlock()
				}
			}
			srv.Start()
			defer srv.Close()
			files := s3test.Server{Endpoint: srv.URL, Bucket: "b", Creds: aws.Credentials{AccessKeyID: "k", SecretAccessKey: "s"}}.Files(t)
			err := files.Delete(context.Background(), "private/u/1603846842984-a.txt")
			mu.Lock()
			defer mu.Unlock()
			if (err == nil) != tc.ok || len(auths) != tc.attempts {
				t.Fatalf("Delete = %v after %d attempts; want ok %v after %d", err, len(auths), tc.ok, tc.attempts)
			}
			for i, a := range auths {
				if !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=k/") {
					t.Fatalf("attempt %d was not signed: %q", i+1, a)
				}
			}
			if tc.name == "503 then done" && conns != 1 {
				t.Fatalf("%d connections for two attempts: the first answer was not read to its end", conns)
			}
		})
	}
}
