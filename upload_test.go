package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/chromedp/chromedp"

	"github.com/scratch-notes/notes-api/attachments"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/routes"
)

// uploadJS is what a frontend does with a file: ask the API for an upload
// URL, PUT the file there, save a note that names it, and read it back
// through a download URL. It reports the step it got to.
const uploadJS = `
window.upload = async function (text) {
  const step = {};
  try {
    const file = new File([text], "hello.txt", { type: "text/plain" });
    const up = await (await fetch(API + "/attachments", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ fileName: file.name, contentType: file.type, size: file.size }) })).json();
    step.presigned = !!up.uploadUrl;
    const put = await fetch(up.uploadUrl, { method: up.method, headers: up.headers, body: file });
    step.uploaded = put.status;
    const note = await (await fetch(API + "/notes", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ content: "with a file", attachment: up.key }) })).json();
    const down = await (await fetch(API + "/notes/" + note.noteId + "/attachment")).json();
    const got = await fetch(down.url);
    step.downloaded = await got.text();
  } catch (e) {
    step.error = e.name;
  }
  return step;
};
`

type uploadSteps struct {
	Presigned  bool   `json:"presigned"`
	Uploaded   int    `json:"uploaded"`
	Downloaded string `json:"downloaded"`
	Error      string `json:"error"`
}

// TestBrowserUpload: in Chromium, a page on another origin uploads a file
// with fetch straight to the bucket with the API's presigned URL, saves a
// note that names it and downloads it, against a server that enforces
// bucket CORS rules (versitygw) set as template.yaml sets them, and
// against the local server's own endpoint. From an origin the bucket's
// rule does not allow, the upload fails as the browser enforces it.
func TestBrowserUpload(t *testing.T) {
	ctx := newBrowser(t)
	// The page, and its origin, first: the bucket's rule names it.
	site := &pageSite{}
	page := httptest.NewServer(site)
	t.Cleanup(page.Close)
	pageOrigin := page.URL

	d := loadTemplate(t)
	rule := d.must(t, "Resources", "AttachmentsBucket", "Properties", "CorsConfiguration", "CorsRules", "0")
	templateRule := func(origin string) testenv.CORSRule {
		return testenv.CORSRule{AllowedOrigins: []string{origin}, AllowedMethods: scalars(at(rule, "AllowedMethods")),
			AllowedHeaders: scalars(at(rule, "AllowedHeaders")), ExposedHeaders: scalars(at(rule, "ExposedHeaders")), MaxAge: 3000}
	}
	s3Files := func(bucket string) routes.Files {
		f, err := attachments.NewS3(aws.Config{Region: "us-east-1",
			Credentials: credentials.StaticCredentialsProvider{Value: testenv.S3Credentials}}, bucket, testenv.S3(t))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	serve := func(files routes.Files) string {
		h, err := newHandler(testConfig(t, nil), openTestStore(t), files, nil, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	localAPI, _ := startBinary(t, "CORS_ALLOWED_ORIGINS="+pageOrigin)

	for _, tc := range []struct {
		name    string
		api     string
		allowed bool
	}{
		{"bucket allowing the page", serve(s3Files(testenv.S3Bucket(t, templateRule(pageOrigin)))), true},
		{"bucket allowing another origin", serve(s3Files(testenv.S3Bucket(t, templateRule("https://app.example.com")))), false},
		{"the local server's endpoint", localAPI, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site.set(tc.api, uploadJS)
			if err := chromedp.Do(ctx, chromedp.Navigate(pageOrigin)); err != nil {
				t.Fatal(err)
			}
			c, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			got, err := chromedp.Run(c, chromedp.Evaluate[uploadSteps](`upload("hello, bucket")`, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Presigned {
				t.Fatalf("the API gave no upload URL: %+v", got)
			}
			if tc.allowed && (got.Uploaded != 200 || got.Downloaded != "hello, bucket" || got.Error != "") {
				t.Fatalf("the page saw %+v, want the file uploaded and read back", got)
			}
			if !tc.allowed && (got.Error != "TypeError" || got.Uploaded != 0) {
				t.Fatalf("the page saw %+v, want the browser to refuse the upload", got)
			}
		})
	}
}

// pageSite serves a page whose script is js, calling the API at api; the
// API can change between navigations, the origin stays.
type pageSite struct {
	mu      sync.Mutex
	api, js string
}

func (p *pageSite) set(api, js string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.api, p.js = api, js
}

func (p *pageSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>Scratch</title><link rel=icon href=data:,><script>window.API = %q;%s</script>", p.api, p.js)
}
