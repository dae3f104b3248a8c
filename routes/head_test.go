package routes_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/scratch-notes/notes-api/internal/apitest"
)

// TestHeadEveryGet: HEAD is answered wherever GET is (RFC 9110), through
// every front door, with GET's status and headers and no body; a path
// with no GET refuses HEAD as it refuses GET, naming HEAD in Allow.
func TestHeadEveryGet(t *testing.T) {
	eachDoor(t, withOrigins(apitest.AppOrigin), func(t *testing.T, d apitest.Door) {
		created := d.Do(t, apitest.Request{Method: "POST", Path: "/notes", Header: apitest.JSONHeader(), User: apitest.Alice, Body: `{"content":"head"}`})
		var n apitest.Note
		created.JSON(t, &n)
		paths := 0
		for _, path := range getPaths(t) {
			path = strings.ReplaceAll(path, "{id}", n.NoteID)
			h := map[string]string{"Origin": apitest.AppOrigin}
			get := d.Do(t, apitest.Request{Method: "GET", Path: path, User: apitest.Alice, Header: h})
			head := d.Do(t, apitest.Request{Method: "HEAD", Path: path, User: apitest.Alice, Header: h})
			if head.Status != get.Status || len(head.Body) != 0 {
				t.Fatalf("HEAD %s = %d with %d bytes; GET = %d", path, head.Status, len(head.Body), get.Status)
			}
			for _, k := range []string{"Content-Type", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Vary", "Cache-Control", "X-Next-Cursor", "Location"} {
				if head.Header.Get(k) != get.Header.Get(k) {
					t.Fatalf("HEAD %s: %s = %q, GET's %q", path, k, head.Header.Get(k), get.Header.Get(k))
				}
			}
			paths++
		}
		if paths < 8 {
			t.Fatalf("%d GET paths", paths)
		}
		for path, allow := range map[string]string{"/attachments": "POST", "/billing/webhook": "POST"} {
			resp := d.Do(t, apitest.Request{Method: "HEAD", Path: path, User: apitest.Alice})
			if resp.Status != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != allow || len(resp.Body) != 0 {
				t.Fatalf("HEAD %s = %d Allow %q %d bytes", path, resp.Status, resp.Header.Get("Allow"), len(resp.Body))
			}
		}
	})
}

// getPaths are the paths openapi.json gives a GET.
func getPaths(t *testing.T) []string {
	var out []string
	for path, item := range apitest.ContractDoc(t).Paths.Map() {
		if item.Get != nil {
			out = append(out, path)
		}
	}
	slices.Sort(out)
	return out
}
