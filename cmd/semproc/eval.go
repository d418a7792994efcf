package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/semproc/semproc/semantic"
)

// evalCmd runs the cache-quality protocol on labelled pairs with the
// configured embeddings, and recommends a threshold.
func evalCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	from := fs.Float64("from", 0.05, "first threshold (cosine distance)")
	to := fs.Float64("to", 0.5, "last threshold")
	step := fs.Float64("step", 0.05, "threshold step")
	target := fs.Float64("max-bad-hits", 0.03, "largest acceptable share of wrong answers (wrong and false hits) among all hits, for the recommendation")
	verifier := fs.String("verifier", "", "on or off (default: SEMPROC_CACHE_VERIFIER)")
	without := fs.String("without", "", "verifier checks to leave out, comma-separated: "+strings.Join(semantic.Checks, ", "))
	const synopsis = "usage: semproc eval [flags] FILE   (JSONL {a,b,duplicate} or GPTCache [{origin,similar}])"
	if help, err := parseFlags(fs, synopsis, args, stdout); help || err != nil {
		return err
	}
	switch {
	case fs.NArg() != 1:
		return &usageError{fmt.Errorf("eval wants one FILE, got %d arguments", fs.NArg()), flagUsage(fs, synopsis)}
	case *step <= 0 || *to < *from:
		return &usageError{fmt.Errorf("-from %v -to %v -step %v: want from <= to and a positive step", *from, *to, *step), flagUsage(fs, synopsis)}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if *verifier != "" {
		cfg.CacheVerifier = *verifier
	}
	skip, err := checkNames(*without)
	if err != nil {
		return &usageError{err, flagUsage(fs, synopsis)}
	}
	set, err := semantic.ReadEvalFile(fs.Arg(0))
	if err != nil {
		return err
	}
	lex := newLexicon(cfg, slog.New(slog.DiscardHandler))
	cfg.CacheEnabled = false // eval embeds; it needs no store
	c, err := buildForTool(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = c.close() }()
	rows, err := semantic.Evaluate(ctx, c.embedder, set, semantic.EvalOptions{
		Thresholds: semantic.Thresholds(*from, *to, *step),
		Verifier: func(th float64) semantic.Verifier {
			v := newVerifier(cfg, lex, th)
			if ch, ok := v.(*semantic.Checker); ok {
				if len(skip) > 0 {
					ch.Without = skip
				}
			}
			return v
		},
	})
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "threshold\tcorrect\twrong\tmissed\tfalse hits\tcorrect of positives\twrong of hits\t\n")
	for _, r := range rows {
		fmt.Fprintf(w, "%.3f\t%d\t%d\t%d\t%d\t%.1f%%\t%.1f%%\t\n", r.Threshold, r.Correct, r.Wrong, r.Missed, r.FalseHits, 100*r.CorrectRate(), 100*r.BadShare())
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "(%d positives, %d negatives, embeddings %s, verifier %s%s)\n", rows[0].Positives, rows[0].Negatives,
		cfg.EmbeddingsProvider, verifierState(cfg, lex), withoutNote(*without))
	if best, ok := semantic.Recommend(rows, *target); ok {
		fmt.Fprintf(stdout, "recommended SEMPROC_CACHE_DISTANCE_THRESHOLD=%g (%.1f%% of positives correct, %.1f%% of hits wrong)\n",
			best.Threshold, 100*best.CorrectRate(), 100*best.BadShare())
	} else {
		fmt.Fprintf(stdout, "no threshold in range keeps wrong answers at or under %.1f%% of hits\n", 100**target)
	}
	return nil
}

// checkNames parses -without: verifier check names, comma-separated.
func checkNames(list string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(semantic.Checks, name) {
			return nil, fmt.Errorf("-without %q: want some of %s", name, strings.Join(semantic.Checks, ", "))
		}
		out[name] = true
	}
	return out, nil
}

func verifierState(cfg Config, lex semantic.Lexicon) string {
	switch {
	case cfg.CacheVerifier == "off":
		return "off"
	case lex == nil:
		return "on, without WordNet"
	default:
		return "on, with WordNet"
	}
}

func withoutNote(list string) string {
	if list == "" {
		return ""
	}
	return ", without " + list
}
