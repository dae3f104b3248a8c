package main

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/scratch-notes/notes-api/routes"
)

const appOrigin = "https://app.example.com"

// amplifyHeaders is what a SigV4-signing frontend asks a preflight for.
const amplifyHeaders = "authorization,content-type,x-amz-date,x-amz-security-token"

func preflight(origin, method, headers string) request {
	return request{method: "OPTIONS", path: "/notes/0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e", header: map[string]string{
		"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers,
	}}
}

// allowHeaders returns the Access-Control-Allow-* headers of a response.
func allowHeaders(h http.Header) []string {
	var got []string
	for k := range h {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), "Access-Control-Allow-") {
			got = append(got, k)
		}
	}
	return got
}

func headerListHas(list, want string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), want) {
			return true
		}
	}
	return false
}

func TestPreflight(t *testing.T) {
	for _, tc := range []struct {
		name       string
		env        map[string]string
		origin     string
		wantOrigin string
	}{
		{"default any origin", nil, appOrigin, "*"},
		{"exact origin", map[string]string{"CORS_ALLOWED_ORIGINS": "https://other.example.org, " + appOrigin}, appOrigin, appOrigin},
		{"wildcard subdomain", map[string]string{"CORS_ALLOWED_ORIGINS": "https://*.example.com"}, appOrigin, appOrigin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachDoor(t, tc.env, nil, func(t *testing.T, d door) {
				// A preflight carries no identity, even to the deployed door.
				resp := d.do(t, preflight(tc.origin, "PUT", amplifyHeaders))
				if resp.status != http.StatusOK {
					t.Fatalf("preflight = %d, want 200", resp.status)
				}
				if got := resp.header.Get("Access-Control-Allow-Origin"); got != tc.wantOrigin {
					t.Fatalf("Allow-Origin = %q, want %q", got, tc.wantOrigin)
				}
				if got := resp.header.Get("Access-Control-Allow-Methods"); !headerListHas(got, "PUT") {
					t.Fatalf("Allow-Methods = %q, want PUT", got)
				}
				allowed := resp.header.Get("Access-Control-Allow-Headers")
				for _, h := range strings.Split(amplifyHeaders, ",") {
					if !headerListHas(allowed, h) {
						t.Fatalf("Allow-Headers = %q, missing %s", allowed, h)
					}
				}
				if got := resp.header.Get("Access-Control-Max-Age"); got != "600" {
					t.Fatalf("Max-Age = %q, want 600", got)
				}
				if got := resp.header.Get("Access-Control-Allow-Credentials"); got != "" {
					t.Fatalf("Allow-Credentials = %q by default, want none", got)
				}
				if resp.header.Get("X-Request-Id") == "" {
					t.Fatal("preflight has no X-Request-Id")
				}
			})
		})
	}
}

func TestPreflightEveryHeaderAndMethod(t *testing.T) {
	all := "Content-Type, Authorization, X-Amz-Date, X-Amz-Security-Token, X-Amz-User-Agent, X-Amz-Content-Sha256, X-Api-Key, Idempotency-Key, X-Dev-Identity-Id"
	eachDoor(t, map[string]string{"CORS_MAX_AGE": "42"}, nil, func(t *testing.T, d door) {
		for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
			resp := d.do(t, preflight(appOrigin, m, strings.ToUpper(all)))
			if resp.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatalf("%s with every allowed header: refused (%v)", m, resp.header)
			}
			if got := resp.header.Get("Access-Control-Max-Age"); got != "42" {
				t.Fatalf("Max-Age = %q, want 42 from CORS_MAX_AGE", got)
			}
		}
		for _, bad := range []request{preflight(appOrigin, "PATCH", ""), preflight(appOrigin, "PUT", "content-type,x-custom-header")} {
			resp := d.do(t, bad)
			if got := allowHeaders(resp.header); len(got) != 0 {
				t.Fatalf("preflight %v: got %v, want no Access-Control-Allow-* header", bad.header, got)
			}
		}
	})
}

