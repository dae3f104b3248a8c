package routes_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/origins"
	"github.com/scratch-notes/notes-api/routes"
)

// amplifyHeaders is what a SigV4-signing frontend asks a preflight for.
const amplifyHeaders = "authorization,content-type,x-amz-date,x-amz-security-token"

func TestPreflight(t *testing.T) {
	for _, tc := range []struct {
		name       string
		setup      setup
		origin     string
		wantOrigin string
	}{
		{"default any origin", defaults(), apitest.AppOrigin, "*"},
		{"exact origin", withOrigins("https://other.example.org", apitest.AppOrigin), apitest.AppOrigin, apitest.AppOrigin},
		{"wildcard subdomain", withOrigins("https://*.example.com"), apitest.AppOrigin, apitest.AppOrigin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachDoor(t, tc.setup, func(t *testing.T, d apitest.Door) {
				// A preflight carries no identity, even to the deployed door.
				resp := d.Do(t, apitest.Preflight(tc.origin, "PUT", amplifyHeaders))
				if resp.Status != http.StatusOK {
					t.Fatalf("preflight = %d, want 200", resp.Status)
				}
				if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.wantOrigin {
					t.Fatalf("Allow-Origin = %q, want %q", got, tc.wantOrigin)
				}
				if got := resp.Header.Get("Access-Control-Allow-Methods"); !apitest.HeaderListHas(got, "PUT") {
					t.Fatalf("Allow-Methods = %q, want PUT", got)
				}
				allowed := resp.Header.Get("Access-Control-Allow-Headers")
				for _, h := range strings.Split(amplifyHeaders, ",") {
					if !apitest.HeaderListHas(allowed, h) {
						t.Fatalf("Allow-Headers = %q, missing %s", allowed, h)
					}
				}
				if got := resp.Header.Get("Access-Control-Max-Age"); got != "600" {
					t.Fatalf("Max-Age = %q, want 600", got)
				}
				if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
					t.Fatalf("Allow-Credentials = %q by default, want none", got)
				}
				if resp.Header.Get("X-Request-Id") == "" {
					t.Fatal("preflight has no X-Request-Id")
				}
			})
		})
	}
}

func TestPreflightEveryHeaderAndMethod(t *testing.T) {
	all := "Content-Type, Authorization, X-Amz-Date, X-Amz-Security-Token, X-Amz-User-Agent, X-Amz-Content-Sha256, X-Api-Key, Idempotency-Key, X-Dev-Identity-Id"
	maxAge := defaults()
	maxAge.cors.MaxAge = 42
	eachDoor(t, maxAge, func(t *testing.T, d apitest.Door) {
		for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
			resp := d.Do(t, apitest.Preflight(apitest.AppOrigin, m, strings.ToUpper(all)))
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatalf("%s with every allowed header: refused (%v)", m, resp.Header)
			}
			if got := resp.Header.Get("Access-Control-Max-Age"); got != "42" {
				t.Fatalf("Max-Age = %q, want 42 from CORS_MAX_AGE", got)
			}
		}
		for _, bad := range []apitest.Request{apitest.Preflight(apitest.AppOrigin, "PATCH", ""), apitest.Preflight(apitest.AppOrigin, "PUT", "content-type,x-custom-header")} {
			resp := d.Do(t, bad)
			if got := apitest.AllowHeaders(resp.Header); len(got) != 0 {
				t.Fatalf("preflight %v: got %v, want no Access-Control-Allow-* header", bad.Header, got)
			}
		}
	})
}

func TestDisallowedOrigin(t *testing.T) {
	eachDoor(t, withOrigins(apitest.AppOrigin, "https://*.example.com"), func(t *testing.T, d apitest.Door) {
		for _, origin := range []string{"https://evil.example.org", "http://app.example.com", "https://example.com", "https://app.example.com.evil.org", "null"} {
			resp := d.Do(t, apitest.Preflight(origin, "PUT", amplifyHeaders))
			if got := apitest.AllowHeaders(resp.Header); len(got) != 0 {
				t.Fatalf("preflight from %s: got %v, want no Access-Control-Allow-*", origin, got)
			}
			resp = d.Do(t, apitest.Request{Method: "GET", Path: "/notes", User: apitest.Alice, Header: map[string]string{"Origin": origin}})
			if got := apitest.AllowHeaders(resp.Header); len(got) != 0 {
				t.Fatalf("GET from %s: got %v, want no Access-Control-Allow-*", origin, got)
			}
			if resp.Header.Get("Access-Control-Expose-Headers") != "" {
				t.Fatalf("GET from %s exposes headers", origin)
			}
		}
	})
}

