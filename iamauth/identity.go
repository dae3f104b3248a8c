package iamauth

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// identityService is the X-Amz-Target prefix of Cognito Identity's calls.
const identityService = "AWSCognitoIdentityService"

// The error types Cognito Identity answers with, in __type.
const (
	notAuthorized  = "NotAuthorizedException"
	notFound       = "ResourceNotFoundException"
	invalidParam   = "InvalidParameterException"
	unknownCall    = "UnknownOperationException"
	internalFailed = "InternalErrorException"
)

// identityError is a Cognito Identity error answer.
type identityError struct {
	status int
	kind   string
	msg    string
}

func (e *identityError) Error() string { return e.kind + ": " + e.msg }

func refusal(kind, msg string) *identityError {
	return &identityError{status: http.StatusBadRequest, kind: kind, msg: msg}
}

// serveIdentity answers Cognito Identity's JSON 1.1 protocol, as the AWS
// SDK, Amplify and the page call it: GetId and
// GetCredentialsForIdentity.
func (g *Gateway) serveIdentity(w http.ResponseWriter, r *http.Request) {
	requestID := uuid.NewString()
	w.Header().Set("X-Amzn-RequestId", requestID)
	out, err := g.identityCall(r)
	if err != nil {
		var e *identityError
		if !errors.As(err, &e) {
			e = &identityError{status: http.StatusInternalServerError, kind: internalFailed, msg: "the call could not be served"}
		}
		g.log.WarnContext(r.Context(), "identity call refused", "requestId", requestID,
			"target", r.Header.Get("X-Amz-Target"), "type", e.kind, "reason", err.Error())
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", e.kind)
		w.WriteHeader(e.status)
		b, _ := json.Marshal(map[string]string{"__type": e.kind, "message": e.msg})
		w.Write(b)
		return
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Write(b)
}

// identityCall runs the call of r and returns its answer.
func (g *Gateway) identityCall(r *http.Request) (any, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-amz-json-1.1" && mt != "application/json" {
		return nil, refusal("SerializationException", "Content-Type must be application/x-amz-json-1.1")
	}
	var in struct {
		IdentityPoolID string            `json:"IdentityPoolId"`
		IdentityID     string            `json:"IdentityId"`
		Logins         map[string]string `json:"Logins"`
		AccountID      string            `json:"AccountId"`
		CustomRoleArn  string            `json:"CustomRoleArn"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil {
		return nil, refusal("SerializationException", "the body is not a JSON object")
	}
	switch strings.TrimPrefix(r.Header.Get("X-Amz-Target"), identityService+".") {
	case "GetId":
		if in.IdentityPoolID != g.cfg.IdentityPoolID {
			return nil, refusal(notFound, "IdentityPool '"+in.IdentityPoolID+"' not found.")
		}
		sub, err := g.login(r, in.Logins)
		if err != nil {
			return nil, err
		}
		id, err := g.state.identity(sub, g.now())
		if err != nil {
			return nil, err
		}
		return map[string]string{"IdentityId": id}, nil
	case "GetCredentialsForIdentity":
		if in.IdentityID == "" {
			return nil, refusal(invalidParam, "1 validation error detected: Value null at 'identityId' failed to satisfy constraint: Member must not be null")
		}
		owner, known := g.state.owner(in.IdentityID)
		if !known {
			return nil, refusal(notFound, "Identity '"+in.IdentityID+"' not found.")
		}
		sub, err := g.login(r, in.Logins)
		if err != nil {
			return nil, err
		}
		if sub != owner {
			return nil, refusal(notAuthorized, "Invalid login token. The login does not belong to this identity.")
		}
		creds, err := g.state.issue(in.IdentityID, g.now())
		if err != nil {
			return nil, err
		}
		type credentials struct {
			AccessKeyID  string `json:"AccessKeyId"`
			SecretKey    string `json:"SecretKey"`
			SessionToken string `json:"SessionToken"`
			Expiration   int64  `json:"Expiration"`
		}
		return struct {
			IdentityID  string      `json:"IdentityId"`
			Credentials credentials `json:"Credentials"`
		}{in.IdentityID, credentials{creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, creds.Expires.Unix()}}, nil
	default:
		return nil, &identityError{status: http.StatusBadRequest, kind: unknownCall, msg: "this endpoint serves GetId and GetCredentialsForIdentity"}
	}
}

// login returns the user of the pool's ID token in logins: the one login
// this identity pool takes (unauthenticated identities are off, as in
// template.yaml).
func (g *Gateway) login(r *http.Request, logins map[string]string) (string, error) {
	token, ok := logins[g.provider]
	if !ok {
		return "", refusal(notAuthorized, "Unauthenticated access is not supported for this identity pool: sign in, and send the ID token in Logins under "+g.provider)
	}
	sub, err := g.verifyIDToken(r.Context(), token)
	if errors.Is(err, errUnreachable) {
		return "", &identityError{status: http.StatusInternalServerError, kind: internalFailed, msg: "the user pool's keys could not be read"}
	}
	if err != nil {
		return "", &identityError{status: http.StatusBadRequest, kind: notAuthorized, msg: "Invalid login token. " + tokenProblem(err)}
	}
	return sub, nil
}
