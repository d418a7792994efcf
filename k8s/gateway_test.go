package k8s

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/semproc/semproc/semantic"
	istioapi "istio.io/api/networking/v1alpha3"
	"k8s.io/apimachinery/pkg/labels"
)

// Where each API's requests go and what they look like (as in package
// envoy's routing test, for the standalone Envoy).
var (
	apiPath = map[string]string{"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}
	apiHost = map[string]string{"openai": "api.openai.com", "anthropic": "api.anthropic.com"}
)

// minRouteTimeout lets long completions finish.
const minRouteTimeout = 60 * time.Second

func TestGatewayRouting(t *testing.T) {
	if err := checkGatewayRouting(os.DirFS("."), "istio/gateway"); err != nil {
		t.Error(err)
	}
}

func TestBrokenGatewayRoutingIsRejected(t *testing.T) {
	tests := []struct{ name, old, new string }{
		{"claude header misspelled", `x-semproc-model: {prefix: "claude-"}`, `x-semproc-model: {prefix: "anthropic-"}`},
		{"wrong header", `headers: {x-semproc-model: {prefix: "claude-"}}`, `headers: {x-model: {prefix: "claude-"}}`},
		{"no TLS origination", "tls: {mode: SIMPLE, sni: api.anthropic.com}", "tls: {mode: DISABLE}"},
		{"wrong SNI", "sni: api.openai.com", "sni: openai.com"},
		{"host not rewritten", "rewrite: {authority: api.anthropic.com}\n    timeout: 300s\n  - name: anthropic-default", "timeout: 300s\n  - name: anthropic-default"},
		{"short timeout", "timeout: 300s", "timeout: 15s"},
		{"plain port 443", "targetPort: 443}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: openai", "targetPort: 80}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: openai"},
		{"gateway selects another pod", "selector: {istio: semproc-gateway}\n  servers", "selector: {istio: ingressgateway}\n  servers"},
		{"misspelled spec field", "location: MESH_EXTERNAL", "locaton: MESH_EXTERNAL"},
		{"plain HTTP gateway", "port: {number: 443, name: https, protocol: HTTPS}", "port: {number: 80, name: http, protocol: HTTP}"},
		{"gateway TLS without certificate", "credentialName: semproc-gateway-tls, ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := copyTree(t, os.DirFS("."))
			f := fsys["istio/gateway/routing.yaml"]
			if !strings.Contains(string(f.Data), tt.old) {
				t.Fatalf("routing.yaml no longer contains %q: update the test", tt.old)
			}
			f.Data = []byte(strings.Replace(string(f.Data), tt.old, tt.new, 1))
			err := checkGatewayRouting(fsys, "istio/gateway")
			if err == nil {
				t.Fatalf("replacing %q with %q: checks passed, want an error", tt.old, tt.new)
			}
			t.Logf("rejected: %v", err)
		})
	}
}

// checkGatewayRouting sends, through the VirtualService, a request per
// target of envoy/routes.yaml (with the header semproc sets) and unrouted
// requests of each API, and wants each to reach its API's host over TLS the
// gateway originates, with that host as authority.
func checkGatewayRouting(fsys fs.FS, dir string) error {
	b, err := loadKustomization(fsys, dir)
	if err != nil {
		return err
	}
	data, err := fs.ReadFile(repo(), "envoy/routes.yaml")
	if err != nil {
		return err
	}
	targets, err := semantic.ParseTargets(data)
	if err != nil {
		return err
	}
	type request struct{ path, model, host string }
	var reqs []request
	for _, tg := range targets {
		api := tg.API
		if api == "" {
			api = "openai"
		}
		reqs = append(reqs, request{apiPath[api], tg.Model, apiHost[api]})
	}
	reqs = append(reqs,
		request{"/v1/chat/completions", "", "api.openai.com"},
		request{"/v1/messages", "", "api.anthropic.com"},
		request{"/v1/chat/completions", "claude-haiku-4-5", "api.anthropic.com"},
	)
	errs := []error{checkGatewaySelector(b), checkGatewayTLS(b)}
	if len(b.virtualServices) != 1 {
		return errors.Join(append(errs, fmt.Errorf("want one VirtualService, got %d", len(b.virtualServices)))...)
	}
	vs := &b.virtualServices[0].Spec
	for _, r := range reqs {
		route := vsRoute(vs, r.path, r.model)
		if route == nil {
			errs = append(errs, fmt.Errorf("%s with model %q: no route", r.path, r.model))
			continue
		}
		dst := route.GetRoute()[0].GetDestination()
		if dst.GetHost() != r.host {
			errs = append(errs, fmt.Errorf("%s with model %q goes to %s, want %s", r.path, r.model, dst.GetHost(), r.host))
		}
		if got := route.GetRewrite().GetAuthority(); got != dst.GetHost() {
			errs = append(errs, fmt.Errorf("route %s: authority %q, want %q", route.GetName(), got, dst.GetHost()))
		}
		if route.GetTimeout().AsDuration() < minRouteTimeout {
			errs = append(errs, fmt.Errorf("route %s: timeout %v, want >= %v", route.GetName(), route.GetTimeout().AsDuration(), minRouteTimeout))
		}
		errs = append(errs, checkTLSOrigination(b, dst.GetHost(), dst.GetPort().GetNumber()))
	}
	return errors.Join(errs...)
}

