// Package embeddings holds semproc's HTTP embeddings clients: OpenAI (and
// any server that speaks its embeddings API), Azure OpenAI and Ollama. Each
// turns one text into one vector and returns it exactly as the provider sent
// it: normalising is the consumer's business.
package embeddings

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/semproc/semproc/semantic"
)

// DefaultMaxConns is the keep-alive pool of a client when Options.MaxConns
// is zero: Go's default keeps 2 idle connections per host, so 64 calls at
// once would leave 62 connections to close (TIME_WAIT) and reopen.
const DefaultMaxConns = 64

// newTransport is one client's own transport: Go's defaults (proxy from
// the environment, HTTP/2, dial and TLS timeouts) with the idle pool sized
// for concurrent calls to one host.
func newTransport(maxConns int) *http.Transport {
	if maxConns == 0 {
		maxConns = DefaultMaxConns
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = maxConns
	t.MaxIdleConnsPerHost = maxConns
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// DefaultTimeout bounds a call when Options.Timeout is zero
// (SEMPROC_EMBEDDINGS_TIMEOUT's default).
const DefaultTimeout = 2 * time.Second

// maxResponseBytes caps what is read of a response: a 3,072-dimension vector
// is about 70 KB of JSON, so anything near this is not an embedding.
const maxResponseBytes = 8 << 20

// ErrEmptyInput is returned for a text with nothing but white space in it:
// providers reject it or answer with a meaningless vector.
var ErrEmptyInput = errors.New("empty input")

// Options configure a client. Zero values take the provider's defaults.
type Options struct {
	// URL is the base URL. openai: requests go to {URL}/embeddings. azure:
	// the deployment URL,
	// https://{resource}.openai.azure.com/openai/deployments/{deployment}.
	// ollama: the server's root.
	URL string
	// Model is sent in the body (openai, ollama). Azure takes the model from
	// the deployment in the URL and ignores it.
	Model  string
	APIKey string
	// APIVersion is Azure's api-version query parameter.
	APIVersion string
	// Dimensions, when set, is sent to the provider and every vector must
	// have it. When zero, the first vector's size is learnt and later ones
	// must match it.
	Dimensions int
	// Timeout bounds each call, connection and body included.
	Timeout time.Duration
	// HTTPClient defaults to a client of its own with a keep-alive pool of
	// MaxConns connections (see newTransport).
	HTTPClient *http.Client
	// MaxConns sizes the default client's pool of idle connections: as many
	// as calls run at once, so a busy proxy does not open (and TLS-handshake)
	// a connection per call. DefaultMaxConns when zero.
	MaxConns int
	// MaxInputChars, when set, is the longest text (in characters) the
	// model reads whole. Longer windows are then served by the cache's exact
	// layer only, since the provider would truncate or refuse them.
	MaxInputChars int
}

// StatusError is a non-2xx answer from the provider. Its Error text holds
// only what semproc can vouch for: the status and the provider's error code.
type StatusError struct {
	Provider   string
	StatusCode int
	// Code is the provider's machine-readable error code or type
	// ("rate_limit_exceeded"), when it sent one.
	Code string
	// Message is the provider's error message, or a short excerpt of the
	// body when it has none; the API key is never in it. It is left out of
	// Error: providers echo their input in errors, and the input is a
	// prompt, which must not reach logs or /readyz.
	Message string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s embeddings: HTTP %d %s", e.Provider, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	return s
}

// client is the HTTP plumbing the three providers share: one JSON POST per
// text, bounded by a timeout, with errors that are safe to log.
type client struct {
	provider string
	endpoint string
	header   http.Header
	secret   string
	http     *http.Client
	timeout  time.Duration
	maxChars int
	dims     atomic.Int64
}

func newClient(provider, endpoint string, header http.Header, o Options) (*client, error) {
	var errs []error
	if o.Dimensions < 0 {
		errs = append(errs, fmt.Errorf("dimensions must not be negative, got %d", o.Dimensions))
	}
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout must not be negative, got %s", o.Timeout))
	}
	if o.MaxConns < 0 {
		errs = append(errs, fmt.Errorf("max conns must not be negative, got %d", o.MaxConns))
	}
	if o.MaxInputChars < 0 {
		errs = append(errs, fmt.Errorf("max input chars must not be negative, got %d", o.MaxInputChars))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%s embeddings: %w", provider, err)
	}
	c := &client{
		provider: provider,
		endpoint: endpoint,
		header:   header,
		secret:   trimKey(o.APIKey),
		http:     o.HTTPClient,
		timeout:  o.Timeout,
		maxChars: o.MaxInputChars,
	}
	if c.http == nil {
		c.http = &http.Client{Transport: newTransport(o.MaxConns)}
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	c.dims.Store(int64(o.Dimensions))
	return c, nil
}

// Dimensions is the configured size of the vectors, else 0: an unset size
// is learnt by semantic.Dimensions, from healthy answers only, and followed
// when the provider changes it for good.
func (c *client) Dimensions() int { return int(c.dims.Load()) }

// Fits implements semantic.InputLimiter.
func (c *client) Fits(text string) bool {
	return c.maxChars == 0 || utf8.RuneCountInString(text) <= c.maxChars
}

// embed posts body and decodes the answer with decode.
func (c *client) embed(ctx context.Context, text string, body any, decode func([]byte) ([]float32, error)) ([]float32, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("%s embeddings: %w", c.provider, ErrEmptyInput)
	}
	data, err := c.post(ctx, body)
	if err != nil {
		return nil, err
	}
	vec, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s embeddings: %w", c.provider, c.redactErr(err))
	}
	if err := c.accept(len(vec)); err != nil {
		return nil, err
	}
	return vec, nil
}

