package routes_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

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
		{"default any origin", defaults(), appOrigin, "*"},
		{"exact origin", withOrigins("https://other.example.org", appOrigin), appOrigin, appOrigin},
		{"wildcard subdomain", withOrigins("https://*.example.com"), appOrigin, appOrigin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachDoor(t, tc.setup, func(t *testing.T, d door) {
				// A preflight carries no identity, even to the deployed door.
				resp := d.Do(t, preflight(tc.origin, "PUT", amplifyHeaders))
				if resp.Status != http.StatusOK {
					t.Fatalf("preflight = %d, want 200", resp.Status)
				}
				if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.wantOrigin {
					t.Fatalf("Allow-Origin = %q, want %q", got, tc.wantOrigin)
				}
				if got := resp.Header.Get("Access-Control-Allow-Methods"); !headerListHas(got, "PUT") {
					t.Fatalf("Allow-Methods = %q, want PUT", got)
				}
				allowed := resp.Header.Get("Access-Control-Allow-Headers")
				for _, h := range strings.Split(amplifyHeaders, ",") {
					if !headerListHas(allowed, h) {
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
	eachDoor(t, maxAge, func(t *testing.T, d door) {
		for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
			resp := d.Do(t, preflight(appOrigin, m, strings.ToUpper(all)))
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatalf("%s with every allowed header: refused (%v)", m, resp.Header)
			}
			if got := resp.Header.Get("Access-Control-Max-Age"); got != "42" {
				t.Fatalf("Max-Age = %q, want 42 from CORS_MAX_AGE", got)
			}
		}
		for _, bad := range []request{preflight(appOrigin, "PATCH", ""), preflight(appOrigin, "PUT", "content-type,x-custom-header")} {
			resp := d.Do(t, bad)
			if got := allowHeaders(resp.Header); len(got) != 0 {
				t.Fatalf("preflight %v: got %v, want no Access-Control-Allow-* header", bad.Header, got)
			}
		}
	})
}

func TestDisallowedOrigin(t *testing.T) {
	eachDoor(t, withOrigins(appOrigin, "https://*.example.com"), func(t *testing.T, d door) {
		for _, origin := range []string{"https://evil.example.org", "http://app.example.com", "https://example.com", "https://app.example.com.evil.org", "null"} {
			resp := d.Do(t, preflight(origin, "PUT", amplifyHeaders))
			if got := allowHeaders(resp.Header); len(got) != 0 {
				t.Fatalf("preflight from %s: got %v, want no Access-Control-Allow-*", origin, got)
			}
			resp = d.Do(t, request{Method: "GET", Path: "/notes", User: alice, Header: map[string]string{"Origin": origin}})
			if got := allowHeaders(resp.Header); len(got) != 0 {
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
		req  request
		want int
	}{
		{"400", request{Method: "POST", Path: "/notes", Header: map[string]string{"Content-Type": "application/json"}, Body: "{", User: alice}, 400},
		{"401", request{Method: "GET", Path: "/notes"}, 401},
		{"404 note", request{Method: "GET", Path: "/notes/nope", User: alice}, 404},
		{"404 path", request{Method: "GET", Path: "/nope", User: alice}, 404},
		{"405", request{Method: "DELETE", Path: "/notes", User: alice}, 405},
		{"413", request{Method: "POST", Path: "/notes", Header: map[string]string{"Content-Type": "application/json"}, Body: `{"content":"` + strings.Repeat("a", 1<<20) + `"}`, User: alice}, 413},
		{"415", request{Method: "POST", Path: "/notes", Header: map[string]string{"Content-Type": "text/plain"}, Body: `{}`, User: alice}, 415},
		{"503", request{Method: "POST", Path: "/billing", Header: map[string]string{"Content-Type": "application/json"}, Body: `{}`, User: alice}, 503},
	}
	for _, origins := range []string{"", appOrigin} {
		policy := defaults()
		wantOrigin := appOrigin
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
						h := map[string]string{"Origin": appOrigin}
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
						if !headerListHas(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
							t.Fatalf("Vary = %v, want Origin", resp.Header.Values("Vary"))
						}
						exposed := resp.Header.Get("Access-Control-Expose-Headers")
						for _, h := range []string{"X-Next-Cursor", "X-Request-Id", "Location"} {
							if !headerListHas(exposed, h) {
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
	creds := withOrigins(appOrigin)
	creds.cors.AllowCredentials = true
	eachDoor(t, creds, func(t *testing.T, d door) {
		resp := d.Do(t, preflight(appOrigin, "POST", "content-type"))
		if resp.Header.Get("Access-Control-Allow-Credentials") != "true" || resp.Header.Get("Access-Control-Allow-Origin") != appOrigin {
			t.Fatalf("preflight headers = %v, want credentials for the exact origin", resp.Header)
		}
		resp = d.Do(t, request{Method: "GET", Path: "/notes", User: alice, Header: map[string]string{"Origin": appOrigin}})
		if resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Fatalf("GET headers = %v, want Allow-Credentials: true", resp.Header)
		}
	})
}

func TestCredentialsWithWildcardRefused(t *testing.T) {
	for _, origins := range [][]string{nil, {"*"}, {"https://*.example.com"}, {appOrigin, "*"}} {
		_, err := routes.New(routes.Config{CORS: routes.CORS{AllowedOrigins: origins, AllowCredentials: true}})
		if !errors.Is(err, routes.ErrCredentialsWithWildcard) {
			t.Fatalf("origins %q with credentials: New = %v, want ErrCredentialsWithWildcard", origins, err)
		}
	}
}
