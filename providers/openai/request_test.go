package openai

import (
	"strings"
	"testing"

	"github.com/semproc/semproc/semantic"
)

var (
	_ semantic.Format = Chat{}
	_ semantic.Format = Completions{}
)

func TestChatParseRequest(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		countback int
		want      semantic.Request // Fingerprint is not compared here
	}{
		{
			name: "string content",
			body: `{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}]}`,
			want: semantic.Request{API: "openai", Model: "gpt-4o", Window: "What is 2+2?", RouteText: "What is 2+2?"},
		},
		{
			name: "stream with usage",
			body: `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`,
			want: semantic.Request{API: "openai", Model: "m", Window: "hi", RouteText: "hi", Stream: true, IncludeUsage: true},
		},
		{
			name: "text parts joined with a newline, refusal part is text",
			body: `{"messages":[{"role":"user","content":[{"type":"text","text":"line one"},{"type":"text","text":"line two"}]},{"role":"assistant","content":[{"type":"refusal","refusal":"no"}]}]}`,
			want: semantic.Request{API: "openai", Window: "no", RouteText: "line one\nline two"},
		},
		{
			name: "image in the window",
			body: `{"messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`,
			want: semantic.Request{API: "openai", Bypass: "non-text content in the window", RouteText: "what is this?"},
		},
		{
			name: "image outside the window",
			body: `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]},{"role":"assistant","content":"ok"},{"role":"user","content":"and now?"}]}`,
			want: semantic.Request{API: "openai", Window: "and now?", RouteText: "and now?"},
		},
		{
			name:      "countback two skips system and developer, null content is empty",
			countback: 2,
			body:      `{"messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"w","arguments":"{}"}}]},{"role":"developer","content":"d"},{"role":"tool","tool_call_id":"c1","content":"sunny"}]}`,
			want:      semantic.Request{API: "openai", Window: "assistant: \n\ntool: sunny", RouteText: "weather?"},
		},
		{
			name: "no message to embed",
			body: `{"model":"m","messages":[{"role":"system","content":"s"}]}`,
			want: semantic.Request{API: "openai", Model: "m", Bypass: "no message to embed"},
		},
		{
			name: "unknown fields accepted",
			body: `{"model":"m","messages":[{"role":"user","content":"x","name":"bob"}],"prediction":{"type":"content","content":"y"},"x_vendor":[1,2]}`,
			want: semantic.Request{API: "openai", Model: "m", Window: "x", RouteText: "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Chat{}.ParseRequest([]byte(tt.body), tt.countback)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if len(got.Fingerprint) != 64 {
				t.Errorf("fingerprint %q is not a hex sha256", got.Fingerprint)
			}
			got.Fingerprint = ""
			if *got != tt.want {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestParseRequestRejects(t *testing.T) {
	chat := []struct{ name, body, want string }{
		{"empty", ``, "not JSON"},
		{"not JSON", `{"messages":`, "not JSON"},
		{"array", `[{"role":"user"}]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"two values", `{"messages":[]} {}`, "data after"},
		{"messages missing", `{"model":"m"}`, "messages is missing"},
		{"messages not an array", `{"messages":{"role":"user"}}`, "not an array"},
		{"message not an object", `{"messages":["hi"]}`, "not an object"},
		{"message without role", `{"messages":[{"content":"hi"}]}`, "no role"},
		{"content a number", `{"messages":[{"role":"user","content":1}]}`, "neither a string"},
		{"part without type", `{"messages":[{"role":"user","content":[{"text":"x"}]}]}`, "no type"},
		{"text part without text", `{"messages":[{"role":"user","content":[{"type":"text"}]}]}`, "no text string"},
		{"part not an object", `{"messages":[{"role":"user","content":["x"]}]}`, "not an object"},
		{"model a number", `{"model":4,"messages":[]}`, "model is not a string"},
		{"stream a string", `{"stream":"yes","messages":[]}`, "stream is not a boolean"},
		{"stream_options a list", `{"stream_options":[],"messages":[]}`, "stream_options is not an object"},
		{"include_usage a string", `{"stream_options":{"include_usage":"y"},"messages":[]}`, "include_usage is not a boolean"},
	}
	for _, tt := range chat {
		t.Run("chat/"+tt.name, func(t *testing.T) {
			_, err := Chat{}.ParseRequest([]byte(tt.body), 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	legacy := []struct{ name, body, want string }{
		{"empty", ``, "not JSON"},
		{"array", `["x"]`, "not a JSON object"},
		{"prompt missing", `{"model":"m"}`, "prompt is missing"},
		{"prompt a number", `{"prompt":3}`, "neither a string nor an array"},
		{"prompt an object", `{"prompt":{}}`, "neither a string nor an array"},
	}
	for _, tt := range legacy {
		t.Run("completions/"+tt.name, func(t *testing.T) {
			_, err := Completions{}.ParseRequest([]byte(tt.body), 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCompletionsParseRequest(t *testing.T) {
	tests := []struct {
		name string
		body string
		want semantic.Request
	}{
		{"string prompt", `{"model":"gpt-3.5-turbo-instruct","prompt":"Say this is a test","max_tokens":7}`,
			semantic.Request{API: "openai-completions", Model: "gpt-3.5-turbo-instruct", Window: "Say this is a test", RouteText: "Say this is a test"}},
		{"array of one prompt", `{"prompt":["one"],"stream":true,"stream_options":{"include_usage":true}}`,
			semantic.Request{API: "openai-completions", Window: "one", RouteText: "one", Stream: true, IncludeUsage: true}},
		{"several prompts", `{"prompt":["one","two"]}`,
			semantic.Request{API: "openai-completions", Bypass: "prompt is not a single text"}},
		{"token array", `{"prompt":[1212,318]}`,
			semantic.Request{API: "openai-completions", Bypass: "prompt is not a single text"}},
		{"array of token arrays", `{"prompt":[[1212,318]]}`,
			semantic.Request{API: "openai-completions", Bypass: "prompt is not a single text"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Completions{}.ParseRequest([]byte(tt.body), 3)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			got.Fingerprint = ""
			if *got != tt.want {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	const base = `{"model":"gpt-4o","temperature":1,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}]}`
	tests := []struct {
		name string
		f    semantic.Format
		a, b string
		same bool
	}{
		{"stream and its options", Chat{}, base, `{"model":"gpt-4o","temperature":1,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}]}`, true},
		{"user, metadata, store, service tier", Chat{}, base, `{"model":"gpt-4o","temperature":1,"user":"u1","metadata":{"k":"v"},"store":true,"service_tier":"flex","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}]}`, true},
		{"model", Chat{}, base, `{"model":"gpt-4o-mini","temperature":1,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}]}`, true},
		{"key order and white space", Chat{}, base, "{\n  \"messages\": [ {\"content\": \"Be brief.\", \"role\": \"system\"}, {\"role\": \"user\", \"content\": \"What is 2+2?\"} ],\n  \"temperature\": 1, \"model\": \"gpt-4o\"\n}", true},
		{"the window text", Chat{}, base, `{"model":"gpt-4o","temperature":1,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What's two plus two?"}]}`, true},
		{"system prompt", Chat{}, base, `{"model":"gpt-4o","temperature":1,"messages":[{"role":"system","content":"Be verbose."},{"role":"user","content":"What is 2+2?"}]}`, false},
		{"no system prompt", Chat{}, base, `{"model":"gpt-4o","temperature":1,"messages":[{"role":"user","content":"What is 2+2?"}]}`, false},
		{"temperature", Chat{}, base, `{"model":"gpt-4o","temperature":0.2,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}]}`, false},
		{"a number as written", Chat{}, base, `{"model":"gpt-4o","temperature":1.0,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}]}`, false},
		{"tools", Chat{}, base, `{"model":"gpt-4o","temperature":1,"tools":[{"type":"function","function":{"name":"calc"}}],"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}]}`, false},
		{"earlier turns", Chat{}, base, `{"model":"gpt-4o","temperature":1,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"What is 2+2?"}]}`, false},
		{"max_tokens", Chat{}, base, `{"model":"gpt-4o","temperature":1,"max_tokens":5,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}]}`, false},
		{"legacy prompt and stream", Completions{}, `{"model":"i","prompt":"a","temperature":0}`, `{"model":"j","prompt":["b"],"stream":true,"temperature":0}`, true},
		{"legacy suffix", Completions{}, `{"prompt":"a"}`, `{"prompt":"a","suffix":"z"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ra, err := tt.f.ParseRequest([]byte(tt.a), 1)
			if err != nil {
				t.Fatal(err)
			}
			rb, err := tt.f.ParseRequest([]byte(tt.b), 1)
			if err != nil {
				t.Fatal(err)
			}
			if (ra.Fingerprint == rb.Fingerprint) != tt.same {
				t.Errorf("fingerprints %s and %s: same = %v, want %v", ra.Fingerprint, rb.Fingerprint, !tt.same, tt.same)
			}
		})
	}
}

func TestSetModel(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"replace", `{"model":"auto","temperature":0.70,"messages":[{"role":"user","content":"x"}]}`,
			`{"model":"gpt-4o","temperature":0.70,"messages":[{"role":"user","content":"x"}]}`},
		{"white space kept", "{ \"n\" : 1e2 ,\n \"model\" :\t\"auto\" , \"z\":null}",
			"{ \"n\" : 1e2 ,\n \"model\" :\t\"gpt-4o\" , \"z\":null}"},
		{"nested model untouched", `{"metadata":{"model":"x"},"model":null}`, `{"metadata":{"model":"x"},"model":"gpt-4o"}`},
		{"every duplicate", `{"model":"a","x":[1],"model":"b"}`, `{"model":"gpt-4o","x":[1],"model":"gpt-4o"}`},
		{"missing", `{"messages":[]}`, `{"model":"gpt-4o","messages":[]}`},
		{"empty object", ` { } `, ` {"model":"gpt-4o" } `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Chat{}.SetModel([]byte(tt.body), "gpt-4o")
			if err != nil {
				t.Fatalf("SetModel: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `"model"`, `{"model":`, `{"a":1} x`, `{"a" 1}`} {
		if _, err := (Completions{}).SetModel([]byte(bad), "m"); err == nil {
			t.Errorf("SetModel(%q) succeeded", bad)
		}
	}
}

func TestFingerprintKeepsTheWindowsRole(t *testing.T) {
	fp := func(role string) string {
		r, err := Chat{}.ParseRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"`+role+`","content":"Paris"}]}`), 1)
		if err != nil {
			t.Fatal(err)
		}
		return r.Fingerprint
	}
	if fp("user") == fp("assistant") {
		t.Error("a user question and an assistant prefill with the same text share a fingerprint")
	}
}
