package routes

import (
	"context"
	"net/http"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"
)

// devIdentityHeader names a local caller; it is ignored when deployed.
const devIdentityHeader = "X-Dev-Identity-Id"

// gatewayIdentity is the Cognito identity id API Gateway's IAM authorizer
// put into the event: REST v1 or HTTP API v2. Only the adapter's context
// is read, never a header.
func gatewayIdentity(ctx context.Context) string {
	if gw, ok := core.GetAPIGatewayContextFromContext(ctx); ok {
		return gw.Identity.CognitoIdentityID
	}
	if gw, ok := core.GetAPIGatewayV2ContextFromContext(ctx); ok && gw.Authorizer != nil && gw.Authorizer.IAM != nil {
		return gw.Authorizer.IAM.CognitoIdentity.IdentityID
	}
	return ""
}

// identity returns the caller's user id, or "" when there is none.
func (s *Server) identityOf(r *http.Request) string {
	id := gatewayIdentity(r.Context())
	if id != "" || s.identity == IdentityDeployed {
		return id
	}
	if id = r.Header.Get(devIdentityHeader); id != "" {
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
