package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/web"
)

// TestFrontendExamples runs docs/frontend.md's two ways to call the API,
// aws4fetch and Amplify v6, as they are printed there, in Node.js against
// the built binary with AUTH=iam and a moto_server user pool: each signs
// in with SRP, gets the identity's credentials and makes signed calls.
func TestFrontendExamples(t *testing.T) {
	node := testenv.NodeModules(t, "docs/examples")
	doc, err := os.ReadFile(filepath.Join("docs", "frontend.md"))
	if err != nil {
		t.Fatal(err)
	}
	pool := testenv.UserPool(t)
	api := startBinary(t, pool.Env()...).URL
	config, _ := json.Marshal(web.Config{Region: pool.Region, APIURL: api, UserPoolID: pool.ID, UserPoolClientID: pool.ClientID,
		IdentityPoolID: pool.IdentityPoolID, UserPoolEndpoint: pool.Endpoint, IdentityEndpoint: api})
	for _, example := range []string{"aws4fetch.mjs", "amplify.mjs"} {
		t.Run(example, func(t *testing.T) {
			file := filepath.Join("docs", "examples", example)
			code, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(doc), "```js\n"+string(code)+"```") {
				t.Fatalf("docs/frontend.md does not show %s as it is", file)
			}
			email, password := strings.TrimSuffix(example, ".mjs")+"@example.com", "Passw0rd!"+example
			testenv.PoolUser(t, pool, email, password)
			cmd := exec.Command(node, file)
			cmd.Env = append(os.Environ(), "SCRATCH_CONFIG="+string(config), "SCRATCH_EMAIL="+email, "SCRATCH_PASSWORD="+password)
			out, err := cmd.Output()
			if err != nil {
				var stderr []byte
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = ee.Stderr
				}
				t.Fatalf("node %s: %v\n%s%s", file, err, out, stderr)
			}
			var got struct {
				IdentityID string `json:"identityId"`
				Created    struct{ UserID, Content string }
				Listed     int
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s printed %s", file, out)
			}
			if !strings.HasPrefix(got.IdentityID, "us-east-1:") || got.Created.UserID != got.IdentityID || got.Listed != 1 {
				t.Fatalf("%s: %s, want a note of its own identity, listed", file, out)
			}
		})
	}
}
