package embeddings

import (
	"context"
	"fmt"
	"net/http"

	"github.com/semproc/semproc/semantic"
)

// Ollama defaults.
const (
	DefaultOllamaURL   = "http://localhost:11434"
	DefaultOllamaModel = "nomic-embed-text"
)

// Ollama calls POST {URL}/api/embed of an Ollama server.
type Ollama struct {
	*client
	model      string
	dimensions int
}

var (
	_ semantic.Embedder     = (*Ollama)(nil)
	_ semantic.InputLimiter = (*Ollama)(nil)
)

type ollamaRequest struct {
	Model string `json:"model"`
	Input string `json:"input"`
	// Truncate is always false: Ollama would otherwise cut a long input to
	// the model's context in silence, and two long prompts sharing their
	// beginning would then match. An error is honest; MaxInputChars keeps
	// such windows away from the embedder altogether.
	Truncate   bool `json:"truncate"`
	Dimensions int  `json:"dimensions,omitempty"`
}

// NewOllama returns a client for Ollama's embed API. APIKey, when set, is
// sent as a bearer token (Ollama behind an authenticating proxy, or
// ollama.com).
func NewOllama(o Options) (*Ollama, error) {
	if o.URL == "" {
		o.URL = DefaultOllamaURL
	}
	if o.Model == "" {
		o.Model = DefaultOllamaModel
	}
	if o.APIVersion != "" {
		return nil, fmt.Errorf("ollama embeddings: api version is for azure only")
	}
	u, err := baseURL("ollama", o.URL)
	if err != nil {
		return nil, err
	}
	header := http.Header{}
	if key := trimKey(o.APIKey); key != "" {
		header.Set("Authorization", "Bearer "+key)
	}
	c, err := newClient("ollama", u.JoinPath("api", "embed").String(), header, o)
	if err != nil {
		return nil, err
	}
	return &Ollama{client: c, model: o.Model, dimensions: o.Dimensions}, nil
}

// Embed returns text's vector as Ollama sent it.
func (e *Ollama) Embed(ctx context.Context, text string) ([]float32, error) {
	body := ollamaRequest{Model: e.model, Input: text, Dimensions: e.dimensions}
	return e.embed(ctx, text, body, decodeOllama)
}
