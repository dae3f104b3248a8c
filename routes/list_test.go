//go:build !race

// Megabytes of JSON through every front door take minutes under the race
// detector and seconds without: make test runs this file in a second,
// race-free pass (go test -run TestListFitsLambda ./routes).

package routes_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/scratch-notes/notes-api/gateway"
	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/routes"
)

// answerSizes records the size of every Lambda answer, as Lambda would
// measure it against its 6 MB limit.
type answerSizes struct {
	apitest.Invoker
	mu  sync.Mutex
	max int
}

func (a *answerSizes) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := a.Invoker.Invoke(ctx, payload)
	a.mu.Lock()
	a.max = max(a.max, len(out))
	a.mu.Unlock()
	return out, err
}

// TestListFitsLambda: without a limit (and with one), a list holds as many
// notes as fit in a 5 MiB body whose Lambda answer stays under 6 MB, then
// says where to continue, exactly like a page. Content that escapes badly
// (quotes and backslashes double, control characters and <>& grow six or
// sevenfold) is measured as it will be sent.
func TestListFitsLambda(t *testing.T) {
	const kib = 1 << 10
	for _, tc := range []struct {
		name    string
		content string
		notes   int
		dynamo  bool // also on DynamoDB, whose List follows its own pages
	}{
		{"plain", strings.Repeat("a", 200*kib), 27, false},                // 5.4 MB of body
		{"quotes", strings.Repeat(`"\`, 100*kib), 12, true},               // 2.4 MB of notes, 4.8 MB of body, 9.6 MB answered
		{"control and html", strings.Repeat("\x01<&", 40*kib), 12, false}, // each byte 6 in the body, 7 answered
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, st := range []struct {
				name string
				open func(testing.TB) storetest.Store
			}{{"bolt", openBolt}, {"dynamo", openDynamo}} {
				if st.name == "dynamo" && !tc.dynamo {
					continue
				}
				t.Run(st.name, func(t *testing.T) {
					s := defaults()
					local := httptest.NewServer(s.handler(t, st.open(t), routes.IdentityLocal))
					t.Cleanup(local.Close)
					v1 := &answerSizes{Invoker: gateway.New(s.handler(t, st.open(t), routes.IdentityDeployed), nil)}
					v2 := &answerSizes{Invoker: gateway.New(s.handler(t, st.open(t), routes.IdentityDeployed), nil)}
					for name, d := range map[string]apitest.Door{"local": apitest.Local{URL: local.URL}, "v1": apitest.V1{Invoker: v1}, "v2": apitest.V2{Invoker: v2}} {
						t.Run(name, func(t *testing.T) {
							testListFits(t, d, tc.content, tc.notes)
						})
					}
					for name, a := range map[string]*answerSizes{"v1": v1, "v2": v2} {
						if a.max >= gateway.MaxResponseBytes {
							t.Fatalf("%s: an answer of %d bytes, over Lambda's 6 MB", name, a.max)
						}
					}
				})
			}
		})
	}
}

func testListFits(t *testing.T, d apitest.Door, content string, count int) {
	body, _ := json.Marshal(map[string]string{"content": content})
	var ids []string
	for range count {
		resp := d.Do(t, apitest.Request{Method: "POST", Path: "/notes", Header: apitest.JSONHeader(), User: apitest.Alice, Body: string(body)})
		if resp.Status != http.StatusCreated {
			t.Fatalf("create = %d %.200s", resp.Status, resp.Body)
		}
		var n apitest.Note
		resp.JSON(t, &n)
		ids = append([]string{n.NoteID}, ids...) // newest first
	}
	for _, query := range []string{"", "limit=1000&"} {
		var got []string
		path := "/notes?" + strings.TrimSuffix(query, "&")
		pages := 0
		for {
			resp := d.Do(t, apitest.Request{Method: "GET", Path: path, User: apitest.Alice})
			if resp.Status != http.StatusOK {
				t.Fatalf("GET %s = %d %.200s", path, resp.Status, resp.Body)
			}
			if len(resp.Body) > 5<<20 {
				t.Fatalf("GET %s: a body of %d bytes, over 5 MiB", path, len(resp.Body))
			}
			var page []apitest.Note
			resp.JSON(t, &page)
			for _, n := range page {
				got = append(got, n.NoteID)
				if n.Content != content {
					t.Fatalf("note %s came back changed", n.NoteID)
				}
			}
			pages++
			next := resp.Header.Get("X-Next-Cursor")
			if next == "" {
				break
			}
			if len(page) == 0 || pages > count {
				t.Fatalf("GET %s: %d notes and a cursor", path, len(page))
			}
			path = "/notes?" + query + "cursor=" + next
		}
		if pages < 2 {
			t.Fatalf("%s: %d notes came in one answer, which cannot fit Lambda's limit", query, count)
		}
		if strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Fatalf("%s: pages held %d notes, want all %d newest first, each once", query, len(got), len(ids))
		}
	}
}
