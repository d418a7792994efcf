package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/semproc/semproc/internal/syncbuf"
)

// TestCommandLine runs each command line as a user types it: help exits
// cleanly after printing usage, mistakes are usage errors (exit status 2,
// with the usage), never "invalid configuration".
func TestCommandLine(t *testing.T) {
	tests := []struct {
		args  []string
		usage bool   // a usageError is wanted; else success
		want  string // in the output (success) or the error (usage)
	}{
		{[]string{"bogus"}, true, `unknown command "bogus"`},
		{[]string{"model"}, true, "semproc model pull"},
		{[]string{"model", "push"}, true, "semproc model pull"},
		{[]string{"explain"}, true, "explain wants one PROMPT"},
		{[]string{"explain", "-api", "gemini", "hi"}, true, `-api "gemini"`},
		{[]string{"explain", "-nope", "hi"}, true, "flag provided but not defined: -nope"},
		{[]string{"eval"}, true, "eval wants one FILE"},
		{[]string{"eval", "-step", "0", "f"}, true, "positive step"},
		{[]string{"eval", "-without", "nope", "f"}, true, `-without "nope"`},
		{[]string{"serve", "--port", "1"}, true, "serve takes no arguments"},
		{[]string{"cache"}, true, "cache wants delete, purge or stats"},
		{[]string{"cache", "stats", "extra"}, true, "wrong arguments"},
		{[]string{"try", "extra"}, true, "try takes no arguments"},
		{[]string{"try", "-upstream", "https://api.openai.com/v1"}, true, "scheme and host only"},
		{[]string{"try", "-h"}, false, "not for production"},
		{[]string{"eval", "-h"}, false, "usage: semproc eval"},
		{[]string{"explain", "--help"}, false, "-against"},
		{[]string{"model", "-h"}, false, "SEMPROC_NPM_REGISTRY"},
		{[]string{"cache", "-h"}, false, "semproc cache stats"},
		{[]string{"serve", "-h"}, false, "SEMPROC_CACHE_TTL"},
		{[]string{"serve", "--help"}, false, `README's "Configuration" table`},
		{[]string{"--help"}, false, "semproc serve -h"},
		{[]string{"help"}, false, "semproc version"},
		{[]string{"version"}, false, runtime.Version()},
		{[]string{"--version"}, false, "semproc "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			// Cancelled: a command that started the server by mistake
			// returns at once instead of hanging the test.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var out strings.Builder
			err := run(ctx, tt.args, environOf(map[string]string{"SEMPROC_EMBEDDINGS_MODEL_DIR": t.TempDir()}), &out)
			var ue *usageError
			var ce *configError
			switch {
			case errors.As(err, &ce):
				t.Fatalf("labelled a configuration error: %v", err)
			case tt.usage && !errors.As(err, &ue):
				t.Fatalf("err %v, want a usage error", err)
			case tt.usage && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error lacks %q:\n%v", tt.want, err)
			case tt.usage && !strings.Contains(err.Error(), "usage:"):
				t.Errorf("error does not show the usage:\n%v", err)
			case !tt.usage && err != nil:
				t.Fatalf("err %v, want success", err)
			case !tt.usage && !strings.Contains(out.String(), tt.want):
				t.Errorf("output lacks %q:\n%s", tt.want, out.String())
			}
		})
	}
}

func TestVersionFlagsAgree(t *testing.T) {
	var a, b strings.Builder
	if err := errors.Join(run(context.Background(), []string{"version"}, nil, &a), run(context.Background(), []string{"--version"}, nil, &b)); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() || !strings.HasPrefix(a.String(), "semproc ") {
		t.Errorf("version %q, --version %q", a.String(), b.String())
	}
}

