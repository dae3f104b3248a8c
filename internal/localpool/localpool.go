// Package localpool sets up Cognito user pools in a local emulator
// (moto_server's cognito-idp): a pool and app client as template.yaml
// makes them, and confirmed users. `make demo` and the tests use it.
package localpool

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/uuid"
)

// Pool is a user pool and its app client in the emulator at Endpoint.
type Pool struct {
	Endpoint string
	Region   string
	ID       string
	ClientID string
	// IdentityPoolID is an identity pool id for it, as the page sends it
	// (the local server's own identity endpoint takes any it is given).
	IdentityPoolID string

	client *cip.Client
}

// Client is a Cognito user pools client of the emulator at endpoint.
func Client(endpoint, region string) *cip.Client {
	return cip.New(cip.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		// The emulator takes any credentials; a real pool is never called.
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
		HTTPClient:  &http.Client{Timeout: 10 * time.Second},
	})
}

// New makes a user pool as template.yaml's UserPool (e-mail addresses
// as user names, letter case ignored, e-mail verified) and an app client
// as its UserPoolClient (no secret, SRP sign-in and refresh), plus
// password sign-in when extraFlows asks for it (tests).
func New(ctx context.Context, endpoint, region, name string, extraFlows ...types.ExplicitAuthFlowsType) (*Pool, error) {
	c := Client(endpoint, region)
	pool, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{
		PoolName:               aws.String(name),
		UsernameAttributes:     []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
		UsernameConfiguration:  &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)},
	})
	if err != nil {
		return nil, fmt.Errorf("create a user pool at %s: %w", endpoint, err)
	}
	flows := append([]types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserSrpAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}, extraFlows...)
	client, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId:        pool.UserPool.Id,
		ClientName:        aws.String(name + "-web"),
		GenerateSecret:    false,
		ExplicitAuthFlows: flows,
		// What Cognito's ID tokens carry when a client names no read
		// attributes, as template.yaml's does; moto needs them named.
		ReadAttributes: []string{"email", "email_verified"},
	})
	if err != nil {
		return nil, fmt.Errorf("create an app client: %w", err)
	}
	return &Pool{Endpoint: endpoint, Region: region, ID: *pool.UserPool.Id, ClientID: *client.UserPoolClient.ClientId,
		IdentityPoolID: region + ":" + uuid.NewString(), client: c}, nil
}

// AddUser makes a confirmed user of email with password, who can sign in
// at once.
func (p *Pool) AddUser(ctx context.Context, email, password string) error {
	_, err := p.client.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId:        aws.String(p.ID),
		Username:          aws.String(email),
		MessageAction:     types.MessageActionTypeSuppress,
		UserAttributes:    []types.AttributeType{{Name: aws.String("email"), Value: aws.String(email)}, {Name: aws.String("email_verified"), Value: aws.String("true")}},
		TemporaryPassword: aws.String(password),
	})
	if err != nil {
		return fmt.Errorf("create the user %s: %w", email, err)
	}
	_, err = p.client.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
		UserPoolId: aws.String(p.ID), Username: aws.String(email), Password: aws.String(password), Permanent: true,
	})
	if err != nil {
		return fmt.Errorf("set the password of %s: %w", email, err)
	}
	return nil
}

// Tokens are what signing in gives.
type Tokens struct {
	ID, Access, Refresh string
}

// SignIn signs a user in with the password (USER_PASSWORD_AUTH: the
// client must allow it) and returns the tokens.
func (p *Pool) SignIn(ctx context.Context, email, password string) (Tokens, error) {
	out, err := p.client.InitiateAuth(ctx, &cip.InitiateAuthInput{
		ClientId:       aws.String(p.ClientID),
		AuthFlow:       types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": password},
	})
	if err != nil {
		return Tokens{}, err
	}
	r := out.AuthenticationResult
	if r == nil || r.IdToken == nil {
		return Tokens{}, errors.New("signing in gave no tokens (a challenge?)")
	}
	return Tokens{ID: *r.IdToken, Access: aws.ToString(r.AccessToken), Refresh: aws.ToString(r.RefreshToken)}, nil
}

// Provider is the Logins key of the pool, as an identity pool names it.
func (p *Pool) Provider() string {
	return "cognito-idp." + p.Region + ".amazonaws.com/" + p.ID
}

// Env is the local server's AUTH=iam configuration for the pool.
func (p *Pool) Env() []string {
	return []string{"AUTH=iam", "AWS_REGION=" + p.Region, "USER_POOL_ENDPOINT=" + strings.TrimSuffix(p.Endpoint, "/"),
		"USER_POOL_ID=" + p.ID, "USER_POOL_CLIENT_ID=" + p.ClientID, "IDENTITY_POOL_ID=" + p.IdentityPoolID}
}

// OtherClient is the same pool with another app client of its own, with
// the same flows and password sign-in.
func (p *Pool) OtherClient(ctx context.Context) (*Pool, error) {
	client, err := p.client.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId: aws.String(p.ID),
		ClientName: aws.String("other-" + uuid.NewString()[:8]),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserSrpAuth,
			types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth, types.ExplicitAuthFlowsTypeAllowUserPasswordAuth},
	})
	if err != nil {
		return nil, fmt.Errorf("create an app client: %w", err)
	}
	other := *p
	other.ClientID = *client.UserPoolClient.ClientId
	return &other, nil
}
