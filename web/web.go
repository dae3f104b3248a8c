// Package web serves the Scratch page (this directory's index.html and
// its modules) with the config.json that says which API and which
// Cognito pools it uses. `make demo` and the browser tests serve it; a
// deployed page is these files and a config.json that `make web-config`
// writes from the stack's outputs.
package web

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
)

// Config is config.json: the API, and the pools that sign users in.
// Without UserPoolID the page signs nobody in (the local identities of
// `make run`).
type Config struct {
	Region           string `json:"region,omitempty"`
	APIURL           string `json:"apiUrl"`
	UserPoolID       string `json:"userPoolId,omitempty"`
	UserPoolClientID string `json:"userPoolClientId,omitempty"`
	IdentityPoolID   string `json:"identityPoolId,omitempty"`
	// UserPoolEndpoint and IdentityEndpoint are local only: moto_server's
	// user pool, and the local API's own Cognito Identity endpoint.
	// Deployed, the page calls Cognito's own endpoints of Region.
	UserPoolEndpoint string `json:"userPoolEndpoint,omitempty"`
	IdentityEndpoint string `json:"identityEndpoint,omitempty"`
	// StripePublishableKey (pk_...) lets the page take cards with
	// Stripe.js.
	StripePublishableKey string `json:"stripePublishableKey,omitempty"`
}

// Dir is this directory: found from the source when run with go run or
// go test, and as web/ of the working directory in a binary built with
// -trimpath (which knows no source path), run from the checkout.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	if dir := filepath.Dir(file); filepath.IsAbs(dir) {
		if _, err := os.Stat(filepath.Join(dir, "index.html")); err == nil {
			return dir
		}
	}
	return "web"
}

// Handler serves the page in dir, and config at /config.json.
func Handler(dir string, config Config) http.Handler {
	files := http.FileServer(http.Dir(dir))
	body, _ := json.MarshalIndent(config, "", "  ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/config.json" {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.Write(body)
			return
		}
		files.ServeHTTP(w, r)
	})
}