// A bad routing document's error names where it came from.
func TestRoutesErrorsNameTheirSource(t *testing.T) {
	file := filepath.Join(t.TempDir(), "my-routes.yaml")
	if err := os.WriteFile(file, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SEMPROC_ROUTES": "not json"}, "SEMPROC_ROUTES: routes: want an array of targets"},
		{map[string]string{"SEMPROC_ROUTES": `[{"name": "x"}]`}, "SEMPROC_ROUTES: "},
		{map[string]string{"SEMPROC_ROUTES_FILE": file}, "SEMPROC_ROUTES_FILE " + file + ": routes: want an array of targets"},
	} {
		err := run(context.Background(), []string{"explain", "hello"}, toolEnv(t, tt.env), &strings.Builder{})
		var ce *configError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want a configError containing %q", tt.env, err, tt.want)
		}
	}
}

func TestUnknownVariables(t *testing.T) {
	tests := []struct {
		environ []string
		want    []string
	}{
		{[]string{"SEMPROC_CACHE_TTLL=5m"}, []string{"SEMPROC_CACHE_TTLL is not a semproc variable: it is ignored; did you mean SEMPROC_CACHE_TTL?"}},
		{[]string{"SEMPROC_VECTRODB=redis"}, []string{"SEMPROC_VECTRODB is not a semproc variable: it is ignored; did you mean SEMPROC_VECTORDB?"}},
		{[]string{"SEMPROC_SOMETHING_ELSE_ENTIRELY=1"}, []string{"SEMPROC_SOMETHING_ELSE_ENTIRELY is not a semproc variable: it is ignored"}},
		{[]string{"SEMPROC_CACHE_TTL=5m", "HOME=/root", "OTEL_SERVICE_NAME=x"}, nil},
	}
	for _, tt := range tests {
		got := unknownVariables(tt.environ)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%v: got %q, want %q", tt.environ, got, tt.want)
		}
	}
}

// Every subcommand that reads the configuration warns of a misspelled
// variable: the tools through main on standard error, the server (serve,
// try) in its log.
func TestToolWarnings(t *testing.T) {
	environ := []string{"SEMPROC_CACHE_TTLL=5m"}
	for _, args := range [][]string{{"model", "pull"}, {"explain", "hi"}, {"eval", "f.jsonl"}, {"cache", "stats"}} {
		if got := toolWarnings(args, environ); len(got) != 1 || !strings.Contains(got[0], "did you mean SEMPROC_CACHE_TTL?") {
			t.Errorf("%v: warnings %q", args, got)
		}
	}
	for _, args := range [][]string{nil, {"serve"}, {"try"}, {"version"}, {"help"}} {
		if got := toolWarnings(args, environ); got != nil {
			t.Errorf("%v: warnings %q, want none from main (the server logs them; the others read no configuration)", args, got)
		}
	}
}

// serve starts despite a misspelled variable, and logs a warning naming
// the variable it probably meant.
func TestServeWarnsOfUnknownVariables(t *testing.T) {
	var log syncbuf.Buffer
	s := startServe(t, map[string]string{"SEMPROC_CACHE_TTLL": "5m"}, &log)
	s.cancel()
	if err := s.wait(); err != nil {
		t.Fatal(err)
	}
	if want := "did you mean SEMPROC_CACHE_TTL?"; !strings.Contains(log.String(), want) || !strings.Contains(log.String(), `"level":"WARN"`) {
		t.Errorf("log lacks a warning with %q:\n%s", want, log.String())
	}
}

func TestLogFormats(t *testing.T) {
	tests := []struct {
		format string
		d      time.Duration
		want   string
	}{
		{"text", 14238571 * time.Nanosecond, "duration=14.2ms"},
		{"text", 215432 * time.Nanosecond, "duration=215µs"},
		{"text", 1234567890 * time.Nanosecond, "duration=1.23s"},
		{"text", 5 * time.Second, "duration=5s"},
		{"text", 999 * time.Nanosecond, "duration=999ns"},
		{"json", 14238571 * time.Nanosecond, `"duration":14238571`},
	}
	for _, tt := range tests {
		var b strings.Builder
		newLogger(Config{LogLevel: "info", LogFormat: tt.format}, &b).Info("request", "duration", tt.d)
		if !strings.Contains(b.String(), tt.want) {
			t.Errorf("%s, %v: %q lacks %q", tt.format, tt.d, b.String(), tt.want)
		}
	}
}
