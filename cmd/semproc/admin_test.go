package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/redis/go-redis/v9"

	"github.com/semproc/semproc/semantic"
)

const adminToken = "test-admin-token"

// adminCall sends one cache administration request with the token given
// ("" for none) and returns the status and body.
func (e *e2e) adminCall(t *testing.T, method, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+e.admin+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestE2EAdminDeletesAWrongAnswer runs on the in-process store, and on
// Redis when SEMPROC_TEST_REDIS_URL names one with the Query Engine (in a
// namespace of its own).
func TestE2EAdminDeletesAWrongAnswer(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		testAdminDeletes(t, map[string]string{}, "memory:text-embedding-3-small:64")
	})
	t.Run("redis", func(t *testing.T) {
		u := os.Getenv("SEMPROC_TEST_REDIS_URL")
		if u == "" {
			t.Skip("SEMPROC_TEST_REDIS_URL is not set: needs Redis Stack >= 7.2 or Redis >= 8")
		}
		model := fmt.Sprintf("admin-e2e-%d", time.Now().UnixNano())
		o, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			rc := redis.NewClient(o)
			_ = rc.Do(context.Background(), "FT.DROPINDEX", "idx:semproc:json:"+model+":64", "DD").Err()
			_ = rc.Close()
		})
		testAdminDeletes(t, map[string]string{"SEMPROC_VECTORDB": "redis", "SEMPROC_REDIS_URL": u, "SEMPROC_EMBEDDINGS_MODEL": model}, "json:"+model+":64")
	})
}

// storeOne asks prompt twice, a Miss then a Hit, and returns the entry's key.
func storeOne(t *testing.T, e *e2e, c openai.Client, prompt openai.ChatCompletionNewParams) string {
	t.Helper()
	ask(t, c, prompt)
	e.waitStored(t, 1)
	_, h := ask(t, c, prompt)
	key := h.Get("X-Cache-Key")
	if h.Get("X-Cache-Status") != "Hit" || key == "" {
		t.Fatalf("repeat: status %q key %q, want a Hit", h.Get("X-Cache-Status"), key)
	}
	return key
}

func testAdminDeletes(t *testing.T, env map[string]string, namespace string) {
	env["SEMPROC_ADMIN_TOKEN"] = adminToken
	e := startE2E(t, env)
	c := e.client("sk-tenant-a")
	prompt := userPrompt("gpt-4o-mini", "", "What is the capital of France?")
	key := storeOne(t, e, c, prompt)

	if code, _ := e.adminCall(t, http.MethodDelete, "/cache/"+url.PathEscape(key), adminToken); code != http.StatusNoContent {
		t.Fatalf("DELETE the entry: %d, want 204", code)
	}
	if code, _ := e.adminCall(t, http.MethodDelete, "/cache/"+url.PathEscape(key), adminToken); code != http.StatusNotFound {
		t.Errorf("DELETE it again: %d, want 404", code)
	}
	if _, h := ask(t, c, prompt); h.Get("X-Cache-Status") != "Miss" || e.upstream.Calls.Load() != 2 {
		t.Fatalf("after the delete: %q with %d upstream calls, want a Miss that goes upstream", h.Get("X-Cache-Status"), e.upstream.Calls.Load())
	}
	e.waitStored(t, 2)
	ask(t, c, userPrompt("gpt-4o", "", "How do volcanoes erupt?"))
	e.waitStored(t, 3)

	code, body := e.adminCall(t, http.MethodGet, "/cache/stats", adminToken)
	var st semantic.Stats
	if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil {
		t.Fatalf("stats: %d %q (%v)", code, body, err)
	}
	models := map[string]int{}
	for _, m := range st.Models {
		models[m.Model] = m.Entries
	}
	if st.Namespace != namespace || st.Entries != 2 || st.Bytes <= 0 ||
		models[semantic.ModelTag("gpt-4o-mini")] != 1 || models[semantic.ModelTag("gpt-4o")] != 1 {
		t.Errorf("stats = %s", body)
	}

	for _, tt := range []struct {
		query string
		code  int
		body  string
	}{
		{"", http.StatusBadRequest, "exactly one of"},
		{"?model=gpt-4o&all=true", http.StatusBadRequest, "exactly one of"},
		{"?all=yes", http.StatusBadRequest, "exactly one of"},
		{"?model_hash=zz", http.StatusBadRequest, "64 hex digits"},
		{"?model=gpt-4o-mini", http.StatusOK, `{"deleted":1}`},
		{"?model=gpt-4o-mini", http.StatusOK, `{"deleted":0}`},
		{"?model_hash=" + strings.ToUpper(semantic.ModelTag("gpt-4o")), http.StatusOK, `{"deleted":1}`},
		{"?all=true", http.StatusOK, `{"deleted":0}`},
	} {
		if code, body := e.adminCall(t, http.MethodDelete, "/cache"+tt.query, adminToken); code != tt.code || !strings.Contains(body, tt.body) {
			t.Errorf("DELETE /cache%s: %d %q, want %d %q", tt.query, code, body, tt.code, tt.body)
		}
	}
	if _, h := ask(t, c, prompt); h.Get("X-Cache-Status") != "Miss" {
		t.Errorf("after the purge: %q, want Miss", h.Get("X-Cache-Status"))
	}
}

