package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/scratch-notes/notes-api/internal/localpool"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/web"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestDemo runs what `make demo` runs: a user pool in moto_server with
// the demo user, the API with AUTH=iam allowing the page's origin, the
// page serving a config.json of them all, and how to sign in printed.
// The sign-in itself is TestWebPage's, in Chromium.
func TestDemo(t *testing.T) {
	testenv.Need(t, "moto_server")
	apiPort, webPort, poolPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	cmd := exec.Command(testenv.Build(t, "scripts/demo", ""), "-api", testenv.Build(t, ".", ""),
		"-api-port", strconv.Itoa(apiPort), "-web-port", strconv.Itoa(webPort), "-pool-port", strconv.Itoa(poolPort))
	cmd.Dir = testenv.Root()
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
	r := bufio.NewReader(out)
	var printed strings.Builder
	for !strings.Contains(printed.String(), "Ctrl-C") {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("demo printed %q, then %v", printed.String(), err)
		}
		printed.WriteString(line)
	}
	for _, want := range []string{page + "/", "sign in as demo@example.com with the password Scratch-demo-1", "AUTH=iam", api} {
		if !strings.Contains(printed.String(), want) {
			t.Fatalf("demo printed %q, want %q in it", printed.String(), want)
		}
	}

	resp, err := http.Get(page + "/config.json")
	if err != nil {
		t.Fatal(err)
	}
	var config web.Config
	json.NewDecoder(resp.Body).Decode(&config)
	resp.Body.Close()
	if config.APIURL != api || config.IdentityEndpoint != api || config.UserPoolID == "" || config.UserPoolClientID == "" ||
		config.UserPoolEndpoint != fmt.Sprintf("http://127.0.0.1:%d", poolPort) || config.Region != "us-east-1" {
		t.Fatalf("config.json = %+v", config)
	}
	// The demo user can sign in at once (the pool's own API), and the
	// API refuses an unsigned call.
	pool := localpool.Client(config.UserPoolEndpoint, config.Region)
	if _, err := pool.AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: &config.UserPoolID,
		Username: aws.String("demo@example.com")}); err != nil {
		t.Fatalf("the demo user: %v", err)
	}
	resp, err = http.Get(api + "/notes")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned GET /notes = %d, want 403 (AUTH=iam)", resp.StatusCode)
	}

	resp, err = http.Get(page + "/")
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
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-amz-date,x-amz-security-token")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("preflight: %v", err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != page {
		t.Fatalf("the API allows %q, want the page's origin %s", got, page)
	}
}
