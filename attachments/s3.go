// Package attachments keeps the files attached to notes in S3: it signs
// the browser's direct uploads and downloads (SigV4 presigned URLs) and
// deletes files. It signs with aws-sdk-go-v2's own SigV4 signer and sends
// its one API call (DeleteObject) itself, instead of linking the S3
// client, which would cost the Lambda's cold start more than this whole
// package (see the README's Performance section).
package attachments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// urlLifetime is how long a presigned URL is valid.
const urlLifetime = 15 * time.Minute

// unsignedPayload is what a presigned URL signs for the body: the body is
// the browser's, not known when signing (S3's UNSIGNED-PAYLOAD).
const unsignedPayload = "UNSIGNED-PAYLOAD"

// deleteTimeout bounds one DeleteObject call.
const deleteTimeout = 5 * time.Second

// Presigned is a request a browser can make without credentials: Method
// to URL, sending exactly Header, before Expires.
type Presigned struct {
	URL     string
	Method  string
	Header  map[string]string
	Expires time.Time
}

// S3 signs requests for the objects of one bucket.
type S3 struct {
	bucket   string
	region   string
	endpoint *url.URL // nil: AWS's own, virtual-hosted style
	creds    aws.CredentialsProvider
	signer   *v4.Signer
	client   *http.Client
	retryer  *retry.Standard
}

// NewS3 returns the files of bucket in cfg's region with cfg's
// credentials. endpoint, when not empty, is an S3-compatible server
// (AWS_ENDPOINT_URL_S3) addressed path-style, http://host:port/bucket/key;
// otherwise https://bucket.s3.region.amazonaws.com/key.
func NewS3(cfg aws.Config, bucket, endpoint string) (*S3, error) {
	s := &S3{bucket: bucket, region: cfg.Region, creds: cfg.Credentials,
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		client: &http.Client{Timeout: deleteTimeout},
		// The SDK's own standard retries: 5xx, 429, throttling codes and
		// transport errors, with its backoff.
		retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.RateLimiter = ratelimit.None
		})}
	switch {
	case bucket == "":
		return nil, errors.New("no bucket")
	case s.region == "":
		return nil, errors.New("no region")
	case s.creds == nil:
		return nil, errors.New("no credentials")
	}
	if endpoint != "" {
		u, err := url.Parse(endpoint) // checked by whoever read it
		if err != nil {
			return nil, fmt.Errorf("endpoint %q: %w", endpoint, err)
		}
		s.endpoint = u
	}
	return s, nil
}

// objectURL is the URL of key, its path escaped the way S3's canonical
// request escapes it: every byte but the unreserved ones and '/'.
func (s *S3) objectURL(key string) *url.URL {
	path := "/" + key
	u := &url.URL{Scheme: "https", Host: s.bucket + ".s3." + s.region + "." + dnsSuffix(s.region)}
	if s.endpoint != nil {
		u = &url.URL{Scheme: s.endpoint.Scheme, Host: s.endpoint.Host}
		path = strings.TrimSuffix(s.endpoint.Path, "/") + "/" + s.bucket + path
	}
	u.Path, u.RawPath = path, escapePath(path)
	return u
}

func dnsSuffix(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

func escapePath(p string) string {
	return percentEncode(p, func(c byte) bool { return c == '/' || c == '-' || c == '_' || c == '.' || c == '~' })
}

// presign signs req for urlLifetime from now. Only the headers on req are
// signed: nothing a browser's fetch cannot send (no checksum header or
// parameter, which the S3 client would add and fetch cannot satisfy).
func (s *S3) presign(ctx context.Context, req *http.Request, now time.Time) (string, error) {
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("credentials: %w", err)
	}
	q := req.URL.Query()
	q.Set("X-Amz-Expires", fmt.Sprint(int(urlLifetime/time.Second)))
	req.URL.RawQuery = q.Encode()
	signed, _, err := s.signer.PresignHTTP(ctx, creds, req, unsignedPayload, "s3", s.region, now)
	return signed, err
}

// PendingTag is the object tag an upload is born with, until a note
// names the file (Keep): the bucket's lifecycle rule expires files that
// still carry it after a day, so that an upload never saved in a note
// does not stay for ever.
const PendingTag = "pending=true"

