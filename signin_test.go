package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	ci "github.com/aws/aws-sdk-go-v2/service/cognitoidentity"

	"github.com/scratch-notes/notes-api/internal/localpool"
	"github.com/scratch-notes/notes-api/internal/testenv"
)

// signedCall makes a call to base signed with creds as a SigV4 library
// signs it, and returns the status and JSON answer.
func signedCall(t *testing.T, creds aws.Credentials, method, url, body string, header map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// poolCredentials signs in to the binary at base, as the AWS SDK does
// against Cognito Identity, with an ID token of pool.
func poolCredentials(t *testing.T, base string, pool *localpool.Pool, idToken string) (string, aws.Credentials) {
	t.Helper()
	ctx := context.Background()
	client := ci.New(ci.Options{Region: pool.Region, BaseEndpoint: aws.String(base)})
	logins := map[string]string{pool.Provider(): idToken}
	id, err := client.GetId(ctx, &ci.GetIdInput{IdentityPoolId: aws.String(pool.IdentityPoolID), Logins: logins})
	if err != nil {
		t.Fatalf("GetId: %v", err)
	}
	out, err := client.GetCredentialsForIdentity(ctx, &ci.GetCredentialsForIdentityInput{IdentityId: id.IdentityId, Logins: logins})
	if err != nil {
		t.Fatalf("GetCredentialsForIdentity: %v", err)
	}
	c := out.Credentials
	return *id.IdentityId, aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretKey, SessionToken: *c.SessionToken}
}

// TestSignInLocal: the built binary with AUTH=iam is its own Cognito
// Identity endpoint, serves signed calls as the signer's identity, on its
// files too, refuses the rest (the dev header means nothing), and keeps a
// user's identity across a restart.
func TestSignInLocal(t *testing.T) {
	pool := testenv.UserPool(t)
	token := testenv.PoolUser(t, pool, "frank@example.com", "Passw0rd!frank")
	db := filepath.Join(t.TempDir(), "notes.db")
	env := append(pool.Env(), "NOTES_DB="+db)
	p := startBinary(t, env...)

	id, creds := poolCredentials(t, p.URL, pool, token)
	status, note := signedCall(t, creds, "POST", p.URL+"/notes", `{"content":"signed in"}`, nil)
	if status != http.StatusCreated || note["userId"] != id {
		t.Fatalf("signed POST /notes = %d %v, want 201 as %s", status, note, id)
	}
	status, up := signedCall(t, creds, "POST", p.URL+"/attachments", `{"fileName":"a.txt","contentType":"text/plain","size":2}`, nil)
	if status != http.StatusCreated {
		t.Fatalf("signed POST /attachments = %d %v", status, up)
	}
	upload, _ := http.NewRequest("PUT", up["uploadUrl"].(string), strings.NewReader("hi"))
	for k, v := range up["headers"].(map[string]any) {
		upload.Header.Set(k, v.(string))
	}
	if resp, err := http.DefaultClient.Do(upload); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("upload under a Cognito identity's folder: %v %v", resp, err)
	}

	resp, body := call(t, "GET", p.URL+"/notes", "", "", map[string]string{"X-Dev-Identity-Id": "local-user"})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"error"`) {
		t.Fatalf("unsigned GET /notes with the dev header = %d %s, want 403", resp.StatusCode, body)
	}

	p.cmd.Process.Kill()
	<-p.done
	p = startBinary(t, env...)
	if again, _ := poolCredentials(t, p.URL, pool, token); again != id {
		t.Fatalf("after a restart the identity is %s, want %s", again, id)
	}
	if status, notes := signedCall(t, creds, "GET", p.URL+"/me", "", nil); status != http.StatusOK || notes["notes"] != 1.0 {
		t.Fatalf("GET /me after a restart, with credentials issued before = %d %v", status, notes)
	}
}
