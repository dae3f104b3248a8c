package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/scratch-notes/notes-api/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestDemo runs what `make demo` runs: the page on one origin, the API on
// another that allows it, both URLs printed.
func TestDemo(t *testing.T) {
	apiPort, webPort := testenv.FreePort(t), testenv.FreePort(t)
	cmd := exec.Command(testenv.Build(t, "scripts/demo", ""), "-api", testenv.Build(t, ".", ""),
		"-api-port", strconv.Itoa(apiPort), "-web-port", strconv.Itoa(webPort))
	cmd.Dir = testenv.Root() // the page is web/, as make demo runs it
	cmd.Env = append(os.Environ(), "NOTES_DB="+filepath.Join(t.TempDir(), "notes.db"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	page := fmt.Sprintf("http://127.0.0.1:%d", webPort)
	api := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	printed, _ := bufio.NewReader(out).ReadString('\n')
	if !strings.Contains(printed, page+"/?api="+api) {
		t.Fatalf("demo printed %q, want the page's URL", printed)
	}
	testenv.WaitHTTP(t, api+"/", nil)

	resp, err := http.Get(page + "/")
	if err != nil {
		t.Fatalf("the page: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `<script type="module" src="app.js">`) {
		t.Fatalf("the page = %d, not web/index.html", resp.StatusCode)
	}

	req, _ := http.NewRequest("OPTIONS", api+"/notes", nil)
	req.Header.Set("Origin", page)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("preflight: %v", err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != page {
		t.Fatalf("the API allows %q, want the page's origin %s", got, page)
	}
}
