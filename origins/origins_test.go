package origins_test

import (
	"errors"
	"testing"

	"github.com/scratch-notes/notes-api/origins"
)

func TestAllows(t *testing.T) {
	p := origins.Policy{AllowedOrigins: []string{"https://app.example.com", "https://*.example.org", "http://localhost:5173"}}
	for origin, want := range map[string]bool{
		"https://app.example.com":     true,
		"HTTPS://APP.EXAMPLE.COM":     true,
		"https://a.example.org":       true,
		"https://a.b.example.org":     true,
		"http://localhost:5173":       true,
		"http://app.example.com":      false,
		"https://example.org":         false,
		"https://.example.org":        false,
		"https://a.example.org.evil":  false,
		"https://app.example.com/":    false,
		"https://\u212a.example.org":  false, // the Kelvin sign lower-cases to k
		"null":                        false,
		"https://a_b.example.org":     false,
		"http://localhost:5174":       false,
		"https://app.example.com:443": false,
	} {
		if got := p.Allows(origin); got != want {
			t.Errorf("Allows(%q) = %v, want %v", origin, got, want)
		}
	}
	if !(origins.Policy{}).Allows("http://127.0.0.1:5173") || (origins.Policy{}).Allows("not an origin") {
		t.Error("the zero policy allows every origin, and nothing that is not one")
	}
}

func TestCredentialsNeedExactOrigins(t *testing.T) {
	for _, list := range [][]string{nil, {"*"}, {"https://*.example.com"}, {"https://app.example.com", "*"}} {
		if err := (origins.Policy{AllowedOrigins: list, AllowCredentials: true}).Validate(); !errors.Is(err, origins.ErrCredentialsWithWildcard) {
			t.Errorf("%q with credentials: %v, want ErrCredentialsWithWildcard", list, err)
		}
	}
	if err := (origins.Policy{AllowedOrigins: []string{"https://app.example.com"}, AllowCredentials: true}).Validate(); err != nil {
		t.Errorf("an exact origin with credentials: %v", err)
	}
}
