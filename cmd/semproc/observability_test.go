package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/semproc/semproc/envoy"
)

// The shipped monitoring material (k8s/observability).
const (
	dashboardFile = "../../k8s/observability/semproc-dashboard.json"
	rulesFile     = "../../k8s/observability/prometheusrule.yaml"
)

// grafanaPanel is the part of a Grafana panel that holds queries; rows
// nest panels when collapsed.
type grafanaPanel struct {
	Title   string `json:"title"`
	Type    string `json:"type"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaDashboard struct {
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

// alertRules is a PrometheusRule's spec (a plain rules file's content).
type alertRules struct {
	Spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// grafanaVars stand for the dashboard's variables, so its queries parse as
// the PromQL Grafana sends.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "$__range", "6h", "$job", ".*")

// exportedNames are the series names a Prometheus scraping families sees:
// a histogram's are its _bucket, _sum and _count.
func exportedNames(families map[string]*dto.MetricFamily) map[string]bool {
	out := map[string]bool{}
	for name, f := range families {
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				out[name+s] = true
			}
			continue
		}
		out[name] = true
	}
	return out
}

// queryMetrics parses a PromQL expression and returns the metric names it
// selects; every selector must name one.
func queryMetrics(expr string) ([]string, error) {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	var errs []error
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		if vs.Name == "" {
			errs = append(errs, fmt.Errorf("selector %s names no metric", vs))
		}
		names = append(names, vs.Name)
		return nil
	})
	return names, errors.Join(errs...)
}

// checkQuery says what is wrong with a query against the exported names.
func checkQuery(expr string, exported map[string]bool) ([]string, error) {
	if strings.Contains(expr, "$") {
		return nil, fmt.Errorf("%q: a Grafana variable the test does not know", expr)
	}
	names, err := queryMetrics(expr)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", expr, err)
	}
	var errs []error
	for _, n := range names {
		if !exported[n] {
			errs = append(errs, fmt.Errorf("%q: semproc exports no %s", expr, n))
		}
	}
	return names, errors.Join(errs...)
}

func TestCheckQueryCatchesMistakes(t *testing.T) {
	exported := map[string]bool{"semproc_requests_total": true, "semproc_x_bucket": true}
	tests := []struct {
		expr string
		ok   bool
	}{
		{`sum(rate(semproc_requests_total{cache_status="Hit"}[5m]))`, true},
		{`histogram_quantile(0.9, sum by (le) (rate(semproc_x_bucket[5m])))`, true},
		{`sum(rate(semproc_request_total[5m]))`, false}, // a typo
		{`sum(rate(semproc_x[5m]))`, false},             // a histogram's own name is no series
		{`sum(rate(semproc_requests_total[5m])`, false}, // does not parse
		{`rate(semproc_requests_total[$__interval])`, false},
		{`{cache_status="Hit"}`, false}, // names no metric
	}
	for _, tt := range tests {
		if _, err := checkQuery(tt.expr, exported); (err == nil) != tt.ok {
			t.Errorf("checkQuery(%s) = %v, want ok %v", tt.expr, err, tt.ok)
		}
	}
}

func walkPanels(panels []grafanaPanel, f func(grafanaPanel)) {
	for _, p := range panels {
		f(p)
		walkPanels(p.Panels, f)
	}
}

// TestObservabilityQueries checks the shipped dashboard and alert rules
// against what a running semproc exports after a miss and a hit: every
// query parses as PromQL and names only metrics on its /metrics.
func TestObservabilityQueries(t *testing.T) {
	e := startE2E(t, map[string]string{"SEMPROC_PRICES_FILE": pricesFile(t)})
	missThenHit(t, e)
	exported := exportedNames(scrapeAfter(t, e.admin, 2, "semproc_requests_total"))

	t.Run("dashboard", func(t *testing.T) {
		raw, err := os.ReadFile(dashboardFile)
		if err != nil {
			t.Fatal(err)
		}
		var d grafanaDashboard
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", dashboardFile, err)
		}
		if d.UID == "" {
			t.Error("the dashboard has no uid: every import would make a new copy")
		}
		used := map[string]bool{}
		var exprs []string
		walkPanels(d.Panels, func(p grafanaPanel) {
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, q := range p.Targets {
				expr := grafanaVars.Replace(q.Expr)
				exprs = append(exprs, expr)
				names, err := checkQuery(expr, exported)
				if err != nil {
					t.Errorf("panel %q: %v", p.Title, err)
				}
				for _, n := range names {
					used[n] = true
				}
			}
		})
		labelValues := regexp.MustCompile(`^label_values\((\w+), *\w+\)$`)
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			m := labelValues.FindStringSubmatch(v.Definition)
			if m == nil || !exported[m[1]] {
				t.Errorf("variable %s: %q names no exported metric", v.Name, v.Definition)
			}
		}
		// What the dashboard is for: hit rate, tokens and cost saved,
		// latency, distance distribution, failures by dependency.
		for _, m := range []string{
			"semproc_requests_total", "semproc_cache_tokens_served_total", "semproc_cache_cost_saved_usd_total",
			"semproc_cache_lookup_duration_seconds_bucket", "semproc_dependency_duration_seconds_bucket",
			"semproc_cache_match_distance_bucket", "semproc_dependency_errors_total", "semproc_dependency_up",
		} {
			if !used[m] {
				t.Errorf("no panel shows %s", m)
			}
		}
		if !slices.ContainsFunc(exprs, func(e string) bool { return strings.Contains(e, "by (route)") }) {
			t.Error("no panel shows the routing split (by route)")
		}
	})

	t.Run("alert rules", func(t *testing.T) {
		raw, err := os.ReadFile(rulesFile)
		if err != nil {
			t.Fatal(err)
		}
		var r alertRules
		if err := yaml.Unmarshal(raw, &r); err != nil {
			t.Fatalf("%s: %v", rulesFile, err)
		}
		alerts := map[string]string{}
		for _, g := range r.Spec.Groups {
			for _, rule := range g.Rules {
				alerts[rule.Alert] = rule.Expr
				if _, err := checkQuery(rule.Expr, exported); err != nil {
					t.Errorf("alert %s: %v", rule.Alert, err)
				}
				if d, err := model.ParseDuration(rule.For); err != nil || d <= 0 {
					t.Errorf("alert %s: for %q, want a positive duration: a blip must not page", rule.Alert, rule.For)
				}
				if s := rule.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
					t.Errorf("alert %s: severity %q, want critical, warning or info", rule.Alert, s)
				}
				if rule.Annotations["summary"] == "" {
					t.Errorf("alert %s has no summary", rule.Alert)
				}
			}
		}
		// What the rules are for: embeddings failing, store down, hit rate
		// collapse.
		for name, wants := range map[string]string{
			"SemprocEmbeddingsFailing": `dependency="embeddings"`,
			"SemprocStoreDown":         `semproc_dependency_up{dependency="store"}`,
			"SemprocHitRateCollapse":   `cache_status="Hit"`,
		} {
			if !strings.Contains(alerts[name], wants) {
				t.Errorf("alert %s: expression %q does not use %s", name, alerts[name], wants)
			}
		}
	})
}

// TestAccessLogKeysAreWhatSemprocSets ties the shipped access logs to
// semproc's replies: envoy.MetadataKeys, which package envoy's tests want
// every shipped config's access log to print as %DYNAMIC_METADATA(...)%,
// must be exactly the keys semproc writes in its namespace for a miss and
// a hit, as Envoy (the stand-in, configured from envoy/envoy.yaml) keeps
// them.
func TestAccessLogKeysAreWhatSemprocSets(t *testing.T) {
	e := startE2E(t, nil)
	missThenHit(t, e)
	set := map[string]bool{}
	for _, ex := range e.proxy.Exchanges() {
		for k := range ex.DynamicMetadata[envoy.MetadataNamespace].GetFields() {
			set[k] = true
		}
	}
	got := slices.Sorted(maps.Keys(set))
	want := slices.Sorted(slices.Values(envoy.MetadataKeys()))
	if !slices.Equal(got, want) {
		t.Errorf("semproc writes %v in namespace %q; the access logs are checked for %v", got, envoy.MetadataNamespace, want)
	}
}
