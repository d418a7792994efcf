package k8s

import (
	"io/fs"
	"regexp"
	"strings"
)

var envTag = regexp.MustCompile(`env:"(SEMPROC_[A-Z0-9_]+)"`)

// semprocVariables are the variables semproc reads, from the env tags of
// its configuration struct in cmd/semproc: a misspelled name in a manifest
// would be ignored silently, so the checks refuse names not in this set.
func semprocVariables() (map[string]bool, error) {
	files, err := fs.Glob(repo(), "cmd/semproc/*.go")
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := fs.ReadFile(repo(), f)
		if err != nil {
			return nil, err
		}
		for _, m := range envTag.FindAllSubmatch(src, -1) {
			known[string(m[1])] = true
		}
	}
	return known, nil
}
