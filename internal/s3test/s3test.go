// Package s3test holds S3-compatible servers (versitygw, the local files
// endpoint) to what the API relies on, and makes the requests a browser
// makes with presigned URLs.
//
// Only tests import it.
package s3test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/scratch-notes/notes-api/attachments"
)

// Server is an S3-compatible server holding bucket, with the
// credentials that may write to it.
type Server struct {
	Endpoint string
	Bucket   string
	Creds    aws.Credentials
}

// Files is the attachments of the server's bucket.
func (o Server) Files(t testing.TB) *attachments.S3 {
	t.Helper()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.StaticCredentialsProvider{Value: o.Creds}}
	s, err := attachments.NewS3(cfg, o.Bucket, o.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Send makes the request a browser would make for p, with body and the
// given header values over p's.
func Send(t testing.TB, p attachments.Presigned, body []byte, header map[string]string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(p.Method, p.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body, req.ContentLength = nil, 0
	}
	for k, v := range p.Header {
		req.Header.Set(k, v)
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
	return resp.StatusCode, b, resp.Header
}

// RoundTrip holds an S3-compatible server to what the API relies on:
// a presigned upload of exactly the signed type and length, read back
// through a presigned download as a download, anything else refused, and
// deletes. The key's user is user.
func RoundTrip(t *testing.T, o Server, user string) {
	ctx := context.Background()
	files := o.Files(t)
	key := "private/" + user + "/1603846842984-hello world (1).jpg"
	body := []byte("\xff\xd8\xff\xe0 not really a jpeg")

	up, err := files.PresignUpload(ctx, key, "image/jpeg", int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	if up.Method != "PUT" || len(up.Header) != 2 || up.Header["Content-Type"] != "image/jpeg" || up.Header["X-Amz-Tagging"] != "pending=true" {
		t.Fatalf("upload = %+v, want a PUT sending only Content-Type and X-Amz-Tagging", up)
	}
	if d := time.Until(up.Expires); d < 14*time.Minute || d > 15*time.Minute {
		t.Fatalf("upload expires in %v, want 15 minutes", d)
	}
	u, _ := url.Parse(up.URL)
	for k := range u.Query() {
		if lk := strings.ToLower(k); strings.Contains(lk, "checksum") {
			t.Fatalf("upload URL carries %s, which a browser's fetch cannot satisfy", k)
		}
	}
	if got := u.Query().Get("X-Amz-SignedHeaders"); got != "content-length;content-type;host;x-amz-tagging" {
		t.Fatalf("signed headers = %q, want content-length;content-type;host;x-amz-tagging", got)
	}

	t.Run("refused", func(t *testing.T) {
		tampered := up
		tampered.URL = strings.Replace(up.URL, "X-Amz-Signature=", "X-Amz-Signature=0", 1)
		other := up
		other.URL = strings.Replace(up.URL, "hello%20world", "hello%20worle", 1)
		for _, tc := range []struct {
			name   string
			p      attachments.Presigned
			body   []byte
			header map[string]string
		}{
			{"another content type", up, body, map[string]string{"Content-Type": "text/html"}},
			{"a longer body", up, append(body, 'x'), nil},
			{"a shorter body", up, body[1:], nil},
			{"a tampered signature", tampered, body, nil},
			{"another key", other, body, nil},
		} {
			if status, resp, _ := Send(t, tc.p, tc.body, tc.header); status != http.StatusForbidden {
				t.Fatalf("%s: status = %d, want 403 (%s)", tc.name, status, resp)
			}
		}
		// Nothing of those was stored.
		down, _ := files.PresignDownload(ctx, key)
		if status, _, _ := Send(t, down, nil, nil); status != http.StatusNotFound {
			t.Fatalf("after refused uploads, download = %d, want 404", status)
		}
	})

	if status, resp, _ := Send(t, up, body, nil); status != http.StatusOK {
		t.Fatalf("upload = %d %s", status, resp)
	}
	down, err := files.PresignDownload(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	status, got, h := Send(t, down, nil, nil)
	if status != http.StatusOK || !bytes.Equal(got, body) || h.Get("Content-Type") != "image/jpeg" ||
		h.Get("Content-Disposition") != `attachment; filename="hello world (1).jpg"` {
		t.Fatalf("download = %d %q, Content-Type %q, Content-Disposition %q", status, got, h.Get("Content-Type"), h.Get("Content-Disposition"))
	}
	// A page uploaded as one is a download of bytes, named as uploaded:
	// UTF-8 names in RFC 8187's form.
	page := "private/" + user + "/1603846842984-Résumé <script>.html"
	html := []byte("<!doctype html><script>alert(document.domain)</script>")
	up2, err := files.PresignUpload(ctx, page, "text/html", int64(len(html)))
	if err != nil {
		t.Fatal(err)
	}
	if status, resp, _ := Send(t, up2, html, nil); status != http.StatusOK {
		t.Fatalf("upload of a page = %d %s", status, resp)
	}
	down2, err := files.PresignDownload(ctx, page)
	if err != nil {
		t.Fatal(err)
	}
	status, got, h = Send(t, down2, nil, nil)
	wantCD := `attachment; filename="R_sum_ <script>.html"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%3Cscript%3E.html`
	if status != http.StatusOK || !bytes.Equal(got, html) || h.Get("Content-Type") != "application/octet-stream" || h.Get("Content-Disposition") != wantCD {
		t.Fatalf("download of a page = %d, Content-Type %q, Content-Disposition %q; want bytes, %s",
			status, h.Get("Content-Type"), h.Get("Content-Disposition"), wantCD)
	}
	// The URL signs what it asks for: asking for another type is refused.
	asked, _ := url.Parse(down2.URL)
	q := asked.Query()
	q.Set("response-content-type", "text/html")
	asked.RawQuery = q.Encode()
	if status, _, _ := Send(t, attachments.Presigned{Method: "GET", URL: asked.String()}, nil, nil); status != http.StatusForbidden {
		t.Fatalf("a download asking for text/html = %d, want 403", status)
	}
	if err := files.Delete(ctx, page); err != nil {
		t.Fatal(err)
	}
	unsigned, _ := url.Parse(down.URL)
	unsigned.RawQuery = ""
	if status, _, _ := Send(t, attachments.Presigned{Method: "GET", URL: unsigned.String()}, nil, nil); status != http.StatusForbidden {
		t.Fatalf("unsigned download = %d, want 403", status)
	}

	if err := files.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := Send(t, down, nil, nil); status != http.StatusNotFound {
		t.Fatalf("download after delete = %d, want 404", status)
	}
	if err := files.Delete(ctx, key); err != nil {
		t.Fatalf("deleting a missing key: %v, want no error", err)
	}

	wrong := o
	wrong.Creds.SecretAccessKey = "not-the-secret"
	if err := wrong.Files(t).Delete(ctx, key); err == nil {
		t.Fatal("a delete signed with the wrong secret succeeded")
	}
}

// PresignRaw is a presigned GET of key (of plain characters) that asks
// for no response type or disposition, signed with the SDK's signer.
func PresignRaw(t testing.TB, o Server, key string) string {
	t.Helper()
	u, err := url.Parse(o.Endpoint + "/" + o.Bucket + "/" + key + "?X-Amz-Expires=900")
	if err != nil {
		t.Fatal(err)
	}
	signer := v4.NewSigner(func(so *v4.SignerOptions) { so.DisableURIPathEscaping = true })
	signed, _, err := signer.PresignHTTP(context.Background(), o.Creds, &http.Request{Method: "GET", URL: u, Header: http.Header{}},
		"UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	return signed
}
