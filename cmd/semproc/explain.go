package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/semproc/semproc/extproc"
	"github.com/semproc/semproc/semantic"
)

// explainCmd shows, for one prompt, what the server would do: the text it
// embeds, the partition, the distance to every routing target and the
// decision, and the cache lookup against the configured store. It uses the
// server's own code and environment.
func explainCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	model := fs.String("model", "", "the request's model (empty = auto)")
	system := fs.String("system", "", "a system prompt")
	api := fs.String("api", "openai", "openai or anthropic")
	bodyFile := fs.String("body", "", "a whole request body (JSON file) instead of PROMPT")
	headersFile := fs.String("headers", "", "a file of the request's headers, one 'Name: value' a line, for the tenant scope (SEMPROC_CACHE_SCOPE_HEADERS); /dev/stdin reads them from standard input, so no secret is on the command line")
	against := fs.String("against", "", "a stored prompt: print its distance to PROMPT and the cache verifier's verdict on serving its answer")
	const synopsis = "usage: semproc explain [flags] PROMPT   (or -body FILE)"
	if help, err := parseFlags(fs, synopsis, args, stdout); help || err != nil {
		return err
	}
	if (fs.NArg() == 1) == (*bodyFile != "") {
		return &usageError{errors.New("explain wants one PROMPT, or -body FILE"), flagUsage(fs, synopsis)}
	}
	if *api != "openai" && *api != "anthropic" {
		return &usageError{fmt.Errorf("-api %q: want openai or anthropic", *api), flagUsage(fs, synopsis)}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	c, err := buildForTool(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = c.close() }()

	format := c.formats.Chat
	if *api == "anthropic" {
		format = c.formats.Messages
	}
	body, err := explainBody(*bodyFile, *api, *model, *system, fs.Arg(0))
	if err != nil {
		return err
	}
	req, err := format.ParseRequest(body, cfg.CacheMessageCountback)
	if err != nil {
		return fmt.Errorf("the request would pass through uncached (Bypass): %w", err)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "api\t%s\nrequest model\t%q\n", req.API, req.Model)
	fmt.Fprintf(w, "embedded text\t%q\n", req.Window)
	if req.Bypass != "" {
		fmt.Fprintf(w, "cache\tBypass: %s\n", req.Bypass)
	}
	if c.router != nil {
		explainRoute(ctx, w, c.router, req)
	} else {
		fmt.Fprintln(w, "routing\toff (no SEMPROC_ROUTES / SEMPROC_ROUTES_FILE)")
	}
	headers, err := readHeaders(*headersFile)
	if err != nil {
		return err
	}
	scope := extproc.Scope(headers, cfg.CacheScopeHeaders)
	fmt.Fprintf(w, "partition\tmodel=%q api=%s scope=%.12s… (from %s) fingerprint=%.12s…\n", req.Model, req.API, scope, scopeNames(headers, cfg.CacheScopeHeaders), req.Fingerprint)
	if c.cache == nil {
		fmt.Fprintln(w, "cache\toff (SEMPROC_CACHE_ENABLED=false)")
		return nil
	}
	if req.Bypass != "" {
		return nil
	}
	if *against != "" {
		return explainPair(ctx, w, c, cfg, req.Window, *against)
	}
	if scope == "" {
		if cfg.CacheAnonymous != "shared" {
			fmt.Fprintln(w, "cache\tBypass: none of the scope headers (SEMPROC_CACHE_SCOPE_HEADERS) was given, and SEMPROC_CACHE_ANONYMOUS=bypass")
			return nil
		}
		scope = semantic.Scope(nil)
	}
	if cfg.VectorDB == "memory" {
		fmt.Fprintln(w, "store\tmemory: this command's own, empty store; a running server's entries live in its process (use SEMPROC_VECTORDB=redis to query shared entries)")
	}
	r := c.cache.Get(ctx, semantic.Lookup{Request: req, Scope: scope})
	for _, cand := range r.Candidates {
		fmt.Fprintf(w, "candidate\t%s distance=%s %s\n", cand.Key, semantic.FormatDistance(cand.Distance, false), cand.Verdict.Reason)
	}
	fmt.Fprintf(w, "cache lookup\t%s", r.Status)
	switch {
	case r.Match != nil:
		fmt.Fprintf(w, " key=%s distance=%s stored=%s\n", r.Match.Key, semantic.FormatDistance(r.Match.Distance, r.Exact), r.Match.StoredAt.Format("2006-01-02T15:04:05Z07:00"))
	case r.Err != nil:
		fmt.Fprintf(w, " (%v)\n", r.Err)
	default:
		fmt.Fprintf(w, " (nothing within %s in this partition of the %s store)\n", threshStr(cfg), cfg.VectorDB)
	}
	return nil
}

