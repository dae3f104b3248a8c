package main

// The local server as `make run` starts it: the built binary, over HTTP.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/testenv"
)

// TestBrokenStoreFile starts the built binary on a NOTES_DB it must not
// use: it exits at once, non-zero, with a message that names the file and
// says what to do, and the file is left as it was. Every kind of refused
// file is the store's TestOpenBoltRefuses; these are the two ends of it.
func TestBrokenStoreFile(t *testing.T) {
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(i*131 + i>>8)
	}
	for _, tc := range []struct {
		name  string
		data  []byte // nil: no file, in a directory that cannot be written
		wants []string
	}{
		{"unwritable directory", nil, []string{"cannot be opened or created", "a directory you can write"}},
		{"random bytes", random, []string{"is not a notes database", "move it away"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := testenv.Unwritable(t)
			if tc.data != nil {
				path = filepath.Join(t.TempDir(), "notes.db")
				if err := os.WriteFile(path, tc.data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(localBinary(t))
			cmd.Env = []string{"NOTES_DB=" + path, "PORT=" + strconv.Itoa(testenv.FreePort(t))}
			done := make(chan []byte, 1)
			go func() { out, _ := cmd.CombinedOutput(); done <- out }()
			var out []byte
			select {
			case out = <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatal("start-up did not end within 10 s")
			}
			if cmd.ProcessState.ExitCode() == 0 {
				t.Fatalf("exit 0 with NOTES_DB %s:\n%s", tc.name, out)
			}
			msg := string(out)
			for _, w := range append(tc.wants, "NOTES_DB="+path) {
				if !strings.Contains(msg, w) {
					t.Fatalf("message %q does not say %q", msg, w)
				}
			}
			if tc.data != nil {
				after, err := os.ReadFile(path)
				if err != nil || !bytes.Equal(after, tc.data) {
					t.Fatalf("the file changed: %d bytes before, %d after (%v)", len(tc.data), len(after), err)
				}
			}
		})
	}
}

// TestLocalServerLimits holds the local server (the built binary) to its
// limits, on loopback: oversized headers are refused, a client that
// trickles its headers is cut off, and hundreds of clients that connect
// and send nothing do not keep others from being served.
func TestLocalServerLimits(t *testing.T) {
	p := startBinary(t)
	base := p.URL
	addr := strings.TrimPrefix(base, "http://")

	t.Run("headers over the limit", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+"/notes", nil)
		req.Header.Set("X-Padding", strings.Repeat("p", maxHeaderBytes+4096))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status = %d, want 431", resp.StatusCode)
		}
	})

	t.Run("headers trickled", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		fmt.Fprintf(conn, "GET /notes HTTP/1.1\r\nHost: %s\r\n", addr)
		closed := make(chan time.Duration, 1)
		go func() {
			io.Copy(io.Discard, conn) // returns when the server closes
			closed <- time.Since(start)
		}()
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case took := <-closed:
				if took < readHeaderTimeout-time.Second || took > readHeaderTimeout+2*time.Second {
					t.Fatalf("cut off after %v, want about %v", took, readHeaderTimeout)
				}
				return
			case <-tick.C:
				fmt.Fprintf(conn, "X-Slow-%d: x\r\n", i)
			case <-time.After(3 * readHeaderTimeout):
				t.Fatal("a client trickling headers was never cut off")
			}
		}
	})

	t.Run("idle connections", func(t *testing.T) {
		var idle []net.Conn
		defer func() {
			for _, c := range idle {
				c.Close()
			}
		}()
		for range 300 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			idle = append(idle, c)
		}
		client := &http.Client{Timeout: 3 * time.Second}
		for range 20 {
			resp, err := client.Get(base + "/notes")
			if err != nil {
				t.Fatalf("with 300 idle connections open: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", resp.StatusCode)
			}
		}
		// The idle ones are still open: nothing shed them to serve others.
		idle[0].SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := bufio.NewReader(idle[0]).ReadByte(); err == io.EOF {
			t.Fatal("an idle connection was closed before its time")
		}
	})
}

// TestReadmeSession runs docs/local.md's "Try it" block verbatim (but for
// the port) against the real binary, and checks every status it promises.
func TestReadmeSession(t *testing.T) {
	testenv.Need(t, "curl")
	bash := testenv.Need(t, "bash")
	readme, err := os.ReadFile(filepath.Join("docs", "local.md"))
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
		t.Fatalf("found %d promised statuses in the docs/local.md block, want one per endpoint", len(want))
	}

	p := startBinary(t)
	base := p.URL
	script := strings.ReplaceAll(block, "http://127.0.0.1:3000", base)
	out, err := exec.Command(bash, "-euo", "pipefail", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("docs/local.md block failed: %v\n%s", err, out)
	}
	var got []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/") {
			got = append(got, f[1])
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("statuses = %v, docs/local.md promises %v\n%s", got, want, out)
	}
	if !strings.Contains(string(out), "Access-Control-Allow-Headers: Authorization, Content-Type, X-Amz-Date, X-Amz-Security-Token") {
		t.Fatalf("the preflight was not allowed:\n%s", out)
	}
}

