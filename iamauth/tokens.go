package iamauth

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// keysRefresh is how often, at most, the pool's keys are read again for
// a key id they did not have.
const keysRefresh = time.Minute

// errUnreachable: the pool's keys could not be read.
var errUnreachable = errors.New("the user pool's keys could not be read")

// poolKeys are a user pool's published signing keys, read at first use
// and again when a token names a key they lack.
type poolKeys struct {
	url    string
	client *http.Client

	mu     sync.Mutex
	keys   map[string]*rsa.PublicKey
	readAt time.Time
}

// key returns the RSA key of kid.
func (p *poolKeys) key(ctx context.Context, kid string, now time.Time) (*rsa.PublicKey, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k, ok := p.keys[kid]; ok {
		return k, nil
	}
	if p.keys != nil && now.Sub(p.readAt) < keysRefresh {
		return nil, fmt.Errorf("no key %q in the pool's keys", kid)
	}
	keys, err := p.read(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUnreachable, err)
	}
	p.keys, p.readAt = keys, now
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("no key %q in the pool's keys", kid)
}

// read fetches the JSON Web Key Set and keeps its RSA signing keys.
func (p *poolKeys) read(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", p.url, resp.Status)
	}
	var set struct {
		Keys []struct {
			Kid, Kty, Alg, Use, N, E string
		} `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("GET %s: %w", p.url, err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || (k.Alg != "" && k.Alg != "RS256") || (k.Use != "" && k.Use != "sig") {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			continue
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return keys, nil
}

// idClaims are the claims of a Cognito ID token this server reads.
type idClaims struct {
	TokenUse string `json:"token_use"`
	jwt.RegisteredClaims
}

// verifyIDToken returns the user (sub) of an ID token of the pool and
// app client: RS256, signed by one of the pool's keys, with the pool's
// issuer, the client as audience, token_use "id", and unexpired.
func (g *Gateway) verifyIDToken(ctx context.Context, raw string) (string, error) {
	now := g.now()
	var claims idClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return g.keys.key(ctx, kid, now)
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(g.issuer), jwt.WithAudience(g.cfg.ClientID),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return now }))
	switch {
	case err != nil:
		return "", err
	case claims.TokenUse != "id":
		return "", fmt.Errorf("token_use is %q, want id (an ID token, not an access token)", claims.TokenUse)
	case claims.Subject == "":
		return "", errors.New("the token has no sub")
	}
	return claims.Subject, nil
}

// tokenProblem says what is wrong with a refused ID token, in Cognito's
// words where it has them, and no more.
func tokenProblem(err error) string {
	if errors.Is(err, jwt.ErrTokenExpired) {
		return "Token expired."
	}
	return "It is not an unexpired ID token of this user pool and app client."
}
