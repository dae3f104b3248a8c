//go:build !lambda

package routes_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scratch-notes/notes-api/billing"
	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/routes"
)

// The fuzz targets drive the handler in process (no HTTP between), on a
// real bbolt store; `make test` runs each for a few seconds and `make
// fuzz` for longer. Their seeds are in testdata/fuzz/.

// approvingBiller charges every card and makes every intent: billing's own
// failures are not what these targets look for.
type approvingBiller struct{}

func (approvingBiller) Charge(context.Context, billing.Charge) (string, error) { return "ch_fuzz", nil }

func (approvingBiller) CreateIntent(_ context.Context, in billing.Intent) (billing.PaymentIntent, error) {
	return billing.PaymentIntent{ID: "pi_fuzz", ClientSecret: "pi_fuzz_secret_x", Status: "requires_payment_method", Amount: in.Amount}, nil
}

func (approvingBiller) Event(context.Context, []byte, string) (billing.Event, error) {
	return billing.Event{}, errors.New("no events while fuzzing")
}

func (approvingBiller) Recent(context.Context, time.Time) ([]billing.Event, error) {
	return nil, errors.New("no events while fuzzing")
}

// fuzzAPI is the handler every body target sends to, with alice's note.
type fuzzAPI struct {
	h      http.Handler
	noteID string
}

