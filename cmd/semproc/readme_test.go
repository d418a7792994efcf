package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The README's examples are facts: every ```console block is a transcript
// ("$ command" lines, each followed by its output) that
// TestREADMEExamples runs against the real binary, from the repository
// root, and compares with what it shows. Every other ```sh block must be
// listed here with the reason it cannot run in a test; an entry that
// matches no block fails too, so the list stays true.
var readmeNotRun = map[string]string{
	"make run    # serve":                        "the set-up commands: make test runs this test; make run serves until stopped (the try transcript runs the same server)",
	"make try    # or":                           "the Try it transcript below runs the same command",
	"curl -s localhost:10000":                    "needs Envoy and an OpenAI key; the Try it transcript sends the same requests through the stand-in",
	"go test ./extproc -run '^$' -fuzz":          "an 11-minute fuzzing run",
	"docker run -d --rm -p 6380:6379":            "needs Docker and a Redis with the Query Engine",
	"docker build --build-arg":                   "needs a Docker engine (envoy/dockerfile_test.go checks the Dockerfile)",
	"TOKEN=$(cat /run/secrets":                   "needs a running server with an admin token (admin_test.go covers the endpoints)",
	"semproc cache delete":                       "needs a running server with an admin token (admin_test.go covers the commands)",
	"SEMPROC_GRPC_ADDR=127.0.0.1:50551 S":        "a performance measurement: minutes of load, whose figures are the README's, not an output",
	"go test ./semantic/ -run '^$' -bench 'Scan": "a benchmark run",
	"go test ./semantic/ -run '^$' -bench 'Memo": "a benchmark run",
	"go run ./cmd/semproc-load -serve-embed":     "a performance measurement",
	"SEMPROC_TEST_REDIS_URL=redis://127.0.0.1:6392 go test ./providers/redis/ -run '^$' -bench": "a benchmark run against a Redis with the Query Engine",
	"SEMPROC_GRPC_ADDR=127.0.0.1:51752": "a performance measurement",
	"SEMPROC_GRPC_ADDR=127.0.0.1:51754": "a 10-minute soak",
	"make help    # the targets":        "development targets, each run by CI",
}

// readmeVolatile are the parts of an output that change from run to run:
// times, ages, ports of listeners on free ports.
var readmeVolatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?m)^Date: .*$`), "Date: <date>"},
	{regexp.MustCompile(`(?m)^Age: \d+$`), "Age: <seconds>"},
	{regexp.MustCompile(`(?m)^X-Cache-Ttl: \d+$`), "X-Cache-Ttl: <seconds>"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+/metrics`), "127.0.0.1:<port>/metrics"},
	{regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms)\b`), "<duration>"},
}

func normaliseOutput(s string) []string {
	s = strings.ReplaceAll(s, "\r", "")
	for _, v := range readmeVolatile {
		s = v.re.ReplaceAllString(s, v.with)
	}
	var out []string
	for l := range strings.Lines(s) {
		out = append(out, strings.TrimRight(l, " \t\n"))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

type fencedBlock struct {
	lang, text string
	line       int
}

func fencedBlocks(doc string) []fencedBlock {
	var blocks []fencedBlock
	var cur *fencedBlock
	for i, l := range strings.Split(doc, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(l, "```"):
			cur = &fencedBlock{lang: strings.TrimPrefix(l, "```"), line: i + 1}
		case cur != nil && l == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += l + "\n"
		}
	}
	return blocks
}

// transcriptStep is one "$ command" and the output shown after it.
type transcriptStep struct {
	command string
	output  string
}

