// Package awssig checks AWS Signature Version 4 the way AWS services
// do. It signs a copy of the request again with the SDK's own signer,
// with the credentials the access key names, and compares the two
// signatures in constant time: it holds no signing code of its own.
package awssig

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Reason says why a request was refused, so that each service can answer
// in its own words.
type Reason int

const (
	// Unsigned: the request has no signature at all.
	Unsigned Reason = iota + 1
	// Malformed: the signature's fields are missing or unreadable.
	Malformed
	// UnknownKey: no credentials have that access key id.
	UnknownKey
	// BadToken: the session token is not the one issued with the key.
	BadToken
	// Expired: a presigned URL has expired, or the signing time is too
	// far from now.
	Expired
	// Mismatch: the signature is not the one the credentials make.
	Mismatch
)

// Error is a refused signature; Message is AWS's own wording, fit to show
// the caller.
type Error struct {
	Reason  Reason
	Message string
}

func (e *Error) Error() string { return e.Message }

func refuse(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Message: fmt.Sprintf(format, args...)}
}

// Checker checks the signatures of one service.
type Checker struct {
	// Service is the signing name the credential scope must name (s3,
	// execute-api).
	Service string
	// Region, when set, is the region the scope must name; empty takes
	// whatever region the request was signed for.
	Region string
	// Skew is how far a header-signed request's time may be from now,
	// either way, and how far a presigned one may be ahead of it.
	Skew time.Duration
	// Keys returns the credentials of an access key id, with the session
	// token issued with them (empty when none was); false when no
	// credentials have that id.
	Keys func(accessKeyID string) (aws.Credentials, bool)
	// S3 signs paths as S3 does: escaped once, not twice.
	S3 bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Signed is what a valid signature proves: who signed, for which region,
// when.
type Signed struct {
	Credentials aws.Credentials
	Region      string
	SignedAt    time.Time
}

const (
	algorithm  = "AWS4-HMAC-SHA256"
	timeFormat = "20060102T150405Z"
	// maxPresign is the longest a presigned URL may last (7 days).
	maxPresign = 604800
)

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Checker) signer() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = c.S3 })
}

// Check checks r's signature, in its query (presigned) or its
// Authorization header. payloadHash is the hex SHA-256 of the body (or
// S3's UNSIGNED-PAYLOAD where the service allows it): the hash the
// service takes, not one the caller claims. A refusal is an *Error.
func (c *Checker) Check(r *http.Request, payloadHash string) (Signed, error) {
	if q := r.URL.Query(); q.Has("X-Amz-Signature") {
		return c.presigned(r, q)
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		return c.header(r, auth, payloadHash)
	}
	return Signed{}, refuse(Unsigned, "the request is not signed")
}

// scope is a parsed credential: AKID/yyyymmdd/region/service/aws4_request.
type scope struct {
	akid, date, region string
}

func (c *Checker) parseScope(credential string) (scope, *Error) {
	p := strings.Split(credential, "/")
	if len(p) != 5 || p[4] != "aws4_request" || p[0] == "" {
		return scope{}, refuse(Malformed, "the credential is not AKID/date/region/service/aws4_request")
	}
	if p[3] != c.Service {
		return scope{}, refuse(Malformed, "the credential is scoped to the service %q; this is %q", p[3], c.Service)
	}
	if c.Region != "" && p[2] != c.Region {
		return scope{}, refuse(Malformed, "the credential is scoped to the region %q; this is %q", p[2], c.Region)
	}
	return scope{akid: p[0], date: p[1], region: p[2]}, nil
}

// credentials returns the credentials of sc's key and checks that the
// request carries their session token.
func (c *Checker) credentials(sc scope, token string) (aws.Credentials, *Error) {
	creds, ok := c.Keys(sc.akid)
	if !ok {
		return aws.Credentials{}, refuse(UnknownKey, "the access key id is not one this server issued")
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(creds.SessionToken)) != 1 {
		if token == "" {
			return aws.Credentials{}, refuse(BadToken, "the request has no security token")
		}
		return aws.Credentials{}, refuse(BadToken, "the security token included in the request is invalid")
	}
	return creds, nil
}

