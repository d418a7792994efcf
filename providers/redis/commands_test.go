package redisstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/semproc/semproc/semantic"
)

var (
	part    = semantic.Partition{Model: "aa11", API: "bb22", Scope: "cc33", Fingerprint: "dd44"}
	stored  = time.UnixMilli(1700000000000)
	fixedAt = func() time.Time { return stored.Add(10 * time.Minute) }
)

func entry(vec []float32) semantic.Entry {
	return semantic.Entry{
		ID: "ee55", Partition: part, Window: "hi", Vector: vec,
		Completion: []byte(`{"a":1}`), Tokens: 7, InputTokens: 11, StoredAt: stored, TTL: time.Hour,
	}
}

func TestVectorBlob(t *testing.T) {
	got := vectorBlob([]float32{1, -2})
	want := []byte{0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0}
	if !bytes.Equal(got, want) {
		t.Errorf("vectorBlob = % x, want % x", got, want)
	}
}

func TestPutCommands(t *testing.T) {
	tests := []struct {
		name    string
		storage Storage
		vec     []float32
		want    []string
	}{
		{"json", StorageJSON, []float32{0.5, -1}, []string{
			"multi",
			`JSON.SET semproc:json:m:2:ee55 $ {"vector":[0.5,-1],"window":"hi","completion":"{\"a\":1}","tokens":7,"input_tokens":11,"stored_at":1700000000000,"expires_at":1700003600000,"model":"aa11","api":"bb22","scope":"cc33","fingerprint":"dd44"}`,
			"PEXPIRE semproc:json:m:2:ee55 3000000",
			"exec",
		}},
		{"json exact-only", StorageJSON, nil, []string{
			"multi",
			`JSON.SET semproc:json:m:2:ee55 $ {"window":"hi","completion":"{\"a\":1}","tokens":7,"input_tokens":11,"stored_at":1700000000000,"expires_at":1700003600000,"model":"aa11","api":"bb22","scope":"cc33","fingerprint":"dd44"}`,
			"PEXPIRE semproc:json:m:2:ee55 3000000",
			"exec",
		}},
		{"hash", StorageHash, []float32{0.5, -1}, []string{
			"multi",
			"DEL semproc:hash:m:2:ee55",
			"HSET semproc:hash:m:2:ee55 vector blob[8] window hi completion blob[7] tokens 7 input_tokens 11 stored_at 1700000000000 expires_at 1700003600000 model aa11 api bb22 scope cc33 fingerprint dd44",
			"PEXPIRE semproc:hash:m:2:ee55 3000000",
			"exec",
		}},
		{"hash exact-only", StorageHash, nil, []string{
			"multi",
			"DEL semproc:hash:m:2:ee55",
			"HSET semproc:hash:m:2:ee55 window hi completion blob[7] tokens 7 input_tokens 11 stored_at 1700000000000 expires_at 1700003600000 model aa11 api bb22 scope cc33 fingerprint dd44",
			"PEXPIRE semproc:hash:m:2:ee55 3000000",
			"exec",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rec := scriptedStore(t, Options{Storage: tt.storage}, nil)
			s.now = fixedAt
			if err := s.Put(context.Background(), entry(tt.vec)); err != nil {
				t.Fatal(err)
			}
			if got := rec.commands(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("sent\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestPutRefuses(t *testing.T) {
	tests := []struct {
		name     string
		mod      func(*semantic.Entry)
		want     string
		sentinel error
	}{
		{"wrong dimension", func(e *semantic.Entry) { e.Vector = []float32{1, 2, 3} }, "vector of 3", semantic.ErrDimension},
		{"no TTL", func(e *semantic.Entry) { e.TTL = 0 }, "TTL 0s", nil},
		{"ID with a colon", func(e *semantic.Entry) { e.ID = "ab:cd" }, "entry ID", nil},
		{"partition not hex", func(e *semantic.Entry) { e.Partition.Scope = "a} | @x:{b" }, "partition scope", nil},
		{"empty partition field", func(e *semantic.Entry) { e.Partition.API = "" }, "partition api", nil},
		{"completion not UTF-8", func(e *semantic.Entry) { e.Completion = []byte{0xff, 0xfe} }, "not UTF-8", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rec := scriptedStore(t, Options{}, nil)
			s.now = fixedAt
			e := entry([]float32{1, 0})
			tt.mod(&e)
			err := s.Put(context.Background(), e)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Put error %v, want one saying %q", err, tt.want)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("error %v does not wrap %v", err, tt.sentinel)
			}
			if sent := rec.commands(); len(sent) != 0 {
				t.Errorf("sent %v for an invalid entry", sent)
			}
		})
	}
}

func TestPutExpiredEntrySendsNothing(t *testing.T) {
	s, rec := scriptedStore(t, Options{}, nil)
	s.now = func() time.Time { return stored.Add(2 * time.Hour) }
	if err := s.Put(context.Background(), entry([]float32{1, 0})); err != nil {
		t.Fatal(err)
	}
	if sent := rec.commands(); len(sent) != 0 {
		t.Errorf("sent %v for an entry already expired", sent)
	}
}

func TestGet(t *testing.T) {
	doc := `{"$.window":["hi"],"$.completion":["{\"a\":1}"],"$.tokens":[7],"$.input_tokens":[11],"$.stored_at":[1700000000000],` +
		`"$.expires_at":[1700003600000],"$.model":["aa11"],"$.api":["bb22"],"$.scope":["cc33"],"$.fingerprint":["%s"]}`
	hash := func(fp any) []any {
		return []any{"hi", `{"a":1}`, "7", "11", "1700000000000", "1700003600000", "aa11", "bb22", "cc33", fp}
	}
	want := &semantic.Match{
		Entry: semantic.Entry{
			ID: "ee55", Partition: part, Window: "hi", Completion: []byte(`{"a":1}`),
			Tokens: 7, InputTokens: 11, StoredAt: stored, TTL: time.Hour,
		},
		ExpiresAt: fixedAt().Add(30 * time.Minute),
	}
	tests := []struct {
		name    string
		storage Storage
		get     reply
		pttl    int64
		sent    string
		want    bool
	}{
		{"json hit", StorageJSON, reply{val: strings.Replace(doc, "%s", "dd44", 1)}, 1800000,
			"JSON.GET semproc:json:m:2:ee55 $.window $.completion $.tokens $.input_tokens $.stored_at $.expires_at $.model $.api $.scope $.fingerprint", true},
		{"json other partition", StorageJSON, reply{val: strings.Replace(doc, "%s", "ff66", 1)}, 1800000, "", false},
		{"json missing", StorageJSON, reply{err: redis.Nil}, -2, "", false},
		{"hash hit", StorageHash, reply{val: hash("dd44")}, 1800000,
			"HMGET semproc:hash:m:2:ee55 window completion tokens input_tokens stored_at expires_at model api scope fingerprint", true},
		{"hash missing", StorageHash, reply{val: []any{nil, nil, nil, nil, nil, nil, nil, nil, nil}}, -2, "", false},
		{"hash expired between the two reads", StorageHash, reply{val: hash("dd44")}, -2, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rec := scriptedStore(t, Options{Storage: tt.storage}, map[string][]reply{
				"JSON.GET": {tt.get}, "HMGET": {tt.get}, "PTTL": {{val: tt.pttl}},
			})
			s.now = fixedAt
			got, err := s.Get(context.Background(), part, "ee55")
			if err != nil {
				t.Fatal(err)
			}
			if sent := rec.commands(); tt.sent != "" && (len(sent) != 2 || sent[0] != tt.sent || sent[1] != "PTTL "+strings.Fields(tt.sent)[1]) {
				t.Errorf("sent %q, want %q and its PTTL", sent, tt.sent)
			}
			if !tt.want {
				if got != nil {
					t.Errorf("Get = %+v, want a miss", got)
				}
				return
			}
			w := *want
			w.Key = "semproc:" + string(tt.storage) + ":m:2:ee55"
			if !reflect.DeepEqual(got, &w) {
				t.Errorf("Get =\n%+v\nwant\n%+v", got, &w)
			}
		})
	}
}

func FuzzParseJSONPaths(f *testing.F) {
	f.Add("hi", `{"a":1}`, int64(7))
	f.Add("", "\u2028\"\\", int64(-1))
	f.Fuzz(func(t *testing.T, window, completion string, tokens int64) {
		reply, err := json.Marshal(map[string][]any{
			"$.window": {window}, "$.completion": {completion}, "$.tokens": {tokens}, "$.scope": {},
		})
		if err != nil {
			t.Skip()
		}
		rec, err := parseJSONPaths(string(reply))
		if err != nil {
			t.Fatalf("parseJSONPaths(%s): %v", reply, err)
		}
		// encoding/json turns invalid UTF-8 into U+FFFD on the way in.
		if utf8.ValidString(window) && rec[fieldWindow] != window {
			t.Errorf("window %q, want %q", rec[fieldWindow], window)
		}
		if utf8.ValidString(completion) && rec[fieldCompletion] != completion {
			t.Errorf("completion %q, want %q", rec[fieldCompletion], completion)
		}
		if rec[fieldTokens] != strconv.FormatInt(tokens, 10) {
			t.Errorf("tokens %q, want %d", rec[fieldTokens], tokens)
		}
		if _, ok := rec[fieldScope]; ok {
			t.Error("a path with no match produced a field")
		}
	})
}
