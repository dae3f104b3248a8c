package main

// The benchmarks of the built binaries: cold start, memory, size and
// local throughput, each against its baseline built and run the same way
// in the same run. `make bench` runs them with their counts and prints the
// table (scripts/bench/table); `make test` runs each once.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/store"
)

var (
	benchBuildOnce sync.Once
	benchBins      map[string]string
	benchBuildErr  error
)

// releaseBinaries builds, once, each program the way the release
// bootstrap is built (static, -trimpath, -s -w, lambda.norpc), for this
// machine: the API with the release tags, and the baselines.
func releaseBinaries(b *testing.B) map[string]string {
	b.Helper()
	tags := lambdaTags(b)
	benchBuildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "notes-bench")
		if err != nil {
			benchBuildErr = err
			return
		}
		benchBins = map[string]string{}
		for name, pkg := range map[string]string{"api": ".", "hello": "./scripts/bench/hello", "floor": "./scripts/bench/floor",
			"bare": "./scripts/bench/bare", "local": "."} {
			t := tags
			if name == "local" {
				t = "" // the local server, as make build makes it
			}
			out := filepath.Join(dir, name)
			cmd := exec.Command("go", "build", "-tags", t, "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if o, err := cmd.CombinedOutput(); err != nil {
				benchBuildErr = fmt.Errorf("build %s: %v\n%s", name, err, o)
				return
			}
			benchBins[name] = out
		}
	})
	if benchBuildErr != nil {
		b.Fatal(benchBuildErr)
	}
	return benchBins
}

// runtimeAPI is a minimal Lambda Runtime API on loopback for one process:
// it hands out the events sent to it, one at a time, and records when the
// function first asked for one and what it answered.
type runtimeAPI struct {
	addr      string
	events    chan []byte
	answers   chan []byte
	firstNext chan time.Time
	srv       *http.Server
}

func newRuntimeAPI(b *testing.B) *runtimeAPI {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	r := &runtimeAPI{addr: ln.Addr().String(), events: make(chan []byte), answers: make(chan []byte, 1), firstNext: make(chan time.Time, 1)}
	var seq int64
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, req *http.Request) {
		select {
		case r.firstNext <- time.Now():
		default:
		}
		var ev []byte
		select {
		case ev = <-r.events:
		case <-req.Context().Done():
			return
		}
		mu.Lock()
		seq++
		id := strconv.FormatInt(seq, 10)
		mu.Unlock()
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", id)
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:notes")
		w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
		w.Write(ev)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.answers <- body
		w.WriteHeader(http.StatusAccepted)
	})
	fail := func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.answers <- append([]byte("ERROR "), body...)
		w.WriteHeader(http.StatusAccepted)
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", fail)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", fail)
	r.srv = &http.Server{Handler: mux}
	go r.srv.Serve(ln)
	b.Cleanup(func() { r.srv.Close() })
	return r
}

// invoke hands the function one event and waits for its answer.
func (r *runtimeAPI) invoke(b *testing.B, ev []byte) []byte {
	select {
	case r.events <- ev:
	case <-time.After(30 * time.Second):
		b.Fatal("the function never asked for an event")
	}
	select {
	case a := <-r.answers:
		if strings.HasPrefix(string(a), "ERROR ") {
			b.Fatalf("the function failed: %s", a)
		}
		return a
	case <-time.After(30 * time.Second):
		b.Fatal("the function never answered")
	}
	return nil
}

// lambdaEnv is what a Lambda sandbox gives a function; no AWS_CA_BUNDLE,
// which this machine sets and Lambda does not (the SDK would parse it).
func lambdaEnv(api *runtimeAPI, extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "AWS_LAMBDA_RUNTIME_API=" + api.addr,
		"AWS_LAMBDA_FUNCTION_NAME=notes", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "TZ=:UTC"}, extra...)
}

// spawn is one cold start: the time from starting the process to its
// first /next (init) and to its first answer, and its peak RSS.
type spawn struct {
	init, answer time.Duration
	rssKiB       int64
}

func coldStart(b *testing.B, bin string, ev []byte, env ...string) spawn {
	api := newRuntimeAPI(b)
	cmd := exec.Command(bin)
	cmd.Env = lambdaEnv(api, env...)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	answer := api.invoke(b, ev)
	answered := time.Since(start)
	inited := (<-api.firstNext).Sub(start)
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
	table := fmt.Sprintf("notes-bench-%d", time.Now().UnixNano())
	if err := store.CreateTable(context.Background(), client, table); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}) })
	return []string{"NOTES_TABLE=" + table, "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL_DYNAMODB=" + testenv.DynamoDB(b),
		"AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench", "AWS_SESSION_TOKEN=bench"}
}

// createEvent is a REST v1 event that creates a note, as API Gateway sends it.
func createEvent() []byte {
	ev, _ := json.Marshal(events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/notes", Resource: "/{proxy+}",
		Body:              `{"content":"hello","attachment":null}`,
		MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"}, "Origin": {appOrigin}},
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "bench", Stage: "dev",
			Identity: events.APIGatewayRequestIdentity{CognitoIdentityID: alice}}})
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
	api := newRuntimeAPI(b)
	cmd := exec.Command(bins["api"])
	cmd.Env = lambdaEnv(api, "NOTES_DB="+filepath.Join(b.TempDir(), "notes.db"))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 49 {
		api.invoke(b, createEvent())
	}
	var created struct{ Body string }
	json.Unmarshal(api.invoke(b, createEvent()), &created)
	var n struct{ NoteID string }
	json.Unmarshal([]byte(created.Body), &n)
	get, _ := json.Marshal(events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/notes/" + n.NoteID,
		MultiValueHeaders: map[string][]string{"Origin": {appOrigin}},
		RequestContext:    events.APIGatewayProxyRequestContext{Identity: events.APIGatewayRequestIdentity{CognitoIdentityID: alice}}})
	list, _ := json.Marshal(events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/notes",
		MultiValueQueryStringParameters: map[string][]string{"limit": {"20"}},
		RequestContext:                  events.APIGatewayProxyRequestContext{Identity: events.APIGatewayRequestIdentity{CognitoIdentityID: alice}}})
	var early float64
	i := 0
	for b.Loop() {
		// Reads only, so that the data (and bbolt's map of it) stays
		// the same size and what grows is what requests leave behind.
		if i%4 == 0 {
			api.invoke(b, list)
		} else {
			api.invoke(b, get)
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
			port := freePort(b)
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
			path := "/notes/x"
			for i := 0; ; i++ {
				resp, err := http.Post(base+"/notes", "application/json", strings.NewReader(`{"content":"hello","attachment":null}`))
				if err == nil {
					var n struct{ NoteID string }
					json.NewDecoder(resp.Body).Decode(&n)
					resp.Body.Close()
					path = "/notes/" + n.NoteID
					break
				}
				if i == 100 {
					b.Fatal("the server never started")
				}
				time.Sleep(50 * time.Millisecond)
			}
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
