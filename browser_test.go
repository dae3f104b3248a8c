package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/chromedp/cdproto/browser"
	cdppage "github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/scratch-notes/notes-api/attachments"
	"github.com/scratch-notes/notes-api/gateway"
	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/awstest"
	"github.com/scratch-notes/notes-api/internal/browsertest"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/routes"
	"github.com/scratch-notes/notes-api/store"
)

// CORS in Chromium: a page on one origin calls the API on another through
// each front door (the local server, sam local, API Gateway deployed), and
// uploads files straight to the bucket.

// pageJS is the frontend: call() does what a SigV4-signing frontend's
// fetch does, and reports what the page could read.
const pageJS = `
window.call = async function (method, path, body, opts) {
  opts = opts || {};
  const headers = opts.unsigned ? {} : {
    "Authorization": "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261125/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=0f1e2d3c",
    "X-Amz-Date": "20261125T120000Z",
    "X-Amz-Security-Token": "IQoJb3JpZ2luX2VjEXAMPLE",
  };
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = opts.contentType || "application/json; charset=UTF-8";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  try {
    const r = await fetch(window.API + path, {method, headers, body: payload, credentials: opts.credentials || "same-origin"});
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch (e) {}
    return {ok: true, status: r.status, json: json,
      cursor: r.headers.get("X-Next-Cursor"), requestId: r.headers.get("X-Request-Id"), location: r.headers.get("Location")};
  } catch (e) {
    return {ok: false, error: e.name, message: String(e)};
  }
};
`

// pageResult is what call() returns.
type pageResult struct {
	OK        bool            `json:"ok"`
	Status    int             `json:"status"`
	JSON      json.RawMessage `json:"json"`
	Cursor    *string         `json:"cursor"`
	RequestID *string         `json:"requestId"`
	Location  *string         `json:"location"`
	Error     string          `json:"error"`
	Message   string          `json:"message"`
}

func (r pageResult) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// page is a tab showing a page of origin A that calls the API on origin B.
type page struct {
	ctx context.Context
}

func openPage(t *testing.T, ctx context.Context, api string) page {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>Scratch</title><script>window.API = %q;%s</script>", api, pageJS)
	}))
	t.Cleanup(srv.Close)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	return page{ctx: ctx}
}

// setAPI points the page at another API origin.
func (p page) setAPI(t *testing.T, url string) {
	t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](fmt.Sprintf("window.API = %q", url))); err != nil {
		t.Fatal(err)
	}
}

// call runs call(...) in the page and waits for its promise.
func (p page) call(t *testing.T, method, path string, body any, opts map[string]any) pageResult {
	t.Helper()
	args, _ := json.Marshal([]any{method, path, body, opts})
	if body == nil {
		args, _ = json.Marshal([]any{method, path, nil, opts})
		args = []byte(strings.Replace(string(args), ",null,", ",undefined,", 1))
	}
	expr := "call(..." + string(args) + ")"
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[pageResult](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s %s in the page: %v", method, path, err)
	}
	return res
}

// requestLog counts what reached the API server, by method.
type requestLog struct {
	mu  sync.Mutex
	got []string
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.got = append(l.got, r.Method+" "+r.URL.Path)
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *requestLog) count(method string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, g := range l.got {
		if strings.HasPrefix(g, method+" ") {
			n++
		}
	}
	return n
}

// failOnBoom makes reading the note "boom" panic: the injected failure.
func failOnBoom(notes storetest.Store) storetest.Store {
	return storetest.Faulty{Inner: notes, GetFn: func(ctx context.Context, userID, noteID string) (store.Note, error) {
		if noteID == "boom" {
			panic("injected failure")
		}
		return notes.Get(ctx, userID, noteID)
	}}
}

// apiServer is the API on its own origin through one front door, with the
// store it writes to and a log of what reached it.
type apiServer struct {
	url   string
	notes storetest.Store
	log   *requestLog
}

// browserIdentity is the Cognito identity the deployed stand-in gives a
// signed request.
const browserIdentity = "us-east-1:browser-user"

