package envoy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var envTag = regexp.MustCompile(`env:"(SEMPROC_[A-Z0-9_]+)"`)

// semprocVariables are the variables semproc reads, from the env tags of
// its configuration struct in cmd/semproc: a misspelled name in the compose
// file would be ignored silently, so the checks refuse unknown names.
func semprocVariables() (map[string]bool, error) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "cmd", "semproc", "*.go"))
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, m := range envTag.FindAllSubmatch(src, -1) {
			known[string(m[1])] = true
		}
	}
	return known, nil
}

var grpcAddrDefault = regexp.MustCompile(`env:"SEMPROC_GRPC_ADDR"\s+envDefault:"([^"]*)"`)

// TestSemprocGRPCAddrIsTheDefault keeps SemprocGRPCAddr, which every shipped
// semproc cluster is checked against, equal to SEMPROC_GRPC_ADDR's default
// in cmd/semproc.
func TestSemprocGRPCAddrIsTheDefault(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "cmd", "semproc", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range grpcAddrDefault.FindAllSubmatch(src, -1) {
			found = append(found, string(m[1]))
		}
	}
	if len(found) != 1 || found[0] != SemprocGRPCAddr {
		t.Errorf("SEMPROC_GRPC_ADDR defaults in cmd/semproc: %q, want exactly [%q]", found, SemprocGRPCAddr)
	}
}
