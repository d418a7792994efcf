package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// module is one MODULE LIST entry as RESP2 sends it.
func module(name string) []any {
	return []any{"name", name, "ver", int64(80000), "path", "", "args", []any{}}
}

func TestSetup(t *testing.T) {
	const (
		info   = "FT.INFO idx:semproc:%s:m:2"
		create = "FT.CREATE idx:semproc:%s:m:2"
		drop   = "FT.DROPINDEX idx:semproc:%s:m:2"
		search = "FT.SEARCH idx:semproc:%s:m:2"
	)
	unknownIndex := reply{err: replyError("Unknown index name")}
	tests := []struct {
		name    string
		storage Storage
		replies map[string][]reply
		sent    []string
		missing bool   // the error wraps ErrModulesMissing
		err     string // the error says this; "" for success
	}{
		{"vanilla Redis, json", StorageJSON, map[string][]reply{"MODULE": {{val: []any{}}}},
			[]string{"MODULE LIST"}, true, "the server has no search module and no ReJSON module; use Redis Stack >= 7.2 or Redis >= 8"},
		{"vanilla Redis, hash", StorageHash, map[string][]reply{"MODULE": {{val: []any{}}}},
			[]string{"MODULE LIST"}, true, "the server has no search module; use Redis Stack >= 7.2 or Redis >= 8"},
		{"search without JSON, json", StorageJSON, map[string][]reply{"MODULE": {{val: []any{module("search")}}}},
			[]string{"MODULE LIST"}, true, "no ReJSON module"},
		{"search without JSON, hash", StorageHash, map[string][]reply{
			"MODULE": {{val: []any{module("search")}}}, "FT.INFO": {unknownIndex},
		}, []string{"MODULE LIST", info, create}, false, ""},
		{"Redis 8 creates the index", StorageJSON, map[string][]reply{
			"MODULE": {{val: []any{module("search"), module("ReJSON"), module("timeseries")}}}, "FT.INFO": {unknownIndex},
		}, []string{"MODULE LIST", info, create}, false, ""},
		{"index fits", StorageJSON, map[string][]reply{
			"MODULE": {{val: []any{module("search"), module("ReJSON")}}}, "FT.INFO": {{val: info28(2)}},
		}, []string{"MODULE LIST", info}, false, ""},
		{"index of another dimension", StorageJSON, map[string][]reply{
			"MODULE": {{val: []any{module("search"), module("ReJSON")}}}, "FT.INFO": {{val: info28(3)}},
		}, []string{"MODULE LIST", info, drop, create}, false, ""},
		{"RediSearch 2.6 index that fits", StorageJSON, map[string][]reply{
			"MODULE":  {{val: []any{module("search"), module("ReJSON")}}},
			"FT.INFO": {{val: info26("JSON")}}, "FT.SEARCH": {{val: []any{int64(1), "semproc:json:m:2:probe-1"}}},
		}, []string{"MODULE LIST", info, "multi", "JSON.SET semproc:%s:m:2:probe-", "PEXPIRE semproc:%s:m:2:probe-", "exec", search, "del semproc:%s:m:2:probe-"}, false, ""},
		{"RediSearch 2.6 index of another dimension holding vectors", StorageHash, map[string][]reply{
			"MODULE":  {{val: []any{module("search")}}},
			"FT.INFO": {{val: info26("HASH")}}, "FT.SEARCH": {{err: blobError}},
		}, []string{"MODULE LIST", info, "multi", "HSET semproc:%s:m:2:probe-", "PEXPIRE semproc:%s:m:2:probe-", "exec", search, "del semproc:%s:m:2:probe-", drop, create}, false, ""},
		{"RediSearch 2.6 index of another dimension holding none", StorageHash, map[string][]reply{
			"MODULE":  {{val: []any{module("search")}}},
			"FT.INFO": {{val: info26("HASH")}}, "FT.SEARCH": {{val: []any{int64(0)}}},
		}, []string{"MODULE LIST", info, "multi", "HSET semproc:%s:m:2:probe-", "PEXPIRE semproc:%s:m:2:probe-", "exec", search, "del semproc:%s:m:2:probe-", drop, create}, false, ""},
		{"RediSearch 2.6 index whose probe fails otherwise is kept", StorageHash, map[string][]reply{
			"MODULE":  {{val: []any{module("search")}}},
			"FT.INFO": {{val: info26("HASH")}}, "FT.SEARCH": {{err: replyError("Syntax error at offset 1 near KNN")}},
		}, []string{"MODULE LIST", info, "multi", "HSET semproc:%s:m:2:probe-", "PEXPIRE semproc:%s:m:2:probe-", "exec", search, "del semproc:%s:m:2:probe-"}, false, ""},
		{"MODULE forbidden, search present", StorageHash, map[string][]reply{
			"MODULE": {{err: replyError("ERR unknown command 'MODULE'")}}, "FT.INFO": {unknownIndex},
		}, []string{"MODULE LIST", info, create}, false, ""},
		{"MODULE forbidden, search absent", StorageHash, map[string][]reply{
			"MODULE":  {{err: replyError("ERR unknown command 'MODULE'")}},
			"FT.INFO": {{err: replyError("ERR unknown command 'FT.INFO', with args beginning with: ")}},
		}, []string{"MODULE LIST", info}, true, "no search module"},
		{"authentication refused", StorageJSON, map[string][]reply{
			"MODULE": {{err: replyError("WRONGPASS invalid username-password pair or user is disabled.")}},
		}, []string{"MODULE LIST"}, false, "WRONGPASS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rec := scriptedStore(t, Options{Storage: tt.storage}, tt.replies)
			err := s.setup(context.Background())
			var sent []string
			for _, c := range rec.commands() {
				sent = append(sent, strings.Join(strings.Fields(c)[:min(2, len(strings.Fields(c)))], " "))
			}
			// A wanted command is a prefix: the probe's key ends in a time.
			ok := len(sent) == len(tt.sent)
			for i := 0; ok && i < len(sent); i++ {
				ok = strings.HasPrefix(sent[i], strings.Replace(tt.sent[i], "%s", string(tt.storage), 1))
			}
			if !ok {
				t.Errorf("sent %q, want %q", sent, tt.sent)
			}
			if tt.err == "" {
				if err != nil {
					t.Fatalf("setup: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("setup error %v, want one saying %q", err, tt.err)
			}
			if !errors.Is(err, ErrNotReady) || errors.Is(err, ErrModulesMissing) != tt.missing {
				t.Errorf("setup error %v: not-ready %v, modules-missing %v; want true, %v",
					err, errors.Is(err, ErrNotReady), errors.Is(err, ErrModulesMissing), tt.missing)
			}
		})
	}
}
