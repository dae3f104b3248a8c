package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docPages are the README and every page of docs/.
func docPages(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join("docs", "*.md"))
	if err != nil || len(pages) < 8 {
		t.Fatalf("docs/ pages: %v, %v", pages, err)
	}
	return append([]string{"README.md"}, pages...)
}

// slug is the anchor GitHub gives a heading.
func slug(heading string) string {
	s := strings.ToLower(strings.TrimSpace(heading))
	s = regexp.MustCompile("[^a-z0-9 _-]").ReplaceAllString(s, "")
	return strings.ReplaceAll(s, " ", "-")
}

// TestDocsStayTrue: what the README and docs/ point at is there. Every
// relative link names a file of the repository (and a heading of it when
// it names one), every `make X` is a target of the Makefile, and every
// path of the repository written in backquotes exists.
func TestDocsStayTrue(t *testing.T) {
	makefile, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-zA-Z][a-zA-Z0-9_-]*):`).FindAllStringSubmatch(string(makefile), -1) {
		targets[m[1]] = true
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	makeCmd := regexp.MustCompile("(?m)(?:`|^)make ([a-z][a-zA-Z0-9_-]*)")
	repoPath := regexp.MustCompile("`((?:docs|web|routes|store|billing|attachments|gateway|origins|locals3|iamauth|awssig|secrets|internal|scripts|deploy|testdata|\\.github)/[A-Za-z0-9_./-]*)`")
	for _, page := range docPages(t) {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
			}
			body, err := os.ReadFile(path)
			if err != nil {
				if info, serr := os.Stat(path); serr == nil && info.IsDir() {
					continue
				}
				t.Errorf("%s links to %s, which is not there", page, target)
				continue
			}
			if anchor != "" {
				found := false
				for _, h := range regexp.MustCompile(`(?m)^#+ (.*)$`).FindAllStringSubmatch(string(body), -1) {
					found = found || slug(h[1]) == anchor
				}
				if !found {
					t.Errorf("%s links to %s, which has no heading #%s", page, file, anchor)
				}
			}
		}
		for _, m := range makeCmd.FindAllStringSubmatch(text, -1) {
			if !targets[m[1]] {
				t.Errorf("%s says make %s, which the Makefile has no target for", page, m[1])
			}
		}
		for _, m := range repoPath.FindAllStringSubmatch(text, -1) {
			p := strings.TrimSuffix(m[1], "/")
			if strings.ContainsAny(p, "*") {
				continue
			}
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s names %s, which is not in the repository", page, m[1])
			}
		}
	}
}

// TestRepositoryStandsAlone: nothing tracked points outside the
// repository (a clone has only what it holds).
func TestRepositoryStandsAlone(t *testing.T) {
	// Spelled in two halves, so that this file does not hold what it looks for.
	outside, spec := ".."+"/shared", "SPEC"+".md"
	out, err := exec.Command("git", "grep", "-n", "-I", "-F", "-e", outside, "-e", spec, "--", ".").CombinedOutput()
	if err == nil {
		t.Fatalf("tracked files point outside the repository:\n%s", out)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Skipf("SKIPPED: git grep: %v %s", err, out)
	}
}

// TestReadmeIsAFrontDoor: the README stays short, the docs hold the rest.
func TestReadmeIsAFrontDoor(t *testing.T) {
	info, err := os.Stat("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > 15<<10 {
		t.Fatalf("README.md is %d bytes: over 15 KiB, move the detail into docs/", info.Size())
	}
}
