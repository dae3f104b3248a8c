package testenv

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/scratch-notes/notes-api/internal/localpool"
)

// Moto is the base URL of moto_server, which speaks the Cognito user
// pools and Secrets Manager APIs.
func Moto(t testing.TB) string {
	t.Helper()
	return service(t, "NOTES_TEST_MOTO_ENDPOINT", "moto_server")
}

var poolSeq = time.Now().UnixNano()

// UserPool is a new user pool of its own in moto_server, its app client
// as template.yaml makes it, with password sign-in added for the tests'
// own sign-ins.
func UserPool(t testing.TB) *localpool.Pool {
	t.Helper()
	poolSeq++
	p, err := localpool.New(context.Background(), Moto(t), "us-east-1", fmt.Sprintf("notes-test-%d", poolSeq),
		types.ExplicitAuthFlowsTypeAllowUserPasswordAuth)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// PoolUser adds a confirmed user to p and returns their ID token.
func PoolUser(t testing.TB, p *localpool.Pool, email, password string) string {
	t.Helper()
	ctx := context.Background()
	if err := p.AddUser(ctx, email, password); err != nil {
		t.Fatal(err)
	}
	tok, err := p.SignIn(ctx, email, password)
	if err != nil {
		t.Fatalf("sign in as %s: %v", email, err)
	}
	return tok.ID
}
