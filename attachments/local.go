//go:build !lambda

package attachments

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// maxLocalObject bounds one stored file: the API never signs more than
// its attachment limit, so anything near this is not one of ours.
const maxLocalObject = 16 << 20

// clockSkew is how far a request's signing time may be ahead of ours.
const clockSkew = 15 * time.Minute

// Local is a small S3-compatible endpoint for the local server: one
// bucket of objects in a directory, PUT, GET, HEAD and DELETE of an
// object, each checked like S3 checks it: a SigV4 signature, in the query
// (presigned) or the Authorization header, made with Local's one
// credential, that has not expired and covers the headers it names
// (Content-Type and Content-Length of an upload among them), and a key
// that checkKey's strict rule keeps. Every file it touches is reached
// through an os.Root of its directory, so that no key, and no symbolic
// link in the directory, reaches outside it. Downloads are downloads:
// Content-Disposition attachment, X-Content-Type-Options nosniff,
// Content-Security-Policy sandbox, and no active type. It is not in the
// Lambda build.
type Local struct {
	bucket string
	root   *os.Root
	creds  aws.Credentials
	signer *v4.Signer
	now    func() time.Time
	log    *slog.Logger
	// locks serialise the writes and reads of one key (by its hash), so
	// that an object and its type are always seen together.
	locks [64]sync.RWMutex
}

// NewLocal serves bucket from dir, accepting requests signed with creds,
// in whatever region their credential scope names; log hears of files it
// could not store or remove.
func NewLocal(bucket, dir string, creds aws.Credentials, log *slog.Logger) (*Local, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("attachments directory: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("attachments directory: %w", err)
	}
	for _, sub := range []string{"objects", "types"} {
		if err := root.MkdirAll(sub, 0o700); err != nil {
			root.Close()
			return nil, fmt.Errorf("attachments directory: %w", err)
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Local{bucket: bucket, root: root, creds: creds, now: time.Now, log: log,
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })}, nil
}

// Close lets go of the directory.
func (l *Local) Close() error { return l.root.Close() }

// lock is the lock of key.
func (l *Local) lock(key string) *sync.RWMutex {
	h := fnv.New32a()
	h.Write([]byte(key))
	return &l.locks[h.Sum32()%uint32(len(l.locks))]
}

// s3Error is S3's XML error body.
type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string
	Message   string
	Resource  string `xml:",omitempty"`
	RequestID string `xml:"RequestId"`
}

func writeS3Error(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	b, _ := xml.Marshal(s3Error{Code: code, Message: msg, Resource: r.URL.Path, RequestID: w.Header().Get("X-Request-Id")})
	w.Write(append([]byte(xml.Header), b...))
}

