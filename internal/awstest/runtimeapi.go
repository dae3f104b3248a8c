package awstest

import (
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RuntimeAPI is a minimal Lambda Runtime API on loopback for one process,
// as the Lambda service offers it to a custom runtime: it hands out the
// events sent to it, one at a time, and records when the function first
// asked for one (the end of its init) and what it answered.
type RuntimeAPI struct {
	// Addr is what AWS_LAMBDA_RUNTIME_API holds.
	Addr string
	// FirstNext receives the time of the function's first /next.
	FirstNext chan time.Time

	events  chan []byte
	answers chan []byte
}

// NewRuntimeAPI serves a Runtime API until the test ends.
func NewRuntimeAPI(t testing.TB) *RuntimeAPI {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &RuntimeAPI{Addr: ln.Addr().String(), events: make(chan []byte), answers: make(chan []byte, 1),
		FirstNext: make(chan time.Time, 1)}
	var (
		mu  sync.Mutex
		seq int64
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, req *http.Request) {
		select {
		case r.FirstNext <- time.Now():
		default:
		}
		var ev []byte
		select {
		case ev = <-r.events:
		case <-req.Context().Done():
			return
		}
		mu.Lock()
		seq++
		id := strconv.FormatInt(seq, 10)
		mu.Unlock()
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", id)
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:notes")
		w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
		w.Write(ev)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.answers <- body
		w.WriteHeader(http.StatusAccepted)
	})
	fail := func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.answers <- append([]byte("ERROR "), body...)
		w.WriteHeader(http.StatusAccepted)
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", fail)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", fail)
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

// Invoke hands the function one event and waits for its answer, failing
// the test when the function fails or never answers.
func (r *RuntimeAPI) Invoke(t testing.TB, ev []byte) []byte {
	t.Helper()
	select {
	case r.events <- ev:
	case <-time.After(30 * time.Second):
		t.Fatal("the function never asked for an event")
	}
	select {
	case a := <-r.answers:
		if strings.HasPrefix(string(a), "ERROR ") {
			t.Fatalf("the function failed: %s", a)
		}
		return a
	case <-time.After(30 * time.Second):
		t.Fatal("the function never answered")
	}
	return nil
}

// Env is what a Lambda sandbox gives a function on this Runtime API, then
// extra; no AWS_CA_BUNDLE, which this machine sets and Lambda does not
// (the SDK would parse it).
func (r *RuntimeAPI) Env(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "AWS_LAMBDA_RUNTIME_API=" + r.Addr,
		"AWS_LAMBDA_FUNCTION_NAME=notes", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "TZ=:UTC"}, extra...)
}
