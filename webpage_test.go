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
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/web"
)

// webhookSecret is the page's API's Stripe webhook signing secret.
const webhookSecret = "whsec_web"

// pageDriver drives one tab of the page, failing the test when a step
// does not happen within its time.
type pageDriver struct {
	t       *testing.T
	ctx     context.Context
	dialogs chan string
}

func newPageDriver(t *testing.T) *pageDriver {
	t.Helper()
	d := &pageDriver{t: t, ctx: browsertest.New(t), dialogs: make(chan string, 4)}
	if err := chromedp.Listen(d.ctx, func(ev any) {
		if e, ok := ev.(*cdppage.EventJavascriptDialogOpening); ok {
			d.dialogs <- e.Message
		}
	}); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *pageDriver) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	c, cancel := context.WithTimeout(d.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		d.t.Fatalf("%s: %v", what, err)
	}
}

func (d *pageDriver) text(sel string) string {
	d.t.Helper()
	s, err := chromedp.Run(d.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		d.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// waitText waits until sel's text holds want.
func (d *pageDriver) waitText(what, sel, want string) {
	d.t.Helper()
	d.run(what, chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector(%q)?.textContent.includes(%q)`, sel, want),
		chromedp.WithPollingTimeout(15*time.Second)))
}

// eval runs js in the page and returns its value.
func eval[T any](d *pageDriver, js string) T {
	d.t.Helper()
	v, err := chromedp.Run(d.ctx, chromedp.Evaluate[T](js, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	if err != nil {
		d.t.Fatalf("evaluate %.60s: %v", js, err)
	}
	return v
}

// confirmClick clicks sel, which must ask first: it reads the question,
// which must hold want, and accepts it.
func (d *pageDriver) confirmClick(what, sel, want string) {
	d.t.Helper()
	go chromedp.Do(d.ctx, chromedp.Click(chromedp.CSS(sel)))
	select {
	case msg := <-d.dialogs:
		if !strings.Contains(msg, want) {
			d.t.Fatalf("%s: the page asks %q, want %q in it", what, msg, want)
		}
	case <-time.After(15 * time.Second):
		d.t.Fatalf("%s: the page asked nothing first", what)
	}
	d.run(what, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
		return err
	}))
}

// servePage serves web/ with the config config returns, once the API's
// origin (the page's URL) is known.
func servePage(t *testing.T, config *web.Config) string {
	t.Helper()
	testenv.WebModules(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.Handler(web.Dir(), *config).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestWebPage uses the page the way a person does with the stack, in
// Chromium, signing in and signing every call, against the built binary
// with AUTH=iam and a moto_server user pool: sign up, confirm and sign
// in; save, edit, attach, download a file; be told what is too large or
// empty; buy storage (a PaymentIntent, from stripe-mock); delete; page
// through the list; export; erase; sign out and be refused. A preflight
// with the signing headers passes on every route. Any console error or
// failed request fails the test, but for the refusals it provokes. With
// NOTES_UPDATE_SCREENSHOT=1 it keeps its screenshot as
// web/screenshot.png, the README's.
func TestWebPage(t *testing.T) {
	pool := testenv.UserPool(t)
	var config web.Config
	page := servePage(t, &config)
	p := startBinary(t, append(pool.Env(), "CORS_ALLOWED_ORIGINS="+page, "STRIPE_SECRET_KEY=sk_test_web",
		"STRIPE_API_BASE="+testenv.StripeMock(t), "STRIPE_WEBHOOK_SECRET="+webhookSecret, "FREE_NOTES=30")...)
	api := p.URL
	config = web.Config{Region: pool.Region, APIURL: api, UserPoolID: pool.ID, UserPoolClientID: pool.ClientID,
		IdentityPoolID: pool.IdentityPoolID, UserPoolEndpoint: pool.Endpoint, IdentityEndpoint: api}

	d := newPageDriver(t)
	// What the test provokes: the routes' probe of a note that is not
	// there, and an unsigned call once signed out.
	provoked := map[string]int64{api + "/notes/n1": 404, api + "/notes/n1/attachment": 404, api + "/notes": 403}
	trouble := &browsertest.Trouble{Expected: func(url string, status int64) bool {
		want, ok := provoked[url]
		return ok && (status == want || status == 0)
	}}
	trouble.Listen(t, d.ctx)
	downloads := t.TempDir()
	d.run("let the page download", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
		return err
	}))

	// Sign up, confirm with the code (moto takes any), and be signed in.
	const email, password = "page@example.com", "Passw0rd!page"
	d.run("open the page", chromedp.Navigate(page+"/"), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
	if visible := eval[bool](d, `!document.querySelector("#app").hidden`); visible {
		t.Fatal("the notes show before anyone signed in")
	}
	d.run("create an account", chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#signup-button")), chromedp.WaitVisible(chromedp.CSS("#confirm-form")))
	d.waitText("read where the code went", "#confirm-email", email)
	d.run("confirm it", chromedp.SendKeys(chromedp.CSS("#code"), "123456"), chromedp.Click(chromedp.CSS("#confirm-button")))
	d.waitText("be signed in", "#status", "Account confirmed: signed in as "+email)
	d.waitText("see the identity", "#who", "us-east-1:")
	identity := d.text("#who")
	d.waitText("see the account", "#account", email)

	// The same user, signed in from Go with the pool's password flow,
	// is the same identity: the test's own signed calls act as them.
	tokens, err := pool.SignIn(context.Background(), email, password)
	if err != nil {
		t.Fatal(err)
	}
	id, creds := poolCredentials(t, api, pool, tokens.ID)
	if id != identity {
		t.Fatalf("the page is %s, the same user from the SDK %s", identity, id)
	}
	countNotes := func() int {
		t.Helper()
		status, body := signedCall(t, creds, "GET", api+"/me", "", nil)
		if status != http.StatusOK {
			t.Fatalf("GET /me = %d %v", status, body)
		}
		return int(body["notes"].(float64))
	}

	if !eval[bool](d, `document.querySelector("#save").disabled`) {
		t.Fatal("Save can be clicked with nothing written")
	}
	// Two clicks on Save make one save: the button waits for the first.
	d.run("write a note", chromedp.SendKeys(chromedp.CSS("#content"), "My first note"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#save").click(); document.querySelector("#save").click()`))
	d.waitText("see it listed", "#notes", "My first note")
	d.waitText("read that it saved", "#status", "Saved")
	if n := countNotes(); n != 1 {
		t.Fatalf("a double click on Save made %d notes, want 1", n)
	}
	d.run("try to save blanks", chromedp.SetValue(chromedp.CSS("#content"), "   "),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#editor").requestSubmit()`))
	d.waitText("read that an empty note can't be saved", "#error", "an empty note can't be saved")

	d.run("edit it", chromedp.Click(chromedp.CSS("#notes li .edit")), chromedp.SetValue(chromedp.CSS("#content"), "My edited note"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#content").dispatchEvent(new Event("input"))`), chromedp.Click(chromedp.CSS("#save")))
	d.waitText("see the edit", "#notes", "My edited note")
	if strings.Contains(d.text("#notes"), "My first note") {
		t.Fatal("the old text is still listed")
	}

	dir := t.TempDir()
	small := filepath.Join(dir, "hello.txt")
	os.WriteFile(small, []byte("hello from a file"), 0o600)
	big := filepath.Join(dir, "too-big.bin")
	os.WriteFile(big, bytes.Repeat([]byte{7}, 5_000_001), 0o600)
	d.run("attach a file", chromedp.Click(chromedp.CSS("#notes li .edit")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{small}), chromedp.Click(chromedp.CSS("#save")))
	d.waitText("see the file", "#notes li .file", "hello.txt")
	// The page lets go of the file it hands the browser only once the
	// browser has it: a spy records every revokeObjectURL.
	d.run("spy on revokeObjectURL", chromedp.Evaluate[chromedp.Void](`window.revoked = 0;
		const revoke = URL.revokeObjectURL; URL.revokeObjectURL = (u) => { window.revoked++; revoke(u); }`))
	d.run("download it", chromedp.Click(chromedp.CSS("#notes li .download")))
	d.waitText("read that it downloaded", "#status", "Downloaded hello.txt (17 bytes)")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(downloads, "hello.txt"))
		if err == nil && string(b) == "hello from a file" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser saved no hello.txt: %q, %v", b, err)
		}
	}
	if n := eval[int](d, "window.revoked"); n != 0 {
		t.Fatalf("the page revoked the file's URL %d times by the time the browser saved it, want none", n)
	}
	d.run("attach a file too large", chromedp.Click(chromedp.CSS("#notes li .edit")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{big}), chromedp.Click(chromedp.CSS("#save")))
	d.waitText("read the limit", "#error", "a file may be at most 5 MB (5,000,000 bytes)")
	d.run("cancel", chromedp.Click(chromedp.CSS("#cancel")))

	// A long URL wraps: the page gets no wider than the window.
	long := "https://example.com/" + strings.Repeat("a-very-long-path-segment/", 20)
	d.run("save a long URL", chromedp.SendKeys(chromedp.CSS("#content"), long), chromedp.Click(chromedp.CSS("#save")))
	d.waitText("see it listed", "#notes", long[:60])
	if wide := eval[bool](d, `document.documentElement.scrollWidth > document.documentElement.clientWidth`); wide {
		t.Fatal("a long URL in a note makes the page scroll sideways")
	}

	// Buy storage: the page makes the PaymentIntent (Stripe.js cannot
	// load here: the page says what it needs), Stripe's webhook records
	// it, and the page shows it once it reloads, still signed in.
	d.run("buy 21 notes", chromedp.SetValue(chromedp.CSS("#storage"), "21"), chromedp.Click(chromedp.CSS("#buy-button")))
	d.waitText("read that the payment is ready", "#status", "A payment of $42.00 for 21 notes is ready (pi_")
	d.waitText("read what paying needs", "#payment", "stripePublishableKey")
	event := `{"id":"evt_web","object":"event","type":"payment_intent.succeeded","livemode":false,"data":{"object":{"id":"pi_web","object":"payment_intent",` +
		`"amount":4200,"amount_received":4200,"currency":"usd","created":1764547200,"metadata":{"identityId":"` + identity + `","storage":"21"}}}}`
	if status, body := post(t, api+"/billing/webhook", event, map[string]string{"Stripe-Signature": stripeSignature(event, webhookSecret)}); status != http.StatusOK {
		t.Fatalf("webhook = %d %s", status, body)
	}
	d.run("reload", chromedp.Reload())
	d.waitText("see what was paid for, still signed in", "#paid", "21 notes paid for (1 payment)")
	d.waitText("see the allowance", "#allowance", "You may keep 51 notes: 30 free and 21 paid for. You keep 2.")

	shot, err := chromedp.Run(d.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if img, err := png.Decode(bytes.NewReader(shot)); err != nil || img.Bounds().Dx() < 300 {
		t.Fatalf("screenshot: %v", err)
	}
	if os.Getenv("NOTES_UPDATE_SCREENSHOT") == "1" {
		if err := os.WriteFile(filepath.Join("web", "screenshot.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	d.confirmClick("delete a note", "#notes li .delete", "Delete the note")
	d.waitText("read that it is gone", "#status", "Deleted")
	if n := countNotes(); n != 1 {
		t.Fatalf("%d notes after deleting one of two, want 1", n)
	}

	// More notes than a page: the list shows the newest and follows
	// X-Next-Cursor with More.
	for i := range 25 {
		if status, body := signedCall(t, creds, "POST", api+"/notes", fmt.Sprintf(`{"content":"note %02d"}`, i), nil); status != http.StatusCreated {
			t.Fatalf("create = %d %v", status, body)
		}
	}
	listed := func(n int) string { return fmt.Sprintf(`document.querySelectorAll("#notes li").length === %d`, n) }
	d.run("see a page", chromedp.Reload(), chromedp.Poll[chromedp.Void](listed(20), chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.WaitVisible(chromedp.CSS("#more")))
	if first := d.text("#notes li .content"); first != "note 24" {
		t.Fatalf("the first note listed is %q, want the newest", first)
	}
	d.run("see the rest", chromedp.Click(chromedp.CSS("#more")), chromedp.Poll[chromedp.Void](listed(26), chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.WaitNotVisible(chromedp.CSS("#more")))
	d.waitText("see the counts", "#counts", "26 notes, 1 file")

	// A preflight with the signing headers passes on every route: each
	// call, signed as the page signs them, is answered and readable.
	routes := `[["GET","/notes"],["POST","/notes",{"content":"x"}],["GET","/notes/n1"],["PUT","/notes/n1",{"content":"x"}],
		["DELETE","/notes/n1"],["GET","/notes/n1/attachment"],["POST","/attachments",{"fileName":"a.txt","contentType":"text/plain","size":1}],
		["POST","/billing",{"storage":1}],["GET","/billing"],["GET","/me"],["GET","/me/export"],["GET","/"],["GET","/openapi.json"]]`
	got := eval[[]string](d, fmt.Sprintf(`(async () => {
		const { AwsClient } = await import("aws4fetch");
		const aws = new AwsClient({accessKeyId: %q, secretAccessKey: %q, sessionToken: %q, service: "execute-api", region: "us-east-1", retries: 0});
		const out = [];
		for (const [method, path, body] of %s) {
			try {
				const r = await aws.fetch(%q + path, {method, headers: body ? {"Content-Type": "application/json", "Idempotency-Key": "k-" + path} : {},
					body: body ? JSON.stringify(body) : undefined});
				out.push(method + " " + path + " " + r.status);
			} catch (e) { out.push(method + " " + path + " unreadable: " + e); }
		}
		return out;
	})()`, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, routes, api))
	for _, line := range got {
		if strings.Contains(line, "unreadable") || strings.HasSuffix(line, " 403") {
			t.Fatalf("a signed call from the page: %s (all: %v)", line, got)
		}
	}
	if len(got) != 13 {
		t.Fatalf("signed calls = %v", got)
	}

	d.run("export", chromedp.Click(chromedp.CSS("#export")))
	d.waitText("read that it exported", "#status", "Exported 27 notes")
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
	if exported.IdentityID != identity || len(exported.Notes) != 27 {
		t.Fatalf("the export holds %d notes of %q, want 27 of %s", len(exported.Notes), exported.IdentityID, identity)
	}
	d.confirmClick("delete the account", "#erase", "Delete your account?")
	d.waitText("read that the account is gone", "#status", "Your notes and files are deleted")
	d.waitText("see the counts at nothing", "#counts", "0 notes, 0 files")

	// Signed out: the sign-in form, nothing of the user, and the API
	// refuses what the page sends without signing.
	d.run("sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
	if n := eval[int](d, `document.querySelectorAll("#notes li").length`); n != 0 || !eval[bool](d, `document.querySelector("#app").hidden`) {
		t.Fatal("the notes still show after signing out")
	}
	refused := eval[map[string]any](d, fmt.Sprintf(`fetch(%q).then(async r => ({status: r.status, body: await r.json()}))`, api+"/notes"))
	if refused["status"] != 403.0 || refused["body"].(map[string]any)["error"] == "" {
		t.Fatalf("an unsigned call once signed out = %v, want a readable 403", refused)
	}
	d.run("reload signed out", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
	trouble.Check(t)
}

// TestWebPageLocal: with no pools in config.json the page signs no one
// in and uses the local API's identities (`make run`); an API that
// cannot be reached is said so in words.
func TestWebPageLocal(t *testing.T) {
	var config web.Config
	page := servePage(t, &config)
	api := startBinary(t, "CORS_ALLOWED_ORIGINS="+page, "DEV_IDENTITY_ID=web-user").URL
	config = web.Config{APIURL: api}
	d := newPageDriver(t)
	trouble := &browsertest.Trouble{Expected: func(string, int64) bool { return false }}
	trouble.Listen(t, d.ctx)
	d.run("open the page", chromedp.Navigate(page+"/"), chromedp.WaitVisible(chromedp.CSS("#editor")))
	d.waitText("see the local identity", "#who", "web-user")
	d.run("write a note", chromedp.SendKeys(chromedp.CSS("#content"), "Local note"), chromedp.Click(chromedp.CSS("#save")))
	d.waitText("see it listed", "#notes", "Local note")
	if eval[bool](d, `!document.querySelector("#signout").hidden`) {
		t.Fatal("a Sign out button with no sign-in")
	}
	trouble.Check(t)

	closed := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	config = web.Config{APIURL: closed}
	d2 := newPageDriver(t)
	d2.run("open the page with the API down", chromedp.Navigate(page+"/"))
	d2.waitText("read that it cannot be reached", "#error", "The API at "+closed+" cannot be reached")
}
