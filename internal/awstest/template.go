// Package awstest stands in for the AWS tools that cannot run here, doing
// what each does as read from its source or from template.yaml: `sam local
// start-api` (SAMLocal), API Gateway deploying the template (Deployed),
// and Lambda's Runtime API (RuntimeAPI); and it runs the real built
// bootstrap under the Lambda Runtime Interface Emulator (StartRIE). It
// reads template.yaml as CloudFormation would, for those and for the
// template's own tests, which live here.
//
// Only tests import it.
package awstest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/scratch-notes/notes-api/internal/testenv"
)

// Template is template.yaml (or another YAML file) as yaml.v3 nodes: CloudFormation's short tags
// (!Ref, !GetAtt, !Sub, ...) stay on the nodes instead of failing a decode.
type Template struct {
	Root *yaml.Node
	File string // relative to the repository's root
}

// ReadTemplate reads the repository's template.yaml.
func ReadTemplate() (Template, error) { return ReadYAML("template.yaml") }

// ReadYAML reads another YAML file of the repository (deploy/, the GitHub
// workflow) the same way, its path relative to the root.
func ReadYAML(rel string) (Template, error) {
	b, err := os.ReadFile(filepath.Join(testenv.Root(), rel))
	if err != nil {
		return Template{}, err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return Template{}, fmt.Errorf("%s: %w", rel, err)
	}
	return Template{Root: n.Content[0], File: rel}, nil
}

// LoadTemplate is ReadTemplate, failing the test on an error.
func LoadTemplate(t testing.TB) Template {
	t.Helper()
	return LoadYAML(t, "template.yaml")
}

// LoadYAML is ReadYAML, failing the test on an error.
func LoadYAML(t testing.TB, rel string) Template {
	t.Helper()
	d, err := ReadYAML(rel)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// At follows mapping keys and sequence indexes ("0") from n; nil when the
// path is not there.
func At(n *yaml.Node, path ...string) *yaml.Node {
	for _, p := range path {
		if n == nil {
			return nil
		}
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					next = n.Content[i+1]
				}
			}
			n = next
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(p)
			if err != nil || idx < 0 || idx >= len(n.Content) {
				return nil
			}
			n = n.Content[idx]
		default:
			return nil
		}
	}
	return n
}

// Must is the node at path, failing the test when it is missing.
func (d Template) Must(t testing.TB, path ...string) *yaml.Node {
	t.Helper()
	n := At(d.Root, path...)
	if n == nil {
		t.Fatalf("%s has no %s", d.File, strings.Join(path, "."))
	}
	return n
}

// Value is a scalar at path, failing when it is missing or not scalar.
func (d Template) Value(t testing.TB, path ...string) string {
	t.Helper()
	n := d.Must(t, path...)
	if n.Kind != yaml.ScalarNode {
		t.Fatalf("%s is not a scalar", strings.Join(path, "."))
	}
	return n.Value
}

// Equal fails the test unless the scalar at path is want.
func (d Template) Equal(t testing.TB, want string, path ...string) {
	t.Helper()
	if got := d.Value(t, path...); got != want {
		t.Fatalf("%s = %q, want %q", strings.Join(path, "."), got, want)
	}
}

// Scalars lists a sequence's scalar values.
func Scalars(n *yaml.Node) []string {
	var out []string
	if n != nil {
		for _, c := range n.Content {
			out = append(out, c.Value)
		}
	}
	return out
}

// GatewayOrigin evaluates a gateway response's Access-Control-Allow-Origin
// for an AllowedOrigins value, the way CloudFormation would: the template's
// conditions, !If, !Sub of the parameter.
func (d Template) GatewayOrigin(t testing.TB, n *yaml.Node, allowed string) string {
	t.Helper()
	params := map[string]string{"AllowedOrigins": allowed}
	switch n.Tag {
	case "!If":
		if d.Holds(t, At(n, "0").Value, params) {
			return d.GatewayOrigin(t, At(n, "1"), allowed)
		}
		return d.GatewayOrigin(t, At(n, "2"), allowed)
	case "!Sub":
		return strings.ReplaceAll(n.Value, "${AllowedOrigins}", allowed)
	}
	return n.Value
}