// startAPI serves the API on an origin of its own through one front door:
// "local" (the local server), "sam local" (the Lambda handler behind what
// sam local start-api does) or "deployed" (behind what API Gateway with
// the template's IAM auth does).
func startAPI(t *testing.T, frontDoor string, env map[string]string) apiServer {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	notes := storetest.Bolt(t)
	lambda := func(extra map[string]string) apitest.Invoker {
		lambdaEnv := map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}
		for k, v := range env {
			lambdaEnv[k] = v
		}
		for k, v := range extra {
			lambdaEnv[k] = v
		}
		return gateway.New(testHandler(t, lambdaEnv, failOnBoom(notes), nil), log)
	}
	var h http.Handler
	switch frontDoor {
	case "local":
		h = testHandler(t, env, failOnBoom(notes), nil)
	case "sam local":
		h = awstest.NewSAMLocal(t, lambda(map[string]string{"AWS_SAM_LOCAL": "true"}))
	case "deployed":
		origins := env["CORS_ALLOWED_ORIGINS"]
		if origins == "" {
			origins = "*"
		}
		h = awstest.NewDeployed(t, lambda(nil), origins, browserIdentity)
	default:
		t.Fatalf("no front door %q", frontDoor)
	}
	rl := &requestLog{}
	srv := httptest.NewServer(rl.wrap(h))
	t.Cleanup(srv.Close)
	return apiServer{url: srv.URL, notes: notes, log: rl}
}

var frontDoors = []string{"local", "sam local", "deployed"}

// browserCall is one fetch from the page and the status it must read.
type browserCall struct {
	name         string
	method, path string
	body         any
	opts         map[string]any
	want         int
}

func TestBrowserAllowedOrigin(t *testing.T) {
	ctx := browsertest.New(t)
	for _, door := range frontDoors {
		t.Run(door, func(t *testing.T) {
			api := startAPI(t, door, nil)
			p := openPage(t, ctx, api.url)

			r := p.call(t, "POST", "/notes", map[string]any{"content": "from the browser", "attachment": nil}, nil)
			if !r.OK || r.Status != 201 {
				t.Fatalf("create = %+v", r)
			}
			var n apitest.Note
			json.Unmarshal(r.JSON, &n)
			if r.Location == nil || *r.Location != "/notes/"+n.NoteID || r.RequestID == nil || *r.RequestID == "" {
				t.Fatalf("the page cannot read Location or X-Request-Id: %+v", r)
			}
			p.call(t, "POST", "/notes", map[string]any{"content": "second"}, nil)

			r = p.call(t, "GET", "/notes?limit=1", nil, nil)
			if !r.OK || r.Status != 200 || r.Cursor == nil || *r.Cursor == "" {
				t.Fatalf("list page = %+v; the page must read X-Next-Cursor", r)
			}
			r = p.call(t, "GET", "/notes/"+n.NoteID, nil, nil)
			if !r.OK || r.Status != 200 || !strings.Contains(string(r.JSON), "from the browser") {
				t.Fatalf("get = %+v", r)
			}
			r = p.call(t, "PUT", "/notes/"+n.NoteID, map[string]any{"content": "edited", "attachment": "1603846842984-a.png"}, nil)
			if !r.OK || r.Status != 200 || !strings.Contains(string(r.JSON), "edited") {
				t.Fatalf("update = %+v", r)
			}
			r = p.call(t, "DELETE", "/notes/"+n.NoteID, nil, nil)
			if !r.OK || r.Status != 204 {
				t.Fatalf("delete = %+v", r)
			}

			errors := []browserCall{
				{"400", "POST", "/notes", "{not json", nil, 400},
				{"404", "GET", "/notes/nope", nil, nil, 404},
				{"405", "DELETE", "/notes", nil, nil, 405},
				{"413", "POST", "/notes", map[string]any{"content": strings.Repeat("a", 300<<10)}, nil, 413},
				{"415", "POST", "/notes", `{"content":"a"}`, map[string]any{"contentType": "text/plain"}, 415},
				{"500", "GET", "/notes/boom", nil, nil, 500},
				{"503", "POST", "/billing", map[string]any{"storage": "21", "source": "tok_visa"}, nil, 503},
			}
			if door == "deployed" {
				// API Gateway itself refuses an unsigned call; its gateway
				// response is readable too.
				errors = append(errors, browserCall{"403 gateway", "GET", "/notes", nil, map[string]any{"unsigned": true}, 403})
			}
			for _, e := range errors {
				r := p.call(t, e.method, e.path, e.body, e.opts)
				// API Gateway's own errors have the function's shape too.
				var body struct {
					Error string `json:"error"`
				}
				json.Unmarshal(r.JSON, &body)
				if !r.OK || r.Status != e.want || body.Error == "" {
					t.Fatalf("%s: page saw %+v, want status %d and an error message", e.name, r, e.want)
				}
			}
			if door != "deployed" {
				// No IAM here: an unsigned call is served, as the dev identity.
				if r := p.call(t, "GET", "/notes", nil, map[string]any{"unsigned": true}); !r.OK || r.Status != 200 {
					t.Fatalf("unsigned call through %s: %+v, want 200", door, r)
				}
			}
		})
	}
}