// TestGracefulShutdown: SIGTERM lets the request in flight finish (its
// body still arriving), then the process exits 0; it takes no new one.
func TestGracefulShutdown(t *testing.T) {
	p := startBinary(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"content":"written while the server stops"}`
	fmt.Fprintf(conn, "POST /notes HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		strings.TrimPrefix(p.URL, "http://"), len(body), body[:10])
	time.Sleep(200 * time.Millisecond) // the request is read up to its body
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case <-p.done:
		t.Fatalf("the server exited (%v) with a request in flight", p.err)
	default:
	}
	if _, err := http.Get(p.URL + "/"); err == nil {
		t.Fatal("a new connection was served after SIGTERM")
	}
	io.WriteString(conn, body[10:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request in flight got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("the request in flight = %d, want 201", resp.StatusCode)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("exit after SIGTERM: %v, want 0", p.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not stop on SIGTERM")
	}
}

// TestLocalAttachments runs the upload flow against the built binary as
// `make run` starts it, with no AWS: the files live beside NOTES_DB,
// behind the embedded endpoint the presigned URLs point at.
func TestLocalAttachments(t *testing.T) {
	dir := t.TempDir()
	base := startBinary(t, "NOTES_DB="+filepath.Join(dir, "notes.db"), "CORS_ALLOWED_ORIGINS="+apitest.AppOrigin).URL
	content := "hello, attachment"
	resp, body := call(t, "POST", base+"/attachments", "application/json", `{"fileName":"hello.txt","contentType":"text/plain","size":17}`, nil)
	var up struct {
		Key, UploadURL string
		Headers        map[string]string
	}
	json.Unmarshal(body, &up)
	if resp.StatusCode != 201 || !strings.HasPrefix(up.UploadURL, "http://127.0.0.1:") {
		t.Fatalf("POST /attachments = %d %s, want a URL on loopback", resp.StatusCode, body)
	}

	// The endpoint answers preflights for the API's origins only.
	for origin, allowed := range map[string]bool{apitest.AppOrigin: true, "https://evil.example.org": false} {
		resp, _ = call(t, "OPTIONS", up.UploadURL, "", "", map[string]string{"Origin": origin,
			"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"})
		if got := resp.Header.Get("Access-Control-Allow-Origin") == origin; got != allowed {
			t.Fatalf("upload preflight from %s: allowed = %v, want %v (%v)", origin, got, allowed, resp.Header)
		}
	}
	if resp, body = call(t, "PUT", up.UploadURL, up.Headers["Content-Type"], content, map[string]string{"Origin": apitest.AppOrigin,
		"X-Amz-Tagging": up.Headers["X-Amz-Tagging"]}); resp.StatusCode != 200 {
		t.Fatalf("upload = %d %s", resp.StatusCode, body)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "notes-attachments", "objects", "private", "local-user", up.Key)); err != nil || string(got) != content {
		t.Fatalf("file beside NOTES_DB = %q, %v", got, err)
	}

	_, body = call(t, "POST", base+"/notes", "application/json", `{"content":"x","attachment":"`+up.Key+`"}`, nil)
	var n apitest.Note
	json.Unmarshal(body, &n)
	resp, body = call(t, "GET", base+"/notes/"+n.NoteID+"/attachment", "", "", nil)
	var down struct{ URL string }
	json.Unmarshal(body, &down)
	if resp.StatusCode != 200 {
		t.Fatalf("GET attachment = %d %s", resp.StatusCode, body)
	}
	if resp, body = call(t, "GET", down.URL, "", "", nil); resp.StatusCode != 200 || !bytes.Equal(body, []byte(content)) ||
		resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.Header.Get("Content-Disposition") != `attachment; filename="hello.txt"` ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("download = %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if resp, _ = call(t, "DELETE", base+"/notes/"+n.NoteID, "", "", nil); resp.StatusCode != 204 {
		t.Fatalf("delete = %d", resp.StatusCode)
	}
	if resp, _ = call(t, "GET", down.URL, "", "", nil); resp.StatusCode != 404 {
		t.Fatalf("download after the note's delete = %d, want 404", resp.StatusCode)
	}
}

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
	req.Header.Set("Origin", apitest.AppOrigin)
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
	base := startBinary(t, append(aws, "STRIPE_SECRET_ARN="+arn, "AWS_ENDPOINT_URL_SECRETS_MANAGER="+endpoint)...).URL
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
			base := startBinary(t, append(aws, "STRIPE_SECRET_ARN="+tc.arn, "AWS_ENDPOINT_URL_SECRETS_MANAGER="+tc.endpoint)...).URL
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
}

// TestStripeKeysFromSecret: deployed, the webhook's signing secret arrives
// in the same Secrets Manager secret as the key, a JSON object; the built
// binary makes an intent with the key and takes a webhook event signed
// with that secret, and records it. A secret that is still the plain key
// keeps billing working, and the webhook answers 503.
func TestStripeKeysFromSecret(t *testing.T) {
	aws := []string{"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "STRIPE_API_BASE=" + testenv.StripeMock(t),
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + testenv.SecretsManager(t)}
	const whsec = "whsec_from_the_secret"
	event := `{"id":"evt_bin","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_bin","object":"payment_intent",` +
		`"amount":4200,"amount_received":4200,"currency":"usd","created":1764547200,"metadata":{"identityId":"local-user","storage":"21"}}}}`
	signature := stripeSignature(event, whsec)

	both := testenv.Secret(t, `{"secretKey":"sk_test_123","webhookSecret":"`+whsec+`"}`, false)
	base := startBinary(t, append(aws, "STRIPE_SECRET_ARN="+both)...).URL
	if status, body := post(t, base+"/billing", `{"storage":21}`, nil); status != http.StatusCreated || !strings.Contains(body, `"clientSecret"`) {
		t.Fatalf("intent = %d %s", status, body)
	}
	if status, body := post(t, base+"/billing/webhook", event, map[string]string{"Stripe-Signature": signature}); status != http.StatusOK ||
		!strings.Contains(body, `"recorded":true`) {
		t.Fatalf("webhook = %d %s", status, body)
	}
	resp, err := http.Get(base + "/billing")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"storage":21`) || !strings.Contains(string(b), "pi_bin") {
		t.Fatalf("GET /billing = %s", b)
	}

	plain := testenv.Secret(t, "sk_test_123", false)
	base = startBinary(t, append(aws, "STRIPE_SECRET_ARN="+plain)...).URL
	if status, body := post(t, base+"/billing", `{"storage":21}`, nil); status != http.StatusCreated {
		t.Fatalf("intent with a plain-key secret = %d %s", status, body)
	}
	if status, body := post(t, base+"/billing/webhook", event, map[string]string{"Stripe-Signature": signature}); status != http.StatusServiceUnavailable ||
		strings.Contains(body, "whsec") {
		t.Fatalf("webhook with a plain-key secret = %d %s, want 503", status, body)
	}
}

