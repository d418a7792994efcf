package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/semproc/semproc/providers/sse"
	"github.com/semproc/semproc/semantic"
)

// stored captures a fixture and returns its record.
func stored(t testing.TB, f semantic.Format, file string) []byte {
	t.Helper()
	c := f.NewCapture(strings.HasSuffix(file, ".sse"), 0)
	c.Write(fixture(t, file))
	got, err := c.Finish()
	if err != nil {
		t.Fatalf("capture %s: %v", file, err)
	}
	return got.Record
}

func TestReplayJSON(t *testing.T) {
	for _, tt := range []struct {
		f    semantic.Format
		file string
	}{{Chat{}, "chat.json"}, {Completions{}, "completions.json"}, {Chat{}, "chat.sse"}, {Completions{}, "completions.sse"}} {
		t.Run(tt.file, func(t *testing.T) {
			rec := stored(t, tt.f, tt.file)
			body, err := readRecord(rec)
			if err != nil {
				t.Fatal(err)
			}
			for _, req := range []*semantic.Request{nil, {IncludeUsage: true}} {
				got, err := tt.f.Replay(rec, req)
				if err != nil {
					t.Fatal(err)
				}
				if got.ContentType != "application/json" || !bytes.Equal(got.Body, body) {
					t.Errorf("got %s %s, want the stored body", got.ContentType, got.Body)
				}
			}
			if strings.HasSuffix(tt.file, ".json") && !bytes.Equal(body, fixture(t, tt.file)) {
				t.Error("a JSON hit of a JSON-stored entry must return the upstream's bytes")
			}
		})
	}
}

// TestReplayStreamRoundTrip replays every fixture as a stream and captures
// the replay: the answer must come back the same, and the stream must look
// like the upstream's.
func TestReplayStreamRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		f    semantic.Format
		file string
	}{
		{Chat{}, "chat.json"}, {Chat{}, "chat.sse"}, {Chat{}, "chat_n2.sse"}, {Chat{}, "chat_azure.sse"},
		{Chat{}, "chat_refusal.sse"}, {Chat{}, "chat_azure.json"}, {Chat{}, "chat_reasoning.sse"},
		{Completions{}, "completions.json"}, {Completions{}, "completions.sse"},
	} {
		for _, usage := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/include_usage=%v", tt.file, usage), func(t *testing.T) {
				rec := stored(t, tt.f, tt.file)
				body, err := readRecord(rec)
				if err != nil {
					t.Fatal(err)
				}
				want := decodeSeen(t, body)
				reply, err := tt.f.Replay(rec, &semantic.Request{Stream: true, IncludeUsage: usage})
				if err != nil {
					t.Fatal(err)
				}
				if reply.ContentType != "text/event-stream" {
					t.Errorf("content type %q", reply.ContentType)
				}
				checkChunks(t, reply.Body, want, usage && want.Usage != nil)

				again, err := feed(tt.f, true, 0, reply.Body)
				if err != nil {
					t.Fatalf("capture of the replay: %v\n%s", err, reply.Body)
				}
				replayed, err := readRecord(again.Record)
				if err != nil {
					t.Fatal(err)
				}
				got := decodeSeen(t, replayed)
				if !usage {
					want.Usage = nil
				}
				if !reflect.DeepEqual(got.texts(), want.texts()) || got.ID != want.ID || got.Created != want.Created ||
					got.Model != want.Model || got.SystemFingerprint != want.SystemFingerprint || !reflect.DeepEqual(got.Usage, want.Usage) {
					t.Errorf("replay captured as\n%s\nwant\n%s", replayed, body)
				}
				for i := range got.Choices {
					if !jsonEqual(got.Choices[i].Logprobs, want.Choices[i].Logprobs) {
						t.Errorf("choice %d logprobs %s, want %s", i, got.Choices[i].Logprobs, want.Choices[i].Logprobs)
					}
				}
			})
		}
	}
}

// checkChunks reads a replayed stream: every chunk carries the completion's
// id, created, model and fingerprint and the chunk object name; every
// choice ends with stop; a usage chunk comes last when wantUsage; then
// [DONE].
func checkChunks(t *testing.T, stream []byte, want seen, wantUsage bool) {
	t.Helper()
	var r sse.Reader
	events := r.Write(stream)
	if r.Pending() || len(events) < 2 || events[len(events)-1].Data != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]:\n%s", stream)
	}
	finished := map[int]bool{}
	usageChunks := 0
	for _, ev := range events[:len(events)-1] {
		var c seen
		if err := json.Unmarshal([]byte(ev.Data), &c); err != nil {
			t.Fatalf("chunk %s: %v", ev.Data, err)
		}
		wantObject := "chat.completion.chunk"
		if want.Object == "text_completion" {
			wantObject = "text_completion"
		}
		if c.ID != want.ID || c.Created != want.Created || c.Model != want.Model || c.SystemFingerprint != want.SystemFingerprint || c.Object != wantObject {
			t.Errorf("chunk header differs: %s", ev.Data)
		}
		if c.Usage != nil {
			usageChunks++
			if len(c.Choices) != 0 {
				t.Errorf("usage chunk with choices: %s", ev.Data)
			}
		}
		for _, ch := range c.Choices {
			if finished[ch.Index] {
				t.Errorf("choice %d continues after its finish reason", ch.Index)
			}
			if ch.FinishReason != "" {
				finished[ch.Index] = ch.FinishReason == "stop"
			}
		}
	}
	if len(finished) != len(want.Choices) {
		t.Errorf("%d choices finished, want %d", len(finished), len(want.Choices))
	}
	if wantUsage != (usageChunks == 1) || usageChunks > 1 {
		t.Errorf("%d usage chunks, want usage %v", usageChunks, wantUsage)
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if len(a) == 0 {
		a = json.RawMessage("null")
	}
	if len(b) == 0 {
		b = json.RawMessage("null")
	}
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func TestReplayUnreadableRecord(t *testing.T) {
	good := stored(t, Chat{}, "chat.json")
	for _, tt := range []struct {
		name   string
		record string
		stream bool
	}{
		{"empty", "", false},
		{"not a record", `{"id":"x"}`, false},
		{"other version", strings.Replace(string(good), `"v":1`, `"v":2`, 1), false},
		{"truncated", string(good[:len(good)-10]), false},
		{"no closing brace", string(good[:len(good)-1]), false},
		{"body not a completion", `{"v":1,"source":"json","body":[1,2]}`, true},
		{"body without choices", `{"v":1,"source":"sse","body":{"choices":[]}}`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reply, err := Chat{}.Replay([]byte(tt.record), &semantic.Request{Stream: tt.stream})
			if err == nil {
				t.Fatalf("replayed %q as %s", tt.record, reply.Body)
			}
		})
	}
}
