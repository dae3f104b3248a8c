package routes_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/scratch-notes/notes-api/gateway"
	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/origins"
	"github.com/scratch-notes/notes-api/routes"
)

// setup is how the API is configured for a test: what main builds from
// the environment.
type setup struct {
	cors        origins.Policy
	devIdentity string
	// samLocal runs the Lambda doors as under sam local (AWS_SAM_LOCAL):
	// the local identity rules apply there too.
	samLocal bool
	billing  routes.Biller
	files    routes.Files
	log      *slog.Logger
	// eraseBudget is DELETE /me's budget (its default when zero).
	eraseBudget time.Duration
	// freeNotes is FREE_NOTES (nil: no limit).
	freeNotes *int64
	// wrap, when set, puts a fault-injecting store around the real one.
	wrap func(storetest.Store) storetest.Store
}

// defaults is the configuration of an empty environment.
func defaults() setup { return setup{cors: origins.Policy{MaxAge: 600}} }

// withOrigins is defaults with CORS_ALLOWED_ORIGINS set.
func withOrigins(origins ...string) setup {
	s := defaults()
	s.cors.AllowedOrigins = origins
	return s
}

// handler is the API as main builds it, on notes.
func (s setup) handler(t testing.TB, notes storetest.Store, mode routes.IdentityMode) http.Handler {
	t.Helper()
	if s.wrap != nil {
		notes = s.wrap(notes)
	}
	log := s.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h, err := routes.New(routes.Config{
		Notes:          notes,
		Purchases:      notes,
		Billing:        s.billing,
		Files:          s.files,
		Logger:         log,
		CORS:           s.cors,
		Identity:       mode,
		DevIdentity:    s.devIdentity,
		MaxAnswerBytes: gateway.MaxResponseBytes,
		EraseBudget:    s.eraseBudget,
		FreeNotes:      s.freeNotes,
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// openBolt is a real bbolt store in a temporary directory.
func openBolt(t testing.TB) storetest.Store { return storetest.Bolt(t) }

// openDynamo is the DynamoDB store on a fresh table in dynalite.
func openDynamo(t testing.TB) storetest.Store {
	t.Helper()
	s, _, _ := storetest.Dynamo(t)
	return s
}

// doors returns the three front doors, each on its own fresh bbolt store:
// the local HTTP server, and the Lambda handler given REST v1 and v2
// events as deployed.
func doors(t testing.TB, s setup) map[string]apitest.Door {
	t.Helper()
	return doorsOn(t, openBolt, s)
}

// doorsOn is doors on the stores open makes.
func doorsOn(t testing.TB, open func(testing.TB) storetest.Store, s setup) map[string]apitest.Door {
	t.Helper()
	srv := httptest.NewServer(s.handler(t, open(t), routes.IdentityLocal))
	t.Cleanup(srv.Close)
	mode := routes.IdentityDeployed
	if s.samLocal {
		mode = routes.IdentityLocal
	}
	gw := func() *gateway.Handler { return gateway.New(s.handler(t, open(t), mode), nil) }
	// Every answer through every door is held to openapi.json.
	return map[string]apitest.Door{
		"local": apitest.Checked{Door: apitest.Local{URL: srv.URL}},
		"v1":    apitest.Checked{Door: apitest.V1{Invoker: gw()}},
		"v2":    apitest.Checked{Door: apitest.V2{Invoker: gw()}},
	}
}

// eachDoor runs f as a subtest through every front door, on the embedded
// store and on DynamoDB (dynalite).
func eachDoor(t *testing.T, s setup, f func(t *testing.T, d apitest.Door)) {
	for _, st := range []struct {
		name string
		open func(testing.TB) storetest.Store
	}{{"bolt", openBolt}, {"dynamo", openDynamo}} {
		t.Run(st.name, func(t *testing.T) {
			for name, d := range doorsOn(t, st.open, s) {
				t.Run(name, func(t *testing.T) { f(t, d) })
			}
		})
	}
}

// isLocal reports whether d is the local HTTP server.
func isLocal(d apitest.Door) bool {
	if c, ok := d.(apitest.Checked); ok {
		d = c.Door
	}
	_, ok := d.(apitest.Local)
	return ok
}
