// Package testenv is what every package's tests share about the machine
// they run on: the one rule for a missing component (skip loudly on a
// developer's machine, fail when CI=true), free loopback ports, and the
// servers scripts/with-services.sh starts for `make test`.
//
// Only tests import it.
package testenv

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Missing stops a test whose real component is not here: a loud skip on a
// developer's machine, a failure when CI=true, where everything must be.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s, and CI=true requires it: run make test", msg)
	}
	t.Skipf("SKIPPED: %s; make test provides it", msg)
}

// Need returns the path of a program the test needs (see Missing).
func Need(t testing.TB, program string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		Missing(t, "%s is not installed", program)
	}
	return p
}

// service returns the address with-services.sh exported in variable, or
// stops the test (see Missing).
func service(t testing.TB, variable, what string) string {
	t.Helper()
	v := os.Getenv(variable)
	if v == "" {
		Missing(t, "no %s (%s)", what, variable)
	}
	return v
}

// DynamoDB is the base URL of a DynamoDB-compatible server (dynalite).
func DynamoDB(t testing.TB) string {
	t.Helper()
	return service(t, "NOTES_TEST_DYNAMODB_ENDPOINT", "DynamoDB-compatible server")
}

// StripeMock is the base URL of stripe-mock.
func StripeMock(t testing.TB) string {
	t.Helper()
	return service(t, "NOTES_TEST_STRIPE_MOCK", "stripe-mock")
}

// Chromium is the path of Debian's headless Chromium.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("NOTES_TEST_CHROMIUM"), "/usr/bin/chromium"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	Missing(t, "chromium is not installed")
	return ""
}

// FreePort is a TCP port on 127.0.0.1 that nothing listened on a moment
// ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Root is the repository's root directory, wherever the test runs from.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// DynamoClient is a client of the DynamoDB-compatible server, with the
// SDK's standard retries cut to retries attempts.
func DynamoClient(t testing.TB, retries int) *dynamodb.Client {
	t.Helper()
	return dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(DynamoDB(t)),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: retries,
	})
}

// HungServer is the URL of an HTTP server that accepts every request and
// never answers it, until the test ends (a Stripe that hangs, say).
func HungServer(t testing.TB) string {
	t.Helper()
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) }) // runs first: Close waits for the handlers
	return srv.URL
}

// Unwritable is a path whose directory this process cannot write: a
// read-only directory, or, for root, which writes anywhere else, sysfs.
func Unwritable(t testing.TB) string {
	t.Helper()
	if os.Geteuid() == 0 {
		return "/sys/notes-test.db"
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o500)
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	return filepath.Join(dir, "notes.db")
}

// Buffer is output that a process or handlers on many goroutines write to
// while a test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Bytes is what was written so far.
func (s *Buffer) Bytes() []byte { return []byte(s.String()) }

// WebModules stops a test of the page when the libraries it loads are not
// installed in web/node_modules (npm ci in web/; make test runs it).
func WebModules(t testing.TB) {
	t.Helper()
	for _, f := range []string{"aws4fetch/dist/aws4fetch.esm.mjs", "amazon-cognito-identity-js/dist/amazon-cognito-identity.min.js"} {
		if _, err := os.Stat(filepath.Join(Root(), "web", "node_modules", f)); err != nil {
			Missing(t, "the page's libraries are not installed (npm ci --prefix web)")
		}
	}
}

// NodeModules stops a test that runs a Node.js program of dir (relative
// to the repository's root) when npm has not installed its packages
// there (make test does).
func NodeModules(t testing.TB, dir string) string {
	t.Helper()
	node := Need(t, "node")
	if _, err := os.Stat(filepath.Join(Root(), dir, "node_modules", ".package-lock.json")); err != nil {
		Missing(t, "the packages of %s are not installed (npm ci --prefix %s)", dir, dir)
	}
	return node
}
