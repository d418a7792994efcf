package envoy

import (
	"fmt"
	"os"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/semproc/semproc/providers/local"
	"github.com/semproc/semproc/semantic"
)

// apiPath is a request path of each API, and apiHost the host serving it.
var (
	apiPath = map[string]string{"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}
	apiHost = map[string]string{"openai": "api.openai.com", "anthropic": "api.anthropic.com"}
)

// loadTargets reads a routes file with semproc's own parser, so an example
// semproc would refuse at start-up fails here.
func loadTargets(t *testing.T, path string) []semantic.Target {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := semantic.ParseTargets(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for i := range targets {
		if targets[i].API == "" {
			targets[i].API = "openai"
		}
	}
	return targets
}

// TestRoutesReachTheirAPI checks that every target of routes.yaml, once
// semproc has set the routing header, is sent by envoy-routing.yaml to the
// host that serves its API, and that unrouted requests reach theirs.
func TestRoutesReachTheirAPI(t *testing.T) {
	b, err := LoadBootstrap("envoy-routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routingRequests(t) {
		t.Run(r.name, func(t *testing.T) {
			if err := r.check(b); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestRoutesKeepTheCalibratedThreshold wants no target of the shipped
// routes file to override the local model's calibrated routing threshold
// with a tighter one: borderline prompts would fall to the catch-all.
func TestRoutesKeepTheCalibratedThreshold(t *testing.T) {
	for _, tg := range loadTargets(t, "routes.yaml") {
		if tg.Threshold != 0 && tg.Threshold < local.RoutingDistanceThreshold {
			t.Errorf("target %s: distance_threshold %v is tighter than the local model's calibrated %v", tg.Name, tg.Threshold, local.RoutingDistanceThreshold)
		}
	}
}

// TestBrokenRoutingIsCaught breaks one header match of envoy-routing.yaml and
// expects TestRoutesReachTheirAPI's checks to notice.
func TestBrokenRoutingIsCaught(t *testing.T) {
	tests := []struct{ name, old, new string }{
		{"claude prefix misspelled", `string_match: {prefix: "claude-"}`, `string_match: {prefix: "anthropic-"}`},
		{"wrong routing header", "name: x-semproc-model\n                    string_match: {prefix: \"claude-\"}", "name: x-model\n                    string_match: {prefix: \"claude-\"}"},
		{"clusters swapped", "string_match: {prefix: \"claude-\"}\n                route: {cluster: anthropic", "string_match: {prefix: \"claude-\"}\n                route: {cluster: openai"},
	}
	data, err := os.ReadFile("envoy-routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(data), tt.old) {
				t.Fatalf("envoy-routing.yaml no longer contains %q: update the test", tt.old)
			}
			var b bootstrapv3.Bootstrap
			if err := ParseYAML([]byte(strings.Replace(string(data), tt.old, tt.new, 1)), &b); err != nil {
				t.Fatal(err)
			}
			for _, r := range routingRequests(t) {
				if r.check(&b) != nil {
					return
				}
			}
			t.Errorf("replacing %q with %q: every request still reached its API", tt.old, tt.new)
		})
	}
}

type routingRequest struct {
	name, path, model, wantHost string
}

func (r routingRequest) check(b *bootstrapv3.Bootstrap) error {
	headers := map[string]string{}
	if r.model != "" {
		headers["x-semproc-model"] = r.model
	}
	host, err := routeHost(b, r.path, headers)
	if err != nil {
		return err
	}
	if host != r.wantHost {
		return fmt.Errorf("%s with model %q goes to %s, want %s", r.path, r.model, host, r.wantHost)
	}
	return nil
}

// routingRequests are a request per target of routes.yaml, as semproc
// leaves it (routing header set), unrouted requests of each API, and a
// routed request whose model's provider is not the path's.
func routingRequests(t *testing.T) []routingRequest {
	type request = routingRequest
	var reqs []request
	for _, tg := range loadTargets(t, "routes.yaml") {
		reqs = append(reqs, request{"target " + tg.Name, apiPath[tg.API], tg.Model, apiHost[tg.API]})
	}
	reqs = append(reqs,
		request{"unrouted openai", "/v1/chat/completions", "", "api.openai.com"},
		request{"unrouted anthropic", "/v1/messages", "", "api.anthropic.com"},
		request{"unrouted legacy completions", "/v1/completions", "", "api.openai.com"},
		// Anthropic also serves the OpenAI format: the header, not the
		// path, must decide.
		request{"openai format to a claude model", "/v1/chat/completions", "claude-haiku-4-5", "api.anthropic.com"},
	)
	return reqs
}

// routeHost picks the route Envoy would pick (the first that matches) and
// returns the host of its cluster. It knows the matchers the shipped configs
// use and fails on any other, rather than guess.
func routeHost(b *bootstrapv3.Bootstrap, path string, headers map[string]string) (string, error) {
	hcms, err := HTTPConnectionManagers(b)
	if err != nil {
		return "", err
	}
	for _, vh := range hcms[0].GetRouteConfig().GetVirtualHosts() {
		for _, r := range vh.GetRoutes() {
			ok, err := routeMatches(r.GetMatch(), path, headers)
			if err != nil {
				return "", err
			}
			if ok {
				return clusterHost(b, r.GetRoute().GetCluster())
			}
		}
	}
	return "", fmt.Errorf("no route for %s %v", path, headers)
}

func routeMatches(m *routev3.RouteMatch, path string, headers map[string]string) (bool, error) {
	var ok bool
	switch ps := m.GetPathSpecifier().(type) {
	case *routev3.RouteMatch_Path:
		ok = path == ps.Path
	case *routev3.RouteMatch_Prefix:
		ok = strings.HasPrefix(path, ps.Prefix)
	case *routev3.RouteMatch_PathSeparatedPrefix:
		p := ps.PathSeparatedPrefix
		ok = path == p || strings.HasPrefix(path, p+"/")
	default:
		return false, fmt.Errorf("unsupported path matcher in %v", m)
	}
	for _, h := range m.GetHeaders() {
		v, present := headers[h.GetName()]
		sm := h.GetStringMatch()
		switch {
		case sm.GetExact() != "":
			ok = ok && present && v == sm.GetExact()
		case sm.GetPrefix() != "":
			ok = ok && present && strings.HasPrefix(v, sm.GetPrefix())
		default:
			return false, fmt.Errorf("unsupported header matcher %v", h)
		}
	}
	return ok, nil
}

func clusterHost(b *bootstrapv3.Bootstrap, name string) (string, error) {
	for _, c := range b.GetStaticResources().GetClusters() {
		if c.GetName() == name {
			return c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress().GetAddress(), nil
		}
	}
	return "", fmt.Errorf("no cluster %q", name)
}

// TestBrokenRoutesFileIsRejected shows semproc's parser refusing a broken
// copy of routes.yaml, so loadTargets cannot pass one.
func TestBrokenRoutesFileIsRejected(t *testing.T) {
	tests := []struct{ name, old, new string }{
		{"no model", "  model: gpt-4o\n", "  model: \"\"\n"},
		{"two catch-alls for openai", "  model: gpt-4o\n", "  model: gpt-4o\n  catch_all: true\n"},
		{"unknown api", "  api: anthropic\n", "  api: gemini\n"},
	}
	data, err := os.ReadFile("routes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(data), tt.old) {
				t.Fatalf("routes.yaml no longer contains %q: update the test", tt.old)
			}
			if _, err := semantic.ParseTargets([]byte(strings.Replace(string(data), tt.old, tt.new, 1))); err == nil {
				t.Errorf("replacing %q with %q: parsed, want an error", tt.old, tt.new)
			}
		})
	}
}
