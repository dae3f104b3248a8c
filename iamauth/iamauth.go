// Package iamauth is the local server's stand-in for AWS_IAM sign-in as
// deployed: a Cognito Identity endpoint that trades a user pool's ID
// token for credentials, in front of an API whose every call must be
// signed with them.
//
// Deployed, API Gateway checks each call's SigV4 signature and hands the
// function the caller's Cognito identity id; the Cognito identity pool
// issues the credentials. Here the Gateway does both, so that a page
// signs in and signs its calls locally exactly as it will against the
// stack. It is for local development only.
package iamauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"

	"github.com/scratch-notes/notes-api/awssig"
	"github.com/scratch-notes/notes-api/origins"
	"github.com/scratch-notes/notes-api/routes"
)

// Config is a local user pool and identity pool, and where to keep what
// the Gateway issues.
type Config struct {
	// Region is the signing region of the API, and of the pools.
	Region string
	// UserPoolEndpoint is the user pool's server (moto_server's
	// cognito-idp); its keys are at
	// {UserPoolEndpoint}/{UserPoolID}/.well-known/jwks.json.
	UserPoolEndpoint string
	UserPoolID       string
	// ClientID is the app client whose ID tokens are taken.
	ClientID string
	// IdentityPoolID is the identity pool id the page sends.
	IdentityPoolID string
	// StateFile keeps each user's identity id, and the credentials
	// issued, across restarts.
	StateFile string
	// Origins is the API's cross-origin policy: the identity endpoint and
	// the refusals answer under it too.
	Origins origins.Policy
	Log     *slog.Logger
	// Client reads the pool's keys (http.DefaultClient when nil).
	Client *http.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Gateway answers the Cognito Identity calls at POST /, lets through
// what API Gateway lets through unsigned, and checks the signature of
// every other call.
type Gateway struct {
	cfg      Config
	issuer   string
	provider string // the Logins key of the user pool
	keys     *poolKeys
	state    *state
	checker  *awssig.Checker
	log      *slog.Logger
	identity http.Handler // the Cognito Identity endpoint, under CORS
	refused  func(http.Handler) http.Handler
}

// maxSignedSkew is how far from now a signed call may be dated.
const maxSignedSkew = 5 * time.Minute

// maxPayload is the largest body API Gateway takes (10 MB).
const maxPayload = 10 << 20

// New returns the Gateway of cfg. It reads cfg.StateFile, and nothing
// else, at once: the pool's keys are read at the first sign-in.
func New(cfg Config) (*Gateway, error) {
	switch {
	case cfg.Region == "", cfg.UserPoolEndpoint == "", cfg.UserPoolID == "", cfg.ClientID == "", cfg.IdentityPoolID == "", cfg.StateFile == "":
		return nil, errors.New("iamauth: a region, a user pool endpoint, a user pool, an app client, an identity pool and a state file are all needed")
	}
	st, err := loadState(cfg.StateFile, cfg.Region)
	if err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, state: st, log: cfg.Log,
		issuer:   "https://cognito-idp." + cfg.Region + ".amazonaws.com/" + cfg.UserPoolID,
		provider: "cognito-idp." + cfg.Region + ".amazonaws.com/" + cfg.UserPoolID,
		keys: &poolKeys{url: strings.TrimSuffix(cfg.UserPoolEndpoint, "/") + "/" + cfg.UserPoolID + "/.well-known/jwks.json",
			client: cfg.Client},
	}
	if g.keys.client == nil {
		g.keys.client = http.DefaultClient
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.checker = &awssig.Checker{Service: "execute-api", Region: cfg.Region, Skew: maxSignedSkew, Now: g.now,
		Keys: func(id string) (aws.Credentials, bool) {
			c, _, ok := g.state.credentials(id, g.now())
			return c, ok
		}}
	if g.identity, err = cfg.Origins.Service(http.HandlerFunc(g.serveIdentity)); err != nil {
		return nil, err
	}
	if g.refused, err = cfg.Origins.API(); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *Gateway) now() time.Time {
	if g.cfg.Now != nil {
		return g.cfg.Now()
	}
	return time.Now()
}

// Wrap returns api behind the gateway.
func (g *Gateway) Wrap(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case isIdentityCall(r):
			g.identity.ServeHTTP(w, r)
		case unsigned(r):
			api.ServeHTTP(w, r)
		default:
			g.checkSigned(w, r, api)
		}
	})
}

