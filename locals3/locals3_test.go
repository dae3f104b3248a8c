package locals3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/scratch-notes/notes-api/attachments"
	"github.com/scratch-notes/notes-api/internal/s3test"
	"github.com/scratch-notes/notes-api/locals3"
)

// localServer is a Server on dir, over HTTP, logging to log.
func localServer(t *testing.T, dir string, log *bytes.Buffer) s3test.Server {
	t.Helper()
	creds := aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local-secret"}
	var logger *slog.Logger
	if log != nil {
		logger = slog.New(slog.NewJSONHandler(log, nil))
	}
	l, err := locals3.New("attachments", dir, creds, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	return s3test.Server{Endpoint: srv.URL, Bucket: "attachments", Creds: creds}
}

// TestLocal holds the local endpoint to what the API relies on, as
// TestS3 in attachments holds versitygw, for a local identity and a
// Cognito one (whose ':' no Windows file name may hold).
func TestLocal(t *testing.T) {
	for _, user := range []string{"local-user", "us-east-1:3f0c6a2e-1b7d-4c55-9a2e-0d6f4b8e9c11"} {
		t.Run(user, func(t *testing.T) { s3test.RoundTrip(t, localServer(t, t.TempDir(), nil), user) })
	}
}

// TestLocalRefusesKeys: no key reaches outside the directory, on any OS:
// the key rule refuses \\, NUL, . and .. segments, empty segments and
// a trailing /, with S3's 400, before any signature is even checked; and
// the S3 files of the endpoint refuse to sign them.
func TestLocalRefusesKeys(t *testing.T) {
	o := localServer(t, t.TempDir(), nil)
	e, err := locals3.Start(locals3.Config{Dir: t.TempDir(),
		Server: func(h http.Handler) *http.Server { return &http.Server{Handler: h} }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	files := e.Files
	for _, key := range []string{`private/u/a\b.txt`, "private/u/a\x00.txt", "private/./a.txt",
		"private/../a.txt", "private//a.txt", "private/u/", "/private/u/a.txt", "private/u/" + strings.Repeat("n", 256)} {
		u := o.Endpoint + "/attachments/" + (&url.URL{Path: key}).EscapedPath()
		req, _ := http.NewRequest("GET", u, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %q = %d, want 400", key, resp.StatusCode)
		}
		if files.CheckKey(key) == nil {
			t.Errorf("CheckKey(%q) = nil, want a refusal", key)
		}
	}
	if err := files.CheckKey("private/local-user/1603846842984-a.txt"); err != nil {
		t.Fatalf("CheckKey of a good key: %v", err)
	}
}

// TestLocalSymlinkStaysInside: a symbolic link in the directory that
// points outside it is not followed out.
func TestLocalSymlinkStaysInside(t *testing.T) {
	dir := t.TempDir()
	o := localServer(t, dir, nil)
	secret := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(secret, []byte("outside the directory"), 0o600)
	os.MkdirAll(filepath.Join(dir, "objects", "private", "u"), 0o700)
	if err := os.Symlink(secret, filepath.Join(dir, "objects", "private", "u", "1603846842984-link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(secret), filepath.Join(dir, "objects", "private", "out")); err != nil {
		t.Fatal(err)
	}
	files := o.Files(t)
	for _, key := range []string{"private/u/1603846842984-link.txt", "private/out/secret.txt"} {
		down, _ := files.PresignDownload(context.Background(), key)
		status, body, _ := s3test.Send(t, down, nil, nil)
		if status == http.StatusOK || bytes.Contains(body, []byte("outside")) {
			t.Fatalf("%s = %d %q: the link was followed out of the directory", key, status, body)
		}
	}
}

// TestLocalDownloadHeaders: whatever it was uploaded as, a file comes back
// as a download, never a page, with nosniff and a sandbox policy, a type
// that is never guessed from the content, and the ETag of its bytes.
func TestLocalDownloadHeaders(t *testing.T) {
	o := localServer(t, t.TempDir(), nil)
	files := o.Files(t)
	ctx := context.Background()
	for _, tc := range []struct{ key, uploadType, wantType string }{
		{"private/u/1603846842984-page.html", "text/html", "application/octet-stream"},
		{"private/u/1603846842984-image.svg", "image/svg+xml", "application/octet-stream"},
		{"private/u/1603846842984-looks-like-a-page.txt", "text/plain", "text/plain; charset=utf-8"},
		{"private/u/1603846842984-photo.jpg", "text/html", "image/jpeg"},
	} {
		body := []byte("<html><script>alert(1)</script>")
		up, _ := files.PresignUpload(ctx, tc.key, tc.uploadType, int64(len(body)))
		status, _, h := s3test.Send(t, up, body, nil)
		sum := md5.Sum(body)
		if status != http.StatusOK || h.Get("ETag") != `"`+hex.EncodeToString(sum[:])+`"` {
			t.Fatalf("upload of %s = %d, ETag %q", tc.key, status, h.Get("ETag"))
		}
		down, _ := files.PresignDownload(ctx, tc.key)
		// Through the URL the API signs, and through a bare signed GET
		// that asks for nothing: both are downloads.
		for _, got := range []struct {
			name string
			p    attachments.Presigned
		}{{"signed URL", down}, {"bare signed GET", attachments.Presigned{Method: "GET", URL: s3test.PresignRaw(t, o, tc.key)}}} {
			status, b, h := s3test.Send(t, got.p, nil, nil)
			mt, _, _ := strings.Cut(h.Get("Content-Type"), ";")
			want, _, _ := strings.Cut(tc.wantType, ";")
			if status != http.StatusOK || !bytes.Equal(b, body) || mt != want ||
				!strings.HasPrefix(h.Get("Content-Disposition"), "attachment; filename=") ||
				h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != "sandbox" || h.Get("ETag") == "" {
				t.Fatalf("%s %s = %d, headers %v", got.name, tc.key, status, h)
			}
		}
	}
}

// TestLocalRacingWrites: uploads of one key racing each other, reads and
// deletes never leave a body with another upload's type (each body names
// its type), or a body with none.
func TestLocalRacingWrites(t *testing.T) {
	o := localServer(t, t.TempDir(), nil)
	files := o.Files(t)
	ctx := context.Background()
	const key = "private/u/1603846842984-race.bin"
	types := []string{"image/png", "image/jpeg", "application/pdf", "text/plain"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	for i := range 120 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			typ := types[i%len(types)]
			body := []byte(fmt.Sprintf("%-32s%s", typ, strings.Repeat("x", i*1000)))
			switch i % 3 {
			case 0, 1:
				up, _ := files.PresignUpload(ctx, key, typ, int64(len(body)))
				s3test.Send(t, up, body, nil)
			}
			if i%5 == 0 {
				files.Delete(ctx, key)
			}
			// The local endpoint serves the stored type for a passive
			// one when the URL asks for none: read it bare.
			status, b, h := s3test.Send(t, attachments.Presigned{Method: "GET", URL: s3test.PresignRaw(t, o, key)}, nil, nil)
			if status == http.StatusOK {
				stored := strings.TrimSpace(string(b[:min(32, len(b))]))
				if got, _, _ := strings.Cut(h.Get("Content-Type"), ";"); got != stored {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("body of %s served as %s", stored, h.Get("Content-Type")))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(problems) > 0 {
		t.Fatalf("%d reads mismatched, first: %s", len(problems), problems[0])
	}
}

// TestLocalWriteError: a file the disk cannot take is the server's
// failure (500 or 507), logged with its key, never the client's 400.
func TestLocalWriteError(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	o := localServer(t, dir, &log)
	// The place the upload's type goes is a file, not a directory.
	os.MkdirAll(filepath.Join(dir, "types", "private"), 0o700)
	os.WriteFile(filepath.Join(dir, "types", "private", "u"), []byte("in the way"), 0o600)
	up, _ := o.Files(t).PresignUpload(context.Background(), "private/u/1603846842984-a.txt", "text/plain", 3)
	status, _, _ := s3test.Send(t, up, []byte("abc"), nil)
	if status != http.StatusInternalServerError && status != http.StatusInsufficientStorage {
		t.Fatalf("upload the disk cannot take = %d, want 500 or 507", status)
	}
	if !strings.Contains(log.String(), "private/u/1603846842984-a.txt") {
		t.Fatalf("the log does not name the key:\n%s", log.String())
	}
}

// TestLocalRepeatedParameters: S3 refuses a presigned URL that repeats an
// X-Amz-* parameter, and so does the local endpoint.
func TestLocalRepeatedParameters(t *testing.T) {
	o := localServer(t, t.TempDir(), nil)
	down, _ := o.Files(t).PresignDownload(context.Background(), "private/u/1603846842984-a.txt")
	for _, p := range []string{"X-Amz-Expires=604800", "X-Amz-Date=20200101T000000Z", "x-amz-signedheaders=host"} {
		status, _, _ := s3test.Send(t, attachments.Presigned{Method: "GET", URL: down.URL + "&" + p}, nil, nil)
		if status != http.StatusForbidden {
			t.Fatalf("a URL repeating %s = %d, want 403", p, status)
		}
	}
}

// TestLocalSweep: the local endpoint removes uploads that still carry the
// pending tag once they are older than the age it is given, at start and
// then periodically, and nothing else: not a kept file (no tag, as the
// original app's files too), not a fresh upload.
func TestLocalSweep(t *testing.T) {
	const age = 300 * time.Millisecond
	e, err := locals3.Start(locals3.Config{Dir: t.TempDir(), PendingAge: age,
		Server: func(h http.Handler) *http.Server { return &http.Server{Handler: h} }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	upload := func(key string) {
		t.Helper()
		up, _ := e.Files.PresignUpload(ctx, key, "text/plain", 1)
		if status, body, _ := s3test.Send(t, up, []byte("x"), nil); status != http.StatusOK {
			t.Fatalf("upload of %s = %d %s", key, status, body)
		}
	}
	upload("private/u/1603846842984-pending.txt")
	upload("private/u/1603846842984-kept.txt")
	if err := e.Files.Keep(ctx, "private/u/1603846842984-kept.txt"); err != nil {
		t.Fatal(err)
	}
	exists := func(key string) bool {
		down, _ := e.Files.PresignDownload(ctx, key)
		status, _, _ := s3test.Send(t, down, nil, nil)
		return status == http.StatusOK
	}
	time.Sleep(age + age/2) // older than the age, and a sweep since
	upload("private/u/1603846842984-fresh.txt")
	for deadline := time.Now().Add(5 * time.Second); exists("private/u/1603846842984-pending.txt"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a pending upload older than the age was never swept")
		}
	}
	for _, key := range []string{"private/u/1603846842984-kept.txt", "private/u/1603846842984-fresh.txt"} {
		if !exists(key) {
			t.Fatalf("%s was swept", key)
		}
	}
	if p, err := e.Files.Pending(ctx, "private/u/1603846842984-fresh.txt"); err != nil || !p {
		t.Fatalf("a fresh upload is pending = %v, %v", p, err)
	}
}
