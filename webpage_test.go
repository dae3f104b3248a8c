package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/browsertest"
)

// webUser is the dev identity the page's API runs as; webhookSecret its
// Stripe webhook's signing secret.
const (
	webUser       = "web-user"
	webhookSecret = "whsec_web"
)

// countNotes is how many notes the API holds for the dev identity.
func countNotes(t *testing.T, api string) int {
	t.Helper()
	resp, err := http.Get(api + "/notes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var notes []apitest.Note
	if err := json.NewDecoder(resp.Body).Decode(&notes); err != nil {
		t.Fatal(err)
	}
	return len(notes)
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
	ctx := browsertest.New(t)
	web := httptest.NewServer(http.FileServer(http.Dir("web")))
	t.Cleanup(web.Close)
	api := startBinary(t, "CORS_ALLOWED_ORIGINS="+web.URL, "DEV_IDENTITY_ID="+webUser, "STRIPE_WEBHOOK_SECRET="+webhookSecret).URL
	// Stripe says the page's user paid for 21 notes.
	event := `{"id":"evt_web","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_web","object":"payment_intent",` +
		`"amount":4200,"amount_received":4200,"currency":"usd","created":1764547200,"metadata":{"identityId":"` + webUser + `","storage":"21"}}}}`
	if status, body := post(t, api+"/billing/webhook", event, map[string]string{"Stripe-Signature": stripeSignature(event, webhookSecret)}); status != http.StatusOK {
		t.Fatalf("webhook = %d %s", status, body)
	}

	trouble := &browsertest.Trouble{Expected: func(url string, status int64) bool {
		return status == 400 && url == api+"/attachments"
	}}
	trouble.Listen(t, ctx)

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
	waitText("see what was paid for", "#paid", "21 notes (1 payment)")

	downloads := t.TempDir()
	run("let the page download", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
		return err
	}))

	// Two clicks on Save make one save: the button waits for the first.
	run("write a note", chromedp.SendKeys(chromedp.CSS("#content"), "My first note"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#save").click(); document.querySelector("#save").click()`))
	waitText("see it listed", "#notes", "My first note")
	waitText("read that it saved", "#status", "Saved")
	if n := countNotes(t, api); n != 1 {
		t.Fatalf("a double click on Save made %d notes, want 1", n)
	}
	if got := textOf("#who"); got != webUser {
		t.Fatalf("the page says it is %q, the API used %q", got, webUser)
	}

	run("edit it", chromedp.Click(chromedp.CSS("#notes li .edit")), chromedp.SetValue(chromedp.CSS("#content"), "My edited note"),
		chromedp.Click(chromedp.CSS("#save")))
	waitText("see the edit", "#notes", "My edited note")
	if strings.Contains(textOf("#notes"), "My first note") {
		t.Fatal("the old text is still listed")
	}

	run("attach a file", chromedp.Click(chromedp.CSS("#notes li .edit")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{small}), chromedp.Click(chromedp.CSS("#save")))
	waitText("see the file", "#notes li .file", "hello.txt")
	// The page lets go of the file it hands the browser only once the
	// browser has it: a spy records every revokeObjectURL.
	run("spy on revokeObjectURL", chromedp.Evaluate[chromedp.Void](`window.revoked = 0;
		const revoke = URL.revokeObjectURL; URL.revokeObjectURL = (u) => { window.revoked++; revoke(u); }`))
	run("download it", chromedp.Click(chromedp.CSS("#notes li .download")))
	waitText("read that it downloaded", "#status", "Downloaded hello.txt (17 bytes)")
	// And the browser saved it: the page did not revoke the file before
	// the browser started on it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(downloads, "hello.txt"))
		if err == nil && string(b) == "hello from a file" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser saved no hello.txt: %q, %v", b, err)
		}
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int]("window.revoked")); err != nil || n != 0 {
		t.Fatalf("the page revoked the file's URL %d times by the time the browser saved it (%v), want none", n, err)
	}

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

	// More notes than a page: the list shows the newest and follows
	// X-Next-Cursor with More.
	for i := range 25 {
		resp, err := http.Post(api+"/notes", "application/json", strings.NewReader(fmt.Sprintf(`{"content":"note %02d"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create = %d", resp.StatusCode)
		}
	}
	listed := func(n int) string {
		return fmt.Sprintf(`document.querySelectorAll("#notes li").length === %d`, n)
	}
	run("see a page", chromedp.Reload(), chromedp.Poll[chromedp.Void](listed(20), chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.WaitVisible(chromedp.CSS("#more")))
	if first := textOf("#notes li .content"); first != "note 24" {
		t.Fatalf("the first note listed is %q, want the newest", first)
	}
	run("see the rest", chromedp.Click(chromedp.CSS("#more")), chromedp.Poll[chromedp.Void](listed(25), chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.WaitNotVisible(chromedp.CSS("#more")))
	waitText("see the counts", "#counts", "25 notes, 0 files")

	// Export my data: one JSON file of every page of GET /me/export.
	run("export", chromedp.Click(chromedp.CSS("#export")))
	waitText("read that it exported", "#status", "Exported 25 notes")
	var exported struct {
		IdentityID string
		Notes      []apitest.Note
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(downloads, "scratch-export.json"))
		if err == nil && json.Unmarshal(b, &exported) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no export was saved: %v", err)
		}
	}
	if exported.IdentityID != webUser || len(exported.Notes) != 25 {
		t.Fatalf("the export holds %d notes of %q, want 25 of %s", len(exported.Notes), exported.IdentityID, webUser)
	}

	// Delete my account, once the person confirms.
	dialogs := make(chan string, 1)
	if err := chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*cdppage.EventJavascriptDialogOpening); ok {
			select {
			case dialogs <- d.Message:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	go chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#erase")))
	select {
	case msg := <-dialogs:
		if !strings.Contains(msg, "Delete your account?") {
			t.Fatalf("the confirmation says %q", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("deleting the account asked for no confirmation")
	}
	run("confirm", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
		return err
	}))
	waitText("read that the account is gone", "#status", "Your notes and files are deleted")
	waitText("see the counts at nothing", "#counts", "0 notes, 0 files")
	if n := countNotes(t, api); n != 0 {
		t.Fatalf("%d notes left after deleting the account", n)
	}
	trouble.Check(t)
}