func (c *Checker) presigned(r *http.Request, q url.Values) (Signed, error) {
	for k, vs := range q {
		if len(vs) > 1 && strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			return Signed{}, refuse(Malformed, "only one value of %s may be given", k)
		}
	}
	if q.Get("X-Amz-Algorithm") != algorithm {
		return Signed{}, refuse(Malformed, "X-Amz-Algorithm only supports %q", algorithm)
	}
	sc, bad := c.parseScope(q.Get("X-Amz-Credential"))
	if bad != nil {
		return Signed{}, bad
	}
	signedAt, err := time.Parse(timeFormat, q.Get("X-Amz-Date"))
	if err != nil || signedAt.Format("20060102") != sc.date {
		return Signed{}, refuse(Malformed, "X-Amz-Date must be in the ISO8601 long format and match the credential")
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires < 1 || expires > maxPresign {
		return Signed{}, refuse(Malformed, "X-Amz-Expires must be a number of seconds from 1 to %d", maxPresign)
	}
	now := c.now()
	if now.After(signedAt.Add(time.Duration(expires) * time.Second)) {
		return Signed{}, refuse(Expired, "Request has expired")
	}
	if signedAt.After(now.Add(c.Skew)) {
		return Signed{}, refuse(Expired, "The difference between the request time and the current time is too large.")
	}
	creds, bad := c.credentials(sc, q.Get("X-Amz-Security-Token"))
	if bad != nil {
		return Signed{}, bad
	}
	check, err := unsignedCopy(r, strings.Split(q.Get("X-Amz-SignedHeaders"), ";"))
	if err != nil {
		return Signed{}, refuse(Mismatch, "%s", err.Error())
	}
	cq := check.URL.Query()
	for _, k := range []string{"X-Amz-Signature", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Security-Token"} {
		cq.Del(k)
	}
	check.URL.RawQuery = cq.Encode()
	u, _, err := c.signer().PresignHTTP(context.Background(), creds, check, "UNSIGNED-PAYLOAD", c.Service, sc.region, signedAt)
	if err != nil {
		return Signed{}, refuse(Mismatch, "the request could not be signed again: %v", err)
	}
	got, err := url.Parse(u)
	if err != nil || !sameSignature(got.Query().Get("X-Amz-Signature"), q.Get("X-Amz-Signature")) ||
		got.Query().Get("X-Amz-SignedHeaders") != q.Get("X-Amz-SignedHeaders") {
		return Signed{}, refuse(Mismatch, "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	}
	return Signed{Credentials: creds, Region: sc.region, SignedAt: signedAt}, nil
}

func (c *Checker) header(r *http.Request, auth, payloadHash string) (Signed, error) {
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != algorithm {
		return Signed{}, refuse(Malformed, "The authorization mechanism you have provided is not supported. Please use %s.", algorithm)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	if fields["Credential"] == "" || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return Signed{}, refuse(Malformed, "The authorization header is malformed: it needs Credential, SignedHeaders and Signature")
	}
	sc, bad := c.parseScope(fields["Credential"])
	if bad != nil {
		return Signed{}, bad
	}
	signedAt, err := time.Parse(timeFormat, r.Header.Get("X-Amz-Date"))
	if err != nil || signedAt.Format("20060102") != sc.date {
		return Signed{}, refuse(Malformed, "the request needs an X-Amz-Date header in the ISO8601 long format that matches the credential")
	}
	if d := c.now().Sub(signedAt); d > c.Skew || d < -c.Skew {
		return Signed{}, refuse(Expired, "Signature expired: %s is not within %v of the server's time", signedAt.Format(timeFormat), c.Skew)
	}
	creds, bad := c.credentials(sc, r.Header.Get("X-Amz-Security-Token"))
	if bad != nil {
		return Signed{}, bad
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	check, err := unsignedCopy(r, signed)
	if err != nil {
		return Signed{}, refuse(Mismatch, "%s", err.Error())
	}
	// The signer sets these two itself, from its arguments.
	check.Header.Del("X-Amz-Date")
	check.Header.Del("X-Amz-Security-Token")
	if err := c.signer().SignHTTP(context.Background(), creds, check, payloadHash, c.Service, sc.region, signedAt); err != nil {
		return Signed{}, refuse(Mismatch, "the request could not be signed again: %v", err)
	}
	want := check.Header.Get("Authorization")
	_, sig, _ := strings.Cut(want, "Signature=")
	if !sameSignature(sig, fields["Signature"]) || !strings.Contains(want, "SignedHeaders="+fields["SignedHeaders"]+",") {
		return Signed{}, refuse(Mismatch, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return Signed{Credentials: creds, Region: sc.region, SignedAt: signedAt}, nil
}

// sameSignature compares two hex signatures in constant time.
func sameSignature(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// unsignedCopy is r as it was before signing: its method, URL and the
// headers it says it signed, with their values as received.
func unsignedCopy(r *http.Request, signed []string) (*http.Request, error) {
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	u.RawPath = r.URL.EscapedPath()
	c := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	if !slices.Contains(signed, "host") {
		return nil, fmt.Errorf("the host header must be signed")
	}
	for _, h := range signed {
		switch h {
		case "host":
		case "content-length":
			if r.ContentLength < 0 {
				return nil, fmt.Errorf("the request names content-length as signed but has none")
			}
			c.ContentLength = r.ContentLength
		default:
			vs, ok := r.Header[http.CanonicalHeaderKey(h)]
			if !ok {
				return nil, fmt.Errorf("the signed header %s is missing", h)
			}
			c.Header[http.CanonicalHeaderKey(h)] = vs
		}
	}
	return c, nil
}