// TestEveryErrorCarriesCORS pins that a browser can read every answer,
// errors included.
func TestEveryErrorCarriesCORS(t *testing.T) {
	cases := []struct {
		name string
		req  apitest.Request
		want int
	}{
		{"400", apitest.Request{Method: "POST", Path: "/notes", Header: map[string]string{"Content-Type": "application/json"}, Body: "{", User: apitest.Alice}, 400},
		{"401", apitest.Request{Method: "GET", Path: "/notes"}, 401},
		{"404 note", apitest.Request{Method: "GET", Path: "/notes/nope", User: apitest.Alice}, 404},
		{"404 path", apitest.Request{Method: "GET", Path: "/nope", User: apitest.Alice}, 404},
		{"405", apitest.Request{Method: "DELETE", Path: "/notes", User: apitest.Alice}, 405},
		{"413", apitest.Request{Method: "POST", Path: "/notes", Header: map[string]string{"Content-Type": "application/json"}, Body: `{"content":"` + strings.Repeat("a", 1<<20) + `"}`, User: apitest.Alice}, 413},
		{"415", apitest.Request{Method: "POST", Path: "/notes", Header: map[string]string{"Content-Type": "text/plain"}, Body: `{}`, User: apitest.Alice}, 415},
		{"503", apitest.Request{Method: "POST", Path: "/billing", Header: map[string]string{"Content-Type": "application/json"}, Body: `{}`, User: apitest.Alice}, 503},
	}
	for _, origins := range []string{"", apitest.AppOrigin} {
		policy := defaults()
		wantOrigin := apitest.AppOrigin
		if origins == "" {
			wantOrigin = "*"
		} else {
			policy = withOrigins(origins)
		}
		t.Run("origins="+origins, func(t *testing.T) {
			for name, d := range doors(t, policy) {
				for _, tc := range cases {
					if tc.want == 401 && name == "local" {
						continue // the local server always has an identity
					}
					t.Run(name+"/"+tc.name, func(t *testing.T) {
						req := tc.req
						h := map[string]string{"Origin": apitest.AppOrigin}
						for k, v := range req.Header {
							h[k] = v
						}
						req.Header = h
						resp := d.Do(t, req)
						if resp.Status != tc.want {
							t.Fatalf("status = %d, want %d", resp.Status, tc.want)
						}
						resp.ErrorMessage(t)
						if got := resp.Header.Get("Access-Control-Allow-Origin"); got != wantOrigin {
							t.Fatalf("Allow-Origin = %q, want %q", got, wantOrigin)
						}
						if !apitest.HeaderListHas(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
							t.Fatalf("Vary = %v, want Origin", resp.Header.Values("Vary"))
						}
						exposed := resp.Header.Get("Access-Control-Expose-Headers")
						for _, h := range []string{"X-Next-Cursor", "X-Request-Id", "Location"} {
							if !apitest.HeaderListHas(exposed, h) {
								t.Fatalf("Expose-Headers = %q, missing %s", exposed, h)
							}
						}
						if resp.Header.Get("X-Request-Id") == "" {
							t.Fatal("no X-Request-Id")
						}
					})
				}
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	creds := withOrigins(apitest.AppOrigin)
	creds.cors.AllowCredentials = true
	eachDoor(t, creds, func(t *testing.T, d apitest.Door) {
		resp := d.Do(t, apitest.Preflight(apitest.AppOrigin, "POST", "content-type"))
		if resp.Header.Get("Access-Control-Allow-Credentials") != "true" || resp.Header.Get("Access-Control-Allow-Origin") != apitest.AppOrigin {
			t.Fatalf("preflight headers = %v, want credentials for the exact origin", resp.Header)
		}
		resp = d.Do(t, apitest.Request{Method: "GET", Path: "/notes", User: apitest.Alice, Header: map[string]string{"Origin": apitest.AppOrigin}})
		if resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Fatalf("GET headers = %v, want Allow-Credentials: true", resp.Header)
		}
	})
}

func TestCredentialsWithWildcardRefused(t *testing.T) {
	for _, list := range [][]string{nil, {"*"}, {"https://*.example.com"}, {apitest.AppOrigin, "*"}} {
		_, err := routes.New(routes.Config{CORS: origins.Policy{AllowedOrigins: list, AllowCredentials: true}})
		if !errors.Is(err, origins.ErrCredentialsWithWildcard) {
			t.Fatalf("origins %q with credentials: New = %v, want ErrCredentialsWithWildcard", list, err)
		}
	}
}

// TestNonASCIIOrigin: an Origin with a non-ASCII letter is refused before
// its case is changed: lower-cased, the Kelvin sign is a k, and
// https://\u212a.example.com would pass for https://k.example.com.
func TestNonASCIIOrigin(t *testing.T) {
	eachDoor(t, withOrigins("https://*.example.com"), func(t *testing.T, d apitest.Door) {
		for origin, allowed := range map[string]bool{"https://k.example.com": true, "https://\u212a.example.com": false, "https://\u212A.EXAMPLE.com": false} {
			resp := d.Do(t, apitest.Preflight(origin, "GET", "authorization"))
			if got := resp.Header.Get("Access-Control-Allow-Origin") != ""; got != allowed {
				t.Fatalf("preflight from %q: allowed = %v, want %v", origin, got, allowed)
			}
		}
	})
}
