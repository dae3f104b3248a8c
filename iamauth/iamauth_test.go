package iamauth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	ci "github.com/aws/aws-sdk-go-v2/service/cognitoidentity"
	"github.com/aws/smithy-go"

	"github.com/scratch-notes/notes-api/iamauth"
	"github.com/scratch-notes/notes-api/internal/localpool"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/origins"
	"github.com/scratch-notes/notes-api/routes"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const appOrigin = "https://app.example.com"

// harness is the API behind a Gateway, on its own server, as AUTH=iam
// serves it.
type harness struct {
	t     *testing.T
	pool  *localpool.Pool
	state string
	clock *time.Time
	srv   *httptest.Server
}

func newHarness(t *testing.T, pool *localpool.Pool, state string, clock *time.Time) *harness {
	t.Helper()
	api, err := routes.New(routes.Config{Notes: storetest.Bolt(t), Purchases: storetest.Bolt(t), Identity: routes.IdentityDeployed,
		CORS: origins.Policy{AllowedOrigins: []string{appOrigin}, MaxAge: 600}, MaxAnswerBytes: 6 << 20})
	if err != nil {
		t.Fatal(err)
	}
	g, err := iamauth.New(iamauth.Config{Region: pool.Region, UserPoolEndpoint: pool.Endpoint, UserPoolID: pool.ID,
		ClientID: pool.ClientID, IdentityPoolID: pool.IdentityPoolID, StateFile: state,
		Origins: origins.Policy{AllowedOrigins: []string{appOrigin}, MaxAge: 600}, Now: func() time.Time { return *clock }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Wrap(api))
	t.Cleanup(srv.Close)
	return &harness{t: t, pool: pool, state: state, clock: clock, srv: srv}
}

// identity is the AWS SDK's own Cognito Identity client, pointed at the
// harness: what a frontend changes is only the endpoint.
func (h *harness) identity() *ci.Client {
	return ci.New(ci.Options{Region: h.pool.Region, BaseEndpoint: aws.String(h.srv.URL)})
}

// credentials signs in with idToken as a frontend does: GetId, then
// GetCredentialsForIdentity.
func (h *harness) credentials(idToken string) (string, aws.Credentials, error) {
	ctx := context.Background()
	logins := map[string]string{h.pool.Provider(): idToken}
	id, err := h.identity().GetId(ctx, &ci.GetIdInput{IdentityPoolId: aws.String(h.pool.IdentityPoolID), Logins: logins})
	if err != nil {
		return "", aws.Credentials{}, err
	}
	out, err := h.identity().GetCredentialsForIdentity(ctx, &ci.GetCredentialsForIdentityInput{IdentityId: id.IdentityId, Logins: logins})
	if err != nil {
		return "", aws.Credentials{}, err
	}
	c := out.Credentials
	return *id.IdentityId, aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretKey, SessionToken: *c.SessionToken,
		CanExpire: true, Expires: *c.Expiration}, nil
}

// call makes a call to the API signed with creds at the harness's time.
func (h *harness) call(method, path, body string, creds aws.Credentials) (int, http.Header, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Origin", appOrigin)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if creds.AccessKeyID != "" {
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "execute-api", h.pool.Region, *h.clock); err != nil {
			h.t.Fatal(err)
		}
	}
	return h.do(req)
}