// ServeHTTP implements http.Handler.
func (l *Local) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket != l.bucket {
		writeS3Error(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	if key == "" && r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2" {
		if code, msg := l.verify(r); code != "" {
			writeS3Error(w, r, http.StatusForbidden, code, msg)
			return
		}
		l.list(w, r)
		return
	}
	if err := checkKey(key, true); err != nil {
		writeS3Error(w, r, http.StatusBadRequest, "InvalidArgument", "The object key is not one this endpoint keeps: "+err.Error())
		return
	}
	if code, msg := l.verify(r); code != "" {
		writeS3Error(w, r, http.StatusForbidden, code, msg)
		return
	}
	objPath := path.Join("objects", key)
	typePath := path.Join("types", key)
	if r.URL.Query().Has("tagging") {
		l.tagging(w, r, key, objPath, typePath)
		return
	}
	switch r.Method {
	case http.MethodPut:
		l.put(w, r, key, objPath, typePath)
	case http.MethodGet, http.MethodHead:
		l.get(w, r, key, objPath, typePath)
	case http.MethodDelete:
		mu := l.lock(key)
		mu.Lock()
		defer mu.Unlock()
		for _, p := range []string{objPath, typePath} {
			if err := l.root.Remove(filepath.FromSlash(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				l.log.Error("attachments: a file could not be removed", "key", key, "error", err.Error())
				writeS3Error(w, r, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT, DELETE")
		writeS3Error(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	}
}

// get answers a GET or HEAD of key as a download: the type and disposition
// the signed URL asks for (response-content-type and
// response-content-disposition, as S3 takes them), else the stored type
// when it is a passive one and attachment with the key's file name;
// never a type guessed from the content.
func (l *Local) get(w http.ResponseWriter, r *http.Request, key, objPath, typePath string) {
	mu := l.lock(key)
	mu.RLock()
	defer mu.RUnlock()
	f, err := l.root.Open(filepath.FromSlash(objPath))
	if err != nil {
		writeS3Error(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		writeS3Error(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	m := l.readMeta(typePath)
	stored, etag := m.contentType, m.etag
	q := r.URL.Query()
	h := w.Header()
	h.Set("Content-Type", downloadType(fileName(key)))
	if isPassive(stored) {
		h.Set("Content-Type", stored)
	}
	if v := q.Get("response-content-type"); v != "" {
		h.Set("Content-Type", v)
	}
	h.Set("Content-Disposition", contentDisposition(fileName(key)))
	if v := q.Get("response-content-disposition"); v != "" {
		h.Set("Content-Disposition", v)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	if etag != "" {
		h.Set("ETag", etag)
	}
	http.ServeContent(w, r, "", info.ModTime(), f)
}

// isPassive reports whether a stored type is one a browser never runs.
func isPassive(t string) bool {
	mt, _, _ := strings.Cut(t, ";")
	for _, p := range passiveTypes {
		if pt, _, _ := strings.Cut(p, ";"); strings.EqualFold(strings.TrimSpace(mt), pt) {
			return true
		}
	}
	return false
}

// put stores the body and its type together, whole or not at all: each
// is written to a file of its own name and renamed into place under the
// key's lock, so that racing uploads, a read during an upload and a
// delete racing one never see a body with another's type, or none.
func (l *Local) put(w http.ResponseWriter, r *http.Request, key, objPath, typePath string) {
	if r.ContentLength < 0 {
		writeS3Error(w, r, http.StatusLengthRequired, "MissingContentLength", "You must provide the Content-Length HTTP header.")
		return
	}
	if r.ContentLength > maxLocalObject {
		writeS3Error(w, r, http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
		return
	}
	failed := func(what string, err error) {
		l.log.Error("attachments: a file could not be stored", "key", key, "step", what, "error", err.Error())
		status, code := http.StatusInternalServerError, "InternalError"
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			status, code = http.StatusInsufficientStorage, "InsufficientStorage"
		}
		writeS3Error(w, r, status, code, "The file could not be stored here. Please try again.")
	}
	for _, p := range []string{objPath, typePath} {
		if err := l.root.MkdirAll(filepath.FromSlash(path.Dir(p)), 0o700); err != nil {
			failed("directory", err)
			return
		}
	}
	tmpObj := path.Join(path.Dir(objPath), ".upload-"+rand.Text())
	f, err := l.root.OpenFile(filepath.FromSlash(tmpObj), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		failed("create", err)
		return
	}
	defer l.root.Remove(filepath.FromSlash(tmpObj))
	sum := md5.New()
	n, rerr := io.Copy(io.MultiWriter(f, sum), io.LimitReader(r.Body, maxLocalObject+1))
	werr := f.Sync()
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	var pathErr *fs.PathError
	switch {
	case rerr != nil && errors.As(rerr, &pathErr):
		failed("write", rerr) // the disk, not the client
		return
	case rerr != nil || n != r.ContentLength:
		writeS3Error(w, r, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		return
	case werr != nil:
		failed("write", werr)
		return
	}
	etag := `"` + hex.EncodeToString(sum.Sum(nil)) + `"`
	mu := l.lock(key)
	mu.Lock()
	defer mu.Unlock()
	if err := l.writeMeta(typePath, objectMeta{contentType: r.Header.Get("Content-Type"), etag: etag, tagging: r.Header.Get("X-Amz-Tagging")}); err != nil {
		failed("write type", err)
		return
	}
	if err := l.root.Rename(filepath.FromSlash(tmpObj), filepath.FromSlash(objPath)); err != nil {
		failed("rename", err)
		return
	}
	w.Header().Set("ETag", etag)
	w.WriteHeader(http.StatusOK)
}

// verify checks r's SigV4 signature the way S3 does, and returns S3's
// error code and message when it fails.
func (l *Local) verify(r *http.Request) (code, msg string) {
	q := r.URL.Query()
	if q.Has("X-Amz-Signature") {
		return l.verifyPresigned(r, q)
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		return l.verifyHeader(r, auth)
	}
	return "AccessDenied", "Anonymous access is not allowed: sign the request"
}

// scope is a parsed credential: AKID/yyyymmdd/region/service/aws4_request.
type scope struct {
	akid, date, region string
}

func parseScope(credential string) (scope, bool) {
	p := strings.Split(credential, "/")
	if len(p) != 5 || p[3] != "s3" || p[4] != "aws4_request" {
		return scope{}, false
	}
	return scope{akid: p[0], date: p[1], region: p[2]}, true
}

func (l *Local) verifyPresigned(r *http.Request, q url.Values) (string, string) {
	for k, vs := range q {
		if len(vs) > 1 && strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			return "AuthorizationQueryParametersError", "Only one value of " + k + " may be given"
		}
	}
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""
	}
	sc, ok := parseScope(q.Get("X-Amz-Credential"))
	if !ok {
		return "AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter"
	}
	if sc.akid != l.creds.AccessKeyID {
		return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
	}
	signedAt, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil || signedAt.Format("20060102") != sc.date {
		return "AuthorizationQueryParametersError", "X-Amz-Date must be in the ISO8601 Long Format and match the credential"
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires < 1 || expires > 604800 {
		return "AuthorizationQueryParametersError", "X-Amz-Expires must be a number of seconds from 1 to 604800"
	}
	now := l.now()
	if now.After(signedAt.Add(time.Duration(expires) * time.Second)) {
		return "AccessDenied", "Request has expired"
	}
	if signedAt.After(now.Add(clockSkew)) {
		return "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
	}
	want := q.Get("X-Amz-Signature")
	signed := strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	check, err := l.unsignedCopy(r, signed)
	if err != nil {
		return "SignatureDoesNotMatch", err.Error()
	}
	cq := check.URL.Query()
	for _, k := range []string{"X-Amz-Signature", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Security-Token"} {
		cq.Del(k)
	}
	check.URL.RawQuery = cq.Encode()
	creds := l.creds
	creds.SessionToken = q.Get("X-Amz-Security-Token")
	u, _, err := l.signer.PresignHTTP(context.Background(), creds, check, unsignedPayload, "s3", sc.region, signedAt)
	if err != nil {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
	}
	got, _ := url.Parse(u)
	if subtle.ConstantTimeCompare([]byte(got.Query().Get("X-Amz-Signature")), []byte(want)) != 1 ||
		got.Query().Get("X-Amz-SignedHeaders") != q.Get("X-Amz-SignedHeaders") {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	}
	return "", ""
}

func (l *Local) verifyHeader(r *http.Request, auth string) (string, string) {
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != "AWS4-HMAC-SHA256" {
		return "InvalidRequest", "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	sc, ok := parseScope(fields["Credential"])
	if !ok || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return "AuthorizationHeaderMalformed", "The authorization header is malformed"
	}
	if sc.akid != l.creds.AccessKeyID {
		return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || signedAt.Format("20060102") != sc.date {
		return "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
	}
	if d := l.now().Sub(signedAt); d > clockSkew || d < -clockSkew {
		return "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		return "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
	}
	if payload != unsignedPayload && r.ContentLength != 0 {
		// The one header-signed call this endpoint takes is DELETE, whose
		// body is empty; a body it cannot hash is refused.
		return "NotImplemented", "Only empty or UNSIGNED-PAYLOAD bodies are supported here"
	}
	check, err := l.unsignedCopy(r, strings.Split(fields["SignedHeaders"], ";"))
	if err != nil {
		return "SignatureDoesNotMatch", err.Error()
	}
	creds := l.creds
	creds.SessionToken = r.Header.Get("X-Amz-Security-Token")
	check.Header.Del("X-Amz-Security-Token")
	if err := l.signer.SignHTTP(context.Background(), creds, check, payload, "s3", sc.region, signedAt); err != nil {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
	}
	_, sig, _ := strings.Cut(check.Header.Get("Authorization"), "Signature=")
	if subtle.ConstantTimeCompare([]byte(sig), []byte(fields["Signature"])) != 1 {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	}
	return "", ""
}

// unsignedCopy is r as it was before signing: its method, URL and the
// headers it says it signed, with their values as received.
func (l *Local) unsignedCopy(r *http.Request, signed []string) (*http.Request, error) {
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	u.RawPath = r.URL.EscapedPath()
	c := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, h := range signed {
		switch h {
		case "host":
		case "content-length":
			if r.ContentLength < 0 {
				return nil, errors.New("the request names content-length as signed but has none")
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

// localBucket names the local endpoint's one bucket.
const localBucket = "attachments"

// LocalConfig is how StartLocal serves files.
type LocalConfig struct {
	// Dir is where the files are kept.
	Dir string
	// Wrap puts a CORS policy around the endpoint (the API's, as
	// routes.CORS.Files makes it): browsers upload and download directly.
	Wrap func(http.Handler) (http.Handler, error)
	// Server returns the server that serves the endpoint at addr, with
	// the limits and timeouts of the API's own, and its refusal of any
	// other Host.
	Server func(h http.Handler, addr string) *http.Server
	// Log is told when the endpoint stops serving for a reason of its own.
	Log *slog.Logger
	// PendingAge is how long an upload no note names is kept: Sweep runs
	// at start and then every PendingAge/4 (at most hourly). A day when
	// zero, as the bucket's lifecycle rule.
	PendingAge time.Duration
}

// Endpoint is a Local endpoint served on a free loopback port, and the
// files that presign for it with a credential made for this process.
type Endpoint struct {
	URL   string
	Files *S3

	local     *Local
	srv       *http.Server
	stopped   chan error
	stopSweep chan struct{}
	swept     chan struct{}
}

// StartLocal serves a Local endpoint on 127.0.0.1 until Close.
func StartLocal(cfg LocalConfig) (*Endpoint, error) {
	creds := aws.Credentials{AccessKeyID: "local", SecretAccessKey: rand.Text()}
	local, err := NewLocal(localBucket, cfg.Dir, creds, cfg.Log)
	if err != nil {
		return nil, err
	}
	h, err := cfg.Wrap(local)
	if err != nil {
		local.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		local.Close()
		return nil, fmt.Errorf("attachments endpoint: %w", err)
	}
	e := &Endpoint{URL: "http://" + ln.Addr().String(), local: local, srv: cfg.Server(h, ln.Addr().String()), stopped: make(chan error, 1)}
	e.Files, err = NewS3(aws.Config{Region: "us-east-1", Credentials: credentials.StaticCredentialsProvider{Value: creds}},
		localBucket, e.URL)
	if err != nil {
		ln.Close()
		local.Close()
		return nil, err
	}
	e.Files.strict = true
	age := cfg.PendingAge
	if age == 0 {
		age = 24 * time.Hour
	}
	e.stopSweep = make(chan struct{})
	e.swept = make(chan struct{})
	go func() {
		defer close(e.swept)
		every := min(age/4, time.Hour)
		for {
			if n := local.Sweep(age); n > 0 && cfg.Log != nil {
				cfg.Log.Info("attachments: swept uploads no note named", "files", n, "olderThan", age.String())
			}
			select {
			case <-e.stopSweep:
				return
			case <-time.After(every):
			}
		}
	}()
	go func() {
		err := e.srv.Serve(ln)
		if !errors.Is(err, http.ErrServerClosed) && cfg.Log != nil {
			cfg.Log.Error("attachments endpoint stopped", "endpoint", e.URL, "error", err.Error())
		}
		e.stopped <- err
	}()
	return e, nil
}

// Close stops the endpoint. It returns why the endpoint had stopped
// serving before, if it had.
func (e *Endpoint) Close() error {
	close(e.stopSweep)
	<-e.swept
	err := e.srv.Close()
	if serr := <-e.stopped; !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("attachments endpoint: %w", serr)
	}
	return errors.Join(err, e.local.Close())
}

// objectMeta is what the local endpoint keeps beside an object, one line
// each: its type, its ETag and its tags (query-string form, as
// X-Amz-Tagging sends them).
type objectMeta struct {
	contentType, etag, tagging string
}

func (l *Local) readMeta(typePath string) objectMeta {
	b, err := l.root.ReadFile(filepath.FromSlash(typePath))
	if err != nil {
		return objectMeta{}
	}
	lines := strings.SplitN(string(b), "\n", 3)
	for len(lines) < 3 {
		lines = append(lines, "")
	}
	return objectMeta{contentType: lines[0], etag: lines[1], tagging: lines[2]}
}

// writeMeta writes m to a file of its own name and renames it into place;
// the caller holds the key's lock.
func (l *Local) writeMeta(typePath string, m objectMeta) error {
	if err := l.root.MkdirAll(filepath.FromSlash(path.Dir(typePath)), 0o700); err != nil {
		return err
	}
	tmp := path.Join(path.Dir(typePath), ".upload-"+rand.Text())
	if err := l.root.WriteFile(filepath.FromSlash(tmp), []byte(m.contentType+"\n"+m.etag+"\n"+m.tagging), 0o600); err != nil {
		l.root.Remove(filepath.FromSlash(tmp))
		return err
	}
	if err := l.root.Rename(filepath.FromSlash(tmp), filepath.FromSlash(typePath)); err != nil {
		l.root.Remove(filepath.FromSlash(tmp))
		return err
	}
	return nil
}

// pending reports whether m carries the pending tag.
func (m objectMeta) pending() bool {
	tags, _ := url.ParseQuery(m.tagging)
	k, v, _ := strings.Cut(PendingTag, "=")
	return tags.Get(k) == v
}

// tagging answers GET (GetObjectTagging) and DELETE (DeleteObjectTagging)
// of ?tagging on key.
func (l *Local) tagging(w http.ResponseWriter, r *http.Request, key, objPath, typePath string) {
	mu := l.lock(key)
	mu.Lock()
	defer mu.Unlock()
	if _, err := l.root.Stat(filepath.FromSlash(objPath)); err != nil {
		writeS3Error(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	m := l.readMeta(typePath)
	switch r.Method {
	case http.MethodGet:
		type tag struct{ Key, Value string }
		var set []tag
		tags, _ := url.ParseQuery(m.tagging)
		for k := range tags {
			set = append(set, tag{k, tags.Get(k)})
		}
		b, _ := xml.Marshal(struct {
			XMLName xml.Name `xml:"Tagging"`
			TagSet  []tag    `xml:"TagSet>Tag"`
		}{TagSet: set})
		w.Header().Set("Content-Type", "application/xml")
		w.Write(append([]byte(xml.Header), b...))
	case http.MethodDelete:
		m.tagging = ""
		if err := l.writeMeta(typePath, m); err != nil {
			l.log.Error("attachments: a file's tag could not be removed", "key", key, "error", err.Error())
			writeS3Error(w, r, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, DELETE")
		writeS3Error(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	}
}

// list answers ListObjectsV2: the keys under prefix, in order, max-keys
// (at most 1,000) at a time, continuing after continuation-token.
func (l *Local) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	prefix := q.Get("prefix")
	maxKeys := 1000
	if v, err := strconv.Atoi(q.Get("max-keys")); err == nil && v >= 0 && v < maxKeys {
		maxKeys = v
	}
	after := ""
	if tok := q.Get("continuation-token"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			writeS3Error(w, r, http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
			return
		}
		after = string(b)
	}
	var keys []string
	fs.WalkDir(l.root.FS(), "objects", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".upload-") {
			return nil
		}
		if k := strings.TrimPrefix(p, "objects/"); strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
		return nil
	})
	slices.Sort(keys)
	truncated := len(keys) > maxKeys
	if truncated {
		keys = keys[:maxKeys]
	}
	type content struct{ Key string }
	res := struct {
		XMLName               xml.Name  `xml:"ListBucketResult"`
		Name                  string    `xml:"Name"`
		Prefix                string    `xml:"Prefix"`
		KeyCount              int       `xml:"KeyCount"`
		MaxKeys               int       `xml:"MaxKeys"`
		EncodingType          string    `xml:"EncodingType,omitempty"`
		IsTruncated           bool      `xml:"IsTruncated"`
		NextContinuationToken string    `xml:"NextContinuationToken,omitempty"`
		Contents              []content `xml:"Contents"`
	}{Name: l.bucket, Prefix: prefix, KeyCount: len(keys), MaxKeys: maxKeys, IsTruncated: truncated}
	urlEncode := q.Get("encoding-type") == "url"
	if urlEncode {
		res.EncodingType = "url"
	}
	for _, k := range keys {
		if urlEncode {
			k = url.QueryEscape(k)
		}
		res.Contents = append(res.Contents, content{k})
	}
	if truncated {
		res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(keys[len(keys)-1]))
	}
	b, _ := xml.Marshal(res)
	w.Header().Set("Content-Type", "application/xml")
	w.Write(append([]byte(xml.Header), b...))
}

// Sweep removes every object that still carries the pending tag and was
// written more than olderThan ago, as the bucket's lifecycle rule does
// deployed, and returns how many it removed.
func (l *Local) Sweep(olderThan time.Duration) int {
	cutoff := l.now().Add(-olderThan)
	var pending []string
	fs.WalkDir(l.root.FS(), "objects", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".upload-") {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().Before(cutoff) {
			pending = append(pending, strings.TrimPrefix(p, "objects/"))
		}
		return nil
	})
	removed := 0
	for _, key := range pending {
		mu := l.lock(key)
		mu.Lock()
		objPath, typePath := path.Join("objects", key), path.Join("types", key)
		info, err := l.root.Stat(filepath.FromSlash(objPath))
		if err == nil && info.ModTime().Before(cutoff) && l.readMeta(typePath).pending() {
			if err := l.root.Remove(filepath.FromSlash(objPath)); err == nil {
				l.root.Remove(filepath.FromSlash(typePath))
				removed++
			} else {
				l.log.Error("attachments: a pending file could not be swept", "key", key, "error", err.Error())
			}
		}
		mu.Unlock()
	}
	return removed
}
