package main

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scratch-notes/notes-api/internal/apitest"
)

// TestBuildNotesFunction runs the Makefile target `sam build` calls and
// checks that it makes what provided.al2023 on arm64 runs: a static
// aarch64 ELF named bootstrap.
func TestBuildNotesFunction(t *testing.T) {
	need(t, "make")
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

// maxBootstrapBytes is issue 9's bound on the release bootstrap: 12 MiB.
const maxBootstrapBytes = 12 << 20

// TestReleaseLeavesOutLocalParts: the release build links none of what only
// a developer's machine needs, each of which costs the cold start.
func TestReleaseLeavesOutLocalParts(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", lambdaTags(t), ".").CombinedOutput()
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

// rie runs a built bootstrap under the AWS Lambda Runtime Interface
// Emulator, the way the Lambda service runs it, and invokes it over the
// emulator's HTTP API.
type rie struct {
	url string
}

// Invoke implements apitest.Invoker: one invocation through the emulator.
func (r rie) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", r.url+"/2015-03-31/functions/function/invocations", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" {
		return nil, fmt.Errorf("invocation failed: %d %s", resp.StatusCode, body)
	}
	return body, nil
}

// lambdaTags are the build tags of the release bootstrap, as the Makefile
// gives them.
func lambdaTags(t testing.TB) string {
	t.Helper()
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^LAMBDA_TAGS\s*:=\s*(\S+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile sets no LAMBDA_TAGS")
	}
	return string(m[1])
}

// hostBootstrap builds the function as build-NotesFunction does, for this
// machine's architecture so that it can run here.
func hostBootstrap(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", lambdaTags(t), "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build bootstrap: %v\n%s", err, out)
	}
	return bin
}

// startRIE starts the emulator (pinned in go.mod as a tool) on loopback
// with bootstrap as the function and env as its environment.
func startRIE(t *testing.T, bootstrap string, env ...string) rie {
	t.Helper()
	out, err := exec.Command("go", "tool", "-n", "aws-lambda-rie").Output()
	if err != nil {
		missing(t, "cannot build aws-lambda-rie (%v)", err)
	}
	emu := strings.TrimSpace(string(out))
	port, apiPort := freePort(t), freePort(t)
	cmd := exec.Command(emu,
		"--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(port),
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(apiPort),
		"--log-level", "error",
		bootstrap)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "NOTES_DB=" + filepath.Join(t.TempDir(), "notes.db")}, env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", logs.String())
		}
	})
	r := rie{url: "http://127.0.0.1:" + strconv.Itoa(port)}
	for i := 0; ; i++ {
		conn, err := http.Get(r.url + "/")
		if err == nil {
			conn.Body.Close()
			return r
		}
		if i == 100 {
			t.Fatalf("the emulator did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBootstrapUnderRIE sends every testdata event to the real built
// binary as the Lambda service would: deployed REST v1 and v2 events, and
// the REST v1 events sam local start-api sends.
func TestBootstrapUnderRIE(t *testing.T) {
	bootstrap := hostBootstrap(t)
	for _, dir := range []string{"v1", "v2"} {
		t.Run(dir, func(t *testing.T) {
			apitest.CheckEventFlow(t, startRIE(t, bootstrap, "CORS_ALLOWED_ORIGINS="+appOrigin), filepath.Join("testdata", "events", dir))
		})
	}
	t.Run("sam local", func(t *testing.T) {
		apitest.CheckSAMLocalFlow(t, startRIE(t, bootstrap, "AWS_SAM_LOCAL=true", "DEV_IDENTITY_ID=sam-user"), filepath.Join("testdata", "events", "v1-sam-local"))
	})
	t.Run("sam local event deployed", func(t *testing.T) {
		r := apitest.InvokeFile(t, startRIE(t, bootstrap), "testdata/events/v1-sam-local/list.json", apitest.FixtureNoteID)
		if r.Status != 401 {
			t.Fatalf("a sam local event with no identity, deployed = %d, want 401", r.Status)
		}
	})
}
