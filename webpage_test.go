package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// pageTrouble collects what must not happen on the page: console errors,
// uncaught exceptions, failed requests and error answers, except those
// the test provokes on purpose.
type pageTrouble struct {
	mu       sync.Mutex
	problems []string
	expected func(url string, status int64) bool
}

func (p *pageTrouble) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func (p *pageTrouble) listen(t *testing.T, ctx context.Context) {
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			p.add("exception: %s", ev.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				p.add("console.%s", ev.Type)
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError && !p.expectedURL(ev.Entry.URL) {
				p.add("console error: %s (%s)", ev.Entry.Text, ev.Entry.URL)
			}
		case *network.EventResponseReceived:
			if ev.Response.Status >= 400 && !p.expected(ev.Response.URL, ev.Response.Status) {
				p.add("%d from %s", ev.Response.Status, ev.Response.URL)
			}
		case *network.EventLoadingFailed:
			if !ev.Canceled {
				p.add("request failed: %s", ev.ErrorText)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (p *pageTrouble) expectedURL(url string) bool { return p.expected(url, 400) }

func (p *pageTrouble) check(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.problems) > 0 {
		t.Fatalf("the page had trouble:\n%s", strings.Join(p.problems, "\n"))
	}
}

// TestWebPage uses the page of web/ the way a person would, in Chromium,
// on its own origin against the built binary as `make run` starts it (the
// embedded store, files behind the local S3-compatible endpoint): type a
// note and save it, see it listed, edit it, attach a file and download
// it, read the error the API gives for a file that is too large, delete
// the note. Any console error or failed request fails the test, but for
// the one refused upload it provokes. With NOTES_UPDATE_SCREENSHOT=1 it
// keeps its screenshot as web/screenshot.png, the README's.
func TestWebPage(t *testing.T) {
	ctx := newBrowser(t)
	web := httptest.NewServer(http.FileServer(http.Dir("web")))
	t.Cleanup(web.Close)
	api, _ := startBinary(t, "CORS_ALLOWED_ORIGINS="+web.URL)

	trouble := &pageTrouble{expected: func(url string, status int64) bool {
		return status == 400 && url == api+"/attachments"
	}}
	trouble.listen(t, ctx)

	dir := t.TempDir()
	small := filepath.Join(dir, "hello.txt")
	os.WriteFile(small, []byte("hello from a file"), 0o600)
	big := filepath.Join(dir, "too-big.bin")
	os.WriteFile(big, bytes.Repeat([]byte{7}, 5_000_001), 0o600)

	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(c, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	textOf := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	waitText := func(what, sel, want string) {
		t.Helper()
		run(what, chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector(%q)?.textContent.includes(%q)`, sel, want),
			chromedp.WithPollingTimeout(10*time.Second)))
	}

	run("open the page", chromedp.Navigate(web.URL+"/?api="+api), chromedp.WaitVisible(chromedp.CSS("#editor")))
	if got := textOf("#api"); got != api {
		t.Fatalf("the page calls %q, want %q", got, api)
	}

	run("write a note", chromedp.SendKeys(chromedp.CSS("#content"), "My first note"), chromedp.Click(chromedp.CSS("#save")))
	waitText("see it listed", "#notes", "My first note")

	run("edit it", chromedp.Click(chromedp.CSS("#notes li .edit")), chromedp.SetValue(chromedp.CSS("#content"), "My edited note"),
		chromedp.Click(chromedp.CSS("#save")))
	waitText("see the edit", "#notes", "My edited note")
	if strings.Contains(textOf("#notes"), "My first note") {
		t.Fatal("the old text is still listed")
	}

	run("attach a file", chromedp.Click(chromedp.CSS("#notes li .edit")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{small}), chromedp.Click(chromedp.CSS("#save")))
	waitText("see the file", "#notes li .file", "hello.txt")
	run("download it", chromedp.Click(chromedp.CSS("#notes li .download")))
	waitText("read that it downloaded", "#status", "Downloaded hello.txt (17 bytes)")

	run("attach a file too large", chromedp.Click(chromedp.CSS("#notes li .edit")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{big}), chromedp.Click(chromedp.CSS("#save")))
	waitText("read the API's error", "#error", "size must be a whole number of bytes from 1 to 5000000")
	run("cancel", chromedp.Click(chromedp.CSS("#cancel")))

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil || img.Bounds().Dx() < 300 {
		t.Fatalf("screenshot: %v", err)
	}
	if os.Getenv("NOTES_UPDATE_SCREENSHOT") == "1" {
		if err := os.WriteFile(filepath.Join("web", "screenshot.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	run("delete it", chromedp.Click(chromedp.CSS("#notes li .delete")))
	waitText("read that it is gone", "#status", "Deleted")
	run("see the list empty", chromedp.Poll[chromedp.Void](`document.querySelectorAll("#notes li").length === 0`,
		chromedp.WithPollingTimeout(10*time.Second)))
	items, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("#notes li"), chromedp.AtLeast(0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 0 {
		t.Fatalf("%d notes still listed", len(items))
	}
	trouble.check(t)
}

// TestDemo runs what `make demo` runs: the page on one origin, the API on
// another that allows it, both URLs printed.
func TestDemo(t *testing.T) {
	apiPort, webPort := freePort(t), freePort(t)
	demo := filepath.Join(t.TempDir(), "demo")
	if out, err := exec.Command("go", "build", "-o", demo, "./scripts/demo").CombinedOutput(); err != nil {
		t.Fatalf("build the demo: %v\n%s", err, out)
	}
	cmd := exec.Command(demo, "-api", binary(t),
		"-api-port", strconv.Itoa(apiPort), "-web-port", strconv.Itoa(webPort))
	cmd.Env = append(os.Environ(), "NOTES_DB="+filepath.Join(t.TempDir(), "notes.db"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	page := fmt.Sprintf("http://127.0.0.1:%d", webPort)
	api := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	printed, _ := bufio.NewReader(out).ReadString('\n')
	if !strings.Contains(printed, page+"/?api="+api) {
		t.Fatalf("demo printed %q, want the page's URL", printed)
	}
	for i := 0; ; i++ {
		resp, err := http.Get(api + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i == 100 {
			t.Fatal("the API never answered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get(page + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the page: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `<script type="module" src="app.js">`) {
		t.Fatal("the page is not web/index.html")
	}
	req, _ := http.NewRequest("OPTIONS", api+"/notes", nil)
	req.Header.Set("Origin", page)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.Header.Get("Access-Control-Allow-Origin") != page {
		t.Fatalf("the API does not allow the page's origin: %v %v", err, resp.Header)
	}
	resp.Body.Close()
}
