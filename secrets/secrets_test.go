package secrets_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/secrets"
)

func manager(t *testing.T, endpoint string) *secrets.Manager {
	return secrets.New(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}, endpoint)
}

// TestSecretsManager reads secrets from a server that speaks the Secrets
// Manager API (moto_server, which make test starts).
func TestSecretsManager(t *testing.T) {
	m := manager(t, testenv.SecretsManager(t))
	ctx := context.Background()
	arn := testenv.Secret(t, "sk_test_from_the_secret", false)
	if got, err := m.SecretString(ctx, arn); err != nil || got != "sk_test_from_the_secret" {
		t.Fatalf("String = %q, %v", got, err)
	}

	deleted := testenv.Secret(t, "sk_test_gone", false)
	if status, out := testenv.SecretsCall(t, "DeleteSecret", map[string]any{"SecretId": deleted, "RecoveryWindowInDays": 7}); status != http.StatusOK {
		t.Fatalf("DeleteSecret = %d %v", status, out)
	}
	for name, id := range map[string]string{
		"missing":             "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret-AbCdEf",
		"marked for deletion": deleted,
		"binary only":         testenv.Secret(t, "\x00\x01", true),
	} {
		if _, err := m.SecretString(ctx, id); !errors.Is(err, secrets.ErrUnavailable) {
			t.Fatalf("%s: err = %v, want ErrUnavailable", name, err)
		}
	}
}

// TestSecretsManagerUnreachable is a failure worth retrying, not a
// secret that is unavailable.
func TestSecretsManagerUnreachable(t *testing.T) {
	_, err := manager(t, "http://127.0.0.1:1").SecretString(context.Background(), "arn:x")
	if err == nil || errors.Is(err, secrets.ErrUnavailable) {
		t.Fatalf("err = %v, want a passing failure", err)
	}
}

// TestSecretsManagerNotJSON: a 200 whose body is not Secrets Manager's
// JSON (a captive portal, a proxy's page) is a failure worth retrying,
// never a missing secret.
func TestSecretsManagerNotJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>Welcome to the hotel wifi</html>")
	}))
	defer srv.Close()
	_, err := manager(t, srv.URL).SecretString(context.Background(), "arn:x")
	if err == nil || errors.Is(err, secrets.ErrUnavailable) {
		t.Fatalf("err = %v, want a failure that is not ErrUnavailable", err)
	}
}
