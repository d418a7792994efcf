package envoy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The Dockerfile lives at the repository root, but it is tested here: the
// compose file builds it, and no Docker engine runs in the tests, so they
// check what can be checked without one.
const repoRoot = ".."

type instruction struct {
	cmd  string // upper case
	args string
}

type stage struct {
	image, name string
	steps       []instruction
}

// parseDockerfile splits a Dockerfile into stages of instructions, joining
// continuation lines and dropping comments.
func parseDockerfile(data []byte) ([]stage, error) {
	var stages []stage
	var line strings.Builder
	for raw := range strings.Lines(string(data)) {
		l := strings.TrimSpace(raw)
		if strings.HasPrefix(l, "#") || (l == "" && line.Len() == 0) {
			continue
		}
		if more, ok := strings.CutSuffix(l, "\\"); ok {
			line.WriteString(more + " ")
			continue
		}
		line.WriteString(l)
		cmd, args, _ := strings.Cut(line.String(), " ")
		line.Reset()
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			return nil, fmt.Errorf("%s before FROM", in.cmd)
		}
		stages[len(stages)-1].steps = append(stages[len(stages)-1].steps, in)
	}
	if len(stages) == 0 {
		return nil, errors.New("no FROM")
	}
	return stages, nil
}

var (
	goTag  = regexp.MustCompile(`^golang:(\d+\.\d+(?:\.\d+)?)`)
	goLine = regexp.MustCompile(`(?m)^go (\S+)$`)
)

// checkDockerfile returns every problem of the Dockerfile: base images
// without a version, COPY sources that do not exist, a builder older than
// go.mod asks for, and a final stage that differs from what the deployment
// configs expect (a static /semproc as nonroot, the model in /models).
func checkDockerfile(data, ignore, gomod []byte) error {
	stages, err := parseDockerfile(data)
	if err != nil {
		return err
	}
	goDirective := goLine.FindSubmatch(gomod)
	if goDirective == nil {
		return errors.New("go.mod has no go directive")
	}
	goVersion := string(goDirective[1])
	patterns := dockerignorePatterns(ignore)
	var errs []error
	names := map[string]stage{}
	for _, s := range stages {
		if _, isStage := names[s.image]; !isStage {
			if err := checkImageTag(s.image); err != nil {
				errs = append(errs, err)
			}
		}
		if m := goTag.FindStringSubmatch(s.image); m != nil && compareVersions(m[1], goVersion) < 0 {
			errs = append(errs, fmt.Errorf("builder %s is older than go.mod's go %s", s.image, goVersion))
		}
		for _, in := range s.steps {
			if in.cmd == "COPY" {
				errs = append(errs, checkCopy(in.args, names, patterns))
			}
		}
		names[s.name] = s
	}
	final := stages[len(stages)-1]
	var build strings.Builder
	for _, s := range stages[:len(stages)-1] {
		for _, in := range s.steps {
			build.WriteString(in.args + "\n")
		}
	}
	for _, want := range []string{"CGO_ENABLED=0 go build", "-trimpath", "./cmd/semproc", "model pull", "SEMPROC_WORDNET_DIR=/wordnet", "chmod -R a+rX /models /wordnet"} {
		if !strings.Contains(build.String(), want) {
			errs = append(errs, fmt.Errorf("builder does not run %q", want))
		}
	}
	for _, want := range []instruction{
		{"COPY", "--from=build /out/semproc /semproc"},
		{"COPY", "--from=build /models /models"},
		{"ENV", "SEMPROC_EMBEDDINGS_MODEL_DIR=/models"},
		{"COPY", "--from=build /wordnet /wordnet"},
		{"ENV", "SEMPROC_WORDNET_DIR=/wordnet"},
		{"USER", "nonroot"},
		{"EXPOSE", "50051 9090"},
		{"ENTRYPOINT", `["/semproc"]`},
	} {
		if !slices.Contains(final.steps, want) {
			errs = append(errs, fmt.Errorf("final stage lacks %s %s", want.cmd, want.args))
		}
	}
	if !strings.HasPrefix(final.image, "gcr.io/distroless/static") || !strings.HasSuffix(final.image, ":nonroot") {
		errs = append(errs, fmt.Errorf("final image %s: want distroless static, nonroot", final.image))
	}
	return errors.Join(errs...)
}