// PresignUpload signs a PUT of exactly size bytes of contentType to key,
// tagged PendingTag. The browser must send the returned Header
// (Content-Type and X-Amz-Tagging, both signed); it sends Content-Length
// itself, and S3 refuses a body of another length.
func (s *S3) PresignUpload(ctx context.Context, key, contentType string, size int64) (Presigned, error) {
	now := time.Now().UTC()
	req := &http.Request{Method: http.MethodPut, URL: s.objectURL(key), Header: http.Header{}, ContentLength: size}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Amz-Tagging", PendingTag)
	u, err := s.presign(ctx, req, now)
	if err != nil {
		return Presigned{}, fmt.Errorf("presign upload of %s: %w", key, err)
	}
	return Presigned{URL: u, Method: http.MethodPut, Header: map[string]string{"Content-Type": contentType, "X-Amz-Tagging": PendingTag},
		Expires: now.Add(urlLifetime)}, nil
}

// CheckKey reports why key is not one this bucket keeps (see the
// function CheckKey); nil when it is.
func (s *S3) CheckKey(key string) error { return CheckKey(key) }

// PresignDownload signs a GET of key that S3 answers as a download, never
// a page: Content-Disposition attachment with the file's name, and a
// Content-Type from a list of passive types by the name's extension
// (application/octet-stream for anything else), whatever type the file
// was uploaded with.
func (s *S3) PresignDownload(ctx context.Context, key string) (Presigned, error) {
	now := time.Now().UTC()
	obj := s.objectURL(key)
	q := url.Values{}
	name := fileName(key)
	q.Set("response-content-disposition", contentDisposition(name))
	q.Set("response-content-type", downloadType(name))
	obj.RawQuery = q.Encode()
	req := &http.Request{Method: http.MethodGet, URL: obj, Header: http.Header{}}
	u, err := s.presign(ctx, req, now)
	if err != nil {
		return Presigned{}, fmt.Errorf("presign download of %s: %w", key, err)
	}
	return Presigned{URL: u, Method: http.MethodGet, Header: map[string]string{}, Expires: now.Add(urlLifetime)}, nil
}

// Delete removes key. A key that does not exist is not an error (S3's own
// DeleteObject answers 204 either way).
func (s *S3) Delete(ctx context.Context, key string) error {
	if _, err := s.call(ctx, http.MethodDelete, s.objectURL(key)); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// Keep removes the pending tag of key (DeleteObjectTagging), so that the
// lifecycle rule never sweeps it: a note names it now. A key with no file
// behind it is ErrNoFile (its upload never arrived, or was swept); any
// other failure is ErrUnavailable.
func (s *S3) Keep(ctx context.Context, key string) error {
	u := s.objectURL(key)
	u.RawQuery = "tagging="
	_, err := s.call(ctx, http.MethodDelete, u)
	var se *statusError
	if errors.As(err, &se) && se.status == http.StatusNotFound {
		return fmt.Errorf("untag %s: %w", key, ErrNoFile)
	}
	if err != nil {
		return fmt.Errorf("untag %s: %w (%w)", key, ErrUnavailable, err)
	}
	return nil
}

// Exists reports whether the bucket has a file at key (HeadObject, which
// s3:GetObject allows). A failure to tell is ErrUnavailable.
func (s *S3) Exists(ctx context.Context, key string) (bool, error) {
	_, err := s.call(ctx, http.MethodHead, s.objectURL(key))
	var se *statusError
	if errors.As(err, &se) && se.status == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("head %s: %w (%w)", key, ErrUnavailable, err)
	}
	return true, nil
}

// Pending reports whether key carries the pending tag (GetObjectTagging):
// an upload no note has named yet. For tests and operators; the API never
// reads it.
func (s *S3) Pending(ctx context.Context, key string) (bool, error) {
	u := s.objectURL(key)
	u.RawQuery = "tagging="
	body, err := s.call(ctx, http.MethodGet, u)
	if err != nil {
		return false, fmt.Errorf("tags of %s: %w", key, err)
	}
	k, v, _ := strings.Cut(PendingTag, "=")
	for rest := string(body); ; {
		tag := element(rest, "Tag")
		if tag == "" {
			return false, nil
		}
		if xmlText(element(tag, "Key")) == k && xmlText(element(tag, "Value")) == v {
			return true, nil
		}
		_, rest, _ = strings.Cut(rest, "</Tag>")
	}
}

// ErrUnavailable: the bucket did not do what was asked, after the SDK's
// retries; asking again later may work.
var ErrUnavailable = errors.New("the bucket is unavailable")

// ErrNoFile: the bucket has no file at the key.
var ErrNoFile = errors.New("no file at this key")

