package redisstore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewRejectsInvalidOptions(t *testing.T) {
	base := func(mod func(*Options)) Options {
		o := Options{URL: "redis://127.0.0.1:6379", Model: "m", Dimension: 4}
		mod(&o)
		return o
	}
	missingCA := filepath.Join(t.TempDir(), "none.pem")
	notPEM := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"database 1", base(func(o *Options) { o.URL = "redis://127.0.0.1:6379/1" }), "names database 1"},
		{"database 2 over TLS", base(func(o *Options) { o.URL = "rediss://u:p@h:6380/2" }), "names database 2"},
		{"no URL", base(func(o *Options) { o.URL = "" }), "URL is required"},
		{"bad scheme", base(func(o *Options) { o.URL = "http://h:6379" }), "URL"},
		{"storage", base(func(o *Options) { o.Storage = "xml" }), `storage "xml"`},
		{"query", base(func(o *Options) { o.Query = "hnsw" }), `query "hnsw"`},
		{"no model", base(func(o *Options) { o.Model = "" }), "model is required"},
		{"no dimension", base(func(o *Options) { o.Dimension = 0 }), "dimension 0"},
		{"negative timeout", base(func(o *Options) { o.Timeout = -1 }), "timeouts must not be negative"},
		{"negative pool", base(func(o *Options) { o.PoolSize = -1 }), "pool size -1"},
		{"sentinel and cluster", base(func(o *Options) { o.SentinelMaster, o.Cluster = "m", true }), "exclude each other"},
		{"negative bound per scope", base(func(o *Options) { o.MaxEntriesPerScope = -1 }), "max entries per scope -1"},
		{"bound per scope on a cluster", base(func(o *Options) { o.MaxEntriesPerScope, o.Cluster = 10, true }), "needs a single primary"},
		{"addresses without mode", base(func(o *Options) { o.Addrs = []string{"h2:6379"} }), "need a sentinel master or cluster"},
		{"CA without TLS", base(func(o *Options) { o.TLSCAFile = notPEM }), "needs a rediss:// URL"},
		{"CA file missing", base(func(o *Options) { o.URL, o.TLSCAFile = "rediss://h:6380", missingCA }), "TLS CA file"},
		{"CA file not PEM", base(func(o *Options) { o.URL, o.TLSCAFile = "rediss://h:6380", notPEM }), "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(context.Background(), tt.opts)
			if err == nil {
				_ = s.Close()
				t.Fatal("New accepted invalid options")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestClientOptions(t *testing.T) {
	tests := []struct {
		name         string
		opts         Options
		user, pass   string
		tls          bool
		addrs        int
		sentinelName string
	}{
		{"plain", Options{URL: "redis://h:6379"}, "", "", false, 1, ""},
		{"explicit database 0", Options{URL: "redis://h:6379/0"}, "", "", false, 1, ""},
		{"ACL user in URL", Options{URL: "redis://semproc:s3cret@h:6379"}, "semproc", "s3cret", false, 1, ""},
		{"password option wins", Options{URL: "redis://semproc:old@h:6379", Password: "new"}, "semproc", "new", false, 1, ""},
		{"TLS", Options{URL: "rediss://h:6380"}, "", "", true, 1, ""},
		{"sentinel", Options{URL: "redis://s1:26379", SentinelMaster: "mymaster", Addrs: []string{"s2:26379"}}, "", "", false, 2, "mymaster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			co, err := tt.opts.clientOptions()
			if err != nil {
				t.Fatal(err)
			}
			if co.Protocol != 2 || !co.ContextTimeoutEnabled || co.DB != 0 {
				t.Errorf("protocol %d, context timeouts %v, db %d: want RESP2, true, 0", co.Protocol, co.ContextTimeoutEnabled, co.DB)
			}
			if co.Username != tt.user || co.Password != tt.pass {
				t.Errorf("credentials %q/%q, want %q/%q", co.Username, co.Password, tt.user, tt.pass)
			}
			if (co.TLSConfig != nil) != tt.tls {
				t.Errorf("TLS %v, want %v", co.TLSConfig != nil, tt.tls)
			}
			if len(co.Addrs) != tt.addrs || co.MasterName != tt.sentinelName {
				t.Errorf("addrs %v master %q, want %d addrs master %q", co.Addrs, co.MasterName, tt.addrs, tt.sentinelName)
			}
		})
	}
}

func TestValidateRedactsURLAndNeedsNoDimension(t *testing.T) {
	err := Options{URL: "redis://user:s3cr%t@host:6379/0", Model: "m"}.Validate()
	if err == nil || strings.Contains(err.Error(), "s3cr") {
		t.Errorf("a bad URL: %v (must fail without quoting the password)", err)
	}
	if err := (Options{URL: "redis://host:6379/2", Model: "m"}).Validate(); err == nil {
		t.Error("a database other than 0 must be refused")
	}
	if err := (Options{URL: "redis://host:6379", Model: "m"}).Validate(); err != nil {
		t.Errorf("valid options without a dimension: %v", err)
	}
}
