//go:build !lambda

package routes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/scratch-notes/notes-api/attachments"
	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/locals3"
	"github.com/scratch-notes/notes-api/routes"
)

// bucket is where a test's files live, and how to look inside it, and
// two users whose identities it keeps: Cognito's shape for S3, names with
// no ':' for the local endpoint, which keeps files on a disk of any OS.
type bucket struct {
	files routes.Files
	s3    *attachments.S3 // the same, for what only tests ask
	// exists reports whether an object is there.
	exists     func(t *testing.T, key string) bool
	alice, bob string
}

// s3Bucket is a bucket of its own on the S3-compatible server (versitygw).
func s3Bucket(t *testing.T) bucket {
	t.Helper()
	name := testenv.S3Bucket(t)
	files, err := attachments.NewS3(aws.Config{Region: "us-east-1",
		Credentials: credentials.StaticCredentialsProvider{Value: testenv.S3Credentials()}}, name, testenv.S3(t))
	if err != nil {
		t.Fatal(err)
	}
	return bucket{files: files, s3: files, alice: apitest.Alice, bob: apitest.Bob, exists: func(t *testing.T, key string) bool {
		for _, k := range testenv.S3Objects(t, name) {
			if k == key {
				return true
			}
		}
		return false
	}}
}

// localBucket is the local server's embedded endpoint on a directory.
func localBucket(t testing.TB) bucket {
	t.Helper()
	e, err := locals3.Start(locals3.Config{Dir: t.TempDir(),
		Server: func(h http.Handler) *http.Server { return &http.Server{Handler: h} }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	files := e.Files
	return bucket{files: files, s3: files, alice: "local-alice", bob: "local-bob", exists: func(t *testing.T, key string) bool {
		p, err := files.PresignDownload(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(p.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}}
}

type upload struct {
	Key       string            `json:"key"`
	UploadURL string            `json:"uploadUrl"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt int64             `json:"expiresAt"`
}

// presign asks the API for an upload URL and checks the answer's shape.
func presign(t *testing.T, d apitest.Door, user, name, ctype string, size int) upload {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"fileName": name, "contentType": ctype, "size": size})
	resp := d.Do(t, apitest.Request{Method: "POST", Path: "/attachments", Header: apitest.JSONHeader(), User: user, Body: string(body)})
	if resp.Status != http.StatusCreated {
		t.Fatalf("POST /attachments = %d %s", resp.Status, resp.Body)
	}
	var up upload
	resp.JSON(t, &up)
	if up.Method != "PUT" || len(up.Headers) != 2 || up.Headers["Content-Type"] != ctype || up.Headers["X-Amz-Tagging"] != "pending=true" {
		t.Fatalf("upload = %+v, want PUT sending exactly Content-Type %s and X-Amz-Tagging pending=true", up, ctype)
	}
	if d := time.Until(time.UnixMilli(up.ExpiresAt)); d < 14*time.Minute || d > 15*time.Minute {
		t.Fatalf("expiresAt is %v away, want 15 minutes", d)
	}
	u, err := url.Parse(up.UploadURL)
	if err != nil {
		t.Fatal(err)
	}
	for k := range u.Query() {
		if strings.Contains(strings.ToLower(k), "checksum") {
			t.Fatalf("uploadUrl carries %s: a browser's fetch cannot satisfy it", k)
		}
	}
	return up
}

// put sends what a browser sends to an upload URL.
func put(t testing.TB, up upload, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest(up.Method, up.UploadURL, bytes.NewReader(body))
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// download reads a note's file through the API's download URL.
func download(t *testing.T, d apitest.Door, user, noteID string) (int, []byte) {
	t.Helper()
	resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + noteID + "/attachment", User: user})
	if resp.Status != http.StatusOK {
		return resp.Status, resp.Body
	}
	var got struct {
		URL       string `json:"url"`
		ExpiresAt int64  `json:"expiresAt"`
	}
	resp.JSON(t, &got)
	if d := time.Until(time.UnixMilli(got.ExpiresAt)); d < 14*time.Minute || d > 15*time.Minute {
		t.Fatalf("expiresAt is %v away, want 15 minutes", d)
	}
	r, err := http.Get(got.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode != http.StatusOK {
		return -r.StatusCode, b // the file server's answer, not the API's
	}
	return http.StatusOK, b
}

// storeFile puts body at user's key in the bucket, as an upload through
// POST /attachments would.
func (b bucket) storeFile(t testing.TB, user, key string, body []byte) {
	t.Helper()
	up, err := b.files.PresignUpload(context.Background(), "private/"+user+"/"+key, "image/jpeg", int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	if status := put(t, upload{Method: up.Method, UploadURL: up.URL, Headers: up.Header}, body); status != http.StatusOK {
		t.Fatalf("storing %s = %d", key, status)
	}
}

func noteWith(t *testing.T, d apitest.Door, user, key string) apitest.Note {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"content": "with a file", "attachment": key})
	resp := d.Do(t, apitest.Request{Method: "POST", Path: "/notes", Header: apitest.JSONHeader(), User: user, Body: string(body)})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create = %d %s", resp.Status, resp.Body)
	}
	var n apitest.Note
	resp.JSON(t, &n)
	return n
}

// TestAttachments is the upload flow of openapi.json through every front door,
// against a server that checks signatures (versitygw) and against the
// local server's own endpoint.
func TestAttachments(t *testing.T) {
	eachBucket(t, func(t *testing.T, d apitest.Door, b bucket, _ setup) { testAttachmentFlow(t, d, b) })
}

var keyPattern = regexp.MustCompile(`^\d{13}-`)

func testAttachmentFlow(t *testing.T, d apitest.Door, b bucket) {
	photo := []byte("\xff\xd8\xff\xe0 a photo")
	up := presign(t, d, b.alice, "My Holiday (1).jpg", "image/jpeg", len(photo))
	if !keyPattern.MatchString(up.Key) || !strings.HasSuffix(up.Key, "-My-Holiday-1-.jpg") {
		t.Fatalf("key = %q, want <epoch ms>-<cleaned name>", up.Key)
	}
	ms, _ := strconv.ParseInt(up.Key[:13], 10, 64)
	if d := time.Since(time.UnixMilli(ms)); d < 0 || d > time.Minute {
		t.Fatalf("key %q does not start with the epoch milliseconds of now", up.Key)
	}
	if got := put(t, up, append(photo, '!')); got != http.StatusForbidden {
		t.Fatalf("upload of another length = %d, want 403 from the file server", got)
	}
	other := up
	other.Headers = map[string]string{"Content-Type": "text/html"}
	if got := put(t, other, photo); got != http.StatusForbidden {
		t.Fatalf("upload of another type = %d, want 403 from the file server", got)
	}
	if got := put(t, up, photo); got != http.StatusOK {
		t.Fatalf("upload = %d", got)
	}
	if !b.exists(t, "private/"+b.alice+"/"+up.Key) {
		t.Fatalf("the file is not at private/%s/%s", b.alice, up.Key)
	}

	n := noteWith(t, d, b.alice, up.Key)
	if status, got := download(t, d, b.alice, n.NoteID); status != http.StatusOK || !bytes.Equal(got, photo) {
		t.Fatalf("download = %d %q", status, got)
	}

	// Bob can neither read alice's file through her note nor reach it by
	// naming her key: his key means his own folder.
	if status, _ := download(t, d, b.bob, n.NoteID); status != http.StatusNotFound {
		t.Fatalf("bob downloading alice's note = %d, want 404", status)
	}
	if resp := d.Do(t, apitest.Request{Method: "POST", Path: "/notes", Header: apitest.JSONHeader(), User: b.bob,
		Body: `{"content":"stolen","attachment":"` + up.Key + `"}`}); resp.Status != http.StatusBadRequest {
		t.Fatalf("bob's note naming alice's key = %d, want 400: his folder has no such file", resp.Status)
	}
	if !b.exists(t, "private/"+b.alice+"/"+up.Key) {
		t.Fatal("bob deleting his note that named alice's key deleted alice's file")
	}

	// Keeping the same attachment keeps the file; replacing it deletes the
	// old one; clearing it deletes it too.
	resp := d.Do(t, apitest.Request{Method: "PUT", Path: "/notes/" + n.NoteID, Header: apitest.JSONHeader(), User: b.alice,
		Body: `{"content":"same file","attachment":"` + up.Key + `"}`})
	if resp.Status != http.StatusOK || !b.exists(t, "private/"+b.alice+"/"+up.Key) {
		t.Fatalf("update keeping the file = %d, file there = %v", resp.Status, b.exists(t, "private/"+b.alice+"/"+up.Key))
	}
	doc := []byte("%PDF-1.7 a document")
	up2 := presign(t, d, b.alice, "report.pdf", "application/pdf", len(doc))
	if got := put(t, up2, doc); got != http.StatusOK {
		t.Fatalf("second upload = %d", got)
	}
	resp = d.Do(t, apitest.Request{Method: "PUT", Path: "/notes/" + n.NoteID, Header: apitest.JSONHeader(), User: b.alice,
		Body: `{"content":"new file","attachment":"` + up2.Key + `"}`})
	if resp.Status != http.StatusOK {
		t.Fatalf("replace = %d %s", resp.Status, resp.Body)
	}
	if b.exists(t, "private/"+b.alice+"/"+up.Key) {
		t.Fatal("the replaced file is still there")
	}
	if status, got := download(t, d, b.alice, n.NoteID); status != http.StatusOK || !bytes.Equal(got, doc) {
		t.Fatalf("download after replace = %d %q", status, got)
	}
	if resp := d.Do(t, apitest.Request{Method: "DELETE", Path: "/notes/" + n.NoteID, User: b.alice}); resp.Status != http.StatusNoContent {
		t.Fatalf("delete = %d", resp.Status)
	}
	if b.exists(t, "private/"+b.alice+"/"+up2.Key) {
		t.Fatal("deleting the note left its file")
	}
	if status, _ := download(t, d, b.alice, n.NoteID); status != http.StatusNotFound {
		t.Fatalf("download of a deleted note = %d, want 404", status)
	}

	plain := apitest.CreateNote(t, d, b.alice, "no file")
	resp = d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + plain.NoteID + "/attachment", User: b.alice})
	if resp.Status != http.StatusNotFound {
		t.Fatalf("attachment of a note without one = %d, want 404", resp.Status)
	}
	resp.ErrorMessage(t)
}

func TestAttachmentBadInput(t *testing.T) {
	s := defaults()
	s.files = localBucket(t).files
	long := strings.Repeat("n", 251) + ".jpg" // 255 bytes
	for name, d := range doors(t, s) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct{ name, body string }{
				{"no file name", `{"contentType":"image/jpeg","size":10}`},
				{"empty file name", `{"fileName":"","contentType":"image/jpeg","size":10}`},
				{"a path", `{"fileName":"a/b.jpg","contentType":"image/jpeg","size":10}`},
				{"a windows path", `{"fileName":"a\\b.jpg","contentType":"image/jpeg","size":10}`},
				{"dot dot", `{"fileName":"..","contentType":"image/jpeg","size":10}`},
				{"dot dot inside", `{"fileName":"x..jpg","contentType":"image/jpeg","size":10}`},
				{"control character", `{"fileName":"a\u0007.jpg","contentType":"image/jpeg","size":10}`},
				{"line break", `{"fileName":"a\n.jpg","contentType":"image/jpeg","size":10}`},
				{"name over 255 bytes", `{"fileName":"` + long + `x","contentType":"image/jpeg","size":10}`},
				{"no content type", `{"fileName":"a.jpg","size":10}`},
				{"content type without subtype", `{"fileName":"a.jpg","contentType":"image","size":10}`},
				{"content type with a line break", `{"fileName":"a.jpg","contentType":"image/jpeg\r\nX-Evil: 1","size":10}`},
				{"content type with parameters", `{"fileName":"a.jpg","contentType":"text/plain; charset=utf-8","size":10}`},
				{"no size", `{"fileName":"a.jpg","contentType":"image/jpeg"}`},
				{"size zero", `{"fileName":"a.jpg","contentType":"image/jpeg","size":0}`},
				{"negative size", `{"fileName":"a.jpg","contentType":"image/jpeg","size":-1}`},
				{"size over the limit", `{"fileName":"a.jpg","contentType":"image/jpeg","size":5000001}`},
				{"fractional size", `{"fileName":"a.jpg","contentType":"image/jpeg","size":1.5}`},
				{"size as a string", `{"fileName":"a.jpg","contentType":"image/jpeg","size":"10"}`},
				{"unknown field", `{"fileName":"a.jpg","contentType":"image/jpeg","size":10,"key":"x"}`},
				{"not JSON", `fileName=a.jpg`},
			} {
				resp := d.Do(t, apitest.Request{Method: "POST", Path: "/attachments", User: "local-alice", Body: tc.body,
					Header: map[string]string{"Content-Type": "application/json", "Origin": apitest.AppOrigin}})
				if resp.Status != http.StatusBadRequest {
					t.Fatalf("%s: status = %d, want 400 (%s)", tc.name, resp.Status, resp.Body)
				}
				resp.ErrorMessage(t)
				if resp.Header.Get("Access-Control-Allow-Origin") == "" {
					t.Fatalf("%s: no CORS header", tc.name)
				}
			}
			// The limits themselves are accepted; a name that would make the
			// key longer than a file name may be is shortened, on a rune
			// boundary, keeping its extension.
			for _, tc := range []struct{ body, suffix string }{
				{`{"fileName":"` + long + `","contentType":"image/jpeg","size":5000000}`, "nnnn.jpg"},
				{`{"fileName":"` + strings.Repeat("é", 124) + `.jpeg","contentType":"image/jpeg","size":1}`, "éé.jpeg"},
				{`{"fileName":"résumé 2026.pdf","contentType":"application/vnd.openxmlformats-officedocument.wordprocessingml.document","size":1}`, "-résumé-2026.pdf"},
			} {
				resp := d.Do(t, apitest.Request{Method: "POST", Path: "/attachments", User: "local-alice", Body: tc.body, Header: apitest.JSONHeader()})
				var up struct{ Key string }
				resp.JSON(t, &up)
				if resp.Status != http.StatusCreated || len(up.Key) > 255 || !utf8.ValidString(up.Key) || !strings.HasSuffix(up.Key, tc.suffix) {
					t.Fatalf("%.60s: %d, key %q (%d bytes); want 201 and a key of at most 255 bytes ending %s", tc.body, resp.Status, up.Key, len(up.Key), tc.suffix)
				}
			}
			// An identity the files cannot be kept under is refused before
			// anything is signed, by the endpoint's own rule; a Cognito
			// identity id (AUTH=iam's) is one they can.
			if isLocal(d) {
				resp := d.Do(t, apitest.Request{Method: "POST", Path: "/attachments", User: "us-east-1:3f0c6a2e-1b7d-4c55-9a2e-0d6f4b8e9c11",
					Header: apitest.JSONHeader(), Body: `{"fileName":"a.jpg","contentType":"image/jpeg","size":10}`})
				if resp.Status != http.StatusCreated {
					t.Fatalf("a Cognito identity id: %d %s, want 201", resp.Status, resp.Body)
				}
				for _, id := range []string{`a\b`, "..", ".", "a/b", "a/"} {
					resp := d.Do(t, apitest.Request{Method: "POST", Path: "/attachments", User: id, Header: apitest.JSONHeader(),
						Body: `{"fileName":"a.jpg","contentType":"image/jpeg","size":10}`})
					if resp.Status != http.StatusBadRequest || strings.Contains(string(resp.Body), "uploadUrl") {
						t.Fatalf("identity %q: %d %s, want 400 and nothing signed", id, resp.Status, resp.Body)
					}
					resp.ErrorMessage(t)
				}
			}
		})
	}
}

func TestAttachmentsNotConfigured(t *testing.T) {
	eachDoor(t, defaults(), func(t *testing.T, d apitest.Door) {
		resp := d.Do(t, apitest.Request{Method: "POST", Path: "/attachments", User: apitest.Alice, Header: apitest.JSONHeader(),
			Body: `{"fileName":"a.jpg","contentType":"image/jpeg","size":10}`})
		if resp.Status != http.StatusServiceUnavailable || resp.ErrorMessage(t) != "attachments are not configured" {
			t.Fatalf("POST /attachments with no bucket = %d %s, want 503", resp.Status, resp.Body)
		}
		n := noteWith(t, d, apitest.Alice, "1603846842984-hello.jpg")
		if resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + n.NoteID + "/attachment", User: apitest.Alice}); resp.Status != http.StatusServiceUnavailable {
			t.Fatalf("download with no bucket = %d, want 503", resp.Status)
		}
		// Deleting the note still works: there is no file to delete.
		if resp := d.Do(t, apitest.Request{Method: "DELETE", Path: "/notes/" + n.NoteID, User: apitest.Alice}); resp.Status != http.StatusNoContent {
			t.Fatalf("delete = %d", resp.Status)
		}
	})
}

// failingFiles cannot delete: the note operations must stand regardless.
type failingFiles struct {
	routes.Files
	mu      sync.Mutex
	deletes []string
}

func (f *failingFiles) Delete(ctx context.Context, key string) error {
	f.mu.Lock()
	f.deletes = append(f.deletes, key)
	f.mu.Unlock()
	return errors.New("s3: connection reset by peer")
}

// TestFileDeleteFailure: a file that cannot be deleted is logged with its
// key, and the note change it follows is neither lost nor undone.
func TestFileDeleteFailure(t *testing.T) {
	var logs testenv.Buffer
	b := localBucket(t)
	b.storeFile(t, apitest.Alice, "1603846842984-a.jpg", []byte("a"))
	b.storeFile(t, apitest.Alice, "1603846842985-b.jpg", []byte("b"))
	ff := &failingFiles{Files: b.files}
	s := defaults()
	s.files = ff
	s.log = slog.New(slog.NewJSONHandler(&logs, nil))
	d := doors(t, s)["v1"]
	n := noteWith(t, d, apitest.Alice, "1603846842984-a.jpg")
	resp := d.Do(t, apitest.Request{Method: "PUT", Path: "/notes/" + n.NoteID, Header: apitest.JSONHeader(), User: apitest.Alice, Body: `{"content":"b","attachment":"1603846842985-b.jpg"}`})
	if resp.Status != http.StatusOK {
		t.Fatalf("replace with a failing delete = %d %s, want 200", resp.Status, resp.Body)
	}
	got := d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + n.NoteID, User: apitest.Alice})
	var stored apitest.Note
	got.JSON(t, &stored)
	if stored.Attachment != "1603846842985-b.jpg" || stored.Content != "b" {
		t.Fatalf("after replace, note = %s", got.Body)
	}
	if resp := d.Do(t, apitest.Request{Method: "DELETE", Path: "/notes/" + n.NoteID, User: apitest.Alice}); resp.Status != http.StatusNoContent {
		t.Fatalf("delete with a failing file delete = %d, want 204", resp.Status)
	}
	if resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + n.NoteID, User: apitest.Alice}); resp.Status != http.StatusNotFound {
		t.Fatalf("note after delete = %d, want 404", resp.Status)
	}
	want := []string{"private/" + apitest.Alice + "/1603846842984-a.jpg", "private/" + apitest.Alice + "/1603846842985-b.jpg"}
	if strings.Join(ff.deletes, " ") != strings.Join(want, " ") {
		t.Fatalf("deletes = %v, want %v", ff.deletes, want)
	}
	for _, k := range want {
		if !strings.Contains(logs.String(), `"key":"`+k+`"`) {
			t.Fatalf("the log does not name %s:\n%s", k, logs.String())
		}
	}
}

// pending reports whether a file still carries the pending tag.
func (b bucket) pending(t *testing.T, key string) bool {
	t.Helper()
	p, err := b.s3.Pending(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// unsureFiles cannot tell whether a file is there.
type unsureFiles struct{ routes.Files }

func (unsureFiles) Exists(context.Context, string) (bool, error) {
	return false, fmt.Errorf("head: %w (connection reset by peer)", attachments.ErrUnavailable)
}

// TestMissingFile: a note whose file is gone (removed by hand, or saved
// before files were checked) answers 404 on GET /notes/{id}/attachment,
// never a link to nothing; a bucket that cannot tell is a 503 with
// Retry-After.
func TestMissingFile(t *testing.T) {
	eachBucket(t, func(t *testing.T, d apitest.Door, b bucket, _ setup) {
		up := presign(t, d, b.alice, "gone.txt", "text/plain", 4)
		put(t, up, []byte("gone"))
		n := noteWith(t, d, b.alice, up.Key)
		if status, _ := download(t, d, b.alice, n.NoteID); status != http.StatusOK {
			t.Fatalf("download before = %d", status)
		}
		if err := b.files.Delete(context.Background(), "private/"+b.alice+"/"+up.Key); err != nil {
			t.Fatal(err)
		}
		resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + n.NoteID + "/attachment", User: b.alice})
		if resp.Status != http.StatusNotFound || !strings.Contains(resp.ErrorMessage(t), "file is missing") {
			t.Fatalf("download of a missing file = %d %s, want 404", resp.Status, resp.Body)
		}
	})
	b := localBucket(t)
	b.storeFile(t, apitest.Alice, "1603846842984-a.jpg", []byte("a"))
	s := defaults()
	s.files = unsureFiles{b.files}
	d := doors(t, s)["v1"]
	n := noteWith(t, d, apitest.Alice, "1603846842984-a.jpg")
	resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + n.NoteID + "/attachment", User: apitest.Alice})
	if resp.Status != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || strings.Contains(string(resp.Body), "reset") {
		t.Fatalf("download when the bucket cannot tell = %d %s, want 503 with Retry-After and no internal text", resp.Status, resp.Body)
	}
}
