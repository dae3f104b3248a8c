package awstest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/scratch-notes/notes-api/internal/testenv"
)

// RIE is a built bootstrap running under the AWS Lambda Runtime Interface
// Emulator (pinned in scripts/tools), the way the Lambda service runs it,
// invoked over the emulator's HTTP API.
type RIE struct {
	url  string
	logs *testenv.Buffer
}

// Logs is what the emulator and the function have written so far.
func (r RIE) Logs() []byte { return []byte(r.logs.String()) }

// StartRIE starts the emulator on loopback with bootstrap as the function
// and env as its environment (NOTES_DB in a temporary directory unless env
// says otherwise), until the test ends.
func StartRIE(t testing.TB, bootstrap string, env ...string) RIE {
	t.Helper()
	emu := testenv.Tool(t, "aws-lambda-rie")
	port, apiPort := testenv.FreePort(t), testenv.FreePort(t)
	cmd := exec.Command(emu,
		"--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(port),
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(apiPort),
		"--log-level", "error",
		bootstrap)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "NOTES_DB=" + filepath.Join(t.TempDir(), "notes.db")}, env...)
	logs := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", logs.String())
		}
	})
	r := RIE{url: "http://127.0.0.1:" + strconv.Itoa(port), logs: logs}
	testenv.WaitHTTP(t, r.url+"/", func() bool {
		select {
		case <-exited:
			return false
		default:
			return true
		}
	})
	return r
}

// Invoke implements apitest.Invoker: one invocation through the emulator.
func (r RIE) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
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
