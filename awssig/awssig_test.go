package awssig_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/scratch-notes/notes-api/awssig"
)

var (
	now    = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	issued = aws.Credentials{AccessKeyID: "ASIALOCAL1", SecretAccessKey: "secret-1", SessionToken: "token-1"}
)

func checker() *awssig.Checker {
	return &awssig.Checker{Service: "execute-api", Region: "us-east-1", Skew: 5 * time.Minute,
		Now: func() time.Time { return now },
		Keys: func(id string) (aws.Credentials, bool) {
			if id == issued.AccessKeyID {
				return issued, true
			}
			return aws.Credentials{}, false
		}}
}

func hash(body string) string {
	s := sha256.Sum256([]byte(body))
	return hex.EncodeToString(s[:])
}

// signed is a POST of body to the API, signed with creds at t as a
// browser's SigV4 library signs it.
func signed(t *testing.T, creds aws.Credentials, body string, at time.Time, service, region string) *http.Request {
	t.Helper()
	r := httptest.NewRequest("POST", "http://127.0.0.1:3000/notes/a%20b?limit=2&cursor=x%2Fy", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hash(body), service, region, at); err != nil {
		t.Fatal(err)
	}
	return r
}

func reason(err error) awssig.Reason {
	var e *awssig.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return 0
}

func TestHeaderSigned(t *testing.T) {
	const body = `{"content":"hello"}`
	s, err := checker().Check(signed(t, issued, body, now.Add(-time.Minute), "execute-api", "us-east-1"), hash(body))
	if err != nil {
		t.Fatalf("a valid signature: %v", err)
	}
	if s.Credentials.AccessKeyID != issued.AccessKeyID || s.Region != "us-east-1" {
		t.Fatalf("signed = %+v", s)
	}

	other := issued
	other.SecretAccessKey = "not-the-secret"
	noToken := issued
	noToken.SessionToken = ""
	unknown := issued
	unknown.AccessKeyID = "ASIAOTHER"
	for _, tc := range []struct {
		name string
		req  func() *http.Request
		hash string
		want awssig.Reason
	}{
		{"unsigned", func() *http.Request { return httptest.NewRequest("GET", "http://127.0.0.1:3000/notes", nil) }, hash(""), awssig.Unsigned},
		{"body changed after signing", func() *http.Request { return signed(t, issued, body, now, "execute-api", "us-east-1") }, hash(`{"content":"other"}`), awssig.Mismatch},
		{"signed header changed", func() *http.Request {
			r := signed(t, issued, body, now, "execute-api", "us-east-1")
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, hash(body), awssig.Mismatch},
		{"path changed", func() *http.Request {
			r := signed(t, issued, body, now, "execute-api", "us-east-1")
			r.URL.Path, r.URL.RawPath = "/notes/other", ""
			return r
		}, hash(body), awssig.Mismatch},
		{"query changed", func() *http.Request {
			r := signed(t, issued, body, now, "execute-api", "us-east-1")
			r.URL.RawQuery = "limit=3&cursor=x%2Fy"
			return r
		}, hash(body), awssig.Mismatch},
		{"wrong secret", func() *http.Request { return signed(t, other, body, now, "execute-api", "us-east-1") }, hash(body), awssig.Mismatch},
		{"unknown key", func() *http.Request { return signed(t, unknown, body, now, "execute-api", "us-east-1") }, hash(body), awssig.UnknownKey},
		{"no token", func() *http.Request { return signed(t, noToken, body, now, "execute-api", "us-east-1") }, hash(body), awssig.BadToken},
		{"token added unsigned", func() *http.Request {
			r := signed(t, noToken, body, now, "execute-api", "us-east-1")
			r.Header.Set("X-Amz-Security-Token", issued.SessionToken)
			return r
		}, hash(body), awssig.Mismatch},
		{"another token", func() *http.Request {
			r := signed(t, issued, body, now, "execute-api", "us-east-1")
			r.Header.Set("X-Amz-Security-Token", "token-2")
			return r
		}, hash(body), awssig.BadToken},
		{"stale", func() *http.Request {
			return signed(t, issued, body, now.Add(-6*time.Minute), "execute-api", "us-east-1")
		}, hash(body), awssig.Expired},
		{"from the future", func() *http.Request {
			return signed(t, issued, body, now.Add(6*time.Minute), "execute-api", "us-east-1")
		}, hash(body), awssig.Expired},
		{"another service", func() *http.Request { return signed(t, issued, body, now, "s3", "us-east-1") }, hash(body), awssig.Malformed},
		{"another region", func() *http.Request { return signed(t, issued, body, now, "execute-api", "eu-west-1") }, hash(body), awssig.Malformed},
		{"another algorithm", func() *http.Request {
			r := signed(t, issued, body, now, "execute-api", "us-east-1")
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1))
			return r
		}, hash(body), awssig.Malformed},
		{"signature of another length", func() *http.Request {
			r := signed(t, issued, body, now, "execute-api", "us-east-1")
			r.Header.Set("Authorization", r.Header.Get("Authorization")+"00")
			return r
		}, hash(body), awssig.Mismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checker().Check(tc.req(), tc.hash)
			if got := reason(err); got != tc.want {
				t.Fatalf("reason = %d (%v), want %d", got, err, tc.want)
			}
		})
	}
}

func TestPresigned(t *testing.T) {
	c := checker()
	c.Service, c.S3, c.Region = "s3", true, ""
	presign := func(creds aws.Credentials, at time.Time, expires string) *http.Request {
		r := httptest.NewRequest("GET", "http://127.0.0.1:9000/attachments/private/u/1-a%20b.txt?X-Amz-Expires="+expires, nil)
		u, _, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).
			PresignHTTP(context.Background(), creds, r, "UNSIGNED-PAYLOAD", "s3", "eu-west-1", at)
		if err != nil {
			t.Fatal(err)
		}
		return httptest.NewRequest("GET", u, nil)
	}
	if _, err := c.Check(presign(issued, now.Add(-time.Minute), "900"), ""); err != nil {
		t.Fatalf("a valid URL: %v", err)
	}
	tampered := presign(issued, now, "900")
	tampered.URL.Path, tampered.URL.RawPath = "/attachments/private/v/1-a b.txt", ""
	other := issued
	other.SecretAccessKey = "wrong"
	for name, tc := range map[string]struct {
		r    *http.Request
		want awssig.Reason
	}{
		"expired":     {presign(issued, now.Add(-16*time.Minute), "900"), awssig.Expired},
		"future":      {presign(issued, now.Add(6*time.Minute), "900"), awssig.Expired},
		"tampered":    {tampered, awssig.Mismatch},
		"wrong key":   {presign(other, now, "900"), awssig.Mismatch},
		"too long":    {presign(issued, now, "604801"), awssig.Malformed},
		"two expires": {httptest.NewRequest("GET", presign(issued, now, "900").URL.String()+"&X-Amz-Expires=1", nil), awssig.Malformed},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Check(tc.r, "")
			if got := reason(err); got != tc.want {
				t.Fatalf("reason = %d (%v), want %d", got, err, tc.want)
			}
		})
	}
}
