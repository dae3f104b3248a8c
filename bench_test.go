package main

// The benchmarks of the built binaries: cold start, memory, size and
// local throughput, each against its baseline built and run the same way
// in the same run. `make bench` runs them with their counts and prints the
// table (scripts/bench/table); `make test` runs each once.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/awstest"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/internal/testenv"
)

// releaseBinaries builds each program the way the release bootstrap is
// built (static, -trimpath, -s -w, the release tags), for this machine:
// the API, and the baselines; and the local server as make build makes it.
func releaseBinaries(b *testing.B) map[string]string {
	b.Helper()
	tags := testenv.ReleaseTags(b)
	return map[string]string{"api": testenv.Build(b, ".", tags), "hello": testenv.Build(b, "scripts/bench/hello", tags),
		"floor": testenv.Build(b, "scripts/bench/floor", tags), "bare": testenv.Build(b, "scripts/bench/bare", tags),
		"local": localBinary(b)}
}

// spawn is one cold start: the time from starting the process to its
// first /next (init) and to its first answer, and its peak RSS.
type spawn struct {
	init, answer time.Duration
	rssKiB       int64
}

func coldStart(b *testing.B, bin string, ev []byte, env ...string) spawn {
	api := awstest.NewRuntimeAPI(b)
	cmd := exec.Command(bin)
	cmd.Env = api.Env(env...)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	answer := api.Invoke(b, ev)
	answered := time.Since(start)
	inited := (<-api.FirstNext).Sub(start)
	// VmHWM: the peak since exec (rusage's maxrss would count the test
	// binary's pages the child shared before its exec).
	peak := procStatus(b, cmd.Process.Pid, "VmHWM:")
	cmd.Process.Kill()
	cmd.Wait()
	var resp struct{ StatusCode int }
	if json.Unmarshal(answer, &resp) != nil || resp.StatusCode/100 != 2 {
		b.Fatalf("%s answered %s", filepath.Base(bin), answer)
	}
	return spawn{init: inited, answer: answered, rssKiB: int64(peak)}
}

func median[T int64 | time.Duration](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// benchTable is a DynamoDB table in dynalite, and the environment that
// points a function at it.
func benchTable(b *testing.B) []string {
	client := testenv.DynamoClient(b, 3)
	return []string{"NOTES_TABLE=" + storetest.Table(b, client, storetest.NotesTable),
		"PURCHASES_TABLE=" + storetest.Table(b, client, storetest.PurchasesTable), "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL_DYNAMODB=" + testenv.DynamoDB(b),
		"AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench", "AWS_SESSION_TOKEN=bench"}
}

// createEvent is a REST v1 event that creates a note, as API Gateway sends it.
func createEvent() []byte {
	ev, _ := json.Marshal(events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/notes", Resource: "/{proxy+}",
		Body:              `{"content":"hello","attachment":null}`,
		MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"}, "Origin": {apitest.AppOrigin}},
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "bench", Stage: "dev",
			Identity: events.APIGatewayRequestIdentity{CognitoIdentityID: apitest.Alice}}})
	return ev
}

// BenchmarkColdStart spawns each program under a Runtime API on loopback,
// b.N rounds (make bench: 20), one spawn of each program a round so that
// a drift of the machine touches them all alike, and reports the medians:
// spawn to first answer, spawn to first /next (init), and peak RSS.
// hello and floor are the baselines; api-dynamo is the API in the floor's
// shape (one DynamoDB write), api-bolt on its embedded store.
func BenchmarkColdStart(b *testing.B) {
	bins := releaseBinaries(b)
	table := benchTable(b)
	hello := []byte(`{"httpMethod":"GET","path":"/"}`)
	programs := []struct {
		name, bin string
		ev        []byte
		env       []string
	}{
		{"hello", bins["hello"], hello, nil},
		{"floor", bins["floor"], hello, table},
		{"api-dynamo", bins["api"], createEvent(), table},
		{"api-bolt", bins["api"], createEvent(), []string{"NOTES_DB=" + filepath.Join(b.TempDir(), "notes.db")}},
	}
	// NOTES_BENCH_BEFORE names another build of the API (an earlier
	// version, say) to spawn alongside, in the DynamoDB shape.
	if before := os.Getenv("NOTES_BENCH_BEFORE"); before != "" {
		programs = append(programs, struct {
			name, bin string
			ev        []byte
			env       []string
		}{"before", before, createEvent(), table})
	}
	spawns := make([][]spawn, len(programs))
	for b.Loop() {
		for i, p := range programs {
			spawns[i] = append(spawns[i], coldStart(b, p.bin, p.ev, p.env...))
		}
	}
	for i, p := range programs {
		var answers, inits []time.Duration
		var rss []int64
		for _, s := range spawns[i] {
			answers, inits, rss = append(answers, s.answer), append(inits, s.init), append(rss, s.rssKiB)
		}
		b.ReportMetric(float64(median(answers).Microseconds())/1000, "ms-first-answer-"+p.name)
		b.ReportMetric(float64(median(inits).Microseconds())/1000, "ms-init-"+p.name)
		b.ReportMetric(float64(median(rss))/1024, "MiB-peak-rss-"+p.name)
	}
}

