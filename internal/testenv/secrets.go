package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SecretsManager is the base URL of a server that speaks the Secrets
// Manager API (moto_server).
func SecretsManager(t testing.TB) string {
	t.Helper()
	return Moto(t)
}

// SecretsCall makes one signed Secrets Manager call (target such as
// "CreateSecret") with input, and returns the answer's status and body.
func SecretsCall(t testing.TB, target string, input map[string]any) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(input)
	req, _ := http.NewRequest("POST", SecretsManager(t)+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager."+target)
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "secretsmanager", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

var secretSeq = time.Now().UnixNano()

// Secret creates a secret of its own holding value (a string, or with
// binary true only bytes) and returns its ARN.
func Secret(t testing.TB, value string, binary bool) string {
	t.Helper()
	secretSeq++
	in := map[string]any{"Name": fmt.Sprintf("notes-test-%d", secretSeq)}
	if binary {
		in["SecretBinary"] = []byte(value)
	} else {
		in["SecretString"] = value
	}
	status, out := SecretsCall(t, "CreateSecret", in)
	arn, _ := out["ARN"].(string)
	if status != http.StatusOK || arn == "" {
		t.Fatalf("CreateSecret = %d %v", status, out)
	}
	return arn
}
