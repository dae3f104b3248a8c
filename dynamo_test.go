package main

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestLegacyItemsThroughTheAPI seeds the table the way the original
// Node.js app left it and reads it back through the deployed front door.
func TestLegacyItemsThroughTheAPI(t *testing.T) {
	notes, client, table := newTestDynamo(t)
	S := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	N := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	null := &types.AttributeValueMemberNULL{Value: true}
	const user = "us-east-1:06d418dd-0000-4000-8000-legacyuser01"
	for _, it := range []map[string]types.AttributeValue{
		// create.js: uuid v1, createdAt, attachment a string or NULL
		{"userId": S(user), "noteId": S("0101be80-18b9-11eb-893d-b7fc3f6c5167"), "content": S("hello world"), "attachment": S("1603846842984-hello.jpg"), "createdAt": N("1603846842984")},
		{"userId": S(user), "noteId": S("1a2b3c40-18b9-11eb-893d-b7fc3f6c5167"), "content": S("no file"), "attachment": null, "createdAt": N("1603846850000")},
		// create.js with attachment omitted: no attribute at all
		{"userId": S(user), "noteId": S("3c4d5e60-18b9-11eb-893d-b7fc3f6c5167"), "content": S("omitted"), "createdAt": N("1603846860000")},
		// update.js upserting a missing id with content "": NULLs, no createdAt
		{"userId": S(user), "noteId": S("2b82e2c0-793f-11ea-9602-6d514f529482"), "content": null, "attachment": null},
	} {
		if _, err := client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &table, Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	c := testConfig(t, map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"})
	log := slog.New(slog.DiscardHandler)
	h, err := newHandler(c, notes, log)
	if err != nil {
		t.Fatal(err)
	}
	d := v1Door{g: newGateway(h, log)}

	resp := d.do(t, request{method: "GET", path: "/notes", user: user})
	var list []note
	resp.json(t, &list)
	if resp.status != http.StatusOK || len(list) != 4 {
		t.Fatalf("list = %d, %d notes, want 200 and all 4 legacy notes: %s", resp.status, len(list), resp.body)
	}
	resp = d.do(t, request{method: "GET", path: "/notes/2b82e2c0-793f-11ea-9602-6d514f529482", user: user})
	var n note
	resp.json(t, &n)
	if resp.status != http.StatusOK || n.Content != "" || n.Attachment != nil || n.CreatedAt != 0 {
		t.Fatalf("upserted legacy note = %d %s", resp.status, resp.body)
	}
	resp = d.do(t, request{method: "PUT", path: "/notes/3c4d5e60-18b9-11eb-893d-b7fc3f6c5167", user: user,
		header: jsonHeader, body: `{"content":"edited","attachment":"1603846842984-new.png"}`})
	resp.json(t, &n)
	if resp.status != http.StatusOK || n.Content != "edited" || n.Attachment != "1603846842984-new.png" || n.CreatedAt != 1603846860000 {
		t.Fatalf("PUT legacy note = %d %s", resp.status, resp.body)
	}
	if resp := d.do(t, request{method: "DELETE", path: "/notes/0101be80-18b9-11eb-893d-b7fc3f6c5167", user: user}); resp.status != http.StatusNoContent {
		t.Fatalf("DELETE legacy note = %d", resp.status)
	}
}
