package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scratch-notes/notes-api/internal/testenv"
)

// TestReconcileCommand: `make reconcile` records, once, the Stripe events
// the webhook missed; with no key it runs against stripe-mock, as a try.
// The binary takes no other argument.
func TestReconcileCommand(t *testing.T) {
	testenv.Need(t, "make")
	testenv.Need(t, "node")
	cmd := exec.Command("make", "-s", "reconcile")
	cmd.Env = append(os.Environ(), "NOTES_DB="+filepath.Join(t.TempDir(), "notes.db"), "STRIPE_SECRET_KEY=", "STRIPE_SECRET_ARN=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"message":"reconciled"`) {
		t.Fatalf("make reconcile: %v\n%s", err, out)
	}
	bad := exec.Command(localBinary(t), "serve")
	out, err = bad.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "usage") {
		t.Fatalf("notes-api serve = %v, %s; want exit 2 and the usage", err, out)
	}
}
