package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/scratch-notes/notes-api/internal/awstest"
)

// TestConfigFromOutputs: every output the page needs is one template.yaml
// has, and a stack's describe-stacks answer makes a config.json of them.
func TestConfigFromOutputs(t *testing.T) {
	outputs := awstest.LoadTemplate(t).Must(t, "Outputs")
	type output struct{ OutputKey, OutputValue string }
	var stack struct {
		StackName string
		Outputs   []output
	}
	stack.StackName = "scratch-notes-dev"
	for i := 0; i < len(outputs.Content); i += 2 {
		k := outputs.Content[i].Value
		stack.Outputs = append(stack.Outputs, output{k, "value-of-" + k})
	}
	b, _ := json.Marshal(map[string]any{"Stacks": []any{stack}})
	c, err := configOf(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "value-of-Region" || c.APIURL != "value-of-ApiUrl" || c.UserPoolID != "value-of-UserPoolId" ||
		c.UserPoolClientID != "value-of-UserPoolClientId" || c.IdentityPoolID != "value-of-IdentityPoolId" {
		t.Fatalf("config = %+v", c)
	}
	if c.UserPoolEndpoint != "" || c.IdentityEndpoint != "" {
		t.Fatalf("a deployed page's config names local endpoints: %+v", c)
	}
	if _, err := configOf(strings.NewReader(`{"Stacks":[{"StackName":"other","Outputs":[{"OutputKey":"ApiUrl","OutputValue":"x"}]}]}`)); err == nil {
		t.Fatal("a stack without the pools' outputs made a config")
	}
}
