//go:build !lambda

package attachments_test

import (
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/scratch-notes/notes-api/attachments"
)

func TestLocal(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local-secret"}
	l, err := attachments.NewLocal("attachments", t.TempDir(), creds)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	testRoundTrip(t, objectServer{endpoint: srv.URL, bucket: "attachments", creds: creds})
}
