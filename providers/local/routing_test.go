package local

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/semproc/semproc/semantic"
)

// routingSet is testdata/routing.json: targets in the style users write and
// prompts labelled with the target they belong to ("" for none).
type routingSet struct {
	Targets []semantic.Target `json:"targets"`
	Prompts []struct {
		Text   string `json:"text"`
		Target string `json:"target"`
	} `json:"prompts"`
}

func readRoutingSet(t *testing.T) routingSet {
	t.Helper()
	raw, err := os.ReadFile("testdata/routing.json")
	if err != nil {
		t.Fatal(err)
	}
	var s routingSet
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("routing.json: %v", err)
	}
	names := map[string]bool{"": true}
	for _, tg := range s.Targets {
		names[tg.Name] = true
	}
	for _, p := range s.Prompts {
		if !names[p.Target] {
			t.Fatalf("routing.json: prompt %q is labelled with unknown target %q", p.Text, p.Target)
		}
	}
	return s
}

// routingCounts are the outcomes of routing every labelled prompt at one
// threshold.
type routingCounts struct {
	threshold float64
	// Of the on-topic prompts: routed to their target, to another one, or
	// to none (the fallback).
	correct, wrong, fellBack int
	// Of the off-topic prompts: routed to a target instead of the fallback.
	offTopicRouted int
	// mistakes name the wrong and off-topic routes, for the log.
	mistakes []string
}

// routeAll routes every prompt through a real Router at threshold, as a
// request with model "auto" would be.
func routeAll(t *testing.T, s routingSet, e semantic.Embedder, threshold float64) routingCounts {
	t.Helper()
	r, err := semantic.NewRouter(semantic.RouterOptions{Targets: s.Targets, Embedder: e, Threshold: threshold, Mode: semantic.RouteModeAuto})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r.Start(ctx)
	select {
	case <-r.Ready():
	default:
		t.Fatal("the router did not embed its descriptions")
	}
	c := routingCounts{threshold: threshold}
	for _, p := range s.Prompts {
		d := r.Route(ctx, "openai", "auto", p.Text)
		if d.Err != nil {
			t.Fatalf("routing %q: %v", p.Text, d.Err)
		}
		routed := ""
		if d.Reason == semantic.RouteSimilar {
			routed = d.Target
		}
		switch {
		case p.Target == "" && routed != "":
			c.offTopicRouted++
		case p.Target == "":
		case routed == p.Target:
			c.correct++
		case routed == "":
			c.fellBack++
		default:
			c.wrong++
		}
		if routed != "" && routed != p.Target {
			c.mistakes = append(c.mistakes, fmt.Sprintf("%q (%q) -> %s at %.3f", p.Text, p.Target, routed, d.Distance))
		}
	}
	return c
}

// TestRoutingThresholdOnLabelledSet routes a hand-labelled set of prompts
// through the real Router with the local model at a range of thresholds
// (go test -v -run Routing prints the table) and checks the shipped default
// against it.
func TestRoutingThresholdOnLabelledSet(t *testing.T) {
	e := testEmbedder(t)
	s := readRoutingSet(t)
	var texts []string
	onTopic := 0
	for _, tg := range s.Targets {
		texts = append(texts, tg.Descriptions...)
	}
	for _, p := range s.Prompts {
		texts = append(texts, p.Text)
		if p.Target != "" {
			onTopic++
		}
	}
	offTopic := len(s.Prompts) - onTopic
	if len(s.Targets) < 5 || onTopic < 70 || offTopic < 20 {
		t.Fatalf("routing.json: %d targets, %d on-topic and %d off-topic prompts; want at least 5, 70 and 20", len(s.Targets), onTopic, offTopic)
	}
	vectors := embedAll(t, e, semantic.EvalSet{Stored: texts})

	var table strings.Builder
	fmt.Fprintf(&table, "%9s %7s %5s %9s %14s   (of %d on-topic, %d off-topic)\n", "threshold", "correct", "wrong", "fell back", "off-topic rtd", onTopic, offTopic)
	for _, th := range semantic.Thresholds(0.3, 0.9, 0.05) {
		c := routeAll(t, s, vectors, th)
		if got := c.correct + c.wrong + c.fellBack; got != onTopic {
			t.Fatalf("threshold %g: %d on-topic outcomes for %d prompts", th, got, onTopic)
		}
		fmt.Fprintf(&table, "%9.2f %7d %5d %9d %14d\n", th, c.correct, c.wrong, c.fellBack, c.offTopicRouted)
	}
	t.Logf("routing %d labelled prompts over %d targets:\n%s", len(s.Prompts), len(s.Targets), table.String())
	shipped := routeAll(t, s, vectors, RoutingDistanceThreshold)
	t.Logf("at the default %g: %d correct, %d wrong, %d fell back, %d off-topic routed; the routes not to the labelled target:\n%s",
		RoutingDistanceThreshold, shipped.correct, shipped.wrong, shipped.fellBack, shipped.offTopicRouted, strings.Join(shipped.mistakes, "\n"))

	// The figures measured when the default was chosen (85% correct, no
	// wrong route, 10% of off-topic routed), with some room.
	if float64(shipped.correct) < 0.8*float64(onTopic) ||
		float64(shipped.wrong) > 0.03*float64(onTopic) ||
		float64(shipped.offTopicRouted) > 0.2*float64(offTopic) {
		t.Errorf("at the default threshold %g: %d of %d on-topic routed correctly, %d wrongly, %d of %d off-topic routed; want at least 80%%, at most 3%% and at most 20%%",
			RoutingDistanceThreshold, shipped.correct, onTopic, shipped.wrong, shipped.offTopicRouted, offTopic)
	}
}
