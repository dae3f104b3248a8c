package routes

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	userIDKey
	callerKey
)

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// withRequestID gives every request an id (API Gateway's when deployed)
// and puts it on every response, before anything else can answer.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := callerFrom(r.Context())
		id := c.RequestID
		if id == "" {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// statusWriter remembers what was answered, for the log line.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// logRequests writes one line per request: its ids (see contextHandler),
// method, route pattern (never the raw path, which holds ids), status,
// duration, size and whether it was the process's first (a cold start
// under Lambda); no bodies, no headers.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// A route context made here is the one chi fills in, so the
		// matched pattern is readable after the router has run.
		rctx := chi.NewRouteContext()
		r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		cold := s.served.CompareAndSwap(false, true)
		if cold {
			s.count(r.Context(), metricColdStart)
		}
		s.log.InfoContext(r.Context(), "request",
			"method", r.Method,
			"route", rctx.RoutePattern(),
			"status", sw.status,
			"durationMs", float64(time.Since(start).Microseconds())/1000,
			"bytes", sw.bytes,
			"coldStart", cold,
		)
	})
}

// recoverPanic turns a panicking handler into a 500 answer. It runs inside
// the CORS middleware, so that answer carries the CORS headers.
func (s *Server) recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				s.log.ErrorContext(r.Context(), "panic",
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				s.writeError(w, r, fmt.Errorf("panic: %v", p))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// rejectUnreadable answers 400 to a request the front door could not
// read as it was sent (see Caller.Unreadable).
func (s *Server) rejectUnreadable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, _ := callerFrom(r.Context()); c.Unreadable != "" {
			s.writeError(w, r, errorf(http.StatusBadRequest, "the request could not be read: %s", c.Unreadable))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handleNotFound answers a path the API does not have.
func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, errorf(http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
}

// handleMethodNotAllowed answers a known path with a method it lacks,
// listing the methods it has in Allow. A plain OPTIONS (not a CORS
// preflight, which never gets here) is answered with that list.
func (s *Server) handleMethodNotAllowed(mux *chi.Mux) http.HandlerFunc {
	candidates := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range candidates {
			if mux.Match(chi.NewRouteContext(), m, r.URL.Path) {
				allow = append(allow, m)
				if m == http.MethodGet {
					allow = append(allow, http.MethodHead) // headAsGet
				}
			}
		}
		if len(allow) == 0 {
			// chi calls a method it does not know "not allowed" on any
			// path; a path the API does not have is not found.
			s.handleNotFound(w, r)
			return
		}
		if r.Method == http.MethodOptions {
			w.Header().Set("Allow", strings.Join(append(allow, http.MethodOptions), ", "))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, errorf(http.StatusMethodNotAllowed, "method %s is not allowed on %s", r.Method, r.URL.Path))
	}
}

// LoopbackOnly serves next only to requests whose Host is a loopback
// name, on any port: localhost or a name under .localhost (RFC 6761: a
// browser never asks DNS for them), an address of 127.0.0.0/8, or [::1],
// in any letter case; and HTTP/1.0 requests with no Host. A dev server's
// proxy that keeps the Host, and a container whose port is mapped, are
// served. Any other name is a page made to resolve to 127.0.0.1 (DNS
// rebinding): it is refused with a 421 before anything else runs. This
// is the local servers' guard; Lambda has API Gateway's hosts instead.
func LoopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "" && !isLoopbackHost(r.Host) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMisdirectedRequest)
			io.WriteString(w, `{"error":"this server answers only to loopback names: localhost, 127.0.0.1 or [::1], on any port"}`+"\n")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isLoopbackHost reports whether hostport (a Host header) names this
// machine's loopback interface.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if inner, ok := strings.CutPrefix(hostport, "["); ok {
		host, _ = strings.CutSuffix(inner, "]")
	}
	host = strings.ToLower(host)
	if host == "localhost" || (strings.HasSuffix(host, ".localhost") && isLabels(strings.TrimSuffix(host, ".localhost"))) {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isLabels reports whether s is dot-separated DNS labels: letters and
// digits, with hyphens inside.
func isLabels(s string) bool {
	for _, l := range strings.Split(s, ".") {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return false
		}
	}
	return true
}

// headAsGet answers HEAD wherever GET is served (RFC 9110, 9.3.2): the
// GET route runs, with the same status and headers, and its body is
// dropped here, so that no front door (net/http, the Lambda adapter)
// sends one.
func headAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		if rctx := chi.RouteContext(r.Context()); rctx != nil {
			rctx.RouteMethod = http.MethodGet
		}
		hw := &headWriter{ResponseWriter: w}
		next.ServeHTTP(hw, r)
		if !hw.wroteHeader {
			// A front door that is not net/http (the Lambda adapter) needs
			// the status set, as net/http would at the first Write.
			hw.WriteHeader(http.StatusOK)
		}
	})
}

// headWriter is a ResponseWriter that sends headers and no body.
type headWriter struct {
	http.ResponseWriter
	wroteHeader bool
}

// WriteHeader implements http.ResponseWriter.
func (w *headWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		w.ResponseWriter.WriteHeader(code)
	}
}

// Write drops the body, as if sent.
func (w *headWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}
