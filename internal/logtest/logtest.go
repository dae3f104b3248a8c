// Package logtest reads what the API logs and holds it to its rules: one
// JSON object a line with a level and a message (Lambda's JSON log
// format), and CloudWatch's Embedded Metric Format for metric lines.
//
// Only tests import it.
package logtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// Lines parses output, failing the test on any line that is not one JSON
// object with a level and a message (under messageKey: "message" as the
// binary writes it, "msg" for a bare slog handler).
func Lines(t testing.TB, output []byte, messageKey string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, raw := range bytes.Split(bytes.TrimSpace(output), []byte("\n")) {
		if len(raw) == 0 {
			continue
		}
		var line map[string]any
		if err := json.Unmarshal(raw, &line); err != nil {
			t.Fatalf("a log line is not one JSON object: %s", raw)
		}
		if lvl, _ := line["level"].(string); !slices.Contains([]string{"DEBUG", "INFO", "WARN", "ERROR"}, lvl) {
			t.Fatalf("a log line has no level: %s", raw)
		}
		if msg, _ := line[messageKey].(string); msg == "" {
			t.Fatalf("a log line has no %s: %s", messageKey, raw)
		}
		lines = append(lines, line)
	}
	return lines
}

// units are the units CloudWatch takes.
var units = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
	"Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
	"Gigabits/Second", "Terabits/Second", "Count/Second", "None"}

// CheckEMF reports what breaks the Embedded Metric Format specification
// in line, a log line with an _aws member (nil when it keeps every rule):
// _aws.Timestamp is epoch milliseconds; CloudWatchMetrics is a list of
// directives, each with a Namespace of 1 to 255 characters, Dimensions
// (a list of at most 30 dimension sets of names, each name a member of
// the line with a string value) and Metrics (1 to 100 definitions, each a
// Name of 1 to 255 characters, an optional CloudWatch Unit, and a member
// of the line with a number or a list of at most 100 numbers).
func CheckEMF(line map[string]any) error {
	aws, ok := line["_aws"].(map[string]any)
	if !ok {
		return fmt.Errorf("_aws is not an object")
	}
	if ts, ok := aws["Timestamp"].(float64); !ok || ts < 1e12 || ts != float64(int64(ts)) {
		return fmt.Errorf("_aws.Timestamp %v is not epoch milliseconds", aws["Timestamp"])
	}
	dirs, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(dirs) == 0 {
		return fmt.Errorf("_aws.CloudWatchMetrics is not a list of directives")
	}
	for _, d := range dirs {
		dir, ok := d.(map[string]any)
		if !ok {
			return fmt.Errorf("a directive is not an object")
		}
		if ns, _ := dir["Namespace"].(string); len(ns) < 1 || len(ns) > 255 {
			return fmt.Errorf("the Namespace %q is not 1 to 255 characters", ns)
		}
		sets, ok := dir["Dimensions"].([]any)
		if !ok || len(sets) > 30 {
			return fmt.Errorf("the Dimensions are not a list of at most 30 sets")
		}
		for _, set := range sets {
			names, ok := set.([]any)
			if !ok || len(names) > 30 {
				return fmt.Errorf("a dimension set is not a list of at most 30 names")
			}
			for _, n := range names {
				name, _ := n.(string)
				if v, ok := line[name].(string); name == "" || !ok || v == "" {
					return fmt.Errorf("dimension %q has no string value in the line", name)
				}
			}
		}
		metrics, ok := dir["Metrics"].([]any)
		if !ok || len(metrics) < 1 || len(metrics) > 100 {
			return fmt.Errorf("the Metrics are not a list of 1 to 100 definitions")
		}
		for _, m := range metrics {
			def, ok := m.(map[string]any)
			if !ok {
				return fmt.Errorf("a metric definition is not an object")
			}
			name, _ := def["Name"].(string)
			if len(name) < 1 || len(name) > 255 {
				return fmt.Errorf("metric Name %q", name)
			}
			if u, has := def["Unit"]; has {
				if us, _ := u.(string); !slices.Contains(units, us) {
					return fmt.Errorf("metric %s: Unit %v is not a CloudWatch unit", name, u)
				}
			}
			switch v := line[name].(type) {
			case float64:
			case []any:
				if len(v) == 0 || len(v) > 100 {
					return fmt.Errorf("metric %s has %d values", name, len(v))
				}
				for _, x := range v {
					if _, ok := x.(float64); !ok {
						return fmt.Errorf("metric %s has a value that is not a number", name)
					}
				}
			default:
				return fmt.Errorf("metric %s has no number in the line", name)
			}
		}
	}
	return nil
}