func TestBrowserDisallowedOrigin(t *testing.T) {
	ctx := browsertest.New(t)
	env := map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.example.com"}
	for _, door := range frontDoors {
		t.Run(door, func(t *testing.T) {
			api := startAPI(t, door, env)
			p := openPage(t, ctx, api.url)
			for _, c := range []struct {
				method, path string
				body         any
			}{
				{"POST", "/notes", map[string]any{"content": "must not be written"}},
				{"GET", "/notes", nil},
				{"PUT", "/notes/x", map[string]any{"content": "x"}},
				{"DELETE", "/notes/x", nil},
				{"POST", "/billing", map[string]any{"storage": 21, "source": "tok_visa"}},
			} {
				r := p.call(t, c.method, c.path, c.body, nil)
				if r.OK || r.Error != "TypeError" {
					t.Fatalf("%s %s from a disallowed origin: page saw %+v, want a TypeError", c.method, c.path, r)
				}
			}
			// Every call was signed, so not simple: only preflights arrived.
			if got, opts := len(api.log.got), api.log.count("OPTIONS"); got != opts || opts == 0 {
				t.Fatalf("server received %v; want preflights only", api.log.got)
			}
			for _, user := range []string{"local-user", browserIdentity} {
				page, err := api.notes.List(context.Background(), user, 10, "")
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Notes) != 0 {
					t.Fatalf("store holds %d notes of %s, want none", len(page.Notes), user)
				}
			}
		})
	}
}

func TestBrowserCredentials(t *testing.T) {
	ctx := browsertest.New(t)
	for _, door := range frontDoors {
		t.Run(door, func(t *testing.T) {
			// The default policy (any origin, no credentials) serves the page
			// first; the page's origin is then known for the exact policy.
			defaults := startAPI(t, door, nil)
			p := openPage(t, ctx, defaults.url)
			pageOrigin, err := chromedp.Run(ctx, chromedp.Evaluate[string]("location.origin"))
			if err != nil {
				t.Fatal(err)
			}
			exact := startAPI(t, door, map[string]string{"CORS_ALLOWED_ORIGINS": pageOrigin, "CORS_ALLOW_CREDENTIALS": "true"})

			// With the exact origin and credentials allowed, include works.
			p.setAPI(t, exact.url)
			r := p.call(t, "GET", "/notes", nil, map[string]any{"credentials": "include"})
			if !r.OK || r.Status != 200 {
				t.Fatalf("credentials include with an exact origin: %+v", r)
			}
			// With the default, it fails in the browser.
			p.setAPI(t, defaults.url)
			r = p.call(t, "GET", "/notes", nil, map[string]any{"credentials": "include"})
			if r.OK || r.Error != "TypeError" {
				t.Fatalf("credentials include with the default policy: %+v, want a TypeError", r)
			}
			// The same call without credentials works there.
			if r := p.call(t, "GET", "/notes", nil, nil); !r.OK || r.Status != 200 {
				t.Fatalf("plain call with the default policy: %+v", r)
			}
		})
	}
}

