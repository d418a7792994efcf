package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/semproc/semproc/semantic"
)

// usageError is a command line semproc cannot run (an unknown command, a
// missing argument, a bad flag): main prints it with the command's usage
// and exits with status 2.
type usageError struct {
	err   error
	usage string
}

func (e *usageError) Error() string { return e.err.Error() + "\n\n" + e.usage }
func (e *usageError) Unwrap() error { return e.err }

// parseFlags parses a subcommand's flags. With -h or --help it prints the
// usage to stdout and reports help, for the command to end successfully;
// a bad flag is a usageError.
func parseFlags(fs *flag.FlagSet, synopsis string, args []string, stdout io.Writer) (help bool, err error) {
	fs.SetOutput(io.Discard)
	err = fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, flagUsage(fs, synopsis))
		return true, nil
	}
	if err != nil {
		return false, &usageError{err, flagUsage(fs, synopsis)}
	}
	return false, nil
}

// flagUsage is a subcommand's synopsis followed by its flags.
func flagUsage(fs *flag.FlagSet, synopsis string) string {
	var b bytes.Buffer
	b.WriteString(synopsis + "\n\nflags:\n")
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}

// wantsHelp reports whether args ask for help.
func wantsHelp(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "-help" || a == "--help" })
}

// serveUsage lists the variables that configure the server, which takes
// no flags.
func serveUsage() string {
	var b bytes.Buffer
	b.WriteString(`usage: semproc [serve]

Runs the ext_proc gRPC server. It takes no flags: every setting is an
environment variable, described in the README's "Configuration" table, e.g.
  SEMPROC_VECTORDB=redis SEMPROC_REDIS_URL=redis://localhost:6379 semproc serve

variables (default):
`)
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, f := range configFields() {
		fmt.Fprintf(w, "  %s\t%s\n", f.Name, f.Default)
	}
	_ = w.Flush()
	return b.String()
}

// version is set by `make build` (-ldflags "-X main.version=…", from git
// describe); a plain go build leaves
// it empty, and the version Go stamped (the tag or a pseudo-version, when it
// could read the VCS) is printed instead.
var version string

// versionString is the version, the commit when Go stamped it, and the Go
// release.
func versionString() string {
	v, rev := version, ""
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision":
				rev = ", commit " + s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				rev += " (modified)"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return fmt.Sprintf("semproc %s (%s%s)", v, runtime.Version(), rev)
}

// getenvIn looks names up in an environment of KEY=value entries; the first
// entry of a name wins, as with os.Getenv.
func getenvIn(environ []string) func(string) string {
	m := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if _, seen := m[k]; !seen {
			m[k] = v
		}
	}
	return func(k string) string { return m[k] }
}

// toolWarnings are the warnings of unknownVariables for the subcommands
// that read the configuration and have no log of their own (model,
// explain, eval, cache), for main to print on standard error; the server
// (serve, try) logs them.
func toolWarnings(args, environ []string) []string {
	if len(args) == 0 || !slices.Contains([]string{"model", "explain", "eval", "cache"}, args[0]) {
		return nil
	}
	return unknownVariables(environ)
}

// unknownVariables warns of each SEMPROC_ name in environ that semproc does
// not read (a typo would be ignored silently), with the nearest known name.
func unknownVariables(environ []string) []string {
	const maxTypo = 3 // edits a typo may make, beyond which no name is suggested
	known := envNames()
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "SEMPROC_") || slices.Contains(known, name) {
			continue
		}
		msg := name + " is not a semproc variable: it is ignored"
		best, bestD := "", maxTypo+1
		for _, k := range known {
			if d := semantic.EditDistance(name, k, maxTypo); d < bestD {
				best, bestD = k, d
			}
		}
		if best != "" {
			msg += "; did you mean " + best + "?"
		}
		out = append(out, msg)
	}
	return out
}
