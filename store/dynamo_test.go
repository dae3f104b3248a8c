package store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/internal/testenv"
	"github.com/scratch-notes/notes-api/store"
)

var _ contractStore = (*store.Dynamo)(nil)

func dynamoClient(endpoint string, retries int) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: retries,
	})
}

func openDynamo(t *testing.T) (*store.Dynamo, *dynamodb.Client, string) {
	t.Helper()
	s, client, tables := storetest.Dynamo(t)
	return s, client, tables.Notes
}

func TestDynamoContract(t *testing.T) {
	testenv.DynamoDB(t)
	testContract(t, func(t *testing.T) contractStore {
		s, _, _ := openDynamo(t)
		return s
	})
}

// TestDynamoLegacyItems reads items as the original Node.js app wrote
// them: UUIDv1 ids, NULL content or attachment, no attachment at all, and
// no createdAt on the notes its upserting update created.
func TestDynamoLegacyItems(t *testing.T) {
	s, c, table := openDynamo(t)
	ctx := context.Background()
	user := "us-east-1:06d418dd-legacy"
	S := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	null := &types.AttributeValueMemberNULL{Value: true}
	items := []map[string]types.AttributeValue{
		{"userId": S(user), "noteId": S("0101be80-18b9-11eb-893d-b7fc3f6c5167"), "content": S("hello world"),
			"attachment": S("1603846842984-hello.jpg"), "createdAt": &types.AttributeValueMemberN{Value: "1603846842984"}},
		{"userId": S(user), "noteId": S("2b82e2c0-793f-11ea-9602-6d514f529482"), "content": null, "attachment": null},
		{"userId": S(user), "noteId": S("5c1d0e20-18b9-11eb-893d-b7fc3f6c5167"), "content": S("no attachment key"),
			"createdAt": &types.AttributeValueMemberN{Value: "1603846900000"}},
	}
	for _, it := range items {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	notes, _ := listAll(t, s, user, 2)
	if len(notes) != 3 {
		t.Fatalf("listed %d legacy notes, want 3", len(notes))
	}
	n, err := s.Get(ctx, user, "2b82e2c0-793f-11ea-9602-6d514f529482")
	if err != nil || n.Content != "" || n.Attachment != nil || n.CreatedAt != 0 {
		t.Fatalf("NULL legacy note = %+v, %v", n, err)
	}
	n, err = s.Get(ctx, user, "0101be80-18b9-11eb-893d-b7fc3f6c5167")
	if err != nil || n.Content != "hello world" || n.Attachment == nil || *n.Attachment != "1603846842984-hello.jpg" || n.CreatedAt != 1603846842984 {
		t.Fatalf("legacy note = %+v, %v", n, err)
	}
	u, _, err := s.Update(ctx, store.Note{UserID: user, NoteID: "5c1d0e20-18b9-11eb-893d-b7fc3f6c5167", Content: "edited", UpdatedAt: 1700000000000})
	if err != nil || u.Content != "edited" || u.CreatedAt != 1603846900000 || u.UpdatedAt != 1700000000000 {
		t.Fatalf("update of a legacy note = %+v, %v", u, err)
	}
}

// TestDynamoListFollowsPages stores more than DynamoDB's 1 MB query page
// and expects every note, where the original app stopped at the first page.
func TestDynamoListFollowsPages(t *testing.T) {
	s, _, _ := openDynamo(t)
	content := strings.Repeat("x", 300<<10)
	for i := 0; i < 8; i++ { // about 2.4 MB
		mustCreate(t, s, newNote(t, "user-a", content))
	}
	notes, pages := listAll(t, s, "user-a", 1000)
	if len(notes) != 8 || len(pages) != 1 {
		t.Fatalf("List(1000) = %d notes in %d pages, want all 8 in one", len(notes), len(pages))
	}
	notes, pages = listAll(t, s, "user-a", 3)
	if fmt.Sprint(pages) != "[3 3 2]" || len(notes) != 8 {
		t.Fatalf("List(3) pages = %v", pages)
	}
}

// TestDynamoConcurrentUpdateDelete races updates against deletes: each
// note ends either gone or whole, never as a half item an upsert made.
func TestDynamoConcurrentUpdateDelete(t *testing.T) {
	s, c, table := openDynamo(t)
	ctx := context.Background()
	const notes = 30
	var wg sync.WaitGroup
	for i := 0; i < notes; i++ {
		n := mustCreate(t, s, newNote(t, "user-a", "v0"))
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 1; j <= 5; j++ {
				_, _, err := s.Update(ctx, store.Note{UserID: "user-a", NoteID: n.NoteID, Content: fmt.Sprint("v", j), UpdatedAt: int64(j)})
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Error(err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := s.Delete(ctx, "user-a", n.NoteID); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	out, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 0 {
		t.Fatalf("%d items left after every note was deleted: an update re-created them: %v", len(out.Items), out.Items[0])
	}
}

// dynamoErrorServer answers every call with one DynamoDB error.
func dynamoErrorServer(t *testing.T, status int, code string, calls *atomic.Int64) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":"internal detail"}`, code)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDynamoErrorTranslation(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		code        string
		status      int
		unavailable bool
	}{
		{"ProvisionedThroughputExceededException", 400, true},
		{"ThrottlingException", 400, true},
		{"RequestLimitExceeded", 400, true},
		{"ResourceNotFoundException", 400, false},
		{"AccessDeniedException", 400, false},
		{"InternalServerError", 500, false},
	} {
		t.Run(tc.code, func(t *testing.T) {
			var calls atomic.Int64
			s := store.NewDynamo(dynamoClient(dynamoErrorServer(t, tc.status, tc.code, &calls), 2), "notes", "purchases")
			_, err := s.Get(ctx, "u", "n")
			if got := errors.Is(err, store.ErrUnavailable); got != tc.unavailable {
				t.Fatalf("Get: err = %v; unavailable = %v, want %v", err, got, tc.unavailable)
			}
			if errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Get: err = %v must not be ErrNotFound", err)
			}
			if tc.unavailable && calls.Load() < 2 {
				t.Fatalf("the SDK made %d calls: throttling must be retried before giving up", calls.Load())
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		s := store.NewDynamo(dynamoClient("http://"+addr, 1), "notes", "purchases")
		if _, err := s.List(ctx, "u", 10, ""); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("List on a closed port: err = %v, want ErrUnavailable", err)
		}
	})

	t.Run("missing table on dynalite", func(t *testing.T) {
		s := store.NewDynamo(dynamoClient(testenv.DynamoDB(t), 1), "no-such-table", "no-such-table")
		_, err := s.Create(ctx, newNote(t, "u", "x"))
		if err == nil || errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrConflict) {
			t.Fatalf("Create on a missing table: err = %v, want an internal error", err)
		}
	})
}
