package embeddings

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/semproc/semproc/semantic"
)

// DefaultAzureAPIVersion is the latest GA release of the Azure OpenAI data
// plane inference API with a dated version; it accepts dimensions and
// encoding_format on embeddings.
const DefaultAzureAPIVersion = "2024-10-21"

// Azure calls POST {deployment URL}/embeddings?api-version=… of Azure
// OpenAI, authenticated with the api-key header.
type Azure struct {
	*client
	dimensions int
}

var (
	_ semantic.Embedder     = (*Azure)(nil)
	_ semantic.InputLimiter = (*Azure)(nil)
)

// NewAzure returns a client for an Azure OpenAI embeddings deployment. URL
// and APIKey are required; an api-version already in the URL is kept unless
// APIVersion is set.
func NewAzure(o Options) (*Azure, error) {
	var errs []error
	if strings.TrimSpace(o.URL) == "" {
		errs = append(errs, errors.New("url is required: https://{resource}.openai.azure.com/openai/deployments/{deployment}"))
	}
	if trimKey(o.APIKey) == "" {
		errs = append(errs, errors.New("api key is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("azure embeddings: %w", err)
	}
	u, err := baseURL("azure", o.URL)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(u.Path, "/deployments/") {
		// The resource URL alone would give 404s at run time.
		return nil, fmt.Errorf("azure embeddings: url %q names no deployment: want https://{resource}.openai.azure.com/openai/deployments/{deployment}", u.Redacted())
	}
	u = u.JoinPath("embeddings")
	q := u.Query()
	switch {
	case o.APIVersion != "":
		q.Set("api-version", o.APIVersion)
	case q.Get("api-version") == "":
		q.Set("api-version", DefaultAzureAPIVersion)
	}
	u.RawQuery = q.Encode()
	header := http.Header{}
	header.Set("api-key", trimKey(o.APIKey))
	c, err := newClient("azure", u.String(), header, o)
	if err != nil {
		return nil, err
	}
	return &Azure{client: c, dimensions: o.Dimensions}, nil
}

// Embed returns text's vector as Azure sent it.
func (e *Azure) Embed(ctx context.Context, text string) ([]float32, error) {
	body := openAIRequest{Input: text, EncodingFormat: "float", Dimensions: e.dimensions}
	return e.embed(ctx, text, body, decodeOpenAI)
}