// vsRoute returns the first HTTP route whose matches take the request, as
// Istio evaluates them; it knows only the matchers the shipped file uses.
func vsRoute(vs *istioapi.VirtualService, path, model string) *istioapi.HTTPRoute {
	takes := func(m *istioapi.HTTPMatchRequest) bool {
		if u := m.GetUri(); u != nil && !strings.HasPrefix(path, u.GetPrefix()) {
			return false
		}
		for name, sm := range m.GetHeaders() {
			if name != "x-semproc-model" || model == "" || !strings.HasPrefix(model, sm.GetPrefix()) {
				return false
			}
		}
		return true
	}
	for _, r := range vs.GetHttp() {
		if len(r.GetMatch()) == 0 {
			return r
		}
		for _, m := range r.GetMatch() {
			if takes(m) {
				return r
			}
		}
	}
	return nil
}

// checkTLSOrigination wants host:port to be a plain-HTTP port of a
// ServiceEntry (so the gateway sees HTTP) that dials 443 with TLS verified
// for host (DestinationRule).
func checkTLSOrigination(b *bundle, host string, port uint32) error {
	var se, tls bool
	for _, e := range b.serviceEntries {
		for _, p := range e.Spec.GetPorts() {
			se = se || (slices.Contains(e.Spec.GetHosts(), host) && p.GetNumber() == port && p.GetProtocol() == "HTTP" && p.GetTargetPort() == 443 &&
				e.Spec.GetLocation() == istioapi.ServiceEntry_MESH_EXTERNAL)
		}
	}
	for _, d := range b.destRules {
		for _, pl := range d.Spec.GetTrafficPolicy().GetPortLevelSettings() {
			t := pl.GetTls()
			tls = tls || (d.Spec.GetHost() == host && pl.GetPort().GetNumber() == port && t.GetMode() == istioapi.ClientTLSSettings_SIMPLE && t.GetSni() == host)
		}
	}
	if !se || !tls {
		return fmt.Errorf("%s:%d: ServiceEntry (HTTP, targetPort 443) %v, DestinationRule (TLS SIMPLE, SNI %s) %v", host, port, se, host, tls)
	}
	return nil
}

// checkGatewaySelector wants the Gateway to select the pod that runs semproc.
func checkGatewaySelector(b *bundle) error {
	for _, g := range b.gateways {
		for _, pod := range b.pods() {
			if labels.SelectorFromSet(g.Spec.GetSelector()).Matches(labels.Set(pod.Labels)) && containerNamed(pod, "semproc") != nil {
				return nil
			}
		}
	}
	return errors.New("no Gateway selects the pod that runs semproc")
}

// checkGatewayTLS wants every server of the Gateway to terminate TLS with a
// certificate from a Secret: clients send API keys in headers.
func checkGatewayTLS(b *bundle) error {
	var errs []error
	for _, g := range b.gateways {
		for _, srv := range g.Spec.GetServers() {
			tls := srv.GetTls()
			if srv.GetPort().GetProtocol() != "HTTPS" || tls.GetMode() != istioapi.ServerTLSSettings_SIMPLE || tls.GetCredentialName() == "" {
				errs = append(errs, fmt.Errorf("gateway %s port %d: protocol %s, TLS %s, credentialName %q: want HTTPS, SIMPLE, a certificate Secret",
					g.Name, srv.GetPort().GetNumber(), srv.GetPort().GetProtocol(), tls.GetMode(), tls.GetCredentialName()))
			}
		}
	}
	return errors.Join(errs...)
}
