package routes_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scratch-notes/notes-api/gateway"
	"github.com/scratch-notes/notes-api/internal/apitest"
	"github.com/scratch-notes/notes-api/internal/storetest"
	"github.com/scratch-notes/notes-api/routes"
)

// TestLegacyItemsThroughTheAPI seeds the table the way the original
// Node.js app left it and reads it back through the deployed front door.
func TestLegacyItemsThroughTheAPI(t *testing.T) {
	notes, client, tables := storetest.Dynamo(t)
	table := tables.Notes
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
	d := apitest.V1{Invoker: gateway.New(defaults().handler(t, notes, routes.IdentityDeployed), nil)}

	resp := d.Do(t, apitest.Request{Method: "GET", Path: "/notes", User: user})
	var list []apitest.Note
	resp.JSON(t, &list)
	if resp.Status != http.StatusOK || len(list) != 4 {
		t.Fatalf("list = %d, %d notes, want 200 and all 4 legacy notes: %s", resp.Status, len(list), resp.Body)
	}
	resp = d.Do(t, apitest.Request{Method: "GET", Path: "/notes/2b82e2c0-793f-11ea-9602-6d514f529482", User: user})
	var n apitest.Note
	resp.JSON(t, &n)
	if resp.Status != http.StatusOK || n.Content != "" || n.Attachment != nil || n.CreatedAt != 0 {
		t.Fatalf("upserted legacy note = %d %s", resp.Status, resp.Body)
	}
	resp = d.Do(t, apitest.Request{Method: "PUT", Path: "/notes/3c4d5e60-18b9-11eb-893d-b7fc3f6c5167", User: user,
		Header: apitest.JSONHeader(), Body: `{"content":"edited","attachment":"1603846842984-new.png"}`})
	resp.JSON(t, &n)
	if resp.Status != http.StatusOK || n.Content != "edited" || n.Attachment != "1603846842984-new.png" || n.CreatedAt != 1603846860000 {
		t.Fatalf("PUT legacy note = %d %s", resp.Status, resp.Body)
	}
	if resp := d.Do(t, apitest.Request{Method: "DELETE", Path: "/notes/0101be80-18b9-11eb-893d-b7fc3f6c5167", User: user}); resp.Status != http.StatusNoContent {
		t.Fatalf("DELETE legacy note = %d", resp.Status)
	}
}
