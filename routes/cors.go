package routes

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/cors"
)

// CORS is the cross-origin policy. The zero value allows every origin,
// without credentials, and lets browsers cache no preflight.
type CORS struct {
	// AllowedOrigins are exact origins (https://app.example.com), origins
	// with one subdomain wildcard (https://*.example.com), or "*".
	// Empty means "*".
	AllowedOrigins   []string
	AllowCredentials bool
	// MaxAge is how long, in seconds, a browser may cache a preflight.
	MaxAge int
}

// The methods and request headers a browser may use; the exposed headers
// are those a page may read from a response.
var (
	corsMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}
	corsHeaders = []string{
		"Content-Type", "Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-User-Agent",
		"X-Amz-Content-Sha256", "X-Api-Key", "Idempotency-Key", devIdentityHeader,
	}
	corsExposed = []string{"X-Next-Cursor", "X-Request-Id", "Location"}
)

// ErrCredentialsWithWildcard refuses a policy that would let any site make
// credentialed calls.
var ErrCredentialsWithWildcard = errors.New("credentials cannot be allowed for a wildcard origin: list exact origins")

// ValidateOrigin reports whether o is "*", an origin, or an origin whose
// host starts with one "*." subdomain wildcard: what the matcher can
// match, and nothing it never could or that would match far too much.
// scheme://host[:port], http or https, ASCII (a browser sends an
// internationalised host in its xn-- form), no path, query, fragment or
// user, a port from 1 to 65535, and a wildcard only in front of at least
// two labels (https://*.com would be every .com site).
func ValidateOrigin(o string) error {
	if o == "*" {
		return nil
	}
	bad := func(why string) error { return fmt.Errorf("origin %q: %s", o, why) }
	for i := 0; i < len(o); i++ {
		if o[i] >= utf8.RuneSelf || o[i] <= ' ' {
			return bad("want ASCII with no spaces (an internationalised name in its xn-- form)")
		}
	}
	scheme, hostport, ok := strings.Cut(o, "://")
	hostport = strings.ToLower(hostport)
	switch {
	case !ok || (scheme != "http" && scheme != "https"):
		return bad("want http:// or https:// (in lower case, as browsers send it) then the host, such as https://app.example.com")
	case strings.ContainsAny(hostport, "/?#@\\"):
		return bad("want scheme://host[:port] with no path, query, fragment or user (nothing after the host, not even a /)")
	case strings.Count(hostport, "*") > 1:
		return bad("a wildcard may only stand for the first label, as in https://*.example.com")
	}
	if rest, wild := strings.CutPrefix(hostport, "*."); wild {
		host, _, _ := strings.Cut(rest, ":")
		if strings.Count(host, ".") < 1 {
			return bad("a wildcard must be followed by at least two labels, as in https://*.example.com")
		}
		hostport = "x." + rest
	} else if strings.Contains(hostport, "*") {
		return bad("a wildcard may only stand for the first label, as in https://*.example.com")
	}
	if !isHost(hostport) {
		return bad("the host is not a host name, an IPv4 address or a bracketed IPv6 address, with a port from 1 to 65535")
	}
	return nil
}

// ParseOrigins reads a list of allowed origins, CORS_ALLOWED_ORIGINS's and
// the template's AllowedOrigins parameter's form alike: "*" alone, or
// origins (see ValidateOrigin) separated by commas, with no spaces. It is
// the one rule: template.yaml's AllowedPattern says the same, and a test
// holds the two to every value it knows.
func ParseOrigins(v string) ([]string, error) {
	entries := strings.Split(v, ",")
	for _, o := range entries {
		if err := ValidateOrigin(o); err != nil {
			return nil, err
		}
		if o == "*" && len(entries) > 1 {
			return nil, errors.New(`"*" allows every origin: give it alone, or list origins without it`)
		}
	}
	return entries, nil
}

// Validate refuses a policy New would refuse: a malformed origin, or
// credentials allowed with a wildcard (ErrCredentialsWithWildcard).
func (c CORS) Validate() error {
	wildcard := len(c.AllowedOrigins) == 0
	for _, o := range c.AllowedOrigins {
		if err := ValidateOrigin(o); err != nil {
			return err
		}
		wildcard = wildcard || strings.Contains(o, "*")
	}
	if c.AllowCredentials && wildcard {
		return ErrCredentialsWithWildcard
	}
	return nil
}

