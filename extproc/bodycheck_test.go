package extproc

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/semproc/semproc/semantic"
)

func TestCheckBody(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	many := "[" + strings.Repeat(`{"role":"user","content":"x"},`, 5000) + "1]"
	tests := []struct {
		name   string
		body   string
		ctx    context.Context
		budget int
		err    string // "" when the body passes
	}{
		{name: "chat request", body: `{"model":"m","messages":[{"role":"user","content":"caf\u00e9 \ud83d\ude00 ok"}],"n":1.5e3,"x":[true,false,null]}`},
		{name: "empty object and array", body: ` { "a" : { } , "b" : [ ] } `},
		{name: "invalid UTF-8", body: "{\"prompt\":\"a\xffb\"}", err: "invalid UTF-8"},
		{name: "invalid UTF-8 in a key", body: "{\"a\xfe\":1}", err: "invalid UTF-8"},
		{name: "lone high surrogate", body: `{"prompt":"a\ud800b"}`, err: "lone high surrogate"},
		{name: "high surrogate then a letter escape", body: `{"prompt":"\ud800\u0041"}`, err: "lone high surrogate"},
		{name: "lone low surrogate", body: `{"prompt":"\udc00"}`, err: "lone low surrogate"},
		{name: "top-level duplicate model", body: `{"model":"a","messages":[],"model":"b"}`, err: "appears twice"},
		{name: "duplicate content in a message", body: `{"messages":[{"role":"user","content":"a","content":"b"}]}`, err: "appears twice"},
		{name: "duplicate spelled with an escape", body: `{"model":"a","mod\u0065l":"b"}`, err: "appears twice"},
		{name: "same key in sibling objects", body: `{"messages":[{"content":"a"},{"content":"b"}]}`},
		{name: "over the value budget", body: many, budget: 10_000, err: "more than 10000 JSON values"},
		{name: "within the value budget", body: many, budget: 20_000},
		{name: "too deep", body: strings.Repeat("[", 200) + strings.Repeat("]", 200), err: "nested deeper"},
		{name: "truncated", body: `{"model":"m","prompt":`, err: "truncated"},
		{name: "data after the value", body: `{} {}`, err: "data after"},
		{name: "control character", body: "{\"a\":\"\x01\"}", err: "control character"},
		{name: "bad escape", body: `{"a":"\q"}`, err: "invalid escape"},
		{name: "lookup deadline passed", body: many, ctx: cancelled, budget: 20_000, err: "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, budget := tt.ctx, tt.budget
			if ctx == nil {
				ctx = context.Background()
			}
			if budget == 0 {
				budget = DefaultMaxValues
			}
			err := checkBody(ctx, []byte(tt.body), budget)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("err = %v, want one saying %q", err, tt.err)
			}
		})
	}
}

// countingFormat counts the bodies semproc asks it to parse.
type countingFormat struct {
	testFormat
	parses *int
}

func (f countingFormat) ParseRequest(body []byte, countback int) (*semantic.Request, error) {
	*f.parses++
	return f.testFormat.ParseRequest(body, countback)
}

func TestBodiesThatAreNeverCached(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		body    string
		parsed  bool
	}{
		{"invalid UTF-8 in the prompt", nil, "{\"model\":\"m\",\"prompt\":\"capital \xff\"}", false},
		{"escaped lone surrogate", nil, `{"model":"m","prompt":"capital \udfff"}`, false},
		{"duplicate prompt", nil, `{"model":"m","prompt":"capital of france","prompt":"capital of spain"}`, false},
		{"over the parse budget", nil, `{"model":"m","prompt":"p","x":[` + strings.Repeat("1,", 100) + `1]}`, false},
		{"no-store, routing off", []string{"cache-control", "no-store"}, `{"model":"m","prompt":"capital of france"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parses := 0
			e := newTestEnv(t, func(o *Options) {
				o.Formats = Formats{Chat: countingFormat{parses: &parses}}
				o.MaxValues = 50
			})
			per := e.exchange(t,
				reqHeaders("/v1/chat/completions", false, append([]string{"authorization", "Bearer a"}, tt.headers...)...),
				reqBody(tt.body, true),
				respHeaders(":status", "200", "content-type", "application/json"),
				respBody(okBody, true),
			)
			rh := one(t, per[2])
			if got := setHeaders(rh.GetResponseHeaders().GetResponse().GetHeaderMutation())["x-cache-status"]; got != "Bypass" {
				t.Errorf("x-cache-status = %q, want Bypass", got)
			}
			if rh.GetModeOverride().GetResponseBodyMode() != 0 {
				t.Errorf("the response body of a Bypass is captured: %v", rh.GetModeOverride())
			}
			if (parses > 0) != tt.parsed {
				t.Errorf("parsed %d times, want parsed = %v", parses, tt.parsed)
			}
			if e.store.Len() != 0 {
				t.Errorf("%d entries stored", e.store.Len())
			}
		})
	}
}

// TestLookupTimeoutCoversTheParse gives the whole decision 1ns: the parse
// of a large body stops at the deadline and the request goes on as a
// Bypass, never waiting for the lookup.
func TestLookupTimeoutCoversTheParse(t *testing.T) {
	parses := 0
	e := newTestEnv(t, func(o *Options) {
		o.Formats = Formats{Chat: countingFormat{parses: &parses}}
		o.LookupTimeout = time.Nanosecond
	})
	body := `{"model":"m","prompt":"capital of france","x":[` + strings.Repeat("1,", 20_000) + `1]}`
	per := e.exchange(t, reqHeaders("/v1/chat/completions", false), reqBody(body, true), respHeaders(":status", "200"))
	rh := one(t, per[2]).GetResponseHeaders()
	if got := setHeaders(rh.GetResponse().GetHeaderMutation())["x-cache-status"]; got != "Bypass" {
		t.Errorf("x-cache-status = %q, want Bypass", got)
	}
	if parses != 0 {
		t.Errorf("the format parsed the body %d times after the deadline", parses)
	}
}