func (c *client) post(ctx context.Context, body any) ([]byte, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("%s embeddings: encode request: %w", c.provider, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("%s embeddings: %w", c.provider, err)
	}
	req.Header = c.header.Clone()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportErr(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// A failed read still leaves the status, which says the most.
		return nil, &StatusError{Provider: c.provider, StatusCode: resp.StatusCode, Code: errorCode(data), Message: c.redact(errorMessage(data))}
	}
	if err != nil {
		return nil, c.transportErr(ctx, err)
	}
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("%s embeddings: response larger than %d bytes", c.provider, maxResponseBytes)
	}
	return data, nil
}

// transportErr says plainly when the call ran out of time, and keeps the
// cause (context.DeadlineExceeded, a dial error…) for errors.Is.
func (c *client) transportErr(ctx context.Context, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		// The URL is configuration, not news; the cause is what matters.
		err = uerr.Err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s embeddings: no answer within %s: %w", c.provider, c.timeout, err)
	}
	return fmt.Errorf("%s embeddings: %w", c.provider, err)
}

// accept checks a vector's size against the configured one.
func (c *client) accept(n int) error {
	if want := c.dims.Load(); want != 0 && int64(n) != want {
		return fmt.Errorf("%s embeddings: got %d dimensions, want %d: %w", c.provider, n, want, semantic.ErrDimension)
	}
	return nil
}

// redact removes the API key from text that came from the server: an
// OpenAI-compatible server may echo it in an error.
func (c *client) redact(s string) string {
	if c.secret == "" {
		return s
	}
	return strings.ReplaceAll(s, c.secret, "[redacted]")
}

func (c *client) redactErr(err error) error {
	if c.secret == "" || !strings.Contains(err.Error(), c.secret) {
		return err
	}
	return errors.New(c.redact(err.Error()))
}

// baseURL parses a configured URL: absolute, http or https.
func baseURL(provider, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("%s embeddings: url: %w", provider, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s embeddings: url %q: want an absolute http or https URL", provider, u.Redacted())
	}
	return u, nil
}

// trimKey drops the newline a key file usually ends with.
func trimKey(k string) string { return strings.TrimSpace(k) }
