package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"time"

	"github.com/semproc/semproc/providers/embeddings"
	"github.com/semproc/semproc/providers/local"
	"github.com/semproc/semproc/semantic"
)

// newEmbedder opens the configured embeddings provider and says the size
// of its vectors when it is known before the first call (0: learnt from the
// first healthy answer).
func newEmbedder(cfg Config) (semantic.Embedder, int, error) {
	if cfg.EmbeddingsProvider == "local" {
		dir, err := modelDir(cfg)
		if err != nil {
			return nil, 0, &configError{err}
		}
		e, err := local.Load(dir)
		if err != nil {
			return nil, 0, &configError{fmt.Errorf("SEMPROC_EMBEDDINGS_MODEL_DIR: %w", err)}
		}
		return e, local.Dimensions, nil
	}
	key, err := readSecret(cfg.EmbeddingsAPIKey, cfg.EmbeddingsAPIKeyFile, "SEMPROC_EMBEDDINGS_API_KEY_FILE")
	if err != nil {
		return nil, 0, err
	}
	o := embeddings.Options{
		URL: cfg.EmbeddingsURL, Model: cfg.EmbeddingsModel, APIKey: key, APIVersion: cfg.EmbeddingsAPIVersion,
		Dimensions: cfg.EmbeddingsDimensions, Timeout: cfg.EmbeddingsTimeout, MaxInputChars: cfg.EmbeddingsMaxChars,
	}
	var e semantic.Embedder
	switch cfg.EmbeddingsProvider {
	case "openai":
		e, err = embeddings.NewOpenAI(o)
	case "azure":
		e, err = embeddings.NewAzure(o)
	default:
		e, err = embeddings.NewOllama(o)
	}
	if err != nil {
		return nil, 0, &configError{fmt.Errorf("SEMPROC_EMBEDDINGS_*: %w", err)}
	}
	return e, cfg.EmbeddingsDimensions, nil
}

// embeddingModel names the embeddings model, for store namespaces.
func embeddingModel(cfg Config) string {
	switch {
	case cfg.EmbeddingsProvider == "local":
		return localModelName
	case cfg.EmbeddingsModel != "":
		return cfg.EmbeddingsModel
	case cfg.EmbeddingsProvider == "azure":
		if u, err := url.Parse(cfg.EmbeddingsURL); err == nil {
			return "azure-" + path.Base(u.Path)
		}
	case cfg.EmbeddingsProvider == "ollama":
		return embeddings.DefaultOllamaModel
	}
	return embeddings.DefaultOpenAIModel
}

// probeDimensions asks the provider until the embeddings' size is known
// (the GuardedEmbedder learns it from the first healthy answer); requests
// are Failed until then.
func probeDimensions(ctx context.Context, e semantic.Embedder, dims *semantic.Dimensions, timeout time.Duration, log *slog.Logger) {
	for wait := time.Second; dims.Get() == 0; wait = min(wait*2, time.Minute) {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		_, err := e.Embed(pctx, "semproc dimension probe")
		cancel()
		if err == nil || dims.Get() != 0 {
			return
		}
		log.Warn("embeddings dimension probe failed; retrying", "failure", semantic.FailureKind(err), "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
