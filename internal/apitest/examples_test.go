package apitest

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestEveryOperationHasExamples: each operation of openapi.json shows an
// example of its request body and of every answer with a body (the shared
// ones included), and each example is valid against its schema: what a
// reader copies works.
func TestEveryOperationHasExamples(t *testing.T) {
	doc := ContractDoc(t)
	check := func(where string, content openapi3.Content) {
		for ct, mt := range content {
			if mt.Example == nil {
				t.Errorf("%s %s has no example", where, ct)
				continue
			}
			if err := mt.Schema.Value.VisitJSON(mt.Example); err != nil {
				t.Errorf("%s %s: the example does not match the schema: %v", where, ct, err)
			}
		}
	}
	ops := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops++
			where := method + " " + path
			if op.RequestBody != nil {
				check(where+" request", op.RequestBody.Value.Content)
			}
			for status, resp := range op.Responses.Map() {
				check(where+" "+status, resp.Value.Content)
			}
		}
	}
	if ops < 15 {
		t.Fatalf("%d operations", ops)
	}
}
