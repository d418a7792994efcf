package envoy

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestStaticBuild builds ./cmd/semproc the way the Dockerfile does and checks
// the result runs on distroless/static: no dynamic loader, no shared
// libraries. It also checks that no file the build reads is left out of the
// Docker build context by .dockerignore.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole service; skipped with -short")
	}
	main := filepath.Join(repoRoot, "cmd", "semproc")
	if !hasMainFunc(t, main) {
		t.Skip("cmd/semproc has no func main yet: the image's binary cannot be built; this test runs once it has one")
	}
	out := filepath.Join(t.TempDir(), "semproc")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./cmd/semproc")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./cmd/semproc: %v\n%s", err, msg)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary asks for a dynamic loader: it would not start on distroless/static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("binary links shared libraries %v (err %v)", libs, err)
	}

	ignore, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range buildFiles(t) {
		if dockerignored(name, dockerignorePatterns(ignore)) {
			t.Errorf("the build reads %s, which .dockerignore leaves out of the image build", name)
		}
	}
}

var mainFunc = regexp.MustCompile(`(?m)^func main\(\)`)

func hasMainFunc(t *testing.T, dir string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if mainFunc.Match(src) {
			return true
		}
	}
	return false
}

// buildFiles lists, relative to the repository root, the Go and embedded
// files of this module that building ./cmd/semproc reads.
func buildFiles(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=Dir,Module,GoFiles,SFiles,EmbedFiles", "./cmd/semproc")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			Dir                         string
			Module                      *struct{ Main bool }
			GoFiles, SFiles, EmbedFiles []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		rel, err := filepath.Rel(root, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range append(append(p.GoFiles, p.SFiles...), p.EmbedFiles...) {
			names = append(names, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	return names
}