// List returns up to 1,000 keys under prefix after the continuation
// token from (ListObjectsV2), and the token of the next page ("" when
// there is none).
func (s *S3) List(ctx context.Context, prefix, from string) (keys []string, next string, err error) {
	u := s.objectURL("")
	u.Path = strings.TrimSuffix(u.Path, "/")
	if u.Path == "" {
		u.Path = "/"
	}
	u.RawPath = escapePath(u.Path)
	q := url.Values{"list-type": {"2"}, "prefix": {prefix}, "max-keys": {"1000"}, "encoding-type": {"url"}}
	if from != "" {
		q.Set("continuation-token", from)
	}
	u.RawQuery = q.Encode()
	body, err := s.call(ctx, http.MethodGet, u)
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", prefix, err)
	}
	return parseList(body)
}

// parseList reads a ListObjectsV2 answer: the keys and the next token. It
// reads the few elements it needs by hand, so that the release build
// links no XML decoder.
func parseList(body []byte) (keys []string, next string, err error) {
	doc := string(body)
	urlEncoded := element(doc, "EncodingType") == "url"
	for rest := doc; ; {
		i := strings.Index(rest, "<Key>")
		if i < 0 {
			break
		}
		rest = rest[i+len("<Key>"):]
		j := strings.Index(rest, "</Key>")
		if j < 0 {
			return nil, "", errors.New("list: a <Key> with no end")
		}
		k := xmlText(rest[:j])
		if urlEncoded {
			if k, err = url.QueryUnescape(k); err != nil {
				return nil, "", fmt.Errorf("list: key %q: %w", rest[:j], err)
			}
		}
		keys = append(keys, k)
		rest = rest[j:]
	}
	if element(doc, "IsTruncated") == "true" {
		if next = xmlText(element(doc, "NextContinuationToken")); next == "" {
			return nil, "", errors.New("list: truncated with no continuation token")
		}
	}
	return keys, next, nil
}

// element is the text of the first <name> element of doc.
func element(doc, name string) string {
	_, after, ok := strings.Cut(doc, "<"+name+">")
	if !ok {
		return ""
	}
	text, _, _ := strings.Cut(after, "</"+name+">")
	return text
}

// xmlText undoes XML's escapes of text: the five entities, and character
// references.
func xmlText(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		j := strings.IndexByte(s, ';')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		ent := s[1:j]
		switch {
		case ent == "amp":
			b.WriteByte('&')
		case ent == "lt":
			b.WriteByte('<')
		case ent == "gt":
			b.WriteByte('>')
		case ent == "quot":
			b.WriteByte('"')
		case ent == "apos":
			b.WriteByte('\'')
		case strings.HasPrefix(ent, "#x"):
			n, err := strconv.ParseUint(ent[2:], 16, 32)
			if err != nil {
				b.WriteString(s[:j+1])
			} else {
				b.WriteRune(rune(n))
			}
		case strings.HasPrefix(ent, "#"):
			n, err := strconv.ParseUint(ent[1:], 10, 32)
			if err != nil {
				b.WriteString(s[:j+1])
			} else {
				b.WriteRune(rune(n))
			}
		default:
			b.WriteString(s[:j+1])
		}
		s = s[j+1:]
	}
}

// call makes one signed request to S3 with an empty body and returns the
// answer's body (its first 4 MiB). A 5xx, a 429 or a failed connection
// is tried again, signed anew, with the SDK's standard retryer and
// backoff, inside callTimeout; an answer that is not a 2xx is a
// *statusError.
func (s *S3) call(ctx context.Context, method string, u *url.URL) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		body, err := s.callOnce(ctx, method, u)
		if err == nil || attempt >= s.retryer.MaxAttempts() || !s.retryer.IsErrorRetryable(err) {
			return body, err
		}
		wait, werr := s.retryer.RetryDelay(attempt, err)
		if werr != nil {
			return nil, err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (gave up retrying: %w)", err, ctx.Err())
		}
	}
}

// statusError is S3's answer to a call that failed.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string       { return fmt.Sprintf("S3 answered %d: %s", e.status, e.body) }
func (e *statusError) HTTPStatusCode() int { return e.status }

func (s *S3) callOnce(ctx context.Context, method string, u *url.URL) ([]byte, error) {
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, "", nil)
	if err != nil {
		return nil, err
	}
	cu := *u
	req.URL = &cu
	req.Host = req.URL.Host
	const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	if err := s.signer.SignHTTP(ctx, creds, req, emptySHA256, "s3", s.region, time.Now().UTC()); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// As the SDK's clients say it: a request that never got an
		// answer, which its retryer takes for worth trying again.
		return nil, &smithyhttp.RequestSendError{Err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	io.Copy(io.Discard, resp.Body) // the rest, so that the connection is reused
	if resp.StatusCode/100 != 2 {
		return nil, &statusError{status: resp.StatusCode, body: string(body[:min(len(body), 512)])}
	}
	return body, nil
}
