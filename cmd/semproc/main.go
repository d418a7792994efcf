// Command semproc is a sidecar gRPC service for Envoy's ext_proc filter: a
// semantic cache and a semantic router for LLM traffic.
//
//	semproc                 serve (configured by SEMPROC_* variables)
//	semproc model pull      fetch the built-in embeddings model
//	semproc try             try the cache with curl, behind an Envoy stand-in
//	semproc explain …       show what semproc would do with a prompt
//	semproc eval FILE       measure cache thresholds on labelled pairs
//	semproc cache …         delete, purge or count a running server's entries
//	semproc version         print the version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	for _, w := range toolWarnings(os.Args[1:], os.Environ()) {
		fmt.Fprintln(os.Stderr, "semproc: warning:", w)
	}
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "semproc:", err)
		var ce *configError
		var ue *usageError
		if errors.As(err, &ce) || errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run is the whole program; it takes its environment (KEY=value entries)
// as an argument so tests can start it in-process.
func run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	getenv := getenvIn(environ)
	if len(args) == 0 {
		return serve(ctx, environ, stdout, nil)
	}
	switch args[0] {
	case "serve":
		if wantsHelp(args[1:]) {
			fmt.Fprint(stdout, serveUsage())
			return nil
		}
		if len(args) > 1 {
			return &usageError{fmt.Errorf("serve takes no arguments, got %q: settings are SEMPROC_* variables", args[1:]), serveUsage()}
		}
		return serve(ctx, environ, stdout, nil)
	case "model":
		return modelCmd(ctx, args[1:], getenv, stdout)
	case "try":
		return tryCmd(ctx, args[1:], environ, stdout)
	case "explain":
		return explainCmd(ctx, args[1:], getenv, stdout)
	case "eval":
		return evalCmd(ctx, args[1:], getenv, stdout)
	case "cache":
		return cacheCmd(ctx, args[1:], getenv, stdout)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return &usageError{fmt.Errorf("unknown command %q", args[0]), usage}
}

const usage = `usage:
  semproc [serve]                 run the ext_proc server
  semproc try [flags]             try the cache with curl: semproc behind an Envoy stand-in on 127.0.0.1:10000
  semproc model pull              download the built-in embeddings model into SEMPROC_EMBEDDINGS_MODEL_DIR
  semproc explain [flags] PROMPT  show the embedded text, partition, route distances and cache lookup
  semproc eval [flags] FILE       cache-threshold table for labelled pairs (JSONL or GPTCache JSON)
  semproc cache delete|purge|stats  administer a running server's cache (SEMPROC_ADMIN_TOKEN, SEMPROC_ADMIN_ADDR)
  semproc version                 print the version

Every setting is a SEMPROC_* environment variable: "semproc serve -h" lists
them, the README's "Configuration" table explains them. "semproc COMMAND -h"
shows a command's flags.
`
