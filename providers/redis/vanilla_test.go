package redisstore

// Tests against Debian's redis-server, which has no modules: start-up
// reporting, authentication, and the exact layer of hash storage (plain
// hash commands) through a Redis that stops, freezes and comes back.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/semproc/semproc/semantic"
)

// settled waits until the start-up check has run against the server at
// least once and returns its verdict.
func settled(t *testing.T, s *Store) error {
	t.Helper()
	var err error
	eventually(t, "start-up check", func() error {
		err = s.Ready()
		if err != nil && strings.Contains(err.Error(), "has not run") {
			return err
		}
		return nil
	})
	return err
}

func TestVanillaRedisLacksModules(t *testing.T) {
	srv := startRedis(t)
	tests := []struct {
		storage Storage
		says    string
	}{
		{StorageJSON, "no search module and no ReJSON module; use Redis Stack >= 7.2 or Redis >= 8"},
		{StorageHash, "no search module; use Redis Stack >= 7.2 or Redis >= 8"},
	}
	for _, tt := range tests {
		t.Run(string(tt.storage), func(t *testing.T) {
			s, err := New(context.Background(), Options{URL: srv.url(), Storage: tt.storage, Model: "m", Dimension: 2})
			if err != nil {
				t.Fatalf("New must not fail on a server without modules: %v", err)
			}
			defer s.Close()
			err = settled(t, s)
			if !errors.Is(err, ErrModulesMissing) || !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Ready = %v, want ErrModulesMissing saying %q", err, tt.says)
			}
			ctx := context.Background()
			_, gerr := s.Get(ctx, part, "ee55")
			_, serr := s.Search(ctx, semantic.Query{Partition: part, Vector: []float32{1, 0}, MaxDistance: 0.1})
			perr := s.Put(ctx, fresh(entry([]float32{1, 0})))
			for name, err := range map[string]error{"Get": gerr, "Search": serr, "Put": perr} {
				if !errors.Is(err, ErrModulesMissing) {
					t.Errorf("%s = %v, want an error wrapping ErrModulesMissing", name, err)
				}
			}
		})
	}
}

