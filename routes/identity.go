package routes

import (
	"context"
	"net/http"

	"github.com/scratch-notes/notes-api/origins"
)

// devIdentityHeader names a local caller; it is ignored when deployed.
const devIdentityHeader = origins.DevIdentityHeader

// Caller is what API Gateway says about a request: the Cognito identity
// its IAM authorizer verified (empty when there is none) and its own
// request id. Only the Lambda front door knows it, and hands it over with
// WithCaller; no header can set it.
type Caller struct {
	IdentityID string
	RequestID  string

	// Unreadable, when set, says why the front door could not serve the
	// event as sent (a body that is not valid base64, a method that is
	// not one): the request is answered 400, with the CORS headers.
	Unreadable string
}

// WithCaller returns ctx carrying what API Gateway said about the request.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey, c)
}

// callerFrom returns the Caller the front door put in ctx, if any.
func callerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey).(Caller)
	return c, ok
}

// identityOf returns the caller's user id, or "" when there is none:
// deployed, only API Gateway's identity; locally (and under sam local),
// the gateway's identity if any, else X-Dev-Identity-Id, else the
// configured dev identity.
func (s *Server) identityOf(r *http.Request) string {
	c, _ := callerFrom(r.Context())
	if c.IdentityID != "" || s.identity == IdentityDeployed {
		return c.IdentityID
	}
	if id := r.Header.Get(devIdentityHeader); id != "" {
		return id
	}
	return s.devIdentity
}

// requireIdentity refuses a request with no identity, and hands the
// identity to the handlers.
func (s *Server) requireIdentity(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := s.identityOf(r)
		if id == "" {
			s.writeError(w, r, errorf(http.StatusUnauthorized, "request has no identity: sign it with the credentials of a Cognito identity"))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userIDKey, id)))
	})
}

func userIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(userIDKey).(string)
	return id
}
