// Package origins is the cross-origin (CORS) policy: which web pages may
// call the API and its files, and what their browsers may send.
package origins

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

// Policy is the cross-origin policy. The zero value allows every origin,
// without credentials, and lets browsers cache no preflight.
type Policy struct {
	// AllowedOrigins are exact origins (https://app.example.com), origins
	// with one subdomain wildcard (https://*.example.com), or "*".
	// Empty means "*".
	AllowedOrigins   []string
	AllowCredentials bool
	// MaxAge is how long, in seconds, a browser may cache a preflight.
	MaxAge int
}

// The methods and request headers a page may use on the API, and the
// answer headers it may read. DevIdentityHeader is the local identity
// header; it means nothing deployed, but a page may send it.
var (
	APIMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}
	APIHeaders = []string{
		"Content-Type", "Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-User-Agent",
		"X-Amz-Content-Sha256", "X-Api-Key", "Idempotency-Key", DevIdentityHeader,
	}
	APIExposed = []string{"X-Next-Cursor", "X-Request-Id", "Location"}
)

// DevIdentityHeader names a local caller.
const DevIdentityHeader = "X-Dev-Identity-Id"

// FileMethods are the methods a page may use on the bucket: those the
// API's presigned URLs are made for. FileHeaders are the headers it may
// send there: those a presigned upload signs (the type, the pending tag).
var (
	FileMethods = []string{http.MethodGet, http.MethodPut, http.MethodHead}
	FileHeaders = []string{"Content-Type", "X-Amz-Tagging"}
)

// ErrCredentialsWithWildcard refuses a policy that would let any site make
// credentialed calls.
var ErrCredentialsWithWildcard = errors.New("credentials cannot be allowed for a wildcard origin: list exact origins")

// Validate reports whether o is "*", an origin, or an origin whose host
// starts with one "*." subdomain wildcard. The form is scheme://host[:port]:
// http or https, ASCII (a browser sends an international host in its xn--
// form), no path, query, fragment or user, a port from 1 to 65535. A
// wildcard needs at least two labels after it: https://*.com would be
// every .com site.
func Validate(o string) error {
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

// Parse reads a list of allowed origins: "*" alone, or origins (see
// Validate) separated by commas, with no spaces. CORS_ALLOWED_ORIGINS
// and the template's AllowedOrigins take this form; a test holds the
// template's AllowedPattern to it.
func Parse(v string) ([]string, error) {
	entries := strings.Split(v, ",")
	for _, o := range entries {
		if err := Validate(o); err != nil {
			return nil, err
		}
		if o == "*" && len(entries) > 1 {
			return nil, errors.New(`"*" allows every origin: give it alone, or list origins without it`)
		}
	}
	return entries, nil
}

// Validate refuses a malformed origin, and credentials allowed with a
// wildcard (ErrCredentialsWithWildcard).
func (p Policy) Validate() error {
	wildcard := len(p.AllowedOrigins) == 0
	for _, o := range p.AllowedOrigins {
		if err := Validate(o); err != nil {
			return err
		}
		wildcard = wildcard || strings.Contains(o, "*")
	}
	if p.AllowCredentials && wildcard {
		return ErrCredentialsWithWildcard
	}
	return nil
}

// AnyOrigin reports whether the policy allows every origin ("*").
func (p Policy) AnyOrigin() bool {
	return len(p.AllowedOrigins) == 0 || slices.Contains(p.AllowedOrigins, "*")
}

// Allows reports whether a page of origin may read answers. The origin
// must be serialized (scheme://host[:port], http or https, nothing else)
// and match an exact entry, or an entry's "*" with one or more subdomain
// labels in its place. Letter case does not matter.
func (p Policy) Allows(origin string) bool {
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
	if p.AnyOrigin() {
		return true
	}
	for _, e := range p.AllowedOrigins {
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

// options is the go-chi/cors configuration of the policy. A restricted
// policy is matched by Allows, not by go-chi/cors's own matching, which
// would let a wildcard entry match strings that are not origins at all.
func (p Policy) options() cors.Options {
	o := cors.Options{AllowCredentials: p.AllowCredentials, MaxAge: p.MaxAge}
	if p.AnyOrigin() {
		o.AllowedOrigins = []string{"*"}
	} else {
		o.AllowOriginFunc = func(_ *http.Request, origin string) bool { return p.Allows(origin) }
	}
	return o
}

// API is the middleware that answers the API's preflights and adds the
// CORS headers to its every answer.
func (p Policy) API() (func(http.Handler) http.Handler, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	o := p.options()
	// HEAD too: a browser sends it without a preflight.
	o.AllowedMethods = append(slices.Clone(APIMethods), http.MethodHead)
	o.AllowedHeaders, o.ExposedHeaders = APIHeaders, APIExposed
	return cors.Handler(o), nil
}

// Files wraps a files endpoint (the local stand-in for the bucket) in
// the policy template.yaml gives the bucket: these origins and
// credentials, FileMethods, FileHeaders, and ETag readable.
func (p Policy) Files(h http.Handler) (http.Handler, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	o := p.options()
	o.AllowedMethods, o.AllowedHeaders, o.ExposedHeaders = FileMethods, FileHeaders, []string{"ETag"}
	return cors.Handler(o)(h), nil
}

// Service wraps an AWS-style service endpoint (the local Cognito
// Identity) in these origins: any method it serves and any header, as
// AWS's own endpoints allow, since an SDK sends headers of its own.
func (p Policy) Service(h http.Handler) (http.Handler, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	o := p.options()
	o.AllowedMethods, o.AllowedHeaders = []string{http.MethodPost}, []string{"*"}
	o.ExposedHeaders = []string{"X-Amzn-RequestId", "X-Amzn-ErrorType"}
	return cors.Handler(o)(h), nil
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
