// Package locals3 is a small S3-compatible server for local development:
// the local server's stand-in for the attachments bucket, as strict as S3
// about signatures and keys. Only `make run` and the tests use it.
package locals3

import (
	"crypto/md5"
	"crypto/rand"
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
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/scratch-notes/notes-api/attachments"
	"github.com/scratch-notes/notes-api/awssig"
	"github.com/scratch-notes/notes-api/origins"
)

// maxLocalObject bounds one stored file: the API never signs more than
// its attachment limit, so anything near this is not one of ours.
const maxLocalObject = 16 << 20

// clockSkew is how far a request's signing time may be ahead of ours.
const clockSkew = 15 * time.Minute

// Server is one bucket of objects in a directory, served over HTTP: PUT, GET, HEAD and DELETE of an
// object, each checked like S3 checks it: a SigV4 signature, in the query
// (presigned) or the Authorization header, made with Local's one
// credential, that has not expired and covers the headers it names
// (Content-Type and Content-Length of an upload among them), and a key
// that attachments.CheckKey keeps, kept on disk under a name any OS takes. Every file it touches is reached
// through an os.Root of its directory, so that no key, and no symbolic
// link in the directory, reaches outside it. Downloads are downloads:
// Content-Disposition attachment, X-Content-Type-Options nosniff,
// Content-Security-Policy sandbox, and no active type.
type Server struct {
	bucket  string
	root    *os.Root
	checker *awssig.Checker
	now     func() time.Time
	log     *slog.Logger
	// locks serialise the writes and reads of one key (by its hash), so
	// that an object and its type are always seen together.
	locks [64]sync.RWMutex
}

// New serves bucket from dir, accepting requests signed with creds, in
// whatever region their credential scope names; log hears of files it
// could not store or remove.
func New(bucket, dir string, creds aws.Credentials, log *slog.Logger) (*Server, error) {
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
	l := &Server{bucket: bucket, root: root, now: time.Now, log: log}
	l.checker = &awssig.Checker{Service: "s3", S3: true, Skew: clockSkew, Now: func() time.Time { return l.now() },
		Keys: func(id string) (aws.Credentials, bool) { return creds, id == creds.AccessKeyID }}
	return l, nil
}

// Close lets go of the directory.
func (l *Server) Close() error { return l.root.Close() }

