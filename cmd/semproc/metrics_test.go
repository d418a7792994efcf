package main

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads the admin listener's /metrics with the Prometheus text
// parser, as a Prometheus server would.
func scrape(t *testing.T, admin string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return families
}

// sample sums the samples of a family whose labels include every pair of
// labels; a histogram sums its counts.
func sample(t *testing.T, families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f := families[name]
	if f == nil {
		t.Fatalf("/metrics has no %s", name)
	}
	var sum float64
	for _, m := range f.GetMetric() {
		if hasLabels(m, labels) {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// metricFamilies are what an operator's dashboards and alerts read; each
// must be on a fresh /metrics, before any request.
var freshFamilies = []struct {
	name string
	typ  dto.MetricType
}{
	{"semproc_requests_total", dto.MetricType_COUNTER},
	{"semproc_failures_total", dto.MetricType_COUNTER},
	{"semproc_cache_stores_total", dto.MetricType_COUNTER},
	{"semproc_cache_tokens_served_total", dto.MetricType_COUNTER},
	{"semproc_cache_cost_saved_usd_total", dto.MetricType_COUNTER},
	{"semproc_dependency_errors_total", dto.MetricType_COUNTER},
	{"semproc_dependency_up", dto.MetricType_GAUGE},
	{"semproc_dependency_breaker_open", dto.MetricType_GAUGE},
	{"semproc_store_entries", dto.MetricType_GAUGE},
	{"semproc_store_size_bytes", dto.MetricType_GAUGE},
}

func TestMetricsScrape(t *testing.T) {
	e := startE2E(t, map[string]string{"SEMPROC_PRICES_FILE": pricesFile(t)})

	fresh := scrape(t, e.admin)
	for _, want := range freshFamilies {
		f := fresh[want.name]
		if f == nil {
			t.Errorf("a fresh /metrics has no %s", want.name)
			continue
		}
		if f.GetType() != want.typ {
			t.Errorf("%s is a %s, want a %s", want.name, f.GetType(), want.typ)
		}
	}
	if n := sample(t, fresh, "semproc_requests_total"); n != 0 {
		t.Errorf("a fresh /metrics counts %v requests", n)
	}
	if n := sample(t, fresh, "semproc_requests_total", "api", "openai", "cache_status", "Hit"); n != 0 || !hasSeries(fresh, "semproc_requests_total", "api", "openai", "cache_status", "Hit") {
		t.Error("a fresh /metrics lacks the zero series of OpenAI hits")
	}

	missThenHit(t, e)
	got := scrapeAfter(t, e.admin, 2, "semproc_requests_total")
	model := []string{"api", "openai", "route", "none", "model", "gpt-4o-mini"}
	// The fake upstream reports 9 prompt and 12 completion tokens.
	const in, out = 9, 12
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"semproc_requests_total", append([]string{"cache_status", "Miss"}, model...), 1},
		{"semproc_requests_total", append([]string{"cache_status", "Hit"}, model...), 1},
		{"semproc_cache_stores_total", []string{"result", "stored"}, 1},
		{"semproc_cache_tokens_served_total", []string{"model", "gpt-4o-mini", "gen_ai_token_type", "input"}, in},
		{"semproc_cache_tokens_served_total", []string{"model", "gpt-4o-mini", "gen_ai_token_type", "output"}, out},
		{"semproc_cache_cost_saved_usd_total", []string{"model", "gpt-4o-mini"}, (in*0.15 + out*0.60) / 1e6},
		{"semproc_cache_match_distance", nil, 1},
		{"semproc_cache_lookup_duration_seconds", nil, 2},
		{"semproc_dependency_duration_seconds", []string{"dependency", "embeddings", "operation", "embed"}, 1},
		{"semproc_dependency_duration_seconds", []string{"dependency", "store", "operation", "put"}, 1},
		{"semproc_dependency_errors_total", nil, 0},
		{"semproc_failures_total", nil, 0},
		{"semproc_dependency_up", []string{"dependency", "embeddings"}, 1},
		{"semproc_dependency_up", []string{"dependency", "store"}, 1},
		{"semproc_dependency_breaker_open", nil, 0},
		{"semproc_store_entries", nil, 1},
	}
	for _, tt := range tests {
		if v := sample(t, got, tt.name, tt.labels...); math.Abs(v-tt.want) > 1e-12 {
			t.Errorf("%s{%s} = %v, want %v", tt.name, strings.Join(tt.labels, ","), v, tt.want)
		}
	}
	if n := sample(t, got, "semproc_dependency_duration_seconds", "dependency", "store"); n < 3 {
		t.Errorf("%v store calls timed, want the miss's lookups and put and the hit's lookup", n)
	}
	if b := sample(t, got, "semproc_store_size_bytes"); b <= 0 {
		t.Errorf("semproc_store_size_bytes = %v with one entry stored", b)
	}
}

// missThenHit asks the same question twice: a Miss, stored, then a Hit.
func missThenHit(t *testing.T, e *e2e) {
	t.Helper()
	c := e.client("sk-tenant-a")
	ask(t, c, userPrompt("gpt-4o-mini", "", "What is the capital of France?"))
	e.waitStored(t, 1)
	if _, h := ask(t, c, userPrompt("gpt-4o-mini", "", "What is the capital of France?")); h.Get("X-Cache-Status") != "Hit" {
		t.Fatalf("second request: %s, want a Hit", h.Get("X-Cache-Status"))
	}
}

// scrapeAfter scrapes once the family name counts at least n across the
// label sets with labels: a request is counted when its ext_proc stream
// ends, which can be after the client has its answer.
func scrapeAfter(t *testing.T, admin string, n float64, name string, labels ...string) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := scrape(t, admin)
		if sample(t, got, name, labels...) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hasSeries(families map[string]*dto.MetricFamily, name string, labels ...string) bool {
	for _, m := range families[name].GetMetric() {
		if hasLabels(m, labels) {
			return true
		}
	}
	return false
}

// TestMetricsWhenDependenciesFail: what the alerts read when the embeddings
// provider fails and when Redis cannot be reached.
func TestMetricsWhenDependenciesFail(t *testing.T) {
	t.Run("embeddings answer 500", func(t *testing.T) {
		e := startE2EWith(t, nil, e2eOptions{embedMode: "500"})
		if _, h := ask(t, e.client("sk-tenant-a"), userPrompt("gpt-4o-mini", "", "What is the capital of France?")); h.Get("X-Cache-Status") != "Failed" {
			t.Fatalf("status %q, want Failed", h.Get("X-Cache-Status"))
		}
		got := scrapeAfter(t, e.admin, 1, "semproc_requests_total")
		for _, tt := range []struct {
			name   string
			labels []string
			want   float64
		}{
			{"semproc_requests_total", []string{"cache_status", "Failed", "model", "gpt-4o-mini"}, 1},
			{"semproc_failures_total", []string{"stage", "lookup"}, 1},
			{"semproc_cache_tokens_served_total", nil, 0},
		} {
			if v := sample(t, got, tt.name, tt.labels...); v != tt.want {
				t.Errorf("%s{%s} = %v, want %v", tt.name, strings.Join(tt.labels, ","), v, tt.want)
			}
		}
		// The request's call, and the start-up probe's while the dimension
		// was unknown, may both have failed.
		if v := sample(t, got, "semproc_dependency_errors_total", "dependency", "embeddings", "error_type", "error"); v < 1 {
			t.Errorf("embeddings errors = %v, want at least the request's", v)
		}
		if v := sample(t, got, "semproc_dependency_up", "dependency", "embeddings"); v != 0 {
			t.Errorf("semproc_dependency_up{embeddings} = %v while it fails", v)
		}
	})
	t.Run("redis unreachable", func(t *testing.T) {
		e := startE2E(t, map[string]string{
			"SEMPROC_VECTORDB": "redis", "SEMPROC_REDIS_URL": "redis://127.0.0.1:1", "SEMPROC_REDIS_DIAL_TIMEOUT": "50ms",
		})
		ask(t, e.client("sk-tenant-a"), userPrompt("gpt-4o-mini", "", "What is the capital of France?"))
		got := scrape(t, e.admin)
		if v := sample(t, got, "semproc_dependency_up", "dependency", "store"); v != 0 {
			t.Errorf("semproc_dependency_up{store} = %v with Redis unreachable", v)
		}
		if v := sample(t, got, "semproc_dependency_errors_total", "dependency", "store"); v < 1 {
			t.Errorf("store errors = %v after a lookup with Redis unreachable", v)
		}
		if _, ok := got["semproc_store_entries"]; ok {
			t.Error("semproc_store_entries is exported with Redis: it counts the in-process store only")
		}
	})
}