// checkCopy wants a build-context source to exist and not be ignored, and a
// stage source to be written by that stage.
func checkCopy(args string, stages map[string]stage, ignored []string) error {
	f := strings.Fields(args)
	from := ""
	if s, ok := strings.CutPrefix(f[0], "--from="); ok {
		from, f = s, f[1:]
	}
	if len(f) < 2 {
		return fmt.Errorf("COPY %s: want sources and a destination", args)
	}
	for _, src := range f[:len(f)-1] {
		if from != "" {
			s, ok := stages[from]
			if !ok {
				return fmt.Errorf("COPY %s: no earlier stage %q", args, from)
			}
			if !slices.ContainsFunc(s.steps, func(in instruction) bool { return in.cmd == "RUN" && strings.Contains(in.args, src) }) {
				return fmt.Errorf("COPY %s: stage %s never writes %s", args, from, src)
			}
			continue
		}
		if _, err := os.Stat(path.Join(repoRoot, src)); err != nil {
			return fmt.Errorf("COPY %s: %w", args, err)
		}
		if src != "." && dockerignored(src, ignored) {
			return fmt.Errorf("COPY %s: %s is excluded by .dockerignore", args, src)
		}
	}
	return nil
}

func dockerignorePatterns(data []byte) []string {
	var out []string
	for l := range strings.Lines(string(data)) {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, path.Clean(l))
		}
	}
	return out
}

// dockerignored reports whether .dockerignore patterns exclude name: a
// pattern matching a directory excludes what is below it, and a leading
// "**/" matches any number of directories. (Exceptions, "!", are not used.)
func dockerignored(name string, patterns []string) bool {
	parts := strings.Split(path.Clean(name), "/")
	for _, p := range patterns {
		for k := 1; k <= len(parts); k++ {
			if q, any := strings.CutPrefix(p, "**/"); any {
				for j := range k {
					if ok, _ := path.Match(q, strings.Join(parts[j:k], "/")); ok {
						return true
					}
				}
			} else if ok, _ := path.Match(p, strings.Join(parts[:k], "/")); ok {
				return true
			}
		}
	}
	return false
}

// compareVersions compares dotted Go versions numerically ("1.26" < "1.26.8").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