func TestE2EAdminNeedsItsToken(t *testing.T) {
	calls := []struct{ method, path string }{
		{http.MethodDelete, "/cache/semproc:memory:text-embedding-3-small:64:ab"},
		{http.MethodDelete, "/cache?all=true"},
		{http.MethodGet, "/cache/stats"},
	}
	t.Run("token set", func(t *testing.T) {
		e := startE2E(t, map[string]string{"SEMPROC_ADMIN_TOKEN": adminToken})
		for _, c := range calls {
			for _, token := range []string{"", "wrong", adminToken + "x", adminToken[:4]} {
				if code, _ := e.adminCall(t, c.method, c.path, token); code != http.StatusUnauthorized {
					t.Errorf("%s %s with token %q: %d, want 401", c.method, c.path, token, code)
				}
			}
		}
		// Basic or a bare token is not a bearer token.
		req, _ := http.NewRequest(http.MethodGet, "http://"+e.admin+"/cache/stats", nil)
		req.Header.Set("Authorization", adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("bare token: %d, want 401", resp.StatusCode)
		}
	})
	t.Run("no token", func(t *testing.T) {
		e := startE2E(t, nil)
		for _, c := range calls {
			if code, _ := e.adminCall(t, c.method, c.path, adminToken); code != http.StatusNotFound {
				t.Errorf("%s %s with no token configured: %d, want 404", c.method, c.path, code)
			}
		}
	})
}

func TestCacheCommand(t *testing.T) {
	e := startE2E(t, map[string]string{"SEMPROC_ADMIN_TOKEN": adminToken})
	c := e.client("sk-tenant-a")
	prompt := userPrompt("gpt-4o-mini", "", "What is the capital of France?")
	key := storeOne(t, e, c, prompt)

	cli := func(token string, args ...string) (string, error) {
		var out strings.Builder
		env := map[string]string{"SEMPROC_ADMIN_ADDR": e.admin, "SEMPROC_ADMIN_TOKEN": token}
		err := run(context.Background(), append([]string{"cache"}, args...), environOf(env), &out)
		return out.String(), err
	}
	for _, tt := range []struct {
		args  []string
		token string
		out   string
		err   string
		kind  string // "config" or "usage": exit status 2
	}{
		{args: []string{"stats"}, out: `"entries": 1`},
		{args: []string{"stats"}, token: "wrong", err: "401 unauthorized"},
		{args: []string{"stats"}, token: "-", err: "set SEMPROC_ADMIN_TOKEN", kind: "config"},
		{args: []string{"delete", key}, out: "deleted " + key},
		{args: []string{"delete", key}, err: "no entry " + key},
		{args: []string{"purge", "-all"}, out: "deleted 0 entries"},
		{args: []string{"purge", "-model", "gpt-4o", "-all"}, err: "exactly one of", kind: "usage"},
		{args: []string{"delete"}, err: "usage:", kind: "usage"},
		{args: []string{"stats", "-h"}, out: "semproc cache purge"},
		{args: []string{"stats", "-addr", "127.0.0.1:1"}, err: "connect"},
	} {
		token := adminToken
		if tt.token == "-" {
			token = ""
		} else if tt.token != "" {
			token = tt.token
		}
		out, err := cli(token, tt.args...)
		var ce *configError
		var ue *usageError
		kind := ""
		switch {
		case errors.As(err, &ce):
			kind = "config"
		case errors.As(err, &ue):
			kind = "usage"
		}
		if tt.err == "" && (err != nil || !strings.Contains(out, tt.out)) ||
			tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || kind != tt.kind) {
			t.Errorf("semproc cache %v: %q, %v; want output %q, error %q (%s error)", tt.args, out, err, tt.out, tt.err, tt.kind)
		}
	}
	if _, h := ask(t, c, prompt); h.Get("X-Cache-Status") != "Miss" {
		t.Errorf("after semproc cache delete: %q, want Miss", h.Get("X-Cache-Status"))
	}
}
