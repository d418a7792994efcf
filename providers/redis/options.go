package redisstore

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
)

// Storage is how an entry is kept in Redis.
type Storage string

// Storage values.
const (
	// StorageJSON keeps each entry as a RedisJSON document (needs the JSON
	// module besides the search one).
	StorageJSON Storage = "json"
	// StorageHash keeps each entry as a hash, for engines with search but no
	// JSON (GCP Memorystore, Valkey without valkey-json).
	StorageHash Storage = "hash"
)

// QueryMode is how the nearest entry is searched.
type QueryMode string

// QueryMode values.
const (
	// QueryRange uses VECTOR_RANGE, so the server applies the threshold.
	QueryRange QueryMode = "range"
	// QueryKNN uses KNN 1 and applies the threshold here, for engines without
	// VECTOR_RANGE (valkey-search, ElastiCache, MemoryDB, older Dragonfly).
	QueryKNN QueryMode = "knn"
)

// DefaultTimeout bounds each call when Options.Timeout is zero: a slow Redis
// must cost a request a quarter of a second, never stall Envoy.
const DefaultTimeout = 250 * time.Millisecond

// Options configures a Store. Only URL, Model and Dimension are required.
type Options struct {
	// URL is redis://[user[:password]@]host:port[/0] or rediss://… for TLS.
	// It names database 0 or none: RediSearch indexes only database 0.
	URL string
	// Password, when set, replaces the URL's password (the caller reads it
	// from a file so that it stays out of the URL).
	Password string
	// TLSCAFile is a PEM bundle that verifies the server's certificate,
	// for rediss:// URLs; without it the system roots are used.
	TLSCAFile string
	// SentinelMaster, when set, makes the URL's host and Addrs Sentinel
	// servers that name this master.
	SentinelMaster string
	// SentinelPassword authenticates to the Sentinels when they have their
	// own password (the URL's credentials go to the master).
	SentinelPassword string
	// Cluster makes the URL's host and Addrs the seeds of a Redis Cluster.
	// Open-source Cluster does not distribute FT.SEARCH: use it only with a
	// product that does.
	Cluster bool
	// Addrs are more Sentinel or Cluster seed addresses (host:port).
	Addrs []string

	// Storage is json (default) or hash.
	Storage Storage
	// Query is range (default) or knn.
	Query QueryMode
	// Model is the embeddings model; its slug names the namespace, so
	// vectors of two models never meet in one index.
	Model string
	// Dimension is the embeddings' vector size.
	Dimension int

	// MaxEntriesPerScope, when positive, bounds the entries one tenant
	// (partition Scope) keeps in the namespace: a write past it deletes the
	// tenant's own oldest entries, never another's (SPEC §10). Its
	// bookkeeping runs as a script over keys of several slots, so it does
	// not go with Cluster.
	MaxEntriesPerScope int

	// Timeout bounds every call (DefaultTimeout when zero).
	Timeout time.Duration
	// PoolSize is the connection pool size (go-redis default when zero).
	PoolSize int
	// DialTimeout, ReadTimeout and WriteTimeout are socket timeouts (go-redis
	// defaults when zero); Timeout bounds each call regardless.
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration

	// Logger receives index re-creations and readiness changes; nil
	// discards them.
	Logger *slog.Logger
}

