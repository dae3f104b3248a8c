package routes

import (
	_ "embed"
	"net/http"
)

// openAPI is this API's contract as an OpenAPI 3.0 document, embedded as
// bytes: nothing parses it at start-up, so it costs the cold start
// nothing. Tests hold every answer to it.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI document the API serves.
func OpenAPI() []byte { return openAPI }

// Version is the API's version: the OpenAPI document's info.version.
const Version = "1.0.0"

// indexJSON is the answer to GET /.
type indexJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	OpenAPI string `json:"openapi"`
}

// handleIndex handles GET /: what this is and where its contract is.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, indexJSON{Name: "Scratch notes API", Version: Version, OpenAPI: "/openapi.json"})
}

// handleOpenAPI handles GET /openapi.json.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(openAPI)
}
