package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scratch-notes/notes-api/internal/testenv"
)

// TestReadmeSession runs the README's "Try it" block verbatim (but for the
// port) against the real binary, and checks every status it promises.
func TestReadmeSession(t *testing.T) {
	need(t, "curl")
	bash := need(t, "bash")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(readme), "## Try it")
	_, block, _ := strings.Cut(after, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	var want []string
	for _, m := range regexp.MustCompile(`-> (\d{3})`).FindAllStringSubmatch(block, -1) {
		want = append(want, m[1])
	}
	if len(want) < 9 {
		t.Fatalf("found %d promised statuses in the README block, want one per endpoint", len(want))
	}

	base, _ := startBinary(t)
	script := strings.ReplaceAll(block, "http://127.0.0.1:3000", base)
	out, err := exec.Command(bash, "-euo", "pipefail", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("README block failed: %v\n%s", err, out)
	}
	var got []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/") {
			got = append(got, f[1])
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("statuses = %v, README promises %v\n%s", got, want, out)
	}
	if !strings.Contains(string(out), "Access-Control-Allow-Headers: Authorization, Content-Type, X-Amz-Date, X-Amz-Security-Token") {
		t.Fatalf("the preflight was not allowed:\n%s", out)
	}
}

func TestGracefulShutdown(t *testing.T) {
	_, cmd := startBinary(t)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not stop on SIGTERM")
	}
}

func TestStartupRefusal(t *testing.T) {
	cmd := exec.Command(binary(t))
	cmd.Env = []string{"CORS_ALLOW_CREDENTIALS=true", "NOTES_DB=" + filepath.Join(t.TempDir(), "n.db"), "PORT=" + strconv.Itoa(freePort(t))}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "CORS_ALLOW_CREDENTIALS") {
		t.Fatalf("credentials with every origin: %v %s, want a non-zero exit naming CORS_ALLOW_CREDENTIALS", err, out)
	}
}

// TestStripeNeverAnswers is SPEC's bound on a charge, through the built
// binary as configured from the environment: a Stripe that accepts the
// connection and never replies is a 502 with CORS headers after 20 s,
// inside API Gateway's 29 s.
func TestStripeNeverAnswers(t *testing.T) {
	t.Parallel()
	base, _ := startBinary(t, "STRIPE_SECRET_KEY=sk_test_123", "STRIPE_API_BASE="+testenv.HungServer(t))
	req, _ := http.NewRequest("POST", base+"/billing", strings.NewReader(`{"storage":"21","source":"tok_visa"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", appOrigin)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("status = %d, CORS %q; want a 502 the browser can read", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	if took < 19*time.Second || took > 21*time.Second {
		t.Fatalf("answered after %v, want 20 s", took)
	}
}
