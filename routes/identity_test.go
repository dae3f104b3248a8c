package routes_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/scratch-notes/notes-api/internal/apitest"
)

func TestDeployedIdentity(t *testing.T) {
	ds := doors(t, defaults())
	for _, name := range []string{"v1", "v2"} {
		d := ds[name]
		t.Run(name, func(t *testing.T) {
			resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes"})
			if resp.Status != http.StatusUnauthorized {
				t.Fatalf("no identity = %d, want 401", resp.Status)
			}
			resp.ErrorMessage(t)

			// X-Dev-Identity-Id is not an identity when deployed...
			resp = d.Do(t, apitest.Request{Method: "GET", Path: "/notes", Header: map[string]string{"X-Dev-Identity-Id": apitest.Alice}})
			if resp.Status != http.StatusUnauthorized {
				t.Fatalf("X-Dev-Identity-Id alone = %d, want 401", resp.Status)
			}
			// ...and does not override the gateway's.
			n := apitest.CreateNote(t, d, apitest.Alice, "mine")
			resp = d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + n.NoteID, User: apitest.Bob, Header: map[string]string{"X-Dev-Identity-Id": apitest.Alice}})
			if resp.Status != http.StatusNotFound {
				t.Fatalf("bob claiming alice by header = %d, want 404", resp.Status)
			}
		})
	}
}

func forgedContext(user string) string {
	b, _ := json.Marshal(map[string]any{"identity": map[string]any{"cognitoIdentityId": user}, "requestId": "forged"})
	return string(b)
}

func TestForgedAdapterContextIsIgnored(t *testing.T) {
	eachDoor(t, defaults(), func(t *testing.T, d apitest.Door) {
		n := apitest.CreateNote(t, d, apitest.Alice, "alice's")
		forged := map[string]string{
			"X-GoLambdaProxy-ApiGw-Context":   forgedContext(apitest.Alice),
			"X-GoLambdaProxy-ApiGw-StageVars": `{"x":"y"}`,
		}
		// As bob (or, locally, the default user), claiming alice through the
		// adapter's header.
		user := apitest.Bob
		if isLocal(d) {
			user = ""
		}
		resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + n.NoteID, User: user, Header: forged})
		if resp.Status != http.StatusNotFound {
			t.Fatalf("forged context = %d, want 404 (it must not make the caller alice)", resp.Status)
		}
		if !isLocal(d) {
			resp = d.Do(t, apitest.Request{Method: "GET", Path: "/notes", Header: forged})
			if resp.Status != http.StatusUnauthorized {
				t.Fatalf("forged context with no identity = %d, want 401", resp.Status)
			}
		}
	})
}

func TestLocalIdentity(t *testing.T) {
	dev := defaults()
	dev.devIdentity = "dev-1"
	d := doors(t, dev)["local"]
	n := apitest.CreateNote(t, d, "", "default user's")
	if n.UserID != "dev-1" {
		t.Fatalf("userId = %q, want DEV_IDENTITY_ID dev-1", n.UserID)
	}
	h := apitest.CreateNote(t, d, "header-user", "x")
	if h.UserID != "header-user" {
		t.Fatalf("userId = %q, want the X-Dev-Identity-Id header's", h.UserID)
	}
	if resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes/" + n.NoteID, User: "header-user"}); resp.Status != http.StatusNotFound {
		t.Fatalf("another dev identity reading dev-1's note = %d, want 404", resp.Status)
	}

	d = doors(t, defaults())["local"]
	if n := apitest.CreateNote(t, d, "", "x"); n.UserID != "local-user" {
		t.Fatalf("default userId = %q, want local-user", n.UserID)
	}
}

func TestSAMLocalIdentity(t *testing.T) {
	// sam local start-api sends REST v1 events with null identities and sets
	// AWS_SAM_LOCAL=true: the dev identity rules apply.
	sam := defaults()
	sam.samLocal, sam.devIdentity = true, "sam-dev"
	ds := doors(t, sam)
	for _, name := range []string{"v1", "v2"} {
		d := ds[name]
		if n := apitest.CreateNote(t, d, "", "x"); n.UserID != "sam-dev" {
			t.Fatalf("%s: userId = %q, want sam-dev", name, n.UserID)
		}
		resp := d.Do(t, apitest.Request{Method: "POST", Path: "/notes", Header: map[string]string{"Content-Type": "application/json", "X-Dev-Identity-Id": "hdr"}, Body: `{"content":"x"}`})
		var n apitest.Note
		resp.JSON(t, &n)
		if n.UserID != "hdr" {
			t.Fatalf("%s: userId = %q, want the header's hdr", name, n.UserID)
		}
		if n := apitest.CreateNote(t, d, apitest.Alice, "x"); n.UserID != apitest.Alice {
			t.Fatalf("%s: userId = %q, want the event's identity %s", name, n.UserID, apitest.Alice)
		}
	}
}
