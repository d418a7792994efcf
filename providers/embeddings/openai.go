package embeddings

import (
	"context"
	"fmt"
	"net/http"

	"github.com/semproc/semproc/semantic"
)

// OpenAI defaults.
const (
	DefaultOpenAIURL   = "https://api.openai.com/v1"
	DefaultOpenAIModel = "text-embedding-3-small"
)

// OpenAI calls POST {URL}/embeddings of the OpenAI API or of any server
// that speaks it (vLLM, LiteLLM, LocalAI, Ollama's /v1, …).
type OpenAI struct {
	*client
	model      string
	dimensions int
}

var (
	_ semantic.Embedder     = (*OpenAI)(nil)
	_ semantic.InputLimiter = (*OpenAI)(nil)
)

// openAIRequest is the body of an embeddings request, OpenAI's and Azure's.
type openAIRequest struct {
	// Model is left out for Azure, where the deployment is the model.
	Model string `json:"model,omitempty"`
	Input string `json:"input"`
	// EncodingFormat is asked for explicitly: the official SDKs default to
	// base64, and a compatible server might too.
	EncodingFormat string `json:"encoding_format"`
	Dimensions     int    `json:"dimensions,omitempty"`
}

// NewOpenAI returns a client for the OpenAI embeddings API. An empty APIKey
// sends no Authorization header, for local compatible servers.
func NewOpenAI(o Options) (*OpenAI, error) {
	if o.URL == "" {
		o.URL = DefaultOpenAIURL
	}
	if o.Model == "" {
		o.Model = DefaultOpenAIModel
	}
	if o.APIVersion != "" {
		return nil, fmt.Errorf("openai embeddings: api version is for azure only")
	}
	u, err := baseURL("openai", o.URL)
	if err != nil {
		return nil, err
	}
	header := http.Header{}
	if key := trimKey(o.APIKey); key != "" {
		header.Set("Authorization", "Bearer "+key)
	}
	c, err := newClient("openai", u.JoinPath("embeddings").String(), header, o)
	if err != nil {
		return nil, err
	}
	return &OpenAI{client: c, model: o.Model, dimensions: o.Dimensions}, nil
}

// Embed returns text's vector as the server sent it.
func (e *OpenAI) Embed(ctx context.Context, text string) ([]float32, error) {
	body := openAIRequest{Model: e.model, Input: text, EncodingFormat: "float", Dimensions: e.dimensions}
	return e.embed(ctx, text, body, decodeOpenAI)
}