// procStatus is a figure of /proc/<pid>/status, in KiB.
func procStatus(b *testing.B, pid int, field string) float64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kib, _ := strconv.ParseFloat(f[1], 64)
			return kib
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// rssMiB is a process's resident memory now.
func rssMiB(b *testing.B, pid int) float64 { return procStatus(b, pid, "VmRSS:") / 1024 }

// BenchmarkWarmMemory sends one warm instance of the API, holding 50
// notes, b.N reads (make bench: 50,000: GET /notes/{id}, and a page of
// GET /notes one time in four) and reports its RSS after a fifth of them
// and after all: flat means no request leaves memory behind.
func BenchmarkWarmMemory(b *testing.B) {
	bins := releaseBinaries(b)
	api := awstest.NewRuntimeAPI(b)
	cmd := exec.Command(bins["api"])
	cmd.Env = api.Env("NOTES_DB=" + filepath.Join(b.TempDir(), "notes.db"))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 49 {
		api.Invoke(b, createEvent())
	}
	var created struct{ Body string }
	json.Unmarshal(api.Invoke(b, createEvent()), &created)
	var n struct{ NoteID string }
	json.Unmarshal([]byte(created.Body), &n)
	get, _ := json.Marshal(events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/notes/" + n.NoteID,
		MultiValueHeaders: map[string][]string{"Origin": {apitest.AppOrigin}},
		RequestContext:    events.APIGatewayProxyRequestContext{Identity: events.APIGatewayRequestIdentity{CognitoIdentityID: apitest.Alice}}})
	list, _ := json.Marshal(events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/notes",
		MultiValueQueryStringParameters: map[string][]string{"limit": {"20"}},
		RequestContext:                  events.APIGatewayProxyRequestContext{Identity: events.APIGatewayRequestIdentity{CognitoIdentityID: apitest.Alice}}})
	var early float64
	i := 0
	for b.Loop() {
		// Reads only, so that the data (and bbolt's map of it) stays
		// the same size and what grows is what requests leave behind.
		if i%4 == 0 {
			api.Invoke(b, list)
		} else {
			api.Invoke(b, get)
		}
		i++
		if i == max(b.N/5, 1) {
			early = rssMiB(b, cmd.Process.Pid)
		}
	}
	late := rssMiB(b, cmd.Process.Pid)
	b.ReportMetric(early, "MiB-rss-at-a-fifth")
	b.ReportMetric(late, "MiB-rss-at-the-end")
}

// BenchmarkReleaseSize builds the release bootstrap as `sam build` does
// (make build-NotesFunction, linux/arm64) and reports its size.
func BenchmarkReleaseSize(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		if out, err := exec.Command("make", "build-NotesFunction", "ARTIFACTS_DIR="+dir).CombinedOutput(); err != nil {
			b.Fatalf("make build-NotesFunction: %v\n%s", err, out)
		}
	}
	info, err := os.Stat(filepath.Join(dir, "bootstrap"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(info.Size())/(1<<20), "MiB-bootstrap")
}

// BenchmarkThroughput loads the local server (the built binary on its
// embedded store) with GET /notes/{id} from 32 clients on loopback, b.N
// requests in all (make bench: 40,000), next to a bare net/http handler
// answering the same note, and reports requests per second and p99.
func BenchmarkThroughput(b *testing.B) {
	bins := releaseBinaries(b)
	for _, name := range []string{"bare", "api"} {
		b.Run(name, func(b *testing.B) {
			port := testenv.FreePort(b)
			bin := bins["bare"]
			if name == "api" {
				bin = bins["local"]
			}
			cmd := exec.Command(bin)
			cmd.Env = []string{"PORT=" + strconv.Itoa(port), "NOTES_DB=" + filepath.Join(b.TempDir(), "notes.db")}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			base := "http://127.0.0.1:" + strconv.Itoa(port)
			testenv.WaitHTTP(b, base+"/", nil)
			resp, err := http.Post(base+"/notes", "application/json", strings.NewReader(`{"content":"hello","attachment":null}`))
			if err != nil {
				b.Fatal(err)
			}
			var n struct{ NoteID string }
			json.NewDecoder(resp.Body).Decode(&n)
			resp.Body.Close()
			path := "/notes/" + n.NoteID
			const clients = 32
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			latencies := make([]time.Duration, 0, b.N)
			var mu sync.Mutex
			work := make(chan struct{}, clients)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range work {
						t0 := time.Now()
						resp, err := client.Get(base + path)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Errorf("status %d", resp.StatusCode)
						}
						mu.Lock()
						latencies = append(latencies, time.Since(t0))
						mu.Unlock()
					}
				}()
			}
			for range b.N {
				work <- struct{}{}
			}
			close(work)
			wg.Wait()
			elapsed := time.Since(start)
			slices.Sort(latencies)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "ms-p99")
		})
	}
}
