package redisstore

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/semproc/semproc/semantic"
)

func TestSearchArgs(t *testing.T) {
	notBefore := time.UnixMilli(1700000000000)
	tests := []struct {
		name      string
		storage   Storage
		mode      QueryMode
		notBefore time.Time
		want      string
	}{
		{"range json", StorageJSON, QueryRange, time.Time{},
			`FT.SEARCH idx:semproc:json:m:2 "@model:{aa11} @api:{bb22} @scope:{cc33} @fingerprint:{dd44} (@vector:[VECTOR_RANGE $r $vec]=>{$YIELD_DISTANCE_AS: dist})" ` +
				`RETURN 17 dist stored_at $.window AS window $.completion AS completion $.tokens AS tokens $.input_tokens AS input_tokens $.expires_at AS expires_at ` +
				`SORTBY dist ASC LIMIT 0 1 PARAMS 4 r 0.15 vec blob[8] DIALECT 2`},
		{"range json max-age", StorageJSON, QueryRange, notBefore,
			`FT.SEARCH idx:semproc:json:m:2 "@model:{aa11} @api:{bb22} @scope:{cc33} @fingerprint:{dd44} @stored_at:[1700000000000 +inf] (@vector:[VECTOR_RANGE $r $vec]=>{$YIELD_DISTANCE_AS: dist})" ` +
				`RETURN 17 dist stored_at $.window AS window $.completion AS completion $.tokens AS tokens $.input_tokens AS input_tokens $.expires_at AS expires_at ` +
				`SORTBY dist ASC LIMIT 0 1 PARAMS 4 r 0.15 vec blob[8] DIALECT 2`},
		{"range hash", StorageHash, QueryRange, time.Time{},
			`FT.SEARCH idx:semproc:hash:m:2 "@model:{aa11} @api:{bb22} @scope:{cc33} @fingerprint:{dd44} (@vector:[VECTOR_RANGE $r $vec]=>{$YIELD_DISTANCE_AS: dist})" ` +
				`RETURN 7 dist stored_at window completion tokens input_tokens expires_at SORTBY dist ASC LIMIT 0 1 PARAMS 4 r 0.15 vec blob[8] DIALECT 2`},
		{"knn json", StorageJSON, QueryKNN, time.Time{},
			`FT.SEARCH idx:semproc:json:m:2 "(@model:{aa11} @api:{bb22} @scope:{cc33} @fingerprint:{dd44})=>[KNN 1 @vector $vec AS dist]" ` +
				`RETURN 17 dist stored_at $.window AS window $.completion AS completion $.tokens AS tokens $.input_tokens AS input_tokens $.expires_at AS expires_at ` +
				`LIMIT 0 1 PARAMS 2 vec blob[8] DIALECT 2`},
		{"knn hash max-age", StorageHash, QueryKNN, notBefore,
			`FT.SEARCH idx:semproc:hash:m:2 "(@model:{aa11} @api:{bb22} @scope:{cc33} @fingerprint:{dd44} @stored_at:[1700000000000 +inf])=>[KNN 1 @vector $vec AS dist]" ` +
				`RETURN 7 dist stored_at window completion tokens input_tokens expires_at LIMIT 0 1 PARAMS 2 vec blob[8] DIALECT 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rec := scriptedStore(t, Options{Storage: tt.storage, Query: tt.mode},
				map[string][]reply{"FT.SEARCH": {{val: []any{int64(0)}}}})
			q := semantic.Query{Partition: part, Vector: []float32{0.5, -1}, MaxDistance: 0.15, NotBefore: tt.notBefore}
			if m, err := s.Search(context.Background(), q); err != nil || len(m) != 0 {
				t.Fatalf("Search = %v, %v; want a miss", m, err)
			}
			if got := rec.commands(); len(got) != 1 || got[0] != tt.want {
				t.Errorf("sent\n%s\nwant\n%s", strings.Join(got, "\n"), tt.want)
			}
		})
	}
}

// found is an FT.SEARCH reply with one result at distance dist.
func found(dist string) []any {
	return []any{int64(1), "semproc:json:m:2:ee55", []any{
		"dist", dist, "stored_at", "1700000000000", "window", "hi", "completion", `{"a":1}`,
		"tokens", "7", "expires_at", "1700003600000",
	}}
}

func TestSearchReplies(t *testing.T) {
	tests := []struct {
		name     string
		mode     QueryMode
		reply    any
		distance float64 // 0: a miss
	}{
		{"hit", QueryRange, found("0.0123"), 0.0123},
		{"distance that would print as 0", QueryRange, found("1.19209289551e-07"), minDistance},
		{"float32 rounding below 0", QueryRange, found("-5.96046447754e-08"), minDistance},
		{"no result", QueryRange, []any{int64(0)}, 0},
		{"key expiring under the search", QueryRange, []any{int64(1), "semproc:json:m:2:ee55", []any{}}, 0},
		{"expiring key without a field list", QueryRange, []any{int64(1), "semproc:json:m:2:ee55"}, 0},
		{"nearest key expired, the next one live", QueryRange, append([]any{int64(2), "semproc:json:m:2:dd44", nil}, found("0.0123")[1:]...), 0.0123},
		{"knn within the threshold", QueryKNN, found("0.1"), 0.1},
		{"knn beyond the threshold", QueryKNN, found("0.3"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := scriptedStore(t, Options{Query: tt.mode}, map[string][]reply{"FT.SEARCH": {{val: tt.reply}}})
			m, err := nearest(s.Search(context.Background(), semantic.Query{Partition: part, Vector: []float32{1, 0}, MaxDistance: 0.1}))
			if err != nil {
				t.Fatal(err)
			}
			if tt.distance == 0 {
				if m != nil {
					t.Errorf("Search = %+v, want a miss", m)
				}
				return
			}
			want := &semantic.Match{
				Entry: semantic.Entry{
					ID: "ee55", Partition: part, Window: "hi", Completion: []byte(`{"a":1}`),
					Tokens: 7, StoredAt: stored, TTL: time.Hour,
				},
				Key: "semproc:json:m:2:ee55", Distance: tt.distance, ExpiresAt: stored.Add(time.Hour),
			}
			if !reflect.DeepEqual(m, want) {
				t.Errorf("Search =\n%+v\nwant\n%+v", m, want)
			}
		})
	}
}

func TestSearchRecreatesIndex(t *testing.T) {
	const (
		search = "FT.SEARCH idx:semproc:json:m:2"
		info   = "FT.INFO idx:semproc:json:m:2"
		create = "FT.CREATE idx:semproc:json:m:2"
		drop   = "FT.DROPINDEX idx:semproc:json:m:2"
	)
	unknown := replyError("Unknown Index name")
	fits := info28(2)
	tests := []struct {
		name    string
		replies map[string][]reply
		sent    []string
		err     string
	}{
		{"after FLUSHALL", map[string][]reply{
			"FT.SEARCH": {{err: unknown}, {val: found("0.01")}},
			"FT.INFO":   {{err: replyError("idx:semproc:json:m:2: no such index")}},
		}, []string{search, info, create, search}, ""},
		{"dimension the server refuses", map[string][]reply{
			"FT.SEARCH": {{err: blobError}, {val: found("0.01")}},
			"FT.INFO":   {{val: fits}},
		}, []string{search, info, drop, create, search}, ""},
		{"index another process made at once", map[string][]reply{
			"FT.SEARCH": {{err: unknown}, {val: found("0.01")}},
			"FT.INFO":   {{err: unknown}},
			"FT.CREATE": {{err: replyError("Index already exists")}},
		}, []string{search, info, create, search}, ""},
		{"retried once only", map[string][]reply{
			"FT.SEARCH": {{err: unknown}, {err: unknown}},
			"FT.INFO":   {{err: unknown}},
		}, []string{search, info, create, search}, "Unknown Index name"},
		{"other errors are not retried", map[string][]reply{
			"FT.SEARCH": {{err: replyError("Syntax error at offset 3")}},
		}, []string{search}, "Syntax error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rec := scriptedStore(t, Options{}, tt.replies)
			m, err := nearest(s.Search(context.Background(), semantic.Query{Partition: part, Vector: []float32{1, 0}, MaxDistance: 0.1}))
			var sent []string
			for _, c := range rec.commands() {
				f := strings.Fields(c)
				sent = append(sent, f[0]+" "+f[1])
			}
			if !reflect.DeepEqual(sent, tt.sent) {
				t.Errorf("sent %q, want %q", sent, tt.sent)
			}
			if tt.err == "" && (err != nil || m == nil) {
				t.Errorf("Search = %v, %v; want a hit after re-creating the index", m, err)
			}
			if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("Search error %v, want one saying %q", err, tt.err)
			}
		})
	}
}

// blobError is RediSearch's answer to a query vector of another dimension
// than the index's, when the index holds vectors.
const blobError = replyError("Error parsing vector similarity query: query vector blob size (8) does not match index's expected size (12).")

// info26 is RediSearch 2.6's FT.INFO for a fitting index: no vector facts.
func info26(keyType string) []any {
	return info(keyType, []any{"type", "VECTOR"}, "model", "api", "scope", "fingerprint", "stored_at")
}

// info28 is RediSearch 2.8's FT.INFO for a fitting JSON index of dim.
func info28(dim int64) []any {
	return info("JSON", []any{"type", "VECTOR", "algorithm", "FLAT", "data_type", "FLOAT32", "dim", dim, "distance_metric", "COSINE"},
		"model", "api", "scope", "fingerprint", "stored_at")
}

func TestSearchRefusesWrongDimension(t *testing.T) {
	s, rec := scriptedStore(t, Options{}, nil)
	_, err := s.Search(context.Background(), semantic.Query{Partition: part, Vector: []float32{1, 0, 0}, MaxDistance: 0.1})
	if !errors.Is(err, semantic.ErrDimension) {
		t.Errorf("Search error %v, want ErrDimension", err)
	}
	if sent := rec.commands(); len(sent) != 0 {
		t.Errorf("sent %v", sent)
	}
}

func FuzzParseSearch(f *testing.F) {
	f.Add(int64(1), "k", "dist", "0.1", true)
	f.Add(int64(0), "", "", "", false)
	f.Fuzz(func(t *testing.T, total int64, key, field, value string, withFields bool) {
		reply := []any{total, key}
		if withFields {
			reply = append(reply, []any{field, value, field})
		}
		hits, err := parseSearch(reply)
		if err != nil {
			t.Fatalf("well-formed reply refused: %v", err)
		}
		if len(hits) != 1 || hits[0].key != key {
			t.Fatalf("hits %+v, want one for key %q", hits, key)
		}
		if withFields && hits[0].fields[strings.ToLower(field)] != value {
			t.Fatalf("field %q = %q, want %q", field, hits[0].fields[field], value)
		}
	})
}

func TestSearchDoesNotRecreateAnIndexRecreatedSince(t *testing.T) {
	s, rec := scriptedStore(t, Options{}, map[string][]reply{
		"FT.SEARCH": {{err: blobError}, {val: found("0.01")}},
		"FT.INFO":   {{val: info28(2)}},
	})
	// Another request re-created the index after this one's query was sent.
	s.createdAt = time.Now().Add(time.Hour)
	if m, err := nearest(s.Search(context.Background(), semantic.Query{Partition: part, Vector: []float32{1, 0}, MaxDistance: 0.1})); err != nil || m == nil {
		t.Fatalf("Search = %v, %v; want a hit on retry", m, err)
	}
	var sent []string
	for _, c := range rec.commands() {
		sent = append(sent, strings.Fields(c)[0])
	}
	if want := []string{"FT.SEARCH", "FT.INFO", "FT.SEARCH"}; !reflect.DeepEqual(sent, want) {
		t.Errorf("sent %q, want %q", sent, want)
	}
}

func TestParseSearch(t *testing.T) {
	fields := []any{"dist", "0.01", "Stored_At", int64(17)}
	want := record{"dist": "0.01", "stored_at": "17"}
	tests := []struct {
		name  string
		reply any
		want  []hit
	}{
		{"no result", []any{int64(0)}, nil},
		{"one document", []any{int64(1), "k1", fields}, []hit{{"k1", want}}},
		// RediSearch 2.6 with the nearest document's key expired and active
		// expiry paused: FT.SEARCH ... LIMIT 0 1 answered exactly this.
		{"nil field list of an expired key", []any{int64(2), "e:1", nil}, []hit{{"e:1", record{}}}},
		{"expired key before a live one", []any{int64(2), "e:1", nil, "e:2", fields},
			[]hit{{"e:1", record{}}, {"e:2", want}}},
		{"empty field list", []any{int64(1), "k1", []any{}}, []hit{{"k1", record{}}}},
		{"keys without field lists (NOCONTENT)", []any{int64(2), "k1", "k2"}, []hit{{"k1", record{}}, {"k2", record{}}}},
		{"odd field list", []any{int64(1), "k1", []any{"dist", "0.01", "stored_at"}}, []hit{{"k1", record{"dist": "0.01"}}}},
		{"document without a usable key is skipped", []any{int64(2), int64(7), fields, "k2", fields},
			[]hit{{"k2", want}}},
		{"nil in place of a key", []any{int64(2), nil, fields, "k2", fields}, []hit{{"k2", want}}},
		{"RESP3", map[any]any{
			"total_results": int64(3), "format": "STRING", "attributes": []any{}, "warning": []any{},
			"results": []any{
				map[any]any{"id": "k1", "extra_attributes": map[any]any{"dist": "0.01", "Stored_At": int64(17)}, "values": []any{}},
				map[any]any{"id": "e:1", "extra_attributes": nil},
				map[any]any{"extra_attributes": map[any]any{"dist": "0.02"}},
			},
		}, []hit{{"k1", want}, {"e:1", record{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSearch(tt.reply)
			if err != nil {
				t.Fatalf("parseSearch: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseSearch = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseSearchRefusesMalformedReplies(t *testing.T) {
	for _, reply := range []any{"OK", nil, []any{}, []any{"1", "k"}, map[any]any{"total_results": int64(1)}} {
		if _, err := parseSearch(reply); err == nil {
			t.Errorf("parseSearch(%#v) accepted a malformed reply", reply)
		}
	}
}

// nearest is the first of a Search's matches, or nil on a miss.
func nearest(ms []semantic.Match, err error) (*semantic.Match, error) {
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	return &ms[0], nil
}
