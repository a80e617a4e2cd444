package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCopiedExampleBuilds copies the server (its Go files, tests aside, and
// web/) into a module of its own, as a team starting from it would, tied
// to this repository's library by a replace directive, and builds it
// outside the workspace: it compiles only if it uses nothing but the
// library's public API. go list then shows no gatehouse/internal package
// among the server's own imports (the library's packages may use their
// own internal ones, as the Redis stores use internal/groupcommit).
func TestCopiedExampleBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		copyFile(t, f, filepath.Join(dir, f))
	}
	if err := os.CopyFS(filepath.Join(dir, "web"), os.DirFS("web")); err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	gomod := regexp.MustCompile(`(?m)^module .*$`).ReplaceAllString(string(mod), "module example.com/reservation")
	gomod = regexp.MustCompile(`(?m)^replace github.com/gatehouse-go/gatehouse => .*$`).
		ReplaceAllString(gomod, "replace github.com/gatehouse-go/gatehouse => "+root)
	if !strings.Contains(gomod, "=> "+root) {
		t.Fatalf("no replace directive in examples/go.mod")
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	copyFile(t, "../go.sum", filepath.Join(dir, "go.sum"))

	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the copy: %v", err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(goCmd, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("build", "-o", os.DevNull, ".")
	deps := run("list", "-deps", ".")
	if !strings.Contains(deps, "github.com/gatehouse-go/gatehouse/admission/pages") {
		t.Fatalf("go list -deps does not list the library:\n%s", deps)
	}
	for _, p := range strings.Fields(run("list", "-f", `{{join .Imports " "}}`, ".")) {
		if strings.HasPrefix(p, "github.com/gatehouse-go/gatehouse/internal") {
			t.Errorf("the example imports %s", p)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
