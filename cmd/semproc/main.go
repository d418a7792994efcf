// Command semproc is a sidecar gRPC service for Envoy's ext_proc filter: a
// semantic cache and a semantic router for LLM traffic.
//
//	semproc                 serve (configured by SEMPROC_* variables)
//	semproc model pull      fetch the built-in embeddings model
//	semproc explain …       show what semproc would do with a prompt
//	semproc eval FILE       measure cache thresholds on labelled pairs
//	semproc cache …         delete, purge or count a running server's entries
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
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "semproc:", err)
		var ce *configError
		if errors.As(err, &ce) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run is the whole program; it takes its environment as arguments so tests
// can start it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return serve(ctx, getenv, stdout, nil)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, getenv, stdout, nil)
	case "model":
		return modelCmd(ctx, args[1:], getenv, stdout)
	case "explain":
		return explainCmd(ctx, args[1:], getenv, stdout)
	case "eval":
		return evalCmd(ctx, args[1:], getenv, stdout)
	case "cache":
		return cacheCmd(ctx, args[1:], getenv, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return &configError{fmt.Errorf("unknown command %q", args[0])}
}

const usage = `usage:
  semproc [serve]                 run the ext_proc server (configured by SEMPROC_* variables)
  semproc model pull              download the built-in embeddings model into SEMPROC_EMBEDDINGS_MODEL_DIR
  semproc explain [flags] PROMPT  show the embedded text, partition, route distances and cache lookup
  semproc eval [flags] FILE       cache-threshold table for labelled pairs (JSONL or GPTCache JSON)
  semproc cache delete|purge|stats  administer a running server's cache (SEMPROC_ADMIN_TOKEN, SEMPROC_ADMIN_ADDR)
`
