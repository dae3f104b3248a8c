// Command webconfig writes the page's config.json for a deployed stack
// from what `aws cloudformation describe-stacks` prints of it (on stdin):
// the region, the API's URL and the Cognito pools, which the template
// outputs for it. `make web-config STACK=...` runs it.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/scratch-notes/notes-api/web"
)

func main() {
	out := "web/config.json"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	c, err := configOf(os.Stdin)
	if err == nil {
		var b []byte
		b, err = json.MarshalIndent(c, "", "  ")
		if err == nil {
			err = os.WriteFile(out, append(b, '\n'), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "webconfig:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s: the page calls %s, signing in with %s\n", out, c.APIURL, c.UserPoolID)
}

// configOf reads describe-stacks' JSON and returns the page's config.
func configOf(r io.Reader) (web.Config, error) {
	var d struct {
		Stacks []struct {
			StackName string
			Outputs   []struct{ OutputKey, OutputValue string }
		}
	}
	if err := json.NewDecoder(r).Decode(&d); err != nil {
		return web.Config{}, fmt.Errorf("not describe-stacks' JSON: %w", err)
	}
	if len(d.Stacks) != 1 {
		return web.Config{}, fmt.Errorf("want one stack, got %d", len(d.Stacks))
	}
	out := map[string]string{}
	for _, o := range d.Stacks[0].Outputs {
		out[o.OutputKey] = o.OutputValue
	}
	c := web.Config{Region: out["Region"], APIURL: out["ApiUrl"], UserPoolID: out["UserPoolId"],
		UserPoolClientID: out["UserPoolClientId"], IdentityPoolID: out["IdentityPoolId"]}
	for k, v := range map[string]string{"Region": c.Region, "ApiUrl": c.APIURL, "UserPoolId": c.UserPoolID,
		"UserPoolClientId": c.UserPoolClientID, "IdentityPoolId": c.IdentityPoolID} {
		if v == "" {
			return c, errors.New("the stack " + d.Stacks[0].StackName + " has no output " + k + ": is it this template's?")
		}
	}
	return c, nil
}
