package routes_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/routes"
)

// TestIndexAndContract: GET / and GET /openapi.json need no identity,
// even deployed, and carry CORS headers like every answer.
func TestIndexAndContract(t *testing.T) {
	for name, d := range doors(t, withOrigins(apitest.AppOrigin)) {
		t.Run(name, func(t *testing.T) {
			origin := map[string]string{"Origin": apitest.AppOrigin}
			resp := d.Do(t, apitest.Request{Method: "GET", Path: "/", Header: origin})
			var index struct{ Name, Version, OpenAPI string }
			resp.JSON(t, &index)
			if resp.Status != http.StatusOK || index.OpenAPI != "/openapi.json" || index.Version != routes.Version || index.Name == "" {
				t.Fatalf("GET / = %d %s", resp.Status, resp.Body)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != apitest.AppOrigin {
				t.Fatal("GET / has no CORS headers")
			}
			resp = d.Do(t, apitest.Request{Method: "GET", Path: "/openapi.json", Header: origin})
			if resp.Status != http.StatusOK || !bytes.Equal(resp.Body, routes.OpenAPI()) || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("GET /openapi.json = %d %.100s", resp.Status, resp.Body)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != apitest.AppOrigin {
				t.Fatal("GET /openapi.json has no CORS headers")
			}
			var doc map[string]any
			if err := json.Unmarshal(resp.Body, &doc); err != nil || doc["openapi"] != "3.0.3" {
				t.Fatalf("the document is not OpenAPI 3.0.3: %v", err)
			}
			if resp := d.Do(t, apitest.Request{Method: "POST", Path: "/openapi.json"}); resp.Status != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Fatalf("POST /openapi.json = %d Allow %q", resp.Status, resp.Header.Get("Allow"))
			}
		})
	}
}
