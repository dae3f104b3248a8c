package testenv

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// A build made by Build, kept for the whole test process.
type build struct {
	once sync.Once
	path string
	err  error
}

var (
	buildsMu  sync.Mutex
	builds    = map[string]*build{}
	buildsDir string
)

// Build builds the command in pkg (a directory relative to the
// repository's root, "." for the API) with tags as the release bootstrap
// is built (static, -trimpath, -s -w), for this machine, once per test
// process, and returns its path. RemoveBuilds deletes what it built.
func Build(t testing.TB, pkg, tags string) string {
	t.Helper()
	buildsMu.Lock()
	key := pkg + " " + tags
	b := builds[key]
	if b == nil {
		b = &build{}
		builds[key] = b
	}
	if buildsDir == "" {
		dir, err := os.MkdirTemp("", "notes-builds")
		if err != nil {
			buildsMu.Unlock()
			t.Fatal(err)
		}
		buildsDir = dir
	}
	dir := buildsDir
	buildsMu.Unlock()
	b.once.Do(func() {
		name := strings.NewReplacer("/", "_", ".", "_", ",", "_", " ", "-").Replace(key)
		b.path = filepath.Join(dir, "bin-"+name)
		cmd := exec.Command("go", "build", "-tags", tags, "-trimpath", "-ldflags=-s -w", "-o", b.path, "./"+strings.TrimPrefix(pkg, "./"))
		cmd.Dir = Root()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s (tags %q): %v\n%s", pkg, tags, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Main runs a package's tests and then deletes what Build built: a
// TestMain of a package that calls Build is func TestMain(m *testing.M) {
// testenv.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	RemoveBuilds()
	os.Exit(code)
}

// RemoveBuilds deletes what Build built.
func RemoveBuilds() {
	buildsMu.Lock()
	defer buildsMu.Unlock()
	if buildsDir != "" {
		os.RemoveAll(buildsDir)
	}
}

// Tool returns the path of a program pinned in the tools module
// (scripts/tools/go.mod: stripe-mock, aws-lambda-rie), building it if
// need be (see Missing).
func Tool(t testing.TB, name string) string {
	t.Helper()
	cmd := exec.Command("go", "tool", "-n", name)
	cmd.Dir = filepath.Join(Root(), "scripts", "tools")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%v: %s", err, ee.Stderr)
		}
		Missing(t, "cannot build the tool %s (%v)", name, err)
	}
	return strings.TrimSpace(string(out))
}

// WaitHTTP waits until url answers an HTTP request (any status), failing
// the test after 10 s. alive, when not nil, reports whether the server's
// process is still running: a process that has died fails the test at
// once.
func WaitHTTP(t testing.TB, url string, alive func() bool) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		if alive != nil && !alive() {
			t.Fatalf("%s: the server's process ended before it answered", url)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ReleaseTags are the build tags of the release bootstrap, as the
// Makefile's LAMBDA_TAGS gives them.
func ReleaseTags(t testing.TB) string {
	t.Helper()
	mk, err := os.ReadFile(filepath.Join(Root(), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^LAMBDA_TAGS\s*:=\s*(\S+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile sets no LAMBDA_TAGS")
	}
	return string(m[1])
}