// isIdentityCall reports whether r is for the Cognito Identity endpoint:
// POST / with its X-Amz-Target, or a preflight of one.
func isIdentityCall(r *http.Request) bool {
	if r.URL.Path != "/" {
		return false
	}
	if r.Method == http.MethodOptions {
		return r.Header.Get("Access-Control-Request-Method") == http.MethodPost
	}
	return r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("X-Amz-Target"), identityService+".")
}

// unsigned reports whether API Gateway lets r through with no signature,
// as template.yaml sets it up: preflights, what the API is, and Stripe's
// webhook.
func unsigned(r *http.Request) bool {
	switch {
	case r.Method == http.MethodOptions:
		return true
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return r.URL.Path == "/" || r.URL.Path == "/openapi.json"
	case r.Method == http.MethodPost:
		return r.URL.Path == "/billing/webhook"
	}
	return false
}

// checkSigned serves r to api as the identity whose credentials signed
// it, or refuses it as API Gateway does: 403 with a JSON message.
func (g *Gateway) checkSigned(w http.ResponseWriter, r *http.Request, api http.Handler) {
	requestID := uuid.NewString()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	if err != nil {
		g.refuse(w, r, requestID, http.StatusBadRequest, "the request body could not be read", "body", err)
		return
	}
	if len(body) > maxPayload {
		g.refuse(w, r, requestID, http.StatusRequestEntityTooLarge, "Request Too Long", "body", nil)
		return
	}
	sum := sha256.Sum256(body)
	signed, err := g.checker.Check(r, hex.EncodeToString(sum[:]))
	if err != nil {
		var e *awssig.Error
		errors.As(err, &e)
		g.refuse(w, r, requestID, http.StatusForbidden, gatewayMessage(e), "signature", err)
		return
	}
	_, identityID, ok := g.state.credentials(signed.Credentials.AccessKeyID, g.now())
	if !ok {
		// Expired between the check and now.
		g.refuse(w, r, requestID, http.StatusForbidden, "The security token included in the request is expired", "signature", nil)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	api.ServeHTTP(w, r.WithContext(routes.WithCaller(r.Context(), routes.Caller{IdentityID: identityID, RequestID: requestID})))
}

// gatewayMessage is what API Gateway says for each refusal.
func gatewayMessage(e *awssig.Error) string {
	if e == nil {
		return "Forbidden"
	}
	switch e.Reason {
	case awssig.Unsigned:
		return "Missing Authentication Token"
	case awssig.UnknownKey, awssig.BadToken:
		return "The security token included in the request is invalid."
	case awssig.Expired:
		return "Signature expired: the request was signed more than 5 minutes from now."
	case awssig.Mismatch:
		return "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
	default:
		return "Authorization header requires 'Credential', 'Signature', 'SignedHeaders' and 'X-Amz-Date', signed for execute-api in this region: " + e.Message
	}
}

// refuse answers as API Gateway's DEFAULT_4XX response does (see
// template.yaml): the CORS headers, and {"error", "requestId"}.
func (g *Gateway) refuse(w http.ResponseWriter, r *http.Request, requestID string, status int, msg, what string, cause error) {
	attrs := []any{"requestId", requestID, "method", r.Method, "path", r.URL.Path, "status", status, "refused", what}
	if cause != nil {
		attrs = append(attrs, "reason", cause.Error())
	}
	g.log.WarnContext(r.Context(), "call refused", attrs...)
	g.refused(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Request-Id", requestID)
		w.WriteHeader(status)
		b, _ := json.Marshal(map[string]string{"error": msg, "requestId": requestID})
		w.Write(append(b, '\n'))
	})).ServeHTTP(w, r)
}
