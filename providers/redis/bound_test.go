package redisstore

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/semproc/semproc/semantic"
)

func TestPutCommandsWithBound(t *testing.T) {
	for _, storage := range []Storage{StorageJSON, StorageHash} {
		t.Run(string(storage), func(t *testing.T) {
			s, rec := scriptedStore(t, Options{Storage: storage, MaxEntriesPerScope: 3}, nil)
			s.now = fixedAt
			if err := s.Put(context.Background(), entry([]float32{0.5, -1})); err != nil {
				t.Fatal(err)
			}
			got := rec.commands()
			want := "EVAL " + strconv.Quote(boundScript) + fmt.Sprintf(" 2 semproc:scope:%[1]s:m:2:cc33:stored semproc:scope:%[1]s:m:2:cc33:expires "+
				"ee55 1700000000000 1700003600000 1700000600000 3 semproc:%[1]s:m:2: 3000000", storage)
			if len(got) < 3 || got[len(got)-2] != want || got[len(got)-1] != "exec" {
				t.Errorf("sent\n%s\nwant the transaction to end with\n%s", strings.Join(got, "\n"), want)
			}
		})
	}
}

// scoped is an entry of the tenant scope stored ago before now.
func scoped(id, scope string, ago, ttl time.Duration) semantic.Entry {
	e := entry([]float32{1, 0})
	e.ID, e.Partition.Scope = id, scope
	e.StoredAt, e.TTL = time.Now().Add(-ago).Truncate(time.Millisecond), ttl
	return e
}

func TestVanillaBoundPerScope(t *testing.T) {
	srv := startRedis(t)
	tests := []struct {
		name  string
		bound int
		puts  []semantic.Entry
		// wait: entries to see expire before the last put.
		wait []semantic.Entry
		kept []semantic.Entry
		gone []semantic.Entry
	}{
		{
			name: "a tenant past its bound loses its oldest, the other keeps all", bound: 3,
			puts: []semantic.Entry{
				scoped("a0", "aa", 5*time.Minute, time.Hour), scoped("b0", "bb", 6*time.Minute, time.Hour),
				scoped("a1", "aa", 4*time.Minute, time.Hour), scoped("a2", "aa", 3*time.Minute, time.Hour),
				scoped("b1", "bb", 7*time.Minute, time.Hour), scoped("a3", "aa", 2*time.Minute, time.Hour),
				scoped("a4", "aa", time.Minute, time.Hour),
			},
			kept: []semantic.Entry{
				scoped("a2", "aa", 0, 0), scoped("a3", "aa", 0, 0), scoped("a4", "aa", 0, 0),
				scoped("b0", "bb", 0, 0), scoped("b1", "bb", 0, 0),
			},
			gone: []semantic.Entry{scoped("a0", "aa", 0, 0), scoped("a1", "aa", 0, 0)},
		},
		{
			name: "oldest first by stored time, not by write order", bound: 1,
			puts: []semantic.Entry{scoped("c1", "cc", time.Minute, time.Hour), scoped("c0", "cc", 2*time.Minute, time.Hour)},
			kept: []semantic.Entry{scoped("c1", "cc", 0, 0)},
			gone: []semantic.Entry{scoped("c0", "cc", 0, 0)},
		},
		{
			name: "an expired entry no longer counts", bound: 2,
			puts: []semantic.Entry{
				scoped("d0", "dd", 10*time.Second, time.Hour),
				scoped("d1", "dd", 5*time.Second, 5*time.Second+200*time.Millisecond),
				scoped("d2", "dd", 0, time.Hour),
			},
			wait: []semantic.Entry{scoped("d1", "dd", 0, 0)},
			kept: []semantic.Entry{scoped("d0", "dd", 0, 0), scoped("d2", "dd", 0, 0)},
		},
		{
			name: "rewriting an entry counts it once", bound: 2,
			puts: []semantic.Entry{
				scoped("e0", "ee", time.Minute, time.Hour), scoped("e0", "ee", time.Minute, time.Hour),
				scoped("e0", "ee", time.Minute, time.Hour), scoped("e1", "ee", 0, time.Hour),
			},
			kept: []semantic.Entry{scoped("e0", "ee", 0, 0), scoped("e1", "ee", 0, 0)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := exactStore(t, srv)
			s.opts.MaxEntriesPerScope = tt.bound
			ctx := context.Background()
			for i, e := range tt.puts {
				if i == len(tt.puts)-1 {
					for _, w := range tt.wait {
						eventually(t, "expiry of "+w.ID, func() error {
							if n, err := s.client.Exists(ctx, s.l.key(w.ID)).Result(); err != nil || n != 0 {
								return fmt.Errorf("EXISTS = %d, %v", n, err)
							}
							return nil
						})
					}
				}
				if err := s.Put(ctx, e); err != nil {
					t.Fatalf("Put %s: %v", e.ID, err)
				}
			}
			for _, e := range tt.kept {
				if m, err := s.Get(ctx, e.Partition, e.ID); err != nil || m == nil {
					t.Errorf("Get %s = %v, %v; want it kept", e.ID, m, err)
				}
			}
			for _, e := range tt.gone {
				if m, err := s.Get(ctx, e.Partition, e.ID); err != nil || m != nil {
					t.Errorf("Get %s = %v, %v; want it evicted", e.ID, m, err)
				}
			}
			// The bookkeeping holds the kept entries only, and lives as
			// long as the longest-lived entry written.
			byScope := map[string][]string{}
			for _, e := range tt.kept {
				byScope[e.Partition.Scope] = append(byScope[e.Partition.Scope], e.ID)
			}
			lastExpiry := map[string]time.Time{}
			for _, e := range tt.puts {
				if x := e.StoredAt.Add(e.TTL); x.After(lastExpiry[e.Partition.Scope]) {
					lastExpiry[e.Partition.Scope] = x
				}
			}
			for scope, ids := range byScope {
				stored, expires := s.l.scopeKeys(scope)
				for _, k := range []string{stored, expires} {
					got, err := s.client.ZRange(ctx, k, 0, -1).Result()
					if err != nil {
						t.Fatal(err)
					}
					slices.Sort(got)
					slices.Sort(ids)
					if !reflect.DeepEqual(got, ids) {
						t.Errorf("%s holds %q, want %q", k, got, ids)
					}
					// Within a second: both clocks count in milliseconds.
					want := time.Until(lastExpiry[scope])
					if left, err := s.client.PTTL(ctx, k).Result(); err != nil || left > want+time.Second || left < want-time.Second {
						t.Errorf("%s expires in %v (%v), want with its longest-lived entry, in %v", k, left, err, want)
					}
				}
			}
		})
	}
}
