package main

// The release bootstrap, as `sam build` makes it and Lambda runs it.

import (
	"context"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/awstest"
	"github.com/scratch-notes/notes-api/internal/testenv"
)

// TestBuildNotesFunction runs the Makefile target `sam build` calls and
// checks that it makes what provided.al2023 on arm64 runs: a static
// aarch64 ELF named bootstrap.
func TestBuildNotesFunction(t *testing.T) {
	testenv.Need(t, "make")
	dir := t.TempDir()
	out, err := exec.Command("make", "build-NotesFunction", "ARTIFACTS_DIR="+dir).CombinedOutput()
	if err != nil {
		t.Fatalf("make build-NotesFunction: %v\n%s", err, out)
	}
	f, err := elf.Open(filepath.Join(dir, "bootstrap"))
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
		t.Fatalf("bootstrap is %v %v %v, want a 64-bit aarch64 executable", f.Class, f.Machine, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("bootstrap has a %v program header: it is not statically linked", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("bootstrap needs %v", libs)
	}
	if f.Section(".symtab") != nil {
		t.Fatal("bootstrap keeps its symbol table: -s -w was not applied")
	}
	if info, err := os.Stat(filepath.Join(dir, "bootstrap")); err != nil || info.Size() > maxBootstrapBytes {
		t.Fatalf("bootstrap is %d bytes, over the %d the cold start budget allows (%v)", info.Size(), maxBootstrapBytes, err)
	}
}

// maxBootstrapBytes is the bound on the release bootstrap (the
// performance issue's): 12 MiB.
const maxBootstrapBytes = 12 << 20

// TestReleaseLeavesOutLocalParts: the release build links none of what only
// a developer's machine needs, each of which costs the cold start.
func TestReleaseLeavesOutLocalParts(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", testenv.ReleaseTags(t), ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, unwanted := range []string{
		"github.com/aws/aws-sdk-go-v2/config",                  // the shared-config credential chain
		"github.com/aws/aws-sdk-go-v2/service/sso",             // linked by it
		"github.com/aws/aws-sdk-go-v2/service/sts",             // linked by it
		"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams", // linked by attributevalue
		"github.com/aws/aws-sdk-go-v2/service/s3",              // presigning needs only the signer
		"encoding/xml", // the local endpoint's S3 errors
	} {
		if slices.Contains(deps, unwanted) {
			t.Errorf("the release build links %s", unwanted)
		}
	}
	// And the local build does have the local endpoint.
	out, err = exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "encoding/xml") {
		t.Fatalf("the local build lacks the local attachments endpoint: %v", err)
	}
}

// TestBootstrapUnderRIE sends every testdata event to the real built
// binary as the Lambda service would: deployed REST v1 and v2 events, and
// the REST v1 events sam local start-api sends.
func TestBootstrapUnderRIE(t *testing.T) {
	bootstrap := testenv.Build(t, ".", testenv.ReleaseTags(t))
	for _, dir := range []string{"v1", "v2"} {
		t.Run(dir, func(t *testing.T) {
			apitest.CheckEventFlow(t, awstest.StartRIE(t, bootstrap, "CORS_ALLOWED_ORIGINS="+apitest.AppOrigin), filepath.Join("testdata", "events", dir))
		})
	}
	t.Run("sam local", func(t *testing.T) {
		apitest.CheckSAMLocalFlow(t, awstest.StartRIE(t, bootstrap, "AWS_SAM_LOCAL=true", "DEV_IDENTITY_ID=sam-user"), filepath.Join("testdata", "events", "v1-sam-local"))
	})
	t.Run("scheduled reconcile", func(t *testing.T) {
		// What the template's schedule sends (testdata/events/scheduled.json,
		// as sam local invoke -e takes it): a reconcile, against stripe-mock.
		rie := awstest.StartRIE(t, bootstrap, "STRIPE_SECRET_KEY=sk_test_123", "STRIPE_API_BASE="+testenv.StripeMock(t))
		out, err := rie.Invoke(context.Background(), apitest.ReadEvent(t, filepath.Join("testdata", "events", "scheduled.json")))
		var got struct{ Events, Recorded, Ignored *int }
		if err != nil || json.Unmarshal(out, &got) != nil || got.Events == nil || got.Recorded == nil {
			t.Fatalf("a scheduled event = %s, %v; want what the reconcile did\n%s", out, err, rie.Logs())
		}
		if !strings.Contains(string(rie.Logs()), `"message":"reconciled"`) {
			t.Fatalf("no reconciled line in the log:\n%s", rie.Logs())
		}
	})
	t.Run("sam local event deployed", func(t *testing.T) {
		r := apitest.InvokeFile(t, awstest.StartRIE(t, bootstrap), "testdata/events/v1-sam-local/list.json", apitest.FixtureNoteID)
		if r.Status != 401 {
			t.Fatalf("a sam local event with no identity, deployed = %d, want 401", r.Status)
		}
	})
}
