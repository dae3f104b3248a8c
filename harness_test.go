package main

// The helpers of the tests that need main's wiring or the built binary.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/routes"
	"github.com/scratch-notes/notes-api/store"
)

// Short names for what the tests here share with every package's tests.
type note = apitest.Note

const (
	alice     = apitest.Alice
	appOrigin = apitest.AppOrigin
)

var (
	missing  = testenv.Missing
	need     = testenv.Need
	freePort = testenv.FreePort
)

// testConfig is the configuration main reads from env.
func testConfig(t testing.TB, env map[string]string) config {
	t.Helper()
	c, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("loadConfig(%v): %v", env, err)
	}
	return c
}

// openTestStore is a real bbolt store in a temporary directory, opened as
// main opens it.
func openTestStore(t testing.TB) routes.NoteStore {
	t.Helper()
	db, s, err := openBolt(filepath.Join(t.TempDir(), "notes.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return s
}

var tableSeq atomic.Int64

// openTestDynamo is the DynamoDB store on a fresh table in dynalite,
// opened the way main opens it: NOTES_TABLE and the SDK's own AWS_*
// variables, AWS_ENDPOINT_URL_DYNAMODB among them.
func openTestDynamo(t testing.TB) routes.NoteStore {
	t.Helper()
	ep := testenv.DynamoDB(t)
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": ep, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"} {
		t.Setenv(k, v)
	}
	table := fmt.Sprintf("notes-main-%d-%d", os.Getpid(), tableSeq.Add(1))
	client := testenv.DynamoClient(t, 3)
	ctx := context.Background()
	if err := store.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &table}) })
	s, closeStore, err := openStore(testConfig(t, map[string]string{"NOTES_TABLE": table}),
		func() (aws.Config, error) { return loadAWS(ctx, os.Getenv) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeStore() })
	return s
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// binary builds this command once per test run, as `make build` does.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "notes-api-test")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "notes-api")
		if out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// startBinary starts the built command as the local server, as `make run`
// does, returning its base URL.
func startBinary(t testing.TB, env ...string) (string, *exec.Cmd) {
	t.Helper()
	bin := binary(t)
	port := freePort(t)
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "PORT=" + strconv.Itoa(port),
		"NOTES_DB=" + filepath.Join(t.TempDir(), "notes.db")}, env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/notes"); err == nil {
			resp.Body.Close()
			return base, cmd
		}
		if i == 100 {
			t.Fatal("the server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}
