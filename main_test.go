package main

// main's own job: reading the environment and wiring the parts it names.

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/store"
)

func TestConfigDefaults(t *testing.T) {
	c := testConfig(t, nil)
	if c.lambda || c.port != 3000 || c.notesDB != "notes.db" || c.cors.MaxAge != 600 ||
		c.cors.AllowCredentials || len(c.cors.AllowedOrigins) != 0 {
		t.Fatalf("defaults = %+v", c)
	}
	c = testConfig(t, map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"})
	if !c.lambda || c.notesDB != "/tmp/notes.db" {
		t.Fatalf("lambda defaults = %+v, want the store in /tmp", c)
	}
	c = testConfig(t, map[string]string{"PORT": "8080", "CORS_MAX_AGE": "0", "CORS_ALLOWED_ORIGINS": "https://a.example.com,http://localhost:5173", "NOTES_DB": "x.db"})
	if c.port != 8080 || c.cors.MaxAge != 0 || strings.Join(c.cors.AllowedOrigins, " ") != "https://a.example.com http://localhost:5173" || c.notesDB != "x.db" {
		t.Fatalf("parsed = %+v", c)
	}
	c = testConfig(t, map[string]string{"CORS_ALLOWED_ORIGINS": "https://*.example.com,http://localhost:5173,http://127.0.0.1:3000,https://[::1]:8443,https://app.example.com:65535"})
	if len(c.cors.AllowedOrigins) != 5 {
		t.Fatalf("origins = %v", c.cors.AllowedOrigins)
	}
	c = testConfig(t, map[string]string{"CORS_ALLOW_CREDENTIALS": "true", "CORS_ALLOWED_ORIGINS": apitest.AppOrigin})
	if !c.cors.AllowCredentials {
		t.Fatalf("credentials with an exact origin = %+v", c)
	}
}

// TestConfigRefusals: every value start-up refuses, with a message naming
// the variable it came from.
func TestConfigRefusals(t *testing.T) {
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:stripe-AbCdEf"
	for _, tc := range []struct {
		env   map[string]string
		names string // the variable the message must name
	}{
		{map[string]string{"PORT": "http"}, "PORT"},
		{map[string]string{"PORT": "0"}, "PORT"},
		{map[string]string{"PORT": "70000"}, "PORT"},
		{map[string]string{"CORS_MAX_AGE": "ten"}, "CORS_MAX_AGE"},
		{map[string]string{"CORS_MAX_AGE": "-1"}, "CORS_MAX_AGE"},
		{map[string]string{"CORS_ALLOW_CREDENTIALS": "yes please"}, "CORS_ALLOW_CREDENTIALS"},
		{map[string]string{"AWS_SAM_LOCAL": "maybe"}, "AWS_SAM_LOCAL"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "app.example.com"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.example.com/"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.example.com/path"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "ftp://app.example.com"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://*.*.example.com"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.*.com"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://a.example.com,"}, "CORS_ALLOWED_ORIGINS"},
		// Entries that can never match, or would match far too much.
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.example.com?"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.example.com#"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.example.com:0"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.example.com:65536"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://*.com"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://*."}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.exämple.com"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://user@app.example.com"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://a.example.com, http://localhost:5173"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "*,https://a.example.com"}, "CORS_ALLOWED_ORIGINS"},
		// Credentials for every origin, or for a wildcard, would let any
		// site make credentialed calls.
		{map[string]string{"CORS_ALLOW_CREDENTIALS": "true"}, "CORS_ALLOW_CREDENTIALS"},
		{map[string]string{"CORS_ALLOW_CREDENTIALS": "true", "CORS_ALLOWED_ORIGINS": "*"}, "CORS_ALLOW_CREDENTIALS"},
		{map[string]string{"CORS_ALLOW_CREDENTIALS": "true", "CORS_ALLOWED_ORIGINS": "https://*.example.com"}, "CORS_ALLOW_CREDENTIALS"},
		{map[string]string{"CORS_ALLOW_CREDENTIALS": "true", "CORS_ALLOWED_ORIGINS": apitest.AppOrigin + ",https://*.example.org"}, "CORS_ALLOW_CREDENTIALS"},
		{map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "localhost:8000"}, "AWS_ENDPOINT_URL_DYNAMODB"},
		{map[string]string{"AWS_ENDPOINT_URL_S3": "ftp://127.0.0.1:9000"}, "AWS_ENDPOINT_URL_S3"},
		{map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": "not a url"}, "AWS_ENDPOINT_URL_SECRETS_MANAGER"},
		{map[string]string{"AWS_ENDPOINT_URL": "127.0.0.1"}, "AWS_ENDPOINT_URL"},
		{map[string]string{"STRIPE_API_BASE": "stripe.example"}, "STRIPE_API_BASE"},
		{map[string]string{"STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_SECRET_ARN": arn}, "STRIPE_SECRET_ARN"},
		// With the ARN, the signing secret is in the secret too.
		{map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_1", "STRIPE_SECRET_ARN": arn}, "STRIPE_WEBHOOK_SECRET"},
		{map[string]string{"NOTES_TABLE": "notes"}, "PURCHASES_TABLE"},
		{map[string]string{"PURCHASES_TABLE": "purchases"}, "NOTES_TABLE"},
		{map[string]string{"FREE_NOTES": "-1"}, "FREE_NOTES"},
		{map[string]string{"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"},
		{map[string]string{"FREE_NOTES": "ten"}, "FREE_NOTES"},
		// AUTH=iam needs its pools, and is the local server's only.
		{map[string]string{"AUTH": "IAM"}, "AUTH"},
		{map[string]string{"AUTH": "cognito"}, "AUTH"},
		{withIAM("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"), "AUTH"},
		{withIAM("USER_POOL_ENDPOINT", ""), "USER_POOL_ENDPOINT"},
		{withIAM("USER_POOL_ENDPOINT", "localhost:9229"), "USER_POOL_ENDPOINT"},
		{withIAM("USER_POOL_ID", ""), "USER_POOL_ID"},
		{withIAM("USER_POOL_ID", "eu-west-1_abc"), "USER_POOL_ID"},
		{withIAM("USER_POOL_CLIENT_ID", ""), "USER_POOL_CLIENT_ID"},
		{withIAM("IDENTITY_POOL_ID", ""), "IDENTITY_POOL_ID"},
		{withIAM("IDENTITY_POOL_ID", "eu-west-1:0c1f"), "IDENTITY_POOL_ID"},
	} {
		_, err := loadConfig(func(k string) string { return tc.env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.names) {
			t.Errorf("%v: err = %v, want an error naming %s", tc.env, err, tc.names)
		}
	}
}

// withIAM is a whole AUTH=iam configuration, with k set to v.
func withIAM(k, v string) map[string]string {
	env := map[string]string{"AUTH": "iam", "USER_POOL_ENDPOINT": "http://127.0.0.1:9229", "USER_POOL_ID": "us-east-1_abc",
		"USER_POOL_CLIENT_ID": "client", "IDENTITY_POOL_ID": "us-east-1:0c1f"}
	env[k] = v
	return env
}

func TestConfigIAM(t *testing.T) {
	c := testConfig(t, withIAM("AUTH", "iam"))
	if !c.iam.on || c.iam.region != "us-east-1" || c.iam.poolID != "us-east-1_abc" || c.iam.clientID != "client" {
		t.Fatalf("AUTH=iam = %+v", c.iam)
	}
	env := withIAM("AWS_REGION", "eu-west-1")
	env["USER_POOL_ID"], env["IDENTITY_POOL_ID"] = "eu-west-1_abc", "eu-west-1:0c1f"
	if c := testConfig(t, env); c.iam.region != "eu-west-1" {
		t.Fatalf("AWS_REGION = %q, want eu-west-1", c.iam.region)
	}
}

func TestDynamoNeedsRegion(t *testing.T) {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	_, _, err := openStore(testConfig(t, map[string]string{"NOTES_TABLE": "notes", "PURCHASES_TABLE": "purchases"}), func() (aws.Config, error) { return loadAWS(context.Background(), os.Getenv) })
	if err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Fatalf("NOTES_TABLE without a region: err = %v, want one naming AWS_REGION", err)
	}
}

// TestStoreFileAdvice: a NOTES_DB the store refuses stops start-up with a
// message that names it and says what to do (the built binary's exit is
// TestBrokenStoreFile's; each refusal is the store's own tests').
func TestStoreFileAdvice(t *testing.T) {
	dir := t.TempDir()
	held := filepath.Join(dir, "held.db")
	s, err := store.OpenBolt(held)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		path string
		want []string
	}{
		{held, []string{"NOTES_DB=" + held, "is in use by another process", "another notes-api"}},
		{filepath.Join(dir, "no", "such", "dir.db"), []string{"cannot be opened or created", "a directory you can write"}},
	} {
		_, _, err := openStore(testConfig(t, map[string]string{"NOTES_DB": tc.path}), nil)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Fatalf("NOTES_DB=%s: err = %v, want it to say %q", tc.path, err, w)
			}
		}
	}
}

// TestDynamoFromEnvironment: main's DynamoDB store, configured the way main
// configures it (NOTES_TABLE and the SDK's own variables, the endpoint
// among them), reaches the table.
func TestDynamoFromEnvironment(t *testing.T) {
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": testenv.DynamoDB(t), "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"} {
		t.Setenv(k, v)
	}
	client := testenv.DynamoClient(t, 3)
	s, closeStore, err := openStore(testConfig(t, map[string]string{"NOTES_TABLE": storetest.Table(t, client, storetest.NotesTable),
		"PURCHASES_TABLE": storetest.Table(t, client, storetest.PurchasesTable)}),
		func() (aws.Config, error) { return loadAWS(context.Background(), os.Getenv) })
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	n, err := s.Create(context.Background(), store.Note{UserID: "u", NoteID: "0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e", Content: "x", CreatedAt: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(context.Background(), "u", n.NoteID); err != nil || got.Content != "x" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}

// TestSAMLocalSaysSo: under Lambda with AWS_SAM_LOCAL=true (sam local),
// start-up says loudly that local identity rules are on; deployed, it
// says nothing of them.
func TestSAMLocalSaysSo(t *testing.T) {
	for _, samLocal := range []string{"true", ""} {
		var logs bytes.Buffer
		env := map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "AWS_SAM_LOCAL": samLocal}
		if _, err := newHandler(testConfig(t, env), storetest.Bolt(t), nil, nil, slog.New(slog.NewJSONHandler(&logs, nil))); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(logs.String(), "LOCAL IDENTITY RULES ARE ON"); got != (samLocal == "true") {
			t.Fatalf("AWS_SAM_LOCAL=%q: the log says local identity rules are on = %v:\n%s", samLocal, got, logs.String())
		}
	}
}