// transcript splits a console block; a command continues on the next line
// after a trailing backslash.
func transcript(text string) []transcriptStep {
	var steps []transcriptStep
	cont := false
	for l := range strings.Lines(text) {
		switch {
		case cont:
			steps[len(steps)-1].command += l
		case strings.HasPrefix(l, "$ "):
			steps = append(steps, transcriptStep{command: strings.TrimPrefix(l, "$ ")})
		case len(steps) > 0:
			steps[len(steps)-1].output += l
			continue
		}
		cont = strings.HasSuffix(strings.TrimRight(l, "\n"), `\`)
	}
	return steps
}

// matchOutput compares normalised lines; a line "…" alone in want stands
// for any number of lines.
func matchOutput(want, got []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if want[0] == "…" {
		for i := 0; i <= len(got); i++ {
			if matchOutput(want[1:], got[i:]) {
				return true
			}
		}
		return false
	}
	return len(got) > 0 && want[0] == got[0] && matchOutput(want[1:], got[1:])
}

// TestREADMEExamples runs the README's transcripts against the binary
// built from this tree, with the built-in offline embeddings and the
// in-process store; `semproc try` serves the requests they send.
func TestREADMEExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the README's commands")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := fencedBlocks(string(readme))
	checkNotRunList(t, blocks)

	bin := filepath.Join(t.TempDir(), "bin")
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "semproc"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		// The README's commands run on the defaults; only where the model
		// lives may differ on this machine.
		if name != "PATH" && (!strings.HasPrefix(name, "SEMPROC_") || name == "SEMPROC_EMBEDDINGS_MODEL_DIR" || name == "SEMPROC_WORDNET_DIR") {
			env = append(env, kv)
		}
	}
	r := &readmeRunner{t: t, env: env, bin: filepath.Join(bin, "semproc")}
	_, noCurl := exec.LookPath("curl")
	for _, b := range blocks {
		if b.lang != "console" {
			continue
		}
		for _, st := range transcript(b.text) {
			if strings.HasPrefix(st.command, "curl ") && noCurl != nil {
				t.Skipf("README.md:%d: curl is not installed, so its transcripts cannot run (the ones before passed)", b.line)
			}
			got := r.run(st.command)
			want := normaliseOutput(st.output)
			if !matchOutput(want, normaliseOutput(got)) {
				t.Errorf("README.md:%d: $ %s\nthe README shows:\n%s\nthe command printed:\n%s", b.line, strings.TrimSpace(st.command),
					strings.Join(want, "\n"), strings.Join(normaliseOutput(got), "\n"))
			}
		}
	}
}

// checkNotRunList fails on a ```sh block that is neither a transcript nor
// listed in readmeNotRun, and on an entry that matches no block.
func checkNotRunList(t *testing.T, blocks []fencedBlock) {
	t.Helper()
	used := map[string]bool{}
	for _, b := range blocks {
		if b.lang != "sh" {
			continue
		}
		found := false
		for k := range readmeNotRun {
			if strings.HasPrefix(b.text, k) {
				used[k], found = true, true
			}
		}
		if !found {
			t.Errorf("README.md:%d: a ```sh block that no test runs: make it a ```console transcript, or say in readmeNotRun why it cannot run", b.line)
		}
	}
	for k := range readmeNotRun {
		if !used[k] {
			t.Errorf("readmeNotRun lists %q, which starts no ```sh block of the README", k)
		}
	}
}

// readmeRunner runs transcript commands from the repository root, with
// `go run ./cmd/semproc` meaning the built binary. `semproc try` starts in
// the background on a free port, which later commands are pointed at.
type readmeRunner struct {
	t        *testing.T
	env      []string
	bin      string
	tryAddr  string // the running try's stand-in, host:port
	tryAdmin string
	misses   int
}

const readmeTryAddr = "127.0.0.1:10000"

func (r *readmeRunner) run(command string) string {
	t := r.t
	command = strings.ReplaceAll(command, "go run ./cmd/semproc", "semproc")
	if strings.TrimSpace(command) == "semproc try" {
		return r.startTry()
	}
	if r.tryAddr != "" {
		command = strings.ReplaceAll(command, readmeTryAddr, r.tryAddr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", command)
	cmd.Dir = "../.."
	cmd.Env = r.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("$ %s: %v", strings.TrimSpace(command), err)
	}
	got := string(out)
	if r.tryAddr != "" {
		got = strings.ReplaceAll(got, r.tryAddr, readmeTryAddr)
		// A Miss is stored off the request path: the next request may
		// only count on it once it is.
		if strings.Contains(got, "X-Cache-Status: Miss") {
			r.misses++
			waitStoredAt(t, r.tryAdmin, float64(r.misses))
		}
	}
	return got
}

var tryAdminRE = regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/metrics`)

// startTry starts `semproc try` and returns what it printed until it
// serves (its last line says how to stop it).
func (r *readmeRunner) startTry() string {
	t := r.t
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.tryAddr = l.Addr().String()
	_ = l.Close()
	cmd := exec.Command(r.bin, "try", "-listen", r.tryAddr)
	cmd.Env = r.env
	cmd.Stderr = cmd.Stdout
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Ctrl-C: a clean drain ends with status 0.
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Errorf("semproc try after an interrupt: %v", err)
		}
	})
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	lines := 0
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "curl ") {
			lines++
		}
		if lines == len(tryRequests) && strings.HasPrefix(sc.Text(), "  -d ") {
			break
		}
	}
	if m := tryAdminRE.FindStringSubmatch(out.String()); m != nil {
		r.tryAdmin = m[1]
	} else {
		t.Fatalf("semproc try printed no metrics address:\n%s", out.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return strings.ReplaceAll(out.String(), r.tryAddr, readmeTryAddr)
}

func TestREADMETranscriptMatching(t *testing.T) {
	steps := transcript("$ echo a \\\n  b\na b\n$ true\n")
	if len(steps) != 2 || steps[0].command != "echo a \\\n  b\n" || steps[0].output != "a b\n" || steps[1].output != "" {
		t.Fatalf("transcript: %q", steps)
	}
	tests := []struct {
		want, got string
		ok        bool
	}{
		{"a\nb", "a\nb\n", true},
		{"a\nb", "a\nc", false},
		{"…\nb", "x\ny\nb", true},
		{"…\nb", "b", true},
		{"a\n…", "a", true},
		{"a\n…\nc", "a\nb", false},
		{"Date: Thu, 03 Dec 2026 10:25:46 GMT\r\nAge: 1", "Date: Fri, 04 Dec 2026 11:00:00 GMT\nAge: 0", true},
		{"distance 0.058", "distance 0.059", false},
		{"took 12.5ms", "took 3µs", true},
	}
	for _, tt := range tests {
		if got := matchOutput(normaliseOutput(tt.want), normaliseOutput(tt.got)); got != tt.ok {
			t.Errorf("matchOutput(%q, %q) = %v, want %v", tt.want, tt.got, got, tt.ok)
		}
	}
}
