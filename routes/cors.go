package routes

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

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
// host starts with one "*." subdomain wildcard.
func ValidateOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(strings.Replace(o, "*.", "wildcard.", 1))
	switch {
	case err != nil:
		return fmt.Errorf("origin %q: %v", o, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("origin %q: scheme must be http or https", o)
	case u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "/"):
		return fmt.Errorf("origin %q: want scheme://host[:port] with no path", o)
	case strings.Count(o, "*") > 1 || (strings.Contains(o, "*") && !strings.HasPrefix(u.Host, "wildcard.")):
		return fmt.Errorf("origin %q: a wildcard may only stand for the first label, as in https://*.example.com", o)
	}
	return nil
}

func (c CORS) validate() error {
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

func (c CORS) middleware() (func(http.Handler) http.Handler, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	origins := c.AllowedOrigins
	if len(origins) == 0 {
		origins = []string{"*"}
	}
	return cors.Handler(cors.Options{
		AllowedOrigins:   origins,
		AllowedMethods:   corsMethods,
		AllowedHeaders:   corsHeaders,
		ExposedHeaders:   corsExposed,
		AllowCredentials: c.AllowCredentials,
		MaxAge:           c.MaxAge,
	}), nil
}

// Files wraps an attachments endpoint (the local server's stand-in for
// the bucket) in the policy template.yaml gives the bucket: the same
// origins and credentials rule, the methods a presigned URL is made for
// (GET, PUT, HEAD), the one header an upload signs (Content-Type), and
// ETag readable.
func (c CORS) Files(h http.Handler) (http.Handler, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	origins := c.AllowedOrigins
	if len(origins) == 0 {
		origins = []string{"*"}
	}
	return cors.Handler(cors.Options{
		AllowedOrigins:   origins,
		AllowedMethods:   FileMethods,
		AllowedHeaders:   FileHeaders,
		ExposedHeaders:   []string{"ETag"},
		AllowCredentials: c.AllowCredentials,
		MaxAge:           c.MaxAge,
	})(h), nil
}

// FileMethods and FileHeaders are what a browser may send to the bucket:
// the methods and the header the API's presigned URLs are signed for.
var (
	FileMethods = []string{http.MethodGet, http.MethodPut, http.MethodHead}
	FileHeaders = []string{"Content-Type"}
)
