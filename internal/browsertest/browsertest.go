// Package browsertest runs headless Chromium (Debian's, which make test
// installs) for the tests that use the API from a real browser, and
// watches a page for what must not happen on it.
//
// Only tests import it.
package browsertest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/scratch-notes/notes-api/internal/testenv"
)

// New starts headless Chromium with a fresh profile and returns a
// context for one tab in it.
func New(t testing.TB) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(testenv.Chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Trouble collects what must not happen on the page: console errors,
// uncaught exceptions, failed requests and error answers, except those
// the test provokes on purpose.
type Trouble struct {
	mu       sync.Mutex
	problems []string
	// Expected reports whether an error answer of url is one the test
	// provokes; status is 0 for the console's line about it.
	Expected func(url string, status int64) bool
}

func (p *Trouble) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

// Listen collects what happens in the tab of ctx.
func (p *Trouble) Listen(t testing.TB, ctx context.Context) {
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
			if ev.Response.Status >= 400 && !p.Expected(ev.Response.URL, ev.Response.Status) {
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

func (p *Trouble) expectedURL(url string) bool { return p.Expected(url, 0) }

// Check fails the test if anything went wrong on the page.
func (p *Trouble) Check(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.problems) > 0 {
		t.Fatalf("the page had trouble:\n%s", strings.Join(p.problems, "\n"))
	}
}