// anyOrigin reports whether the policy allows every origin ("*").
func (c CORS) anyOrigin() bool {
	return len(c.AllowedOrigins) == 0 || slices.Contains(c.AllowedOrigins, "*")
}

// options is the go-chi/cors configuration of the policy. A restricted
// policy is matched by Allows, not by go-chi/cors's own matching, which
// would let a wildcard entry match strings that are not origins at all.
func (c CORS) options() cors.Options {
	o := cors.Options{AllowCredentials: c.AllowCredentials, MaxAge: c.MaxAge}
	if c.anyOrigin() {
		o.AllowedOrigins = []string{"*"}
	} else {
		o.AllowOriginFunc = func(_ *http.Request, origin string) bool { return c.allows(origin) }
	}
	return o
}

// isHost reports whether s (lower case) is what a browser puts after
// scheme:// in an Origin: a host name or IPv4 address (dot-separated
// labels of letters, digits and inner hyphens) or a bracketed IPv6
// address, with an optional port from 1 to 65535.
func isHost(s string) bool {
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.HasSuffix(s, "]") {
		port, err := strconv.Atoi(s[i+1:])
		if err != nil || port < 1 || port > 65535 || strings.Trim(s[i+1:], "0123456789") != "" || s[i+1] == '0' {
			return false
		}
		s = s[:i]
	}
	if strings.HasPrefix(s, "[") {
		inner, ok := strings.CutSuffix(s[1:], "]")
		return ok && inner != "" && strings.Trim(inner, "0123456789abcdef:.") == ""
	}
	return isLabels(s)
}

// isLabels reports whether s is dot-separated DNS labels: letters and
// digits, with hyphens inside.
func isLabels(s string) bool {
	for _, l := range strings.Split(s, ".") {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return false
		}
	}
	return true
}

// allows reports whether the policy lets a page of origin read answers:
// origin must be a serialized origin (scheme://host[:port], http or
// https, nothing else), matching an exact entry, or an entry's "*" with
// one or more subdomain labels in its place. Letter case does not matter.
func (c CORS) allows(origin string) bool {
	// ASCII only, before any change of case: strings.ToLower would make
	// some non-ASCII letters (the Kelvin sign, say) ASCII ones.
	for i := 0; i < len(origin); i++ {
		if origin[i] >= utf8.RuneSelf {
			return false
		}
	}
	o := strings.ToLower(origin)
	scheme, host, ok := strings.Cut(o, "://")
	if !ok || (scheme != "http" && scheme != "https") || !isHost(host) {
		return false
	}
	if c.anyOrigin() {
		return true
	}
	for _, e := range c.AllowedOrigins {
		e = strings.ToLower(e)
		prefix, suffix, wild := strings.Cut(e, "*")
		if !wild {
			if o == e {
				return true
			}
			continue
		}
		if len(o) > len(prefix)+len(suffix) && strings.HasPrefix(o, prefix) && strings.HasSuffix(o, suffix) {
			if isLabels(o[len(prefix) : len(o)-len(suffix)]) {
				return true
			}
		}
	}
	return false
}

func (c CORS) middleware() (func(http.Handler) http.Handler, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	o := c.options()
	// HEAD too: a browser sends it without a preflight, and should be
	// able to read the 405 it gets.
	o.AllowedMethods, o.AllowedHeaders, o.ExposedHeaders = append(corsMethods, http.MethodHead), corsHeaders, corsExposed
	return cors.Handler(o), nil
}

// Files wraps an attachments endpoint (the local server's stand-in for
// the bucket) in the policy template.yaml gives the bucket: the same
// origins and credentials rule, the methods a presigned URL is made for
// (GET, PUT, HEAD), the one header an upload signs (Content-Type), and
// ETag readable.
func (c CORS) Files(h http.Handler) (http.Handler, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	o := c.options()
	o.AllowedMethods, o.AllowedHeaders, o.ExposedHeaders = FileMethods(), FileHeaders(), []string{"ETag"}
	return cors.Handler(o)(h), nil
}

// FileMethods is the methods a browser may use on the bucket: those the
// API's presigned URLs are made for.
func FileMethods() []string { return []string{http.MethodGet, http.MethodPut, http.MethodHead} }

// FileHeaders is the headers a browser may send to the bucket: those the
// API's presigned uploads sign (the type, and the pending tag).
func FileHeaders() []string { return []string{"Content-Type", "X-Amz-Tagging"} }