func TestBrowserPreflightCache(t *testing.T) {
	ctx := browsertest.New(t)
	for _, door := range frontDoors {
		t.Run(door, func(t *testing.T) {
			api := startAPI(t, door, map[string]string{"CORS_MAX_AGE": "600"})
			p := openPage(t, ctx, api.url)
			r := p.call(t, "POST", "/notes", map[string]any{"content": "x"}, nil)
			var n apitest.Note
			json.Unmarshal(r.JSON, &n)
			before := api.log.count("OPTIONS")
			for i := 0; i < 2; i++ {
				if r := p.call(t, "PUT", "/notes/"+n.NoteID, map[string]any{"content": fmt.Sprint(i)}, nil); !r.OK || r.Status != 200 {
					t.Fatalf("PUT %d = %+v", i, r)
				}
			}
			if got := api.log.count("OPTIONS") - before; got != 1 {
				t.Fatalf("two identical PUTs sent %d preflights, want 1 (Access-Control-Max-Age)", got)
			}
			if api.log.count("PUT") != 2 {
				t.Fatalf("server saw %d PUTs, want 2", api.log.count("PUT"))
			}
		})
	}
}

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
	ctx := browsertest.New(t)
	// The page, and its origin, first: the bucket's rule names it.
	site := &pageSite{}
	page := httptest.NewServer(site)
	t.Cleanup(page.Close)
	pageOrigin := page.URL

	d := awstest.LoadTemplate(t)
	rule := d.Must(t, "Resources", "AttachmentsBucket", "Properties", "CorsConfiguration", "CorsRules", "0")
	templateRule := func(origin string) testenv.CORSRule {
		return testenv.CORSRule{AllowedOrigins: []string{origin}, AllowedMethods: awstest.Scalars(awstest.At(rule, "AllowedMethods")),
			AllowedHeaders: awstest.Scalars(awstest.At(rule, "AllowedHeaders")), ExposedHeaders: awstest.Scalars(awstest.At(rule, "ExposedHeaders")), MaxAge: 3000}
	}
	s3Files := func(bucket string) routes.Files {
		f, err := attachments.NewS3(aws.Config{Region: "us-east-1",
			Credentials: credentials.StaticCredentialsProvider{Value: testenv.S3Credentials()}}, bucket, testenv.S3(t))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	serve := func(files routes.Files) string {
		srv := httptest.NewServer(testHandler(t, nil, storetest.Bolt(t), files))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	localAPI := startBinary(t, "CORS_ALLOWED_ORIGINS="+pageOrigin).URL

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

// TestBrowserActiveUploadIsADownload: a page uploaded as text/html with a
// script in it, opened in Chromium through its download URL, runs
// nothing (no dialog, no console message) and is downloaded, from the
// local server's endpoint and from an S3-compatible bucket (versitygw)
// alike.
func TestBrowserActiveUploadIsADownload(t *testing.T) {
	const page = `<!doctype html><script>console.log("the upload ran"); alert("the upload ran")</script><p>hello`
	s3Files, err := attachments.NewS3(aws.Config{Region: "us-east-1",
		Credentials: credentials.StaticCredentialsProvider{Value: testenv.S3Credentials()}}, testenv.S3Bucket(t), testenv.S3(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, api := range map[string]string{
		"the local server's endpoint": startBinary(t).URL,
		"an S3 bucket":                httptest.NewServer(testHandler(t, nil, storetest.Bolt(t), s3Files)).URL,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := browsertest.New(t)
			var (
				mu  sync.Mutex
				ran []string
			)
			if err := chromedp.Listen(ctx, func(ev any) {
				mu.Lock()
				defer mu.Unlock()
				switch ev := ev.(type) {
				case *cdppage.EventJavascriptDialogOpening:
					ran = append(ran, "dialog: "+ev.Message)
				case *cdpruntime.EventConsoleAPICalled:
					ran = append(ran, "console: "+string(ev.Type))
				}
			}); err != nil {
				t.Fatal(err)
			}
			downloads := t.TempDir()
			if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
					Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
				return err
			})); err != nil {
				t.Fatal(err)
			}

			d := apitest.Local{URL: api}
			resp := d.Do(t, apitest.Request{Method: "POST", Path: "/attachments", Header: apitest.JSONHeader(),
				Body: fmt.Sprintf(`{"fileName":"page.html","contentType":"text/html","size":%d}`, len(page))})
			var up struct {
				Key, UploadURL string
				Headers        map[string]string
			}
			resp.JSON(t, &up)
			req, _ := http.NewRequest("PUT", up.UploadURL, strings.NewReader(page))
			for k, v := range up.Headers {
				req.Header.Set(k, v)
			}
			put, err := http.DefaultClient.Do(req)
			if err != nil || put.StatusCode != http.StatusOK {
				t.Fatalf("upload = %v, %v", put, err)
			}
			put.Body.Close()
			n := apitest.Note{}
			d.Do(t, apitest.Request{Method: "POST", Path: "/notes", Header: apitest.JSONHeader(),
				Body: `{"content":"a page","attachment":"` + up.Key + `"}`}).JSON(t, &n)
			var down struct{ URL string }
			d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + n.NoteID + "/attachment"}).JSON(t, &down)

			// A navigation that becomes a download is aborted as a page.
			nctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			chromedp.Do(nctx, chromedp.Navigate(down.URL))
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				b, err := os.ReadFile(filepath.Join(downloads, "page.html"))
				if err == nil && string(b) == page {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the page was not downloaded: %v", err)
				}
			}
			time.Sleep(300 * time.Millisecond) // room for a script to run, if one could
			mu.Lock()
			defer mu.Unlock()
			if len(ran) > 0 {
				t.Fatalf("the uploaded page ran: %v", ran)
			}
		})
	}
}