func newFuzzAPI(f *testing.F) fuzzAPI {
	s := defaults()
	s.billing = approvingBiller{}
	b := localBucket(f)
	b.storeFile(f, apitest.Alice, "1603846842984-a.jpg", []byte("a"))
	s.files = b.files
	h := s.handler(f, openBolt(f), routes.IdentityLocal)
	rec := serve(h, "POST", "/notes", `{"content":"alice's secret","attachment":"1603846842984-a.jpg"}`, apitest.Alice, nil)
	var n apitest.Note
	if err := json.Unmarshal(rec.Body.Bytes(), &n); err != nil || n.NoteID == "" {
		f.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	return fuzzAPI{h: h, noteID: n.NoteID}
}

func serve(h http.Handler, method, target, body, user string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://api.test/", strings.NewReader(body))
	req.URL, _ = url.Parse(target)
	req.RequestURI = target
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.Header.Set("X-Dev-Identity-Id", user)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// check4xx fails unless the answer is a 2xx, or a 4xx with a JSON error.
func check4xx(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 || rec.Code < 200 {
		t.Fatalf("%s: status %d: %s", what, rec.Code, rec.Body)
	}
	if rec.Code >= 400 {
		var e map[string]string
		if rec.Header().Get("Content-Type") != "application/json" || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e["error"] == "" || len(e) != 1 {
			t.Fatalf("%s: %d answer is not a JSON error: %q", what, rec.Code, rec.Body)
		}
	}
}

func FuzzNoteBody(f *testing.F) {
	api := newFuzzAPI(f)
	f.Add([]byte(`{"content":"hello","attachment":null}`))
	f.Add([]byte(`{"content":"a","attachment":"x/../y"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		check4xx(t, "POST /notes", serve(api.h, "POST", "/notes", string(body), apitest.Bob, nil))
		check4xx(t, "PUT /notes/{id}", serve(api.h, "PUT", "/notes/"+api.noteID, string(body), apitest.Alice, nil))
	})
}

func FuzzBillingBody(f *testing.F) {
	api := newFuzzAPI(f)
	f.Add([]byte(`{"storage":"21","source":"tok_visa"}`))
	f.Add([]byte(`{"storage":1e3,"source":"tok_visa"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		check4xx(t, "POST /billing", serve(api.h, "POST", "/billing", string(body), apitest.Alice, nil))
	})
}

func FuzzAttachmentBody(f *testing.F) {
	api := newFuzzAPI(f)
	f.Add([]byte(`{"fileName":"a.jpg","contentType":"image/jpeg","size":10}`))
	f.Add([]byte(`{"fileName":"..","contentType":"image","size":-1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		// An identity the local endpoint keeps files for: no ':'.
		check4xx(t, "POST /attachments", serve(api.h, "POST", "/attachments", string(body), "local-alice", nil))
	})
}

// FuzzForeignID: whatever bob puts where a note id or a cursor goes, he
// never reads, changes or learns of alice's note, and never gets a 5xx.
func FuzzForeignID(f *testing.F) {
	api := newFuzzAPI(f)
	f.Add(api.noteID)
	f.Add("..%2f" + api.noteID)
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id := url.PathEscape(s)
		for _, c := range []struct{ method, target, body string }{
			{"GET", "/notes/" + id, ""},
			{"GET", "/notes/" + id + "/attachment", ""},
			{"PUT", "/notes/" + id, `{"content":"bob was here"}`},
			{"DELETE", "/notes/" + id, ""},
			{"GET", "/notes?cursor=" + url.QueryEscape(s), ""},
			{"GET", "/notes?limit=5&cursor=" + url.QueryEscape(s), ""},
		} {
			rec := serve(api.h, c.method, c.target, c.body, apitest.Bob, nil)
			check4xx(t, c.method+" "+c.target, rec)
			if strings.Contains(rec.Body.String(), api.noteID) || strings.Contains(rec.Body.String(), "secret") {
				t.Fatalf("%s %s as bob shows alice's note: %s", c.method, c.target, rec.Body)
			}
		}
		// Alice's note is as it was.
		rec := serve(api.h, "GET", "/notes/"+api.noteID, "", apitest.Alice, nil)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "alice's secret") {
			t.Fatalf("alice's note after bob: %d %s", rec.Code, rec.Body)
		}
	})
}

// allowedByPolicy is the contract's CORS rule (docs/frontend.md's "What a
// browser may do") for the policy
// "https://app.example.com, https://*.example.org", written out
// independently of the code: a serialized http(s) origin whose host is
// exactly app.example.com, or one or more labels under example.org.
func allowedByPolicy(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "https" ||
		u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || u.Port() != "" ||
		strings.ContainsAny(origin, "?#") || origin != strings.TrimSpace(origin) {
		return false
	}
	host := strings.ToLower(u.Host)
	if strings.ToLower(origin) != "https://"+host {
		return false
	}
	label := func(l string) bool {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
		return true
	}
	if host == "app.example.com" {
		return true
	}
	sub, ok := strings.CutSuffix(host, ".example.org")
	if !ok || sub == "" {
		return false
	}
	for _, l := range strings.Split(sub, ".") {
		if !label(l) {
			return false
		}
	}
	return true
}

// FuzzOrigin: an Origin is reflected, on a preflight and on an answer,
// only when the policy allows it, and then exactly as sent.
func FuzzOrigin(f *testing.F) {
	s := withOrigins(apitest.AppOrigin, "https://*.example.org")
	h := s.handler(f, openBolt(f), routes.IdentityLocal)
	for _, o := range []string{apitest.AppOrigin, "https://a.example.org", "https://evil.com/.example.org", "https://.example.org",
		"HTTPS://APP.EXAMPLE.COM", "https://app.example.com.evil.org", "null", "https://x.example.org:443", ""} {
		f.Add(o)
	}
	f.Fuzz(func(t *testing.T, origin string) {
		if strings.ContainsAny(origin, "\r\n\x00") {
			return // not a header value a client can send
		}
		want := allowedByPolicy(origin)
		for _, rec := range []*httptest.ResponseRecorder{
			serve(h, "GET", "/notes", "", apitest.Alice, map[string]string{"Origin": origin}),
			serve(h, "OPTIONS", "/notes", "", "", map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST"}),
		} {
			got := rec.Header().Get("Access-Control-Allow-Origin")
			if (got != "") != want || (want && got != origin) {
				t.Fatalf("Origin %q: Access-Control-Allow-Origin = %q, policy allows it: %v", origin, got, want)
			}
			if rec.Code >= 500 {
				t.Fatalf("Origin %q: status %d", origin, rec.Code)
			}
		}
	})
}