// lock is the lock of key.
func (l *Server) lock(key string) *sync.RWMutex {
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
func (l *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	if err := attachments.CheckKey(key); err != nil {
		writeS3Error(w, r, http.StatusBadRequest, "InvalidArgument", "The object key is not one this endpoint keeps: "+err.Error())
		return
	}
	if code, msg := l.verify(r); code != "" {
		writeS3Error(w, r, http.StatusForbidden, code, msg)
		return
	}
	objPath := path.Join("objects", diskPath(key))
	typePath := path.Join("types", diskPath(key))
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
func (l *Server) get(w http.ResponseWriter, r *http.Request, key, objPath, typePath string) {
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
	q := r.URL.Query()
	h := w.Header()
	typ, disposition := attachments.DownloadHeaders(key, m.contentType)
	h.Set("Content-Type", typ)
	if v := q.Get("response-content-type"); v != "" {
		h.Set("Content-Type", v)
	}
	h.Set("Content-Disposition", disposition)
	if v := q.Get("response-content-disposition"); v != "" {
		h.Set("Content-Disposition", v)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	if m.etag != "" {
		h.Set("ETag", m.etag)
	}
	http.ServeContent(w, r, "", info.ModTime(), f)
}

// put stores the body and its type together, whole or not at all: each
// is written to a file of its own name and renamed into place under the
// key's lock, so that racing uploads, a read during an upload and a
// delete racing one never see a body with another's type, or none.
func (l *Server) put(w http.ResponseWriter, r *http.Request, key, objPath, typePath string) {
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
func (l *Server) verify(r *http.Request) (code, msg string) {
	presigned := r.URL.Query().Has("X-Amz-Signature")
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if !presigned && r.Header.Get("Authorization") != "" {
		if payload == "" {
			return "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
		}
		if payload != unsignedPayload && r.ContentLength != 0 {
			// The one header-signed call this endpoint takes is DELETE,
			// whose body is empty; a body it cannot hash is refused.
			return "NotImplemented", "Only empty or UNSIGNED-PAYLOAD bodies are supported here"
		}
	}
	_, err := l.checker.Check(r, payload)
	var e *awssig.Error
	if err == nil || !errors.As(err, &e) {
		return "", ""
	}
	switch e.Reason {
	case awssig.Unsigned:
		return "AccessDenied", "Anonymous access is not allowed: sign the request"
	case awssig.Malformed:
		if presigned {
			return "AuthorizationQueryParametersError", e.Message
		}
		return "AuthorizationHeaderMalformed", e.Message
	case awssig.UnknownKey:
		return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
	case awssig.BadToken:
		return "InvalidToken", "The provided token is malformed or otherwise invalid."
	case awssig.Expired:
		if presigned && e.Message == "Request has expired" {
			return "AccessDenied", e.Message
		}
		return "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
	default:
		return "SignatureDoesNotMatch", e.Message
	}
}

// unsignedPayload is what a presigned URL signs for the body.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// diskPath is where key is kept under the directory: the key, with the
// characters no Windows file name may hold (and %, to keep the mapping
// one to one) written as %XX. A Cognito identity id in a key has a ':'.
func diskPath(key string) string {
	if !strings.ContainsAny(key, `%:<>"|?*`) {
		return key
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		if c := key[i]; strings.IndexByte(`%:<>"|?*`, c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// keyOf is the key kept at diskPath p.
func keyOf(p string) string {
	if k, err := url.PathUnescape(p); err == nil {
		return k
	}
	return p
}

// localBucket names the local endpoint's one bucket.
const localBucket = "attachments"

// Config is how Start serves files.
type Config struct {
	// Dir is where the files are kept.
	Dir string
	// Origins are the pages that may upload and download directly: the
	// API's, under the policy template.yaml gives the bucket.
	Origins origins.Policy
	// Server returns the server of h: the API's own limits and time-outs,
	// and its refusal of names that are not loopback ones.
	Server func(h http.Handler) *http.Server
	// Log is told when the endpoint stops serving for a reason of its own.
	Log *slog.Logger
	// PendingAge is how long an upload no note names is kept: Sweep runs
	// at start and then every PendingAge/4 (at most hourly). A day when
	// zero, as the bucket's lifecycle rule.
	PendingAge time.Duration
}

// Endpoint is a Server on a free loopback port, and the
// files that presign for it with a credential made for this process.
type Endpoint struct {
	URL   string
	Files *attachments.S3

	local     *Server
	srv       *http.Server
	stopped   chan error
	stopSweep chan struct{}
	swept     chan struct{}
}

// Start serves a Server on 127.0.0.1 until Close.
func Start(cfg Config) (*Endpoint, error) {
	creds := aws.Credentials{AccessKeyID: "local", SecretAccessKey: rand.Text()}
	local, err := New(localBucket, cfg.Dir, creds, cfg.Log)
	if err != nil {
		return nil, err
	}
	h, err := cfg.Origins.Files(local)
	if err != nil {
		local.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		local.Close()
		return nil, fmt.Errorf("attachments endpoint: %w", err)
	}
	e := &Endpoint{URL: "http://" + ln.Addr().String(), local: local, srv: cfg.Server(h), stopped: make(chan error, 1)}
	e.Files, err = attachments.NewS3(aws.Config{Region: "us-east-1", Credentials: credentials.StaticCredentialsProvider{Value: creds}},
		localBucket, e.URL)
	if err != nil {
		ln.Close()
		local.Close()
		return nil, err
	}
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

func (l *Server) readMeta(typePath string) objectMeta {
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
func (l *Server) writeMeta(typePath string, m objectMeta) error {
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
	k, v, _ := strings.Cut(attachments.PendingTag, "=")
	return tags.Get(k) == v
}

// tagging answers GET (GetObjectTagging) and DELETE (DeleteObjectTagging)
// of ?tagging on key.
func (l *Server) tagging(w http.ResponseWriter, r *http.Request, key, objPath, typePath string) {
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
func (l *Server) list(w http.ResponseWriter, r *http.Request) {
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
		if k := keyOf(strings.TrimPrefix(p, "objects/")); strings.HasPrefix(k, prefix) && k > after {
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
func (l *Server) Sweep(olderThan time.Duration) int {
	cutoff := l.now().Add(-olderThan)
	var pending []string
	fs.WalkDir(l.root.FS(), "objects", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".upload-") {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().Before(cutoff) {
			pending = append(pending, keyOf(strings.TrimPrefix(p, "objects/")))
		}
		return nil
	})
	removed := 0
	for _, key := range pending {
		mu := l.lock(key)
		mu.Lock()
		objPath, typePath := path.Join("objects", diskPath(key)), path.Join("types", diskPath(key))
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
