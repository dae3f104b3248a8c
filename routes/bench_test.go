package routes_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/routes"
	"github.com/scratch-notes/notes-api/store"
)

// BenchmarkHandler is the handler alone, with no front door: what CORS,
// the router, identity, JSON and the store cost of a request.
func BenchmarkHandler(b *testing.B) {
	notes := openBolt(b)
	n, err := notes.Create(context.Background(), store.Note{UserID: apitest.Alice, NoteID: "0193f1d2-7c3a-7def-8a01-5f7e3b2c1d4e", Content: "hello", CreatedAt: 1})
	if err != nil {
		b.Fatal(err)
	}
	h := withOrigins(apitest.AppOrigin).handler(b, notes, routes.IdentityDeployed)
	ctx := routes.WithCaller(context.Background(), routes.Caller{IdentityID: apitest.Alice, RequestID: "bench"})
	for _, c := range []struct {
		name, method string
		header       map[string]string
		want         int
	}{
		{"preflight", "OPTIONS", map[string]string{"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type,authorization"}, 200},
		{"get-bolt", "GET", nil, 200},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				req, _ := http.NewRequestWithContext(ctx, c.method, "http://api.test/notes/"+n.NoteID, nil)
				req.Header.Set("Origin", apitest.AppOrigin)
				for k, v := range c.header {
					req.Header.Set(k, v)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != c.want {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
