// Command params prints a stage's parameter overrides for sam deploy:
// samconfig.toml's parameter_overrides of that config-env, with the
// Key=Value arguments added or put in place of the same keys.
//
// sam deploy --parameter-overrides on the command line replaces the whole
// list samconfig.toml keeps for the stage, so a deploy that passes one
// value would silently reset the others (Stage, AllowedOrigins) to the
// template's defaults; `make deploy STAGE=prod PARAMS='AlarmEmail=...'`
// and the workflow pass this command's output instead.
//
//	go run ./scripts/params prod AlarmEmail=ops@example.com
package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: params <config-env> [Key=Value ...]")
		os.Exit(2)
	}
	out, err := merged("samconfig.toml", os.Args[1], os.Args[2:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "params:", err)
		os.Exit(1)
	}
	fmt.Println(out)
}

// merged reads file's parameter_overrides for env and returns them with
// extra in place, in SAM CLI's format: Key="Value" pairs, space-separated.
func merged(file, env string, extra []string) (string, error) {
	var cfg map[string]map[string]map[string]map[string]any
	if _, err := toml.DecodeFile(file, &cfg); err != nil {
		return "", err
	}
	raw, ok := cfg[env]["deploy"]["parameters"]["parameter_overrides"].(string)
	if !ok {
		return "", fmt.Errorf("%s has no [%s.deploy.parameters] parameter_overrides", file, env)
	}
	base, err := parse(raw)
	if err != nil {
		return "", fmt.Errorf("%s [%s]: %w", file, env, err)
	}
	for _, kv := range extra {
		more, err := parse(kv)
		if err != nil || len(more) != 1 {
			return "", fmt.Errorf("%q: want Key=Value", kv)
		}
		base = set(base, more[0])
	}
	parts := make([]string, len(base))
	for i, p := range base {
		parts[i] = p.key + `="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p.value) + `"`
	}
	return strings.Join(parts, " "), nil
}

// pair is one parameter and its value.
type pair struct{ key, value string }

// set puts p in place of the pair of the same key, or after the others.
func set(ps []pair, p pair) []pair {
	for i := range ps {
		if ps[i].key == p.key {
			ps[i] = p
			return ps
		}
	}
	return append(ps, p)
}

// token is one Key=Value of SAM CLI's parameter overrides (its
// CfnParameterOverridesType): a value in double or single quotes, where a
// backslash escapes the next character, or a run of anything but spaces.
var token = regexp.MustCompile(`^([A-Za-z0-9]+)=("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|\S+)(?:\s+|$)`)

// escaped is a backslash and the character it escapes.
var escaped = regexp.MustCompile(`\\(.)`)

// parse reads Key=Value pairs as SAM CLI does; a later key replaces an
// earlier one.
func parse(s string) ([]pair, error) {
	var out []pair
	s = strings.TrimSpace(s)
	for s != "" {
		m := token.FindStringSubmatch(s)
		if m == nil {
			return nil, errors.New("not Key=Value pairs at " + strings.Fields(s)[0])
		}
		v := m[2]
		if q := v[0]; (q == '"' || q == '\'') && len(v) >= 2 {
			v = escaped.ReplaceAllString(v[1:len(v)-1], "$1")
		}
		out = set(out, pair{m[1], v})
		s = s[len(m[0]):]
	}
	return out, nil
}