// TestLoopbackOnly: both local servers, the API and its files endpoint,
// answer any loopback name on any port (a dev server's proxy that keeps
// the Host, a port-mapped container) and HTTP/1.0 with no Host; a page of
// any other name made to resolve to 127.0.0.1 (DNS rebinding) is refused.
func TestLoopbackOnly(t *testing.T) {
	base := startBinary(t).URL
	status, body := post(t, base+"/attachments", `{"fileName":"a.txt","contentType":"text/plain","size":1}`, nil)
	var up struct{ UploadURL string }
	json.Unmarshal([]byte(body), &up)
	if status != http.StatusCreated {
		t.Fatalf("POST /attachments = %d %s", status, body)
	}
	files, _ := url.Parse(up.UploadURL)
	hosts := map[string]bool{
		"": true, "localhost:5173": true, "LOCALHOST:8080": true, "localhost": true, "app.localhost:5173": true,
		"127.0.0.1:1": true, "127.1.2.3:80": true, "[::1]:3000": true, "[::1]": true, "[::FFFF:127.0.0.1]:9": true,
		"evil.example:3000": false, "rebind.attacker.example": false, "localhost.evil.example": false,
		"128.0.0.1:3000": false, "10.0.0.1": false, "0.0.0.0:3000": false, "[::2]:3000": false, "a_b.localhost": false,
	}
	for _, u := range []string{base + "/notes", "http://" + files.Host + files.Path} {
		for host, want := range hosts {
			req, _ := http.NewRequest("GET", u, nil)
			if host != "" {
				req.Host = host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if served := resp.StatusCode != http.StatusMisdirectedRequest; served != want {
				t.Fatalf("GET %s with Host %q = %d, want served %v", u, host, resp.StatusCode, want)
			}
		}
		// HTTP/1.0 has no Host header at all.
		pu, _ := url.Parse(u)
		conn, err := net.Dial("tcp", pu.Host)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.0\r\n\r\n", pu.Path)
		line, _ := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if strings.Contains(line, "421") || !strings.HasPrefix(line, "HTTP/1.0 ") {
			t.Fatalf("HTTP/1.0 with no Host to %s: %q, want served", u, line)
		}
	}
}