var _ extproc.Router = (*semantic.Router)(nil)

// readHeaders reads "Name: value" lines, names lower-cased, as Envoy
// presents a request's headers; an empty path is no headers.
func readHeaders(path string) (map[string]string, error) {
	headers := map[string]string{}
	if path == "" {
		return headers, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-headers: %w", err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("-headers %s: line %d is not 'Name: value'", path, i+1)
		}
		headers[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(value)
	}
	return headers, nil
}

// scopeNames says which configured scope headers the request carries, by
// name only: their values are secrets.
func scopeNames(headers map[string]string, names []string) string {
	var found []string
	for _, n := range names {
		if _, ok := headers[n]; ok {
			found = append(found, n)
		}
	}
	if len(found) == 0 {
		return "no scope header: the anonymous scope"
	}
	return strings.Join(found, ", ")
}

// buildForTool wires the server's parts for a one-shot command: no
// telemetry export, no logs.
func buildForTool(ctx context.Context, cfg Config) (*components, error) {
	tel, err := newTelemetry(ctx, func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	return build(ctx, cfg, slog.New(slog.DiscardHandler), tel)
}

// explainPair shows what the cache would decide if stored were the only
// entry of the partition: the distance of the two windows and the
// verifier's verdict.
func explainPair(ctx context.Context, w io.Writer, c *components, cfg Config, window, stored string) error {
	a, err := c.embedder.Embed(ctx, window)
	if err != nil {
		return fmt.Errorf("embed the prompt: %w", err)
	}
	b, err := c.embedder.Embed(ctx, stored)
	if err != nil {
		return fmt.Errorf("embed -against: %w", err)
	}
	d, err := semantic.Distance(a, b)
	if err != nil {
		return err
	}
	th := threshold(cfg.CacheDistanceThreshold, defaultCacheThreshold(cfg))
	v := newVerifier(cfg, c.lexicon, th).Verify(semantic.Pair{Query: window, Stored: stored, Distance: d})
	verdict := "Miss"
	if v.Accept {
		verdict = "Hit"
	}
	fmt.Fprintf(w, "against\t%q\n", stored)
	fmt.Fprintf(w, "distance\t%s (threshold %g, verifier %s)\n", semantic.FormatDistance(d, false), th, verifierState(cfg, c.lexicon))
	fmt.Fprintf(w, "verdict\t%s: %s\n", verdict, v.Reason)
	return nil
}

func explainRoute(ctx context.Context, w io.Writer, r *semantic.Router, req *semantic.Request) {
	select {
	case <-r.Ready():
	case <-time.After(10 * time.Second):
		fmt.Fprintln(w, "routing\ttarget descriptions not embedded yet (embeddings provider down?): the decision below is the fallback")
	case <-ctx.Done():
	}
	ds, err := r.Distances(ctx, req.API, req.RouteText)
	if err != nil {
		fmt.Fprintf(w, "routing\tembeddings failed: %v\n", err)
	}
	for _, d := range ds {
		mark := ""
		if d.Within {
			mark = "within threshold"
		}
		fmt.Fprintf(w, "target %s\tmodel=%s distance=%.4f threshold=%.2f nearest description #%d %s\n", d.Name, d.Model, d.Distance, d.Threshold, d.Description, mark)
	}
	dec := r.Route(ctx, req.API, req.Model, req.RouteText)
	target := dec.Target
	if target == "" {
		target = "none"
	}
	fmt.Fprintf(w, "route decision\ttarget=%s model=%q reason=%s\n", target, dec.Model, dec.Reason)
	req.Model = dec.Model
}

func threshStr(cfg Config) string {
	return fmt.Sprint(threshold(cfg.CacheDistanceThreshold, defaultCacheThreshold(cfg)))
}

// explainBody is the request semproc would see: a file's, or one built from
// the flags in the API's shape.
func explainBody(file, api, model, system, prompt string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("-body: %w", err)
		}
		return b, nil
	}
	msgs := []map[string]string{{"role": "user", "content": prompt}}
	body := map[string]any{"model": model, "messages": msgs}
	switch {
	case api == "anthropic":
		body["max_tokens"] = 1024
		if system != "" {
			body["system"] = system
		}
	case system != "":
		body["messages"] = append([]map[string]string{{"role": "system", "content": system}}, msgs...)
	}
	if strings.TrimSpace(model) == "" {
		body["model"] = "auto"
	}
	return json.Marshal(body)
}