func TestDisallowedOrigin(t *testing.T) {
	env := map[string]string{"CORS_ALLOWED_ORIGINS": appOrigin + ",https://*.example.com"}
	eachDoor(t, env, nil, func(t *testing.T, d door) {
		for _, origin := range []string{"https://evil.example.org", "http://app.example.com", "https://example.com", "https://app.example.com.evil.org", "null"} {
			resp := d.do(t, preflight(origin, "PUT", amplifyHeaders))
			if got := allowHeaders(resp.header); len(got) != 0 {
				t.Fatalf("preflight from %s: got %v, want no Access-Control-Allow-*", origin, got)
			}
			resp = d.do(t, request{method: "GET", path: "/notes", user: alice, header: map[string]string{"Origin": origin}})
			if got := allowHeaders(resp.header); len(got) != 0 {
				t.Fatalf("GET from %s: got %v, want no Access-Control-Allow-*", origin, got)
			}
			if resp.header.Get("Access-Control-Expose-Headers") != "" {
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
		{"400", request{method: "POST", path: "/notes", header: map[string]string{"Content-Type": "application/json"}, body: "{", user: alice}, 400},
		{"401", request{method: "GET", path: "/notes"}, 401},
		{"404 note", request{method: "GET", path: "/notes/nope", user: alice}, 404},
		{"404 path", request{method: "GET", path: "/nope", user: alice}, 404},
		{"405", request{method: "DELETE", path: "/notes", user: alice}, 405},
		{"413", request{method: "POST", path: "/notes", header: map[string]string{"Content-Type": "application/json"}, body: `{"content":"` + strings.Repeat("a", 1<<20) + `"}`, user: alice}, 413},
		{"415", request{method: "POST", path: "/notes", header: map[string]string{"Content-Type": "text/plain"}, body: `{}`, user: alice}, 415},
		{"503", request{method: "POST", path: "/billing", header: map[string]string{"Content-Type": "application/json"}, body: `{}`, user: alice}, 503},
	}
	for _, origins := range []string{"", appOrigin} {
		env := map[string]string{"CORS_ALLOWED_ORIGINS": origins}
		wantOrigin := appOrigin
		if origins == "" {
			wantOrigin = "*"
		}
		t.Run("origins="+origins, func(t *testing.T) {
			for name, d := range doors(t, env, nil) {
				for _, tc := range cases {
					if tc.want == 401 && name == "local" {
						continue // the local server always has an identity
					}
					t.Run(name+"/"+tc.name, func(t *testing.T) {
						req := tc.req
						h := map[string]string{"Origin": appOrigin}
						for k, v := range req.header {
							h[k] = v
						}
						req.header = h
						resp := d.do(t, req)
						if resp.status != tc.want {
							t.Fatalf("status = %d, want %d", resp.status, tc.want)
						}
						resp.errorMessage(t)
						if got := resp.header.Get("Access-Control-Allow-Origin"); got != wantOrigin {
							t.Fatalf("Allow-Origin = %q, want %q", got, wantOrigin)
						}
						if !headerListHas(strings.Join(resp.header.Values("Vary"), ","), "Origin") {
							t.Fatalf("Vary = %v, want Origin", resp.header.Values("Vary"))
						}
						exposed := resp.header.Get("Access-Control-Expose-Headers")
						for _, h := range []string{"X-Next-Cursor", "X-Request-Id", "Location"} {
							if !headerListHas(exposed, h) {
								t.Fatalf("Expose-Headers = %q, missing %s", exposed, h)
							}
						}
						if resp.header.Get("X-Request-Id") == "" {
							t.Fatal("no X-Request-Id")
						}
					})
				}
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	env := map[string]string{"CORS_ALLOWED_ORIGINS": appOrigin, "CORS_ALLOW_CREDENTIALS": "true"}
	eachDoor(t, env, nil, func(t *testing.T, d door) {
		resp := d.do(t, preflight(appOrigin, "POST", "content-type"))
		if resp.header.Get("Access-Control-Allow-Credentials") != "true" || resp.header.Get("Access-Control-Allow-Origin") != appOrigin {
			t.Fatalf("preflight headers = %v, want credentials for the exact origin", resp.header)
		}
		resp = d.do(t, request{method: "GET", path: "/notes", user: alice, header: map[string]string{"Origin": appOrigin}})
		if resp.header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Fatalf("GET headers = %v, want Allow-Credentials: true", resp.header)
		}
	})
}

func TestCredentialsWithWildcardRefused(t *testing.T) {
	for _, origins := range []string{"", "*", "https://*.example.com", appOrigin + ",*"} {
		getenv := func(k string) string {
			return map[string]string{"CORS_ALLOW_CREDENTIALS": "true", "CORS_ALLOWED_ORIGINS": origins, "NOTES_DB": t.TempDir() + "/n.db"}[k]
		}
		err := run(getenv, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "CORS_ALLOW_CREDENTIALS") {
			t.Fatalf("origins %q with credentials: run = %v, want a refusal naming CORS_ALLOW_CREDENTIALS", origins, err)
		}
	}
	// The handler refuses too, whoever builds it.
	if _, err := routes.New(routes.Config{CORS: routes.CORS{AllowCredentials: true}}); err == nil {
		t.Fatal("routes.New allowed credentials with every origin")
	}
}