func (h *harness) do(req *http.Request) (int, http.Header, map[string]any) {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return resp.StatusCode, resp.Header, out
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestSignInAndSignedCalls(t *testing.T) {
	pool := testenv.UserPool(t)
	alice := testenv.PoolUser(t, pool, "alice@example.com", "Passw0rd!alice")
	bob := testenv.PoolUser(t, pool, "bob@example.com", "Passw0rd!bob")
	clock := time.Now()
	state := filepath.Join(t.TempDir(), "identities.json")
	h := newHarness(t, pool, state, &clock)

	id, creds, err := h.credentials(alice)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if !strings.HasPrefix(id, "us-east-1:") || len(id) != len("us-east-1:")+36 {
		t.Fatalf("identity id = %q, want us-east-1:<uuid>", id)
	}
	if d := time.Until(creds.Expires); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("credentials expire in %v, want an hour", d)
	}

	// A signed call acts as that identity, on the real handlers.
	status, hdr, me := h.call("GET", "/me", "", creds)
	if status != http.StatusOK || me["identityId"] != id {
		t.Fatalf("GET /me = %d %v, want 200 as %s", status, me, id)
	}
	if hdr.Get("Access-Control-Allow-Origin") != appOrigin {
		t.Fatalf("a signed answer has no CORS header: %v", hdr)
	}
	status, _, note := h.call("POST", "/notes", `{"content":"signed"}`, creds)
	if status != http.StatusCreated || note["userId"] != id {
		t.Fatalf("POST /notes = %d %v, want 201 of %s", status, note, id)
	}

	// The same user keeps the identity: again, and after a restart.
	again, creds2, err := h.credentials(alice)
	if err != nil || again != id {
		t.Fatalf("second sign-in = %q, %v; want %q", again, err, id)
	}
	if creds2.AccessKeyID == creds.AccessKeyID || creds2.SecretAccessKey == creds.SecretAccessKey || creds2.SessionToken == creds.SessionToken {
		t.Fatal("credentials issued twice are the same: they must be random per issue")
	}
	restarted := newHarness(t, pool, state, &clock)
	if again, _, err := restarted.credentials(alice); err != nil || again != id {
		t.Fatalf("after a restart = %q, %v; want %q", again, err, id)
	}
	if status, _, _ := restarted.call("GET", "/me", "", creds); status != http.StatusOK {
		t.Fatalf("credentials issued before a restart: %d, want 200 until they expire", status)
	}

	// Another user is another identity, and cannot take Alice's.
	bobID, _, err := h.credentials(bob)
	if err != nil || bobID == id {
		t.Fatalf("Bob = %q, %v; want an identity of his own", bobID, err)
	}
	_, err = h.identity().GetCredentialsForIdentity(context.Background(), &ci.GetCredentialsForIdentityInput{
		IdentityId: aws.String(id), Logins: map[string]string{pool.Provider(): bob}})
	if apiCode(err) != "NotAuthorizedException" {
		t.Fatalf("Bob's token for Alice's identity: %v, want NotAuthorizedException", err)
	}

	// Credentials last an hour.
	clock = clock.Add(61 * time.Minute)
	if status, _, body := h.call("GET", "/me", "", creds); status != http.StatusForbidden {
		t.Fatalf("credentials an hour old: %d %v, want 403", status, body)
	}
}

func TestSignedCallsRefused(t *testing.T) {
	pool := testenv.UserPool(t)
	token := testenv.PoolUser(t, pool, "carol@example.com", "Passw0rd!carol")
	clock := time.Now()
	h := newHarness(t, pool, filepath.Join(t.TempDir(), "identities.json"), &clock)
	_, creds, err := h.credentials(token)
	if err != nil {
		t.Fatal(err)
	}
	signedAt := func(at time.Time, c aws.Credentials, body string) *http.Request {
		req, _ := http.NewRequest("PUT", h.srv.URL+"/notes/x", strings.NewReader(body))
		req.Header.Set("Origin", appOrigin)
		req.Header.Set("Content-Type", "application/json")
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), c, req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", at); err != nil {
			t.Fatal(err)
		}
		return req
	}
	wrongSecret := creds
	wrongSecret.SecretAccessKey += "x"
	noToken := creds
	noToken.SessionToken = ""
	for name, req := range map[string]*http.Request{
		"unsigned": func() *http.Request {
			r, _ := http.NewRequest("GET", h.srv.URL+"/notes", nil)
			r.Header.Set("Origin", appOrigin)
			return r
		}(),
		"dev identity header only": func() *http.Request {
			r, _ := http.NewRequest("GET", h.srv.URL+"/notes", nil)
			r.Header.Set("Origin", appOrigin)
			r.Header.Set("X-Dev-Identity-Id", "local-user")
			return r
		}(),
		"unknown path, unsigned": func() *http.Request {
			r, _ := http.NewRequest("GET", h.srv.URL+"/nope", nil)
			r.Header.Set("Origin", appOrigin)
			return r
		}(),
		"wrong secret": signedAt(clock, wrongSecret, `{"content":"x"}`),
		"no token":     signedAt(clock, noToken, `{"content":"x"}`),
		"stale":        signedAt(clock.Add(-6*time.Minute), creds, `{"content":"x"}`),
		"tampered": func() *http.Request {
			r := signedAt(clock, creds, `{"content":"x"}`)
			r.URL.Path = "/notes/y"
			return r
		}(),
		"body changed after signing": func() *http.Request {
			r := signedAt(clock, creds, `{"content":"x"}`)
			r.Body = io.NopCloser(bytes.NewReader([]byte(`{"content":"y"}`)))
			return r
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			status, hdr, body := h.do(req)
			if status != http.StatusForbidden {
				t.Fatalf("status = %d %v, want 403", status, body)
			}
			if msg, _ := body["error"].(string); msg == "" || body["requestId"] == "" {
				t.Fatalf("body = %v, want {error, requestId}", body)
			}
			if hdr.Get("Access-Control-Allow-Origin") != appOrigin || hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("headers = %v, want JSON with CORS", hdr)
			}
		})
	}

	// What the stack leaves unsigned stays unsigned: preflights (which
	// allow the signing headers), the index, the document, the webhook.
	pre, _ := http.NewRequest("OPTIONS", h.srv.URL+"/notes/x", nil)
	pre.Header.Set("Origin", appOrigin)
	pre.Header.Set("Access-Control-Request-Method", "PUT")
	pre.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-amz-date,x-amz-security-token,x-amz-content-sha256")
	if status, hdr, _ := h.do(pre); status != http.StatusOK || hdr.Get("Access-Control-Allow-Origin") != appOrigin {
		t.Fatalf("preflight = %d %v", status, hdr)
	}
	for _, p := range []string{"/", "/openapi.json"} {
		if status, _, _ := h.call("GET", p, "", aws.Credentials{}); status != http.StatusOK {
			t.Fatalf("GET %s unsigned = %d, want 200", p, status)
		}
	}
	if status, _, _ := h.call("POST", "/billing/webhook", `{}`, aws.Credentials{}); status != http.StatusServiceUnavailable {
		t.Fatalf("POST /billing/webhook unsigned = %d, want the webhook's own 503 (no Stripe here)", status)
	}
}

