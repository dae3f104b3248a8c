package main

// The helpers of the tests that need main's wiring or the built binary.

import (
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/routes"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBuilds()
	os.Exit(code)
}

// testConfig is the configuration main reads from env.
func testConfig(t testing.TB, env map[string]string) config {
	t.Helper()
	c, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("loadConfig(%v): %v", env, err)
	}
	return c
}

// testHandler is the API main builds from env, on notes, with files.
func testHandler(t testing.TB, env map[string]string, notes routes.NoteStore, files routes.Files) http.Handler {
	t.Helper()
	h, err := newHandler(testConfig(t, env), notes, files, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// localBinary is this command built as `make build` builds it.
func localBinary(t testing.TB) string {
	t.Helper()
	return testenv.Build(t, ".", "")
}

// process is the built command, running.
type process struct {
	URL  string // where it serves
	cmd  *exec.Cmd
	done chan struct{}
	err  error // how it exited, once done is closed
}

// startBinary starts the built command as the local server, as `make run`
// does (NOTES_DB in a temporary directory unless env sets it), and
// returns it once it answers.
func startBinary(t testing.TB, env ...string) *process {
	t.Helper()
	port := testenv.FreePort(t)
	p := &process{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: exec.Command(localBinary(t)), done: make(chan struct{})}
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "PORT=" + strconv.Itoa(port),
		"NOTES_DB=" + filepath.Join(t.TempDir(), "notes.db")}, env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	testenv.WaitHTTP(t, p.URL+"/", func() bool {
		select {
		case <-p.done:
			return false
		default:
			return true
		}
	})
	return p
}