func readRepoFiles(t *testing.T, names ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, n := range names {
		data, err := os.ReadFile(path.Join(repoRoot, n))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

func TestDockerfile(t *testing.T) {
	f := readRepoFiles(t, "Dockerfile", ".dockerignore", "go.mod")
	if err := checkDockerfile(f[0], f[1], f[2]); err != nil {
		t.Error(err)
	}
}

func TestBrokenDockerfileIsRejected(t *testing.T) {
	f := readRepoFiles(t, "Dockerfile", ".dockerignore", "go.mod")
	tests := []breakage{
		{"untagged base", 0, "FROM gcr.io/distroless/static-debian12:nonroot", "FROM gcr.io/distroless/static-debian12"},
		{"latest builder", 0, "FROM golang:1.26.8-bookworm", "FROM golang:latest"},
		{"old builder", 0, "FROM golang:1.26.8-bookworm", "FROM golang:1.25.3-bookworm"},
		{"missing source", 0, "COPY go.mod go.sum ./", "COPY go.mod go.sum go.work ./"},
		{"source ignored", 1, "**/testdata", "**/testdata\ngo.sum"},
		{"cgo on", 0, "CGO_ENABLED=0 go build", "go build"},
		{"model unreadable", 0, " \\\n && chmod -R a+rX /models", ""},
		{"binary path typo", 0, "COPY --from=build /out/semproc /semproc", "COPY --from=build /out/semprocd /semproc"},
		{"runs as root", 0, "USER nonroot", "USER root"},
		{"admin port not exposed", 0, "EXPOSE 50051 9090", "EXPOSE 50051"},
	}
	rejectsEach(t, f, tests, func(files [][]byte) error { return checkDockerfile(files[0], files[1], files[2]) })
}

// breakage is one edit of one of the files a check reads.
type breakage struct {
	name     string
	file     int // index in the files
	old, new string
}

// rejectsEach makes each edit to a copy of files and wants check to
// reject the result.
func rejectsEach(t *testing.T, files [][]byte, edits []breakage, check func([][]byte) error) {
	t.Helper()
	for _, tt := range edits {
		t.Run(tt.name, func(t *testing.T) {
			edited := slices.Clone(files)
			if !bytes.Contains(edited[tt.file], []byte(tt.old)) {
				t.Fatalf("file %d no longer contains %q: update the test", tt.file, tt.old)
			}
			edited[tt.file] = bytes.Replace(edited[tt.file], []byte(tt.old), []byte(tt.new), 1)
			err := check(edited)
			if err == nil {
				t.Fatalf("replacing %q with %q: checks passed, want an error", tt.old, tt.new)
			}
			t.Logf("rejected: %v", err)
		})
	}
}

func TestDockerignored(t *testing.T) {
	patterns := dockerignorePatterns([]byte("# c\n.git\n**/*.test\n**/testdata\ndocs\n"))
	tests := []struct {
		name string
		want bool
	}{
		{".git/config", true},
		{"providers/local/local.test", true},
		{"providers/local/testdata/x.json", true},
		{"docs/deploy.md", true},
		{"go.mod", false},
		{"cmd/semproc/main.go", false},
		{"providers/local/local.go", false},
		{"semantic/docs.go", false},
	}
	for _, tt := range tests {
		if got := dockerignored(tt.name, patterns); got != tt.want {
			t.Errorf("dockerignored(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

var (
	makeLDFlags  = regexp.MustCompile(`(?m)^LDFLAGS = (.*)$`)
	makeImage    = regexp.MustCompile(`(?m)^\tdocker build .*$`)
	dockerGoLine = regexp.MustCompile(`go build .*-ldflags="([^"]*)"`)
)

// checkVersionStamp wants the image's binary built with the Makefile's
// LDFLAGS, VERSION a build argument of the builder, and make image passing
// the Makefile's VERSION: `semproc version` in the image then prints it.
func checkVersionStamp(dockerfile, makefile []byte) error {
	m := makeLDFlags.FindSubmatch(makefile)
	if m == nil {
		return errors.New("Makefile: no LDFLAGS")
	}
	want := strings.ReplaceAll(string(m[1]), "$(VERSION)", "${VERSION}")
	if !strings.Contains(want, "-X main.version=${VERSION}") {
		return fmt.Errorf("Makefile: LDFLAGS %q do not stamp main.version with VERSION", m[1])
	}
	stages, err := parseDockerfile(dockerfile)
	if err != nil {
		return err
	}
	var errs []error
	arg, built := false, false
	for _, in := range stages[0].steps {
		switch {
		case in.cmd == "ARG" && (in.args == "VERSION" || strings.HasPrefix(in.args, "VERSION=")):
			arg = true
		case in.cmd == "RUN" && strings.Contains(in.args, "go build"):
			built = true
			if !arg {
				errs = append(errs, errors.New("Dockerfile: go build runs before ARG VERSION"))
			}
			if g := dockerGoLine.FindStringSubmatch(in.args); g == nil || g[1] != want {
				errs = append(errs, fmt.Errorf("Dockerfile: go build %q, want -ldflags=%q (the Makefile's LDFLAGS)", in.args, want))
			}
		}
	}
	if !built {
		errs = append(errs, errors.New("Dockerfile: the builder runs no go build"))
	}
	if img := makeImage.Find(makefile); !bytes.Contains(img, []byte("--build-arg VERSION=$(VERSION)")) {
		errs = append(errs, fmt.Errorf("Makefile: make image (%q) does not pass --build-arg VERSION=$(VERSION)", img))
	}
	return errors.Join(errs...)
}

func TestImageIsVersionStamped(t *testing.T) {
	f := readRepoFiles(t, "Dockerfile", "Makefile")
	if err := checkVersionStamp(f[0], f[1]); err != nil {
		t.Error(err)
	}
	tests := []breakage{
		{"no build argument", 0, "ARG VERSION\n", ""},
		{"unstamped", 0, ` -X main.version=${VERSION}"`, `"`},
		{"other flags", 0, `-ldflags="-s -w `, `-ldflags="-w `},
		{"make image passes none", 1, " --build-arg VERSION=$(VERSION)", ""},
		{"Makefile does not stamp", 1, "LDFLAGS = -s -w -X main.version=$(VERSION)", "LDFLAGS = -s -w"},
	}
	rejectsEach(t, f, tests, func(files [][]byte) error { return checkVersionStamp(files[0], files[1]) })
}