func TestIdentityRefusals(t *testing.T) {
	pool := testenv.UserPool(t)
	token := testenv.PoolUser(t, pool, "dave@example.com", "Passw0rd!dave")
	other := testenv.UserPool(t)
	clock := time.Now()
	h := newHarness(t, pool, filepath.Join(t.TempDir(), "identities.json"), &clock)
	ctx := context.Background()
	getID := func(poolID, provider, tok string) error {
		in := &ci.GetIdInput{IdentityPoolId: aws.String(poolID)}
		if provider != "" {
			in.Logins = map[string]string{provider: tok}
		}
		_, err := h.identity().GetId(ctx, in)
		return err
	}
	parts := strings.Split(token, ".")
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	none := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(header), `"RS256"`, `"none"`, 1))) + "." + parts[1] + "."
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(claims), "dave", "eve", 1))) + "." + parts[2]
	access, err := pool.SignIn(ctx, "dave@example.com", "Passw0rd!dave")
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"another identity pool", getID("us-east-1:00000000-0000-0000-0000-000000000000", pool.Provider(), token), "ResourceNotFoundException"},
		{"no login", getID(pool.IdentityPoolID, "", ""), "NotAuthorizedException"},
		{"another pool's provider", getID(pool.IdentityPoolID, other.Provider(), token), "NotAuthorizedException"},
		{"alg none", getID(pool.IdentityPoolID, pool.Provider(), none), "NotAuthorizedException"},
		{"claims changed", getID(pool.IdentityPoolID, pool.Provider(), forged), "NotAuthorizedException"},
		{"an access token", getID(pool.IdentityPoolID, pool.Provider(), access.Access), "NotAuthorizedException"},
		{"not a token", getID(pool.IdentityPoolID, pool.Provider(), "hello"), "NotAuthorizedException"},
	} {
		if got := apiCode(tc.err); got != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, tc.err, tc.want)
		}
	}

	// A token of another app client of the same pool, and of another
	// pool (moto signs every pool's tokens with one key: only iss tells
	// them apart).
	otherClient, err := pool.OtherClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clientToken, err := otherClient.SignIn(ctx, "dave@example.com", "Passw0rd!dave")
	if err != nil {
		t.Fatal(err)
	}
	if got := apiCode(getID(pool.IdentityPoolID, pool.Provider(), clientToken.ID)); got != "NotAuthorizedException" {
		t.Errorf("a token of another app client: %s, want NotAuthorizedException", got)
	}
	otherToken := testenv.PoolUser(t, testenv.UserPool(t), "erin@example.com", "Passw0rd!erin")
	if got := apiCode(getID(pool.IdentityPoolID, pool.Provider(), otherToken)); got != "NotAuthorizedException" {
		t.Errorf("a token of another pool: %s, want NotAuthorizedException", got)
	}

	// An expired token.
	clock = clock.Add(2 * time.Hour)
	err = getID(pool.IdentityPoolID, pool.Provider(), token)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "NotAuthorizedException" || !strings.Contains(ae.ErrorMessage(), "expired") {
		t.Fatalf("an expired token: %v, want NotAuthorizedException saying so", err)
	}
}
