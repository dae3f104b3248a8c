package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/scratch-notes/notes-api/internal/testenv"
)

// TestTypesFollowTheDocument: web/api.d.ts is what openapi-typescript
// (pinned in scripts/openapi) makes of routes/openapi.json today; a change
// of the document without `make types` fails here, before a frontend
// types its calls against an old contract.
func TestTypesFollowTheDocument(t *testing.T) {
	node := testenv.NodeModules(t, "scripts/openapi")
	out := filepath.Join(t.TempDir(), "api.d.ts")
	cmd := exec.Command(node, filepath.Join("scripts", "openapi", "node_modules", "openapi-typescript", "bin", "cli.js"), filepath.Join("routes", "openapi.json"), "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openapi-typescript: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("web", "api.d.ts"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("web/api.d.ts is not what routes/openapi.json makes now: run make types, and commit it")
	}
}
