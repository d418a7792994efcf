package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/semproc/semproc/semantic"
)

// evalCmd runs the cache-quality protocol on labelled pairs with the
// configured embeddings, and recommends a threshold.
func evalCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stdout)
	from := fs.Float64("from", 0.05, "first threshold (cosine distance)")
	to := fs.Float64("to", 0.5, "last threshold")
	step := fs.Float64("step", 0.05, "threshold step")
	target := fs.Float64("max-false-hits", 0.01, "largest acceptable false-hit rate among negatives, for the recommendation")
	if err := fs.Parse(args); err != nil {
		return &configError{err}
	}
	if fs.NArg() != 1 || *step <= 0 || *to < *from {
		return &configError{fmt.Errorf("usage: semproc eval [-from F -to T -step S -max-false-hits R] FILE  (JSONL {a,b,duplicate} or GPTCache [{origin,similar}])")}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return &configError{err}
	}
	defer f.Close()
	set, err := semantic.ReadEvalSet(f)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	cfg.CacheEnabled = false // eval embeds; it needs no store
	c, err := buildForTool(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = c.close() }()
	rows, err := semantic.Evaluate(ctx, c.embedder, set, semantic.Thresholds(*from, *to, *step))
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "threshold\tcorrect\twrong\tmissed\tfalse hits\tfalse-hit rate\t\n")
	for _, r := range rows {
		fmt.Fprintf(w, "%.3f\t%d\t%d\t%d\t%d\t%.2f%%\t\n", r.Threshold, r.Correct, r.Wrong, r.Missed, r.FalseHits, 100*r.FalseHitRate())
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "(%d positives, %d negatives, embeddings %s)\n", rows[0].Positives, rows[0].Negatives, cfg.EmbeddingsProvider)
	if best, ok := semantic.Recommend(rows, *target); ok {
		fmt.Fprintf(stdout, "recommended SEMPROC_CACHE_DISTANCE_THRESHOLD=%g (%d correct, %.2f%% false hits)\n", best.Threshold, best.Correct, 100*best.FalseHitRate())
	} else {
		fmt.Fprintf(stdout, "no threshold in range keeps false hits at or under %.2f%%\n", 100**target)
	}
	return nil
}
