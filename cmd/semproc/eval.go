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
	pairs := fs.Bool("pairs", false, "after the table, one line per query at the last threshold: its outcome, the stored text it was or should have been served, their distance and the verifier's verdict")
	replay := fs.Bool("replay", false, "store each query that was not served, as a cache stores a miss, so later queries may be served it; a served query stands for the answer it wanted, a negative's for an answer no other query wants (a worst case for wrong hits: near-misses of one prompt that ask the same thing count as false hits)")
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
	thresholds := semantic.Thresholds(*from, *to, *step)
	var traces []semantic.EvalTrace
	rows, err := semantic.Evaluate(ctx, c.embedder, set, semantic.EvalOptions{
		Thresholds: thresholds,
		Replay:     *replay,
		Verifier: func(th float64) semantic.Verifier {
			v := newVerifier(cfg, lex, th)
			if ch, ok := v.(*semantic.Checker); ok {
				if len(skip) > 0 {
					ch.Without = skip
				}
			}
			return v
		},
		Trace: func(t semantic.EvalTrace) {
			if *pairs && t.Threshold == thresholds[len(thresholds)-1] {
				traces = append(traces, t)
			}
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
	fmt.Fprintf(stdout, "(%d positives, %d negatives, embeddings %s, verifier %s%s%s)\n", rows[0].Positives, rows[0].Negatives,
		cfg.EmbeddingsProvider, verifierState(cfg, lex), withoutNote(*without), replayNote(*replay))
	if best, ok := semantic.Recommend(rows, *target); ok {
		fmt.Fprintf(stdout, "recommended SEMPROC_CACHE_DISTANCE_THRESHOLD=%g (%.1f%% of positives correct, %.1f%% of hits wrong)\n",
			best.Threshold, 100*best.CorrectRate(), 100*best.BadShare())
	} else {
		fmt.Fprintf(stdout, "no threshold in range keeps wrong answers at or under %.1f%% of hits\n", 100**target)
	}
	if *pairs {
		fmt.Fprintf(stdout, "\nat threshold %g: outcome, distance, query, stored text, verdict\n", thresholds[len(thresholds)-1])
		for _, t := range traces {
			fmt.Fprintln(stdout, traceLine(set, t))
		}
	}
	return nil
}

// traceLine says how one query was served, and why, on one tab-separated
// line: the item served (a stored text or, replaying, an earlier query),
// else the stored text it wants, else the nearest the verifier read.
func traceLine(s semantic.EvalSet, t semantic.EvalTrace) string {
	q := t.Query
	var outcome string
	switch {
	case q.Want < 0 && t.Served >= 0:
		outcome = "false hit"
	case q.Want < 0:
		outcome = "turned away"
	case t.Served < 0:
		outcome = "missed"
	case s.Answer(t.Served) == q.Want:
		outcome = "correct"
	default:
		outcome = "wrong"
	}
	focus := t.Served
	if focus < 0 {
		focus = q.Want
	}
	if focus < 0 && len(t.Candidates) > 0 {
		focus = t.Candidates[0].Index
	}
	if focus < 0 {
		return fmt.Sprintf("%s\t-\t%q\t-\tno stored text to compare", outcome, q.Text)
	}
	line := func(d string, reason string) string {
		return fmt.Sprintf("%s\t%s\t%q\t%q\t%s", outcome, d, q.Text, s.Text(focus), reason)
	}
	for _, r := range t.Read {
		if r.Index == focus {
			return line(semantic.FormatDistance(r.Distance, r.Exact), r.Verdict.Reason)
		}
	}
	for _, c := range t.Candidates {
		if c.Index == focus {
			return line(semantic.FormatDistance(c.Distance, c.Exact), "not read: beyond the threshold, or after a nearer candidate was served")
		}
	}
	return line("-", "not among the nearest candidates")
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

func replayNote(replay bool) string {
	if !replay {
		return ""
	}
	return ", replay: each miss stored"
}

func withoutNote(list string) string {
	if list == "" {
		return ""
	}
	return ", without " + list
}