// withDefaults returns the options with defaults filled in, or every
// configuration problem at once.
func (o Options) withDefaults() (Options, error) {
	if o.Storage == "" {
		o.Storage = StorageJSON
	}
	if o.Query == "" {
		o.Query = QueryRange
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if o.URL == "" {
		errs = append(errs, errors.New("URL is required"))
	}
	if o.Storage != StorageJSON && o.Storage != StorageHash {
		errs = append(errs, fmt.Errorf("storage %q: want json or hash", o.Storage))
	}
	if o.Query != QueryRange && o.Query != QueryKNN {
		errs = append(errs, fmt.Errorf("query %q: want range or knn", o.Query))
	}
	if o.Model == "" {
		errs = append(errs, errors.New("model is required: it names the namespace"))
	}
	if o.Dimension <= 0 {
		errs = append(errs, fmt.Errorf("dimension %d: want a positive number", o.Dimension))
	}
	if o.Timeout < 0 || o.DialTimeout < 0 || o.ReadTimeout < 0 || o.WriteTimeout < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	if o.PoolSize < 0 {
		errs = append(errs, fmt.Errorf("pool size %d: must not be negative", o.PoolSize))
	}
	if o.MaxEntriesPerScope < 0 {
		errs = append(errs, fmt.Errorf("max entries per scope %d: must not be negative", o.MaxEntriesPerScope))
	}
	if o.MaxEntriesPerScope > 0 && o.Cluster {
		errs = append(errs, errors.New("a bound on entries per scope needs a single primary, not cluster mode"))
	}
	if o.SentinelMaster != "" && o.Cluster {
		errs = append(errs, errors.New("sentinel master and cluster exclude each other"))
	}
	if len(o.Addrs) > 0 && o.SentinelMaster == "" && !o.Cluster {
		errs = append(errs, errors.New("more addresses need a sentinel master or cluster mode"))
	}
	return o, errors.Join(errs...)
}

// Validate reports every problem of the options that does not depend on
// the embeddings dimension, without connecting: a caller that learns the
// dimension later can still stop on bad configuration at start-up.
func (o Options) Validate() error {
	if o.Dimension == 0 {
		o.Dimension = 1
	}
	o, err := o.withDefaults()
	if o.URL != "" {
		_, cerr := o.clientOptions()
		err = errors.Join(err, cerr)
	}
	return err
}

// clientOptions turns the options into go-redis's. It reads the CA file, so
// a missing file is reported at start-up with the other configuration
// errors.
func (o Options) clientOptions() (*redis.UniversalOptions, error) {
	u, err := redis.ParseURL(o.URL)
	if err != nil {
		// net/url's errors quote the whole URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("URL does not parse: %w", ue.Err)
		}
		return nil, fmt.Errorf("URL: %w", err)
	}
	if u.DB != 0 {
		return nil, fmt.Errorf("URL names database %d: search indexes live in database 0 only", u.DB)
	}
	if o.Password != "" {
		u.Password = o.Password
	}
	if o.TLSCAFile != "" {
		if u.TLSConfig == nil {
			return nil, errors.New("a TLS CA file needs a rediss:// URL")
		}
		pem, err := os.ReadFile(o.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS CA file %s: no PEM certificate", o.TLSCAFile)
		}
		u.TLSConfig.RootCAs = pool
	}
	if u.TLSConfig != nil && u.TLSConfig.MinVersion == 0 {
		u.TLSConfig.MinVersion = tls.VersionTLS12
	}
	return &redis.UniversalOptions{
		Addrs:            append([]string{u.Addr}, o.Addrs...),
		MasterName:       o.SentinelMaster,
		SentinelPassword: o.SentinelPassword,
		IsClusterMode:    o.Cluster,
		Username:         u.Username,
		Password:         u.Password,
		// RESP3 FT.SEARCH replies are empty or malformed on several server
		// versions; RESP2's flat arrays are the documented format.
		Protocol:     2,
		TLSConfig:    u.TLSConfig,
		PoolSize:     o.PoolSize,
		DialTimeout:  o.DialTimeout,
		ReadTimeout:  o.ReadTimeout,
		WriteTimeout: o.WriteTimeout,
		// One dial per attempt and one retry per command (for a pooled
		// connection the server closed): a refused connection fails the call
		// at once instead of spending its timeout on go-redis's retries.
		DialerRetries: 1,
		MaxRetries:    1,
		// Socket deadlines follow the call's context, so Options.Timeout
		// bounds a call even while Redis does not answer.
		ContextTimeoutEnabled: true,
		// CLIENT SETINFO is unknown to older servers and some managed ones.
		DisableIdentity: true,
	}, nil
}
