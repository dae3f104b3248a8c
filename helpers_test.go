package main

// The helpers of the tests that need main's wiring or the built binary.

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/routes"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// testConfig is the configuration main reads from env.
func testConfig(t testing.TB, env map[string]string) config {
	t.Helper()
	c, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("loadConfig(%v): %v", env, err)
	}
	return c
}

// testHandler is the API main builds from env, on notes, with files.
func testHandler(t testing.TB, env map[string]string, notes storetest.Store, files routes.Files) http.Handler {
	t.Helper()
	h, err := newHandler(testConfig(t, env), notes, files, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// localBinary is this command built as `make build` builds it.
func localBinary(t testing.TB) string {
	t.Helper()
	return testenv.Build(t, ".", "")
}

// process is the built command, running.
type process struct {
	URL  string // where it serves
	cmd  *exec.Cmd
	done chan struct{}
	err  error // how it exited, once done is closed
	out  testenv.Buffer
}

// output is what the process has written so far, stdout and stderr.
func (p *process) output() []byte { return p.out.Bytes() }

// startBinary starts the built command as the local server, as `make run`
// does (NOTES_DB in a temporary directory unless env sets it), and
// returns it once it answers.
func startBinary(t testing.TB, env ...string) *process {
	t.Helper()
	port := testenv.FreePort(t)
	p := &process{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: exec.Command(localBinary(t)), done: make(chan struct{})}
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "PORT=" + strconv.Itoa(port),
		"NOTES_DB=" + filepath.Join(t.TempDir(), "notes.db")}, env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	testenv.WaitHTTP(t, p.URL+"/", func() bool {
		select {
		case <-p.done:
			return false
		default:
			return true
		}
	})
	return p
}

// stripeSignature is the Stripe-Signature Stripe sends with payload now,
// by the scheme Stripe documents: t=<unix time>,v1=<hex HMAC-SHA256 of
// "<t>.<payload>" with the endpoint's secret>.
func stripeSignature(payload, secret string) string {
	now := time.Now().Unix()
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.%s", now, payload)
	return fmt.Sprintf("t=%d,v1=%x", now, mac.Sum(nil))
}

// call makes one request to url, with a Content-Type when ctype is not
// empty and the given headers, and returns the answer and its body.
func call(t *testing.T, method, url, ctype, body string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// post sends body to url as JSON with the given headers.
func post(t *testing.T, url, body string, header map[string]string) (int, string) {
	t.Helper()
	resp, b := call(t, "POST", url, "application/json", body, header)
	return resp.StatusCode, string(b)
}
