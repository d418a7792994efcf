package extproc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/semproc/semproc/internal/syncbuf"
	"github.com/semproc/semproc/semantic"
)

func TestLogFieldsAreBounded(t *testing.T) {
	var logs syncbuf.Buffer
	e := newTestEnv(t, func(o *Options) { o.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	huge := strings.Repeat("é", 300_000) // 600 KB of client-chosen text
	e.exchange(t,
		reqHeaders("/v1/chat/completions", false, "x-request-id", huge),
		reqBody(`{"model":"`+huge+`","prompt":"capital of france"}`, true),
	)
	lines := logs.Lines()
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("no log line")
	}
	for _, l := range lines {
		if len(l) > 1024 {
			t.Errorf("a %d-byte log line: %.200s…", len(l), l)
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line is not JSON (cut inside a rune?): %v", err)
		}
		if m, ok := rec["model"].(string); ok && !strings.HasSuffix(m, "…(600000 bytes)") {
			t.Errorf("model %.40q… does not say it was cut", m)
		}
	}
}

func TestClip(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"gpt-4o", "gpt-4o"},
		{strings.Repeat("a", maxLogField), strings.Repeat("a", maxLogField)},
		{strings.Repeat("a", 127) + "é", strings.Repeat("a", 127) + "…(129 bytes)"},
	} {
		if got := clip(tt.in); got != tt.want {
			t.Errorf("clip(%d bytes) = %q, want %q", len(tt.in), got, tt.want)
		}
	}
}

func TestFailureWarningsAreRateLimited(t *testing.T) {
	var logs syncbuf.Buffer
	e := newTestEnv(t, func(o *Options) {
		o.ShareAnonymous = true // these requests carry no credentials
		o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		cache, err := semantic.NewCache(semantic.CacheOptions{Embedder: wordEmbedder{err: errors.New("embeddings down")}, Store: mustMemory(t), Threshold: 0.2, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		o.Cache = cache
	})
	now := time.Unix(1_700_000_000, 0)
	e.srv.warns.now = func() time.Time { return now }
	lookup := func(i int) {
		per := e.exchange(t, reqHeaders("/v1/chat/completions", false), reqBody(fmt.Sprintf(`{"model":"m","prompt":"question %d"}`, i), true))
		if one(t, per[1]).GetImmediateResponse() != nil {
			t.Fatal("a hit while the embedder is down")
		}
	}
	for i := range 50 {
		lookup(i)
	}
	if lines := logs.Lines(); len(lines) != 1 || !strings.Contains(lines[0], "cache lookup failed") {
		t.Fatalf("50 failed lookups logged %d WARN lines, want 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	now = now.Add(warnEvery)
	lookup(50)
	lines := logs.Lines()
	if len(lines) != 2 || !strings.Contains(lines[1], `"suppressed":49`) {
		t.Fatalf("after %s: %d lines, want a second one counting 49 suppressed:\n%s", warnEvery, len(lines), strings.Join(lines, "\n"))
	}
}

func mustMemory(t testing.TB) *semantic.Memory {
	t.Helper()
	m, err := semantic.NewMemory(semantic.MemoryOptions{Namespace: "memory:test:32", MaxEntries: 100})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCutShortStoresNothing covers a client that goes away (Envoy cancels
// the stream) mid-body or mid-stream, and an answer over the capture
// limit: the stream ends quietly, nothing is stored, and the log line says
// how far the request got.
func TestCutShortStoresNothing(t *testing.T) {
	gone := status.Error(codes.Canceled, "context canceled")
	tests := []struct {
		name       string
		msgs       []*extprocv3.ProcessingRequest
		end        error
		maxCapture int
		logStatus  string
	}{
		{"client gone mid-body", []*extprocv3.ProcessingRequest{
			reqHeaders("/v1/chat/completions", false), reqBody(`{"model":"m",`, false),
		}, gone, 0, `"cache_status":"incomplete"`},
		{"client gone mid-stream", []*extprocv3.ProcessingRequest{
			reqHeaders("/v1/chat/completions", false), reqBody(`{"model":"m","prompt":"capital of france"}`, true),
			respHeaders(":status", "200"), respBody(okBody[:10], false),
		}, gone, 0, `"cache_status":"Miss"`},
		{"answer over the capture limit", []*extprocv3.ProcessingRequest{
			reqHeaders("/v1/chat/completions", false), reqBody(`{"model":"m","prompt":"capital of france"}`, true),
			respHeaders(":status", "200"), respBody(okBody, true),
		}, nil, 16, `"cache_status":"Miss"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncbuf.Buffer
			e := newTestEnv(t, func(o *Options) {
				o.ShareAnonymous = true // these requests carry no credentials
				o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
				if tt.maxCapture > 0 {
					o.MaxCapture = tt.maxCapture
				}
			})
			fs := &fakeStream{ctx: context.Background(), in: tt.msgs, end: tt.end}
			if err := e.srv.Process(fs); err != nil {
				t.Fatalf("Process: %v", err)
			}
			if err := e.srv.WaitForWrites(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(fs.out) != len(tt.msgs) {
				t.Errorf("%d replies to %d messages", len(fs.out), len(tt.msgs))
			}
			if e.store.Len() != 0 {
				t.Errorf("%d entries stored", e.store.Len())
			}
			if lines := logs.Lines(); len(lines) != 1 || !strings.Contains(lines[0], tt.logStatus) {
				t.Errorf("log %q, want one line with %s", lines, tt.logStatus)
			}
		})
	}
}