// Holds evaluates the template's condition name as CloudFormation would
// with the parameters params (each other parameter its Default): !Equals,
// !Not, !And, !Or, !Condition, !Ref of a parameter, !Select of !Split.
func (d Template) Holds(t testing.TB, name string, params map[string]string) bool {
	t.Helper()
	n := At(d.Root, "Conditions", name)
	if n == nil {
		t.Fatalf("%s has no condition %s", d.File, name)
	}
	return d.holds(t, n, params)
}

// Param is the value of parameter name: params', else its Default.
func (d Template) Param(t testing.TB, name string, params map[string]string) string {
	t.Helper()
	if v, ok := params[name]; ok {
		return v
	}
	return d.Value(t, "Parameters", name, "Default")
}

func (d Template) holds(t testing.TB, n *yaml.Node, params map[string]string) bool {
	t.Helper()
	var value func(n *yaml.Node) string
	value = func(n *yaml.Node) string {
		switch n.Tag {
		case "!Ref":
			return d.Param(t, n.Value, params)
		case "!Select":
			i, _ := strconv.Atoi(At(n, "0").Value)
			list := At(n, "1")
			if list.Tag != "!Split" {
				t.Fatalf("!Select of %s", list.Tag)
			}
			return strings.Split(value(At(list, "1")), At(list, "0").Value)[i]
		}
		return n.Value
	}
	switch n.Tag {
	case "!Equals":
		return value(At(n, "0")) == value(At(n, "1"))
	case "!Not":
		return !d.holds(t, At(n, "0"), params)
	case "!And":
		for _, c := range n.Content {
			if !d.holds(t, c, params) {
				return false
			}
		}
		return true
	case "!Or":
		for _, c := range n.Content {
			if d.holds(t, c, params) {
				return true
			}
		}
		return false
	case "!Condition":
		return d.Holds(t, n.Value, params)
	}
	t.Fatalf("condition %s", n.Tag)
	return false
}

// Exists reports whether the resource name is made with params: it has
// no Condition, or its Condition holds.
func (d Template) Exists(t testing.TB, name string, params map[string]string) bool {
	t.Helper()
	c := At(d.Root, "Resources", name, "Condition")
	return c == nil || d.Holds(t, c.Value, params)
}

// AlarmMetric is one metric an alarm of the template watches: its own
// (Namespace, MetricName, Dimensions) or one MetricStat of its metric
// math.
type AlarmMetric struct {
	Alarm, Namespace, Name string
	// Dims are the dimensions' value nodes by name: a scalar, or an
	// intrinsic function (!Ref, !If, !Sub).
	Dims map[string]*yaml.Node
}

// AlarmMetrics lists every metric each alarm of the template watches.
func (d Template) AlarmMetrics(t testing.TB) []AlarmMetric {
	t.Helper()
	var out []AlarmMetric
	res := d.Must(t, "Resources")
	for i := 0; i+1 < len(res.Content); i += 2 {
		if At(res.Content[i+1], "Type").Value != "AWS::CloudWatch::Alarm" {
			continue
		}
		name, props := res.Content[i].Value, At(res.Content[i+1], "Properties")
		metrics := []*yaml.Node{props}
		if m := At(props, "Metrics"); m != nil {
			metrics = nil
			for _, q := range m.Content {
				if ms := At(q, "MetricStat", "Metric"); ms != nil {
					metrics = append(metrics, ms)
				}
			}
		}
		for _, m := range metrics {
			am := AlarmMetric{Alarm: name, Namespace: At(m, "Namespace").Value, Name: At(m, "MetricName").Value, Dims: map[string]*yaml.Node{}}
			if dims := At(m, "Dimensions"); dims != nil {
				for _, dim := range dims.Content {
					am.Dims[At(dim, "Name").Value] = At(dim, "Value")
				}
			}
			out = append(out, am)
		}
		if len(metrics) == 0 {
			t.Fatalf("alarm %s watches no metric", name)
		}
	}
	return out
}
