package k8s

import (
	"io/fs"
	"regexp"
	"strings"
)

var envTag = regexp.MustCompile(`env:"(SEMPROC_[A-Z0-9_]+)"(?: envDefault:"([^"]*)")?`)

// semprocVariables are the variables semproc reads, with their defaults,
// from the env tags of its configuration struct in cmd/semproc: a
// misspelled name in a manifest would be ignored silently, so the checks
// refuse names not in this set.
func semprocVariables() (map[string]string, error) {
	files, err := fs.Glob(repo(), "cmd/semproc/*.go")
	if err != nil {
		return nil, err
	}
	known := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := fs.ReadFile(repo(), f)
		if err != nil {
			return nil, err
		}
		for _, m := range envTag.FindAllSubmatch(src, -1) {
			known[string(m[1])] = string(m[2])
		}
	}
	return known, nil
}