func TestVanillaACL(t *testing.T) {
	srv := startRedis(t, "--user", "default", "off", "--user", "semproc", "on", ">s3cret", "~*", "&*", "+@all")
	tests := []struct {
		name     string
		url      string
		password string
		authed   bool
	}{
		{"user and password in the URL", "redis://semproc:s3cret@" + srv.addr, "", true},
		{"password option", "redis://semproc@" + srv.addr, "s3cret", true},
		{"password option replaces the URL's", "redis://semproc:wrong@" + srv.addr, "s3cret", true},
		{"wrong password", "redis://semproc:wrong@" + srv.addr, "", false},
		{"default user disabled", "redis://" + srv.addr, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(context.Background(), Options{URL: tt.url, Password: tt.password, Storage: StorageHash, Model: "m", Dimension: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = settled(t, s)
			// Past AUTH, the check reaches MODULE LIST and finds no module.
			if errors.Is(err, ErrModulesMissing) != tt.authed {
				t.Fatalf("Ready = %v; authenticated: want %v", err, tt.authed)
			}
			if !tt.authed && !errors.Is(err, ErrNotReady) {
				t.Errorf("Ready = %v, want ErrNotReady", err)
			}
			if !tt.authed && !strings.Contains(err.Error(), "WRONGPASS") && !strings.Contains(err.Error(), "NOAUTH") {
				t.Errorf("Ready = %v, want the server's refusal", err)
			}
		})
	}
}

func TestVanillaReadinessFollowsTheServer(t *testing.T) {
	srv := startRedis(t)
	srv.stop()
	s, err := New(context.Background(), Options{URL: srv.url(), Storage: StorageHash, Model: "m", Dimension: 2})
	if err != nil {
		t.Fatalf("New must not fail while Redis is down: %v", err)
	}
	defer s.Close()
	if err := settled(t, s); !errors.Is(err, ErrNotReady) || errors.Is(err, ErrModulesMissing) {
		t.Fatalf("Ready with Redis down = %v, want ErrNotReady only", err)
	}
	srv.start()
	// The background check reconnects by itself and now reaches MODULE LIST.
	eventually(t, "check after Redis started", func() error {
		if err := s.Ready(); !errors.Is(err, ErrModulesMissing) {
			return fmt.Errorf("Ready = %v, want ErrModulesMissing", err)
		}
		return nil
	})
}

// exactStore is a hash store on srv made ready by hand: without the search
// module there is no index, but Put and Get use plain hash commands.
func exactStore(t *testing.T, srv *redisServer) *Store {
	t.Helper()
	s, err := newStore(Options{URL: srv.url(), Storage: StorageHash, Model: "m", Dimension: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	s.setState(nil)
	return s
}

func TestVanillaExactLayer(t *testing.T) {
	srv := startRedis(t)
	s := exactStore(t, srv)
	ctx := context.Background()
	e := fresh(entry([]float32{1, 0}))
	if err := s.Put(ctx, e); err != nil {
		t.Fatal(err)
	}
	m, err := s.Get(ctx, part, e.ID)
	if err != nil || m == nil {
		t.Fatalf("Get = %v, %v; want the entry", m, err)
	}
	if m.Key != "semproc:hash:m:2:ee55" || m.Distance != 0 || string(m.Completion) != `{"a":1}` ||
		m.Tokens != 7 || m.InputTokens != 11 || m.Window != "hi" || !m.StoredAt.Equal(e.StoredAt) || m.TTL != time.Hour || m.Partition != part {
		t.Errorf("Get = %+v", m)
	}
	if left := time.Until(m.ExpiresAt); left <= 0 || left > time.Hour {
		t.Errorf("expires in %s, want within the hour", left)
	}
	vec, err := s.client.HGet(ctx, m.Key, "vector").Bytes()
	if err != nil || string(vec) != string(vectorBlob(e.Vector)) {
		t.Errorf("stored vector % x, %v; want FLOAT32 little-endian % x", vec, err, vectorBlob(e.Vector))
	}

	other := part
	other.Scope = "ff66"
	if m, err := s.Get(ctx, other, e.ID); err != nil || m != nil {
		t.Errorf("Get from another scope = %v, %v; want a miss", m, err)
	}
	if m, err := s.Get(ctx, part, "0123"); err != nil || m != nil {
		t.Errorf("Get of a missing key = %v, %v; want a miss", m, err)
	}

	exact := entry(nil)
	exact.ID = "ab"
	exact.StoredAt = time.Now().Add(-time.Hour).Add(time.Millisecond)
	if err := s.Put(ctx, exact); err != nil {
		t.Fatal(err)
	}
	if n, err := s.client.HExists(ctx, "semproc:hash:m:2:ab", "vector").Result(); err != nil || n {
		t.Errorf("an exact-only entry has a vector field (%v, %v)", n, err)
	}
	eventually(t, "entry expiry", func() error {
		if m, err := s.Get(ctx, part, "ab"); err != nil || m != nil {
			return fmt.Errorf("Get = %v, %v; want a miss once expired", m, err)
		}
		return nil
	})
}

func TestVanillaJSONPutFailsLoudly(t *testing.T) {
	srv := startRedis(t)
	s, err := newStore(Options{URL: srv.url(), Model: "m", Dimension: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.setState(nil)
	if err := s.Put(context.Background(), fresh(entry([]float32{1, 0}))); err == nil {
		t.Fatal("Put of a JSON document succeeded on a server without JSON")
	}
	if n, err := s.client.Exists(context.Background(), "semproc:json:m:2:ee55").Result(); err != nil || n != 0 {
		t.Errorf("the aborted transaction left %d keys (%v)", n, err)
	}
}

func TestVanillaRedisStopsAndComesBack(t *testing.T) {
	srv := startRedis(t)
	s := exactStore(t, srv)
	ctx := context.Background()
	if _, err := s.Get(ctx, part, "ee55"); err != nil {
		t.Fatalf("Get with Redis up: %v", err)
	}

	srv.stop()
	start := time.Now()
	if _, err := s.Get(ctx, part, "ee55"); err == nil {
		t.Fatal("Get succeeded with Redis stopped")
	}
	t.Logf("Get with Redis stopped failed after %s", time.Since(start))
	if err := s.Ready(); err == nil {
		t.Error("Ready = nil after a failed call")
	}

	srv.start()
	eventually(t, "reconnect after restart", func() error {
		_, err := s.Get(ctx, part, "ee55")
		return err
	})
	if err := s.Ready(); err != nil {
		t.Errorf("Ready = %v after a successful call", err)
	}
	if err := s.Put(ctx, fresh(entry([]float32{1, 0}))); err != nil {
		t.Errorf("Put after restart: %v", err)
	}
}

func TestVanillaFrozenRedisIsBoundedByTheTimeout(t *testing.T) {
	srv := startRedis(t)
	s := exactStore(t, srv)
	ctx := context.Background()
	if _, err := s.Get(ctx, part, "ee55"); err != nil {
		t.Fatalf("Get with Redis up: %v", err)
	}
	srv.signal(syscall.SIGSTOP)
	defer srv.signal(syscall.SIGCONT)
	start := time.Now()
	_, err := s.Get(ctx, part, "ee55")
	t.Logf("Get with Redis frozen failed after %s: %v", time.Since(start), err)
	if !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
		t.Fatalf("Get = %v, want the per-call timeout", err)
	}
	perr := s.Put(ctx, fresh(entry([]float32{1, 0})))
	if !errors.Is(perr, context.DeadlineExceeded) && !isTimeout(perr) {
		t.Fatalf("Put = %v, want the per-call timeout", perr)
	}
}

// fresh stamps an entry as stored now (to the millisecond the store keeps).
func fresh(e semantic.Entry) semantic.Entry {
	e.StoredAt = time.Now().Truncate(time.Millisecond)
	return e
}

// isTimeout matches a socket deadline, which go-redis reports as a net
// timeout rather than the context's error.
func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
