package extproc

import (
	"net/url"
	"slices"
	"strings"

	"github.com/semproc/semproc/semantic"
)

// endpoint is what a request path is, per SPEC §2.
type endpoint struct {
	format semantic.Format
	// model is the model named by the path (the Azure deployment); it wins
	// over the body's.
	model string
	// routable is false where the model lives in the path (Azure), or the
	// API has no routing (legacy completions).
	routable bool
	// operation is the GenAI operation name: chat or text_completion.
	operation string
}

// Formats are the wire formats semproc handles; a nil one is not handled.
type Formats struct {
	Chat        semantic.Format // OpenAI chat completions, also Azure OpenAI's
	Completions semantic.Format // OpenAI legacy completions
	Messages    semantic.Format // Anthropic Messages
}

// APIs are the names of the formats handled, each once.
func (f Formats) APIs() []string {
	var out []string
	for _, format := range []semantic.Format{f.Chat, f.Completions, f.Messages} {
		if format != nil && !slices.Contains(out, format.API()) {
			out = append(out, format.API())
		}
	}
	return out
}

// classify maps a request to its endpoint, or reports that semproc does not
// handle it (pass-through).
func (f Formats) classify(method, rawPath string) (endpoint, bool) {
	if method != "POST" {
		return endpoint{}, false
	}
	path := rawPath
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	path = strings.TrimSuffix(path, "/")
	switch {
	case strings.HasSuffix(path, "/chat/completions") && f.Chat != nil:
		if dep, ok := azureDeployment(path); ok {
			return endpoint{format: f.Chat, model: dep, operation: opChat}, true
		}
		return endpoint{format: f.Chat, routable: true, operation: opChat}, true
	case strings.HasSuffix(path, "/v1/messages") && f.Messages != nil:
		return endpoint{format: f.Messages, routable: true, operation: opChat}, true
	case strings.HasSuffix(path, "/completions") && f.Completions != nil:
		if dep, ok := azureDeployment(path); ok {
			return endpoint{format: f.Completions, model: dep, operation: opTextCompletion}, true
		}
		return endpoint{format: f.Completions, operation: opTextCompletion}, true
	}
	return endpoint{}, false
}

// azureDeployment finds {deployment} in …/openai/deployments/{deployment}/….
func azureDeployment(path string) (string, bool) {
	const marker = "/openai/deployments/"
	i := strings.Index(path, marker)
	if i < 0 {
		return "", false
	}
	dep, _, _ := strings.Cut(path[i+len(marker):], "/")
	dep, err := url.PathUnescape(dep)
	if err != nil || dep == "" {
		return "", false
	}
	return dep, true
}
