package iamauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestIDTokenClaims holds each check of an ID token on its own, with a
// key of the test's (moto signs every pool's tokens with one key, and
// its access tokens have no aud, so its tokens cannot fail one check
// alone): a token right in all but one thing is refused.
func TestIDTokenClaims(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/us-east-1_pool/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kid": "k1", "kty": "RSA", "alg": "RS256", "use": "sig",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	}))
	defer jwks.Close()
	now := time.Now()
	g, err := New(Config{Region: "us-east-1", UserPoolEndpoint: jwks.URL, UserPoolID: "us-east-1_pool", ClientID: "client1",
		IdentityPoolID: "us-east-1:pool", StateFile: filepath.Join(t.TempDir(), "state.json"), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	good := jwt.MapClaims{"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool", "aud": "client1",
		"token_use": "id", "sub": "user-1", "exp": now.Add(time.Hour).Unix()}
	sign := func(claims jwt.MapClaims, method jwt.SigningMethod, kid string, k any) string {
		tok := jwt.NewWithClaims(method, claims)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	if sub, err := g.verifyIDToken(context.Background(), sign(good, jwt.SigningMethodRS256, "k1", key)); err != nil || sub != "user-1" {
		t.Fatalf("a good token: %q, %v", sub, err)
	}
	for name, tok := range map[string]string{
		"another issuer":                 sign(with("iss", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"), jwt.SigningMethodRS256, "k1", key),
		"another audience":               sign(with("aud", "client2"), jwt.SigningMethodRS256, "k1", key),
		"an access token":                sign(with("token_use", "access"), jwt.SigningMethodRS256, "k1", key),
		"expired":                        sign(with("exp", now.Add(-time.Second).Unix()), jwt.SigningMethodRS256, "k1", key),
		"no expiry":                      sign(with("exp", nil), jwt.SigningMethodRS256, "k1", key),
		"no sub":                         sign(with("sub", nil), jwt.SigningMethodRS256, "k1", key),
		"another key, same kid":          sign(good, jwt.SigningMethodRS256, "k1", other),
		"a kid the pool lacks":           sign(good, jwt.SigningMethodRS256, "k2", key),
		"RS512":                          sign(good, jwt.SigningMethodRS512, "k1", key),
		"HS256 with the key as a secret": sign(good, jwt.SigningMethodHS256, "k1", key.N.Bytes()),
	} {
		if sub, err := g.verifyIDToken(context.Background(), tok); err == nil {
			t.Errorf("%s: taken as %q, want refused", name, sub)
		}
	}
}
