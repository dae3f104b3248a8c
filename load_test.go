package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/internal/testenv"
)

// loadSize is how hard TestLoad pushes: NOTES_LOAD_CLIENTS clients
// sending NOTES_LOAD_REQUESTS requests in all (8 and 2,000 in make test;
// make load sets 64 and 20,000).
func loadSize(t *testing.T) (clients, requests int) {
	clients, requests = 8, 2000
	for name, dst := range map[string]*int{"NOTES_LOAD_CLIENTS": &clients, "NOTES_LOAD_REQUESTS": &requests} {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				t.Fatalf("%s=%q: want a positive number", name, v)
			}
			*dst = n
		}
	}
	return clients, requests
}

// TestLoad runs clients against the built binary, each as its own user,
// mixing creates, reads, lists, updates and deletes, and afterwards checks
// that every acknowledged write is there (and every acknowledged delete is
// not), and that no request was a 5xx. Figures go to the test log.
func TestLoad(t *testing.T) {
	clients, requests := loadSize(t)
	for _, st := range []struct {
		name string
		env  func(t *testing.T) []string
	}{
		{"bolt", func(*testing.T) []string { return nil }},
		{"dynamo", func(t *testing.T) []string {
			client := testenv.DynamoClient(t, 3)
			return []string{"NOTES_TABLE=" + storetest.Table(t, client, storetest.NotesTable),
				"PURCHASES_TABLE=" + storetest.Table(t, client, storetest.PurchasesTable), "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL_DYNAMODB=" + testenv.DynamoDB(t),
				"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
		}},
	} {
		t.Run(st.name, func(t *testing.T) {
			base := startBinary(t, st.env(t)...).URL
			r := runLoad(t, base, clients, requests)
			t.Logf("%s: %d clients, %d requests, %d errors (5xx or failed), %d lost writes, p50 %v, p99 %v, %.0f requests/s",
				st.name, clients, r.requests, r.errors, r.lost, r.p50, r.p99, r.rate)
			if r.errors > 0 || r.lost > 0 {
				t.Fatalf("%d errors and %d lost writes; first: %s", r.errors, r.lost, r.first)
			}
		})
	}
}

type loadResult struct {
	requests, errors, lost int
	p50, p99               time.Duration
	rate                   float64
	first                  string
}

func runLoad(t *testing.T, base string, clients, requests int) loadResult {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}
	var (
		mu        sync.Mutex
		res       loadResult
		latencies []time.Duration
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		res.errors++
		if res.first == "" {
			res.first = fmt.Sprintf(format, args...)
		}
	}
	do := func(user, method, path, body string) (int, []byte) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("X-Dev-Identity-Id", user)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		start := time.Now()
		resp, err := client.Do(req)
		took := time.Since(start)
		mu.Lock()
		res.requests++
		latencies = append(latencies, took)
		mu.Unlock()
		if err != nil {
			fail("%s %s: %v", method, path, err)
			return 0, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			fail("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return resp.StatusCode, b
	}

	start := time.Now()
	var wg sync.WaitGroup
	lost := make([]int, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("load-user-%d", c)
			rng := rand.New(rand.NewPCG(uint64(c), 42))
			want := map[string]string{} // acknowledged state: id -> content
			share := requests / clients
			if c < requests%clients {
				share++
			}
			for i := range share {
				var ids []string
				for id := range want {
					ids = append(ids, id)
				}
				slices.Sort(ids)
				op := rng.IntN(10)
				if len(ids) == 0 {
					op = 0
				}
				switch {
				case op < 4: // create
					content := fmt.Sprintf("note %d of %s", i, user)
					status, b := do(user, "POST", "/notes", `{"content":"`+content+`"}`)
					var n struct{ NoteID string }
					if status == http.StatusCreated && json.Unmarshal(b, &n) == nil {
						want[n.NoteID] = content
					}
				case op < 6:
					do(user, "GET", "/notes/"+ids[rng.IntN(len(ids))], "")
				case op < 7:
					do(user, "GET", "/notes?limit=20", "")
				case op < 9: // update
					id, content := ids[rng.IntN(len(ids))], fmt.Sprintf("edit %d of %s", i, user)
					if status, _ := do(user, "PUT", "/notes/"+id, `{"content":"`+content+`"}`); status == http.StatusOK {
						want[id] = content
					}
				default: // delete
					id := ids[rng.IntN(len(ids))]
					if status, _ := do(user, "DELETE", "/notes/"+id, ""); status == http.StatusNoContent {
						delete(want, id)
					}
				}
			}
			// Every acknowledged write is there, and nothing else.
			got := map[string]string{}
			path := "/notes?limit=1000"
			for {
				req, _ := http.NewRequest("GET", base+path, nil)
				req.Header.Set("X-Dev-Identity-Id", user)
				resp, err := client.Do(req)
				if err != nil {
					fail("final list: %v", err)
					return
				}
				var page []struct{ NoteID, Content string }
				json.NewDecoder(resp.Body).Decode(&page)
				resp.Body.Close()
				for _, n := range page {
					got[n.NoteID] = n.Content
				}
				next := resp.Header.Get("X-Next-Cursor")
				if next == "" {
					break
				}
				path = "/notes?limit=1000&cursor=" + next
			}
			for id, content := range want {
				if got[id] != content {
					lost[c]++
				}
			}
			for id := range got {
				if _, ok := want[id]; !ok {
					lost[c]++ // a delete that was acknowledged and not done
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, n := range lost {
		res.lost += n
	}
	slices.Sort(latencies)
	res.p50 = latencies[len(latencies)/2]
	res.p99 = latencies[len(latencies)*99/100]
	res.rate = float64(res.requests) / elapsed.Seconds()
	return res
}
