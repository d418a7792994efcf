package main

import (
	"context"
	"fmt"
	"io"

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
	if err := local.Pull(ctx, local.PullOptions{Dir: dir, Registry: cfg.NPMRegistry}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "local embeddings model ready in", dir)
	return nil
}

func modelDir(cfg Config) (string, error) {
	if cfg.EmbeddingsModelDir != "" {
		return cfg.EmbeddingsModelDir, nil
	}
	return local.DefaultDir()
}
