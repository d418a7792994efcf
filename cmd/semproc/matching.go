package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/semproc/semproc/providers/lexicon"
	"github.com/semproc/semproc/providers/local"
	"github.com/semproc/semproc/semantic"
)

// newRouter reads the routing targets; nil without any (routing off).
func newRouter(cfg Config, e semantic.Embedder, log *slog.Logger) (*semantic.Router, error) {
	// Errors name where the targets came from: the variable, or the file.
	doc, source := []byte(cfg.Routes), "SEMPROC_ROUTES"
	if cfg.RoutesFile != "" {
		b, err := os.ReadFile(cfg.RoutesFile)
		if err != nil {
			return nil, &configError{fmt.Errorf("SEMPROC_ROUTES_FILE: %w", err)}
		}
		doc, source = b, "SEMPROC_ROUTES_FILE "+cfg.RoutesFile
	}
	if strings.TrimSpace(string(doc)) == "" {
		return nil, nil
	}
	targets, err := semantic.ParseTargets(doc)
	if err != nil {
		return nil, &configError{fmt.Errorf("%s: %w", source, err)}
	}
	r, err := semantic.NewRouter(semantic.RouterOptions{
		Targets: targets, Embedder: e, Threshold: threshold(cfg.RoutingDistanceThreshold, defaultRoutingThreshold(cfg)),
		Mode: cfg.RoutingMode, Logger: log.With("component", "router"),
	})
	if err != nil {
		return nil, &configError{fmt.Errorf("%s: %w", source, err)}
	}
	return r, nil
}

func threshold(set *float64, def float64) float64 {
	if set != nil {
		return *set
	}
	return def
}

// defaultCacheThreshold is calibrated per embedder: distances are not
// comparable across models. The local model's comes from the GPTCache
// protocol (README, "Cache quality"); remote models keep SPEC's 0.1 until
// `semproc eval` says otherwise for them.
func defaultCacheThreshold(cfg Config) float64 {
	switch {
	case cfg.EmbeddingsProvider != "local":
		return 0.1
	case cfg.CacheVerifier == "off":
		return local.CacheDistanceThresholdWithoutVerifier
	default:
		return local.CacheDistanceThreshold
	}
}

// newVerifier is the cache verifier at threshold th: with
// SEMPROC_CACHE_VERIFIER=off only its numbers check, else every check and
// the acceptance score at SEMPROC_CACHE_VERIFIER_CUTOFF.
func newVerifier(cfg Config, lex semantic.Lexicon, th float64) semantic.Verifier {
	if cfg.CacheVerifier == "off" {
		without := map[string]bool{}
		for _, name := range semantic.Checks {
			without[name] = name != semantic.CheckNumbers
		}
		return &semantic.Checker{Threshold: th, Without: without}
	}
	c := semantic.NewChecker(lex, th)
	if cfg.CacheVerifierCutoff != nil {
		c.Score.Cutoff = *cfg.CacheVerifierCutoff
	}
	return c
}

// newLexicon loads WordNet for the verifier, when it is on and WordNet has
// been pulled. Without it the verifier still runs: it knows words by their
// spelling only, so it serves fewer paraphrases, never more near-misses;
// the log says so.
func newLexicon(cfg Config, log *slog.Logger) semantic.Lexicon {
	if !cfg.CacheEnabled || cfg.CacheVerifier == "off" {
		return nil
	}
	dir, err := wordnetDir(cfg)
	if err == nil {
		err = local.VerifyWordNet(dir)
	}
	if err == nil {
		started := time.Now()
		var wn *lexicon.WordNet
		if wn, err = lexicon.LoadWordNet(dir); err == nil {
			log.Info("WordNet loaded for the cache verifier", "dir", dir, "took", time.Since(started).Round(time.Millisecond))
			return wn
		}
	}
	log.Warn("cache verifier without WordNet: it knows words by spelling only, so fewer paraphrases hit", "error", err)
	return nil
}

// defaultRoutingThreshold: the local model puts a prompt and a short topic
// description further apart than large models do (README, "Routing
// quality").
func defaultRoutingThreshold(cfg Config) float64 {
	if cfg.EmbeddingsProvider == "local" {
		return local.RoutingDistanceThreshold
	}
	return semantic.DefaultRouteThreshold
}
