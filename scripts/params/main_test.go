package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMergedKeepsTheStage: a value passed on the command line is added
// to the stage's samconfig.toml values, or replaces the one of its key;
// every other value of the stage stays.
func TestMergedKeepsTheStage(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "samconfig.toml")
	os.WriteFile(file, []byte(`version = 0.1
[prod.deploy.parameters]
parameter_overrides = "Stage=\"prod\" AllowedOrigins=\"https://app.example.com\" LogLevel=INFO Quoted='a b' Escaped=\"say \\\"hi\\\"\""
`), 0o644)
	got, err := merged(file, "prod", []string{"AlarmEmail=ops@example.com", "LogLevel=WARN"})
	if err != nil {
		t.Fatal(err)
	}
	want := `Stage="prod" AllowedOrigins="https://app.example.com" LogLevel="WARN" Quoted="a b" Escaped="say \"hi\"" AlarmEmail="ops@example.com"`
	if got != want {
		t.Fatalf("merged:\n got %s\nwant %s", got, want)
	}
	// What it prints reads back as the same pairs.
	back, err := parse(got)
	if err != nil || len(back) != 6 || back[4].value != `say "hi"` || back[3].value != "a b" {
		t.Fatalf("parse(merged) = %v, %v", back, err)
	}
	for _, bad := range []string{"AlarmEmail", "=x", "A=1 B=2"} {
		if _, err := merged(file, "prod", []string{bad}); err == nil {
			t.Errorf("merged took %q", bad)
		}
	}
	if _, err := merged(file, "staging", nil); err == nil || !strings.Contains(err.Error(), "staging") {
		t.Fatalf("an unknown stage: %v", err)
	}
}

// TestRepositoryStages: each stage of the repository's samconfig.toml
// reads, and keeps its Stage when a value is added.
func TestRepositoryStages(t *testing.T) {
	for _, env := range []string{"dev", "prod"} {
		got, err := merged(filepath.Join("..", "..", "samconfig.toml"), env, []string{"PermissionsBoundary=scratch-notes-" + env + "-boundary"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got, `Stage="`+env+`" `) || !strings.HasSuffix(got, ` PermissionsBoundary="scratch-notes-`+env+`-boundary"`) {
			t.Fatalf("%s: %s", env, got)
		}
	}
}
