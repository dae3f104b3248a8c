package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLocalAttachments runs the upload flow against the built binary as
// `make run` starts it, with no AWS: the files live beside NOTES_DB,
// behind the embedded endpoint the presigned URLs point at.
func TestLocalAttachments(t *testing.T) {
	dir := t.TempDir()
	base, _ := startBinary(t, "NOTES_DB="+filepath.Join(dir, "notes.db"), "CORS_ALLOWED_ORIGINS="+appOrigin)
	call := func(method, url, ctype, body string, header map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
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
	content := "hello, attachment"
	resp, body := call("POST", base+"/attachments", "application/json", `{"fileName":"hello.txt","contentType":"text/plain","size":17}`, nil)
	var up struct {
		Key, UploadURL string
		Headers        map[string]string
	}
	json.Unmarshal(body, &up)
	if resp.StatusCode != 201 || !strings.HasPrefix(up.UploadURL, "http://127.0.0.1:") {
		t.Fatalf("POST /attachments = %d %s, want a URL on loopback", resp.StatusCode, body)
	}

	// The endpoint answers preflights for the API's origins only.
	for origin, allowed := range map[string]bool{appOrigin: true, "https://evil.example.org": false} {
		resp, _ = call("OPTIONS", up.UploadURL, "", "", map[string]string{"Origin": origin,
			"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"})
		if got := resp.Header.Get("Access-Control-Allow-Origin") == origin; got != allowed {
			t.Fatalf("upload preflight from %s: allowed = %v, want %v (%v)", origin, got, allowed, resp.Header)
		}
	}
	if resp, body = call("PUT", up.UploadURL, up.Headers["Content-Type"], content, map[string]string{"Origin": appOrigin}); resp.StatusCode != 200 {
		t.Fatalf("upload = %d %s", resp.StatusCode, body)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "notes-attachments", "objects", "private", "local-user", up.Key)); err != nil || string(got) != content {
		t.Fatalf("file beside NOTES_DB = %q, %v", got, err)
	}

	_, body = call("POST", base+"/notes", "application/json", `{"content":"x","attachment":"`+up.Key+`"}`, nil)
	var n note
	json.Unmarshal(body, &n)
	resp, body = call("GET", base+"/notes/"+n.NoteID+"/attachment", "", "", nil)
	var down struct{ URL string }
	json.Unmarshal(body, &down)
	if resp.StatusCode != 200 {
		t.Fatalf("GET attachment = %d %s", resp.StatusCode, body)
	}
	if resp, body = call("GET", down.URL, "", "", nil); resp.StatusCode != 200 || !bytes.Equal(body, []byte(content)) || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("download = %d %q %s", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}
	if resp, _ = call("DELETE", base+"/notes/"+n.NoteID, "", "", nil); resp.StatusCode != 204 {
		t.Fatalf("delete = %d", resp.StatusCode)
	}
	if resp, _ = call("GET", down.URL, "", "", nil); resp.StatusCode != 404 {
		t.Fatalf("download after the note's delete = %d, want 404", resp.StatusCode)
	}
}
