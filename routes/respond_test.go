package routes

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/scratch-notes/notes-api/billing"
	"github.com/scratch-notes/notes-api/store"
)

// TestStatusOf pins the one error mapping: what each error the handlers
// meet becomes, and that nothing internal reaches the message.
func TestStatusOf(t *testing.T) {
	secret := errors.New("dial tcp 10.0.0.5:8000: connection refused")
	for _, tc := range []struct {
		err  error
		want int
		msg  string
	}{
		{errorf(http.StatusTeapot, "short and stout"), http.StatusTeapot, "short and stout"},
		{fmt.Errorf("get: %w", store.ErrNotFound), http.StatusNotFound, "note not found"},
		{fmt.Errorf("list: %w", store.ErrBadCursor), http.StatusBadRequest, "cursor is not valid"},
		{fmt.Errorf("create: %w", store.ErrConflict), http.StatusConflict, "already exists"},
		{fmt.Errorf("%w (%w)", store.ErrUnavailable, secret), http.StatusServiceUnavailable, "retry shortly"},
		{&billing.Error{Kind: billing.Declined, Message: "Your card was declined."}, http.StatusPaymentRequired, "Your card was declined."},
		{&billing.Error{Kind: billing.Invalid, Message: "the payment was refused: No such token"}, http.StatusBadRequest, "No such token"},
		{&billing.Error{Kind: billing.Upstream, Message: "the payment service failed"}, http.StatusBadGateway, "payment service failed"},
		{secret, http.StatusInternalServerError, "internal error"},
	} {
		status, msg := statusOf(tc.err)
		if status != tc.want || !strings.Contains(msg, tc.msg) {
			t.Fatalf("statusOf(%v) = %d %q, want %d and a message with %q", tc.err, status, msg, tc.want, tc.msg)
		}
		if strings.Contains(msg, "10.0.0.5") {
			t.Fatalf("statusOf(%v) message %q leaks the cause", tc.err, msg)
		}
	}
}

// FuzzEscapedLen holds escapedLen to what encoding/json really writes.
func FuzzEscapedLen(f *testing.F) {
	for _, s := range []string{`{"content":"a \"quote\" \\ <b> & \u0001"}`, "\u2028\u2029\xff\xfe", "plain"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		enc, err := json.Marshal(string(b))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := escapedLen(b), len(enc)-2; got != want {
			t.Fatalf("escapedLen(%q) = %d, want %d (%s)", b, got, want, enc)
		}
	})
}

// TestRoutesAreTheContract walks the router: every route is an operation
// of openapi.json, and every operation there is a route.
func TestRoutesAreTheContract(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				want[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	s := &Server{}
	r := chi.NewRouter()
	s.routes(r)
	got := map[string]bool{}
	chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		got[method+" "+route] = true
		return nil
	})
	for op := range got {
		if !want[op] {
			t.Errorf("route %s is not in openapi.json", op)
		}
	}
	for op := range want {
		if !got[op] {
			t.Errorf("openapi.json has %s, which is no route", op)
		}
	}
	var info struct {
		Info struct{ Version string } `json:"info"`
	}
	json.Unmarshal(OpenAPI(), &info)
	if info.Info.Version != Version {
		t.Fatalf("openapi.json is version %q, the API says %q", info.Info.Version, Version)
	}
}
