package anthropic

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		countback int
		model     string
		window    string
		bypass    bool
		route     string
		stream    bool
	}{{
		name:   "string content",
		body:   `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"Hello, Claude"}]}`,
		model:  "claude-sonnet-4-5",
		window: "Hello, Claude",
		route:  "Hello, Claude",
	}, {
		name:   "text blocks joined with a newline",
		body:   `{"model":"m","stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two","cache_control":{"type":"ephemeral"}}]}]}`,
		model:  "m",
		window: "one\ntwo",
		route:  "one\ntwo",
		stream: true,
	}, {
		name:      "system string stays out of the window",
		body:      `{"model":"m","system":"Be brief.","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"},{"role":"user","content":"Capital of France?"}]}`,
		countback: 2,
		model:     "m",
		window:    "assistant: Hello!\n\nuser: Capital of France?",
		route:     "Capital of France?",
	}, {
		name:      "system blocks, countback larger than the conversation",
		body:      `{"system":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"messages":[{"role":"user","content":"q"}]}`,
		countback: 5,
		window:    "q",
		route:     "q",
	}, {
		name:   "route text is the last user message after a prefill",
		body:   `{"model":"m","messages":[{"role":"user","content":"Name a colour"},{"role":"assistant","content":"The colour is"}]}`,
		model:  "m",
		window: "The colour is",
		route:  "Name a colour",
	}, {
		name:   "image in the window",
		body:   `{"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}},{"type":"text","text":"What is this?"}]}]}`,
		model:  "m",
		bypass: true,
		route:  "What is this?",
	}, {
		name:   "image before the window",
		body:   `{"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]},{"role":"assistant","content":"A cat."},{"role":"user","content":"And its colour?"}]}`,
		model:  "m",
		window: "And its colour?",
		route:  "And its colour?",
	}, {
		name:   "document in the window",
		body:   `{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}},{"type":"text","text":"Summarise"}]}]}`,
		bypass: true,
		route:  "Summarise",
	}, {
		name:   "tool_result in the window",
		body:   `{"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"w","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"15C"}]}]}`,
		bypass: true,
		route:  "",
	}, {
		name:   "no messages",
		body:   `{"model":"m","messages":[]}`,
		model:  "m",
		bypass: true,
	}, {
		name:   "unknown fields and null system, model, stream",
		body:   `{"model":null,"stream":null,"system":null,"future_field":{"x":[1,2]},"messages":[{"role":"user","content":"q","extra":1}]}`,
		window: "q",
		route:  "q",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Messages{}.ParseRequest([]byte(tt.body), tt.countback)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if req.API != "anthropic" || req.Model != tt.model || req.RouteText != tt.route || req.Stream != tt.stream {
				t.Errorf("got api %q model %q route %q stream %v, want anthropic %q %q %v", req.API, req.Model, req.RouteText, req.Stream, tt.model, tt.route, tt.stream)
			}
			if (req.Bypass != "") != tt.bypass {
				t.Errorf("Bypass = %q, want bypass %v", req.Bypass, tt.bypass)
			}
			if !tt.bypass && req.Window != tt.window {
				t.Errorf("Window = %q, want %q", req.Window, tt.window)
			}
			if len(req.Fingerprint) != 64 {
				t.Errorf("Fingerprint = %q, want a hex sha256", req.Fingerprint)
			}
		})
	}
}

func TestParseRequestRejects(t *testing.T) {
	for _, body := range []string{
		``,
		`not json`,
		`[{"role":"user","content":"x"}]`,
		`null`,
		`"messages"`,
		`{"model":"m"}`,
		`{"messages":{"role":"user","content":"x"}}`,
		`{"messages":[{"content":"x"}]}`,
		`{"messages":[{"role":"","content":"x"}]}`,
		`{"messages":["user"]}`,
		`{"messages":[{"role":"user"}]}`,
		`{"messages":[{"role":"user","content":42}]}`,
		`{"messages":[{"role":"user","content":["x"]}]}`,
		`{"messages":[{"role":"user","content":[{"type":"text"}]}]}`,
		`{"messages":[{"role":"user","content":"x"}],"model":7}`,
		`{"messages":[{"role":"user","content":"x"}],"stream":"yes"}`,
		`{"messages":[{"role":"user","content":"x"}],"system":5}`,
		`{"messages":[{"role":"user","content":"x"}]} {}`,
		`{"messages":[{"role":"user","content":"x"}]`,
	} {
		if req, err := (Messages{}).ParseRequest([]byte(body), 1); err == nil {
			t.Errorf("ParseRequest(%q) = %+v, want an error", body, req)
		}
	}
}

func TestFingerprint(t *testing.T) {
	const base = `{"model":"claude-sonnet-4-5","max_tokens":1024,"temperature":1,"system":"Be brief.","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"},{"role":"user","content":"Capital of France?"}]}`
	fp := func(t *testing.T, body string) string {
		t.Helper()
		req, err := Messages{}.ParseRequest([]byte(body), 1)
		if err != nil {
			t.Fatalf("ParseRequest(%s): %v", body, err)
		}
		return req.Fingerprint
	}
	want := fp(t, base)
	tests := []struct {
		name string
		body string
		same bool
	}{
		{"stream", `{"stream":true,"model":"claude-sonnet-4-5","max_tokens":1024,"temperature":1,"system":"Be brief.","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"},{"role":"user","content":"Capital of France?"}]}`, true},
		{"metadata and service tier", `{"metadata":{"user_id":"u-42"},"service_tier":"auto","model":"claude-sonnet-4-5","max_tokens":1024,"temperature":1,"system":"Be brief.","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"},{"role":"user","content":"Capital of France?"}]}`, true},
		{"model", strings.Replace(base, "claude-sonnet-4-5", "claude-opus-4-1", 1), true},
		{"key order and white space", `{ "messages" : [{"content":"Hi","role":"user"},{"content":"Hello!","role":"assistant"},{"content":"Capital of France?","role":"user"}], "system":"Be brief.", "temperature":1, "max_tokens":1024, "model":"claude-sonnet-4-5" }`, true},
		{"window text", strings.Replace(base, "Capital of France?", "Capital of Spain?", 1), true},
		{"system", strings.Replace(base, "Be brief.", "Be verbose.", 1), false},
		{"system as blocks", strings.Replace(base, `"Be brief."`, `[{"type":"text","text":"Be brief."}]`, 1), false},
		{"max_tokens", strings.Replace(base, "1024", "2048", 1), false},
		{"temperature", strings.Replace(base, `"temperature":1`, `"temperature":0.2`, 1), false},
		{"temperature as written", strings.Replace(base, `"temperature":1`, `"temperature":1.0`, 1), false},
		{"tools", strings.Replace(base, `"temperature":1`, `"temperature":1,"tools":[{"name":"get_weather","input_schema":{"type":"object"}}]`, 1), false},
		{"stop_sequences", strings.Replace(base, `"temperature":1`, `"temperature":1,"stop_sequences":["END"]`, 1), false},
		{"thinking", strings.Replace(base, `"temperature":1`, `"temperature":1,"thinking":{"type":"enabled","budget_tokens":2048}`, 1), false},
		{"earlier turn", strings.Replace(base, `"Hello!"`, `"Hey!"`, 1), false},
		{"fewer earlier turns", `{"model":"claude-sonnet-4-5","max_tokens":1024,"temperature":1,"system":"Be brief.","messages":[{"role":"user","content":"Capital of France?"}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fp(t, tt.body); (got == want) != tt.same {
				t.Errorf("fingerprint equal = %v, want %v", got == want, tt.same)
			}
		})
	}
}

func TestSetModel(t *testing.T) {
	tests := []struct {
		name, body, model, want string
	}{
		{"replace", `{"model":"auto","messages":[{"role":"user","content":"<b>&</b>"}],"max_tokens":10}`, "claude-opus-4-1",
			`{"model":"claude-opus-4-1","messages":[{"role":"user","content":"<b>&</b>"}],"max_tokens":10}`},
		{"white space kept", "{\n  \"max_tokens\": 1.50,\n  \"model\" :  \"auto\" ,\n  \"x\": [ 1 ]\n}\n", "m",
			"{\n  \"max_tokens\": 1.50,\n  \"model\" :  \"m\" ,\n  \"x\": [ 1 ]\n}\n"},
		{"null model", `{"model":null}`, "m", `{"model":"m"}`},
		{"escaped key", `{"mod\u0065l":"a","b":1}`, "m", `{"mod\u0065l":"m","b":1}`},
		{"duplicate keys", `{"model":"a","model":"b"}`, "c", `{"model":"c","model":"c"}`},
		{"nested model untouched", `{"tools":[{"model":"x"}],"model":"a"}`, "b", `{"tools":[{"model":"x"}],"model":"b"}`},
		{"missing", `{"messages":[]}`, "m", `{"model":"m","messages":[]}`},
		{"empty object", `{ }`, "m", `{"model":"m" }`},
		{"quotes escaped", `{"model":"a"}`, `we"ird<`, `{"model":"we\"ird<"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Messages{}.SetModel([]byte(tt.body), tt.model)
			if err != nil {
				t.Fatalf("SetModel: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("SetModel = %s, want %s", got, tt.want)
			}
			var doc struct{ Model string }
			if err := json.Unmarshal(got, &doc); err != nil || doc.Model != tt.model {
				t.Errorf("result model %q (err %v), want %q", doc.Model, err, tt.model)
			}
		})
	}
}

func TestSetModelKeepsInput(t *testing.T) {
	body := []byte(`{"model":"a"}`)
	if _, err := (Messages{}).SetModel(body, "longer-model"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, []byte(`{"model":"a"}`)) {
		t.Errorf("SetModel changed its input to %s", body)
	}
}

func TestSetModelRejects(t *testing.T) {
	for _, body := range []string{``, `x`, `[]`, `"model"`, `{"model":"a"`, `{"model":"a"} x`, `{"model":}`} {
		if got, err := (Messages{}).SetModel([]byte(body), "m"); err == nil {
			t.Errorf("SetModel(%q) = %s, want an error", body, got)
		}
	}
}

func TestFingerprintKeepsTheWindowsRole(t *testing.T) {
	fp := func(role string) string {
		r, err := Messages{}.ParseRequest([]byte(`{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"hi"},{"role":"`+role+`","content":"Paris"}]}`), 1)
		if err != nil {
			t.Fatal(err)
		}
		return r.Fingerprint
	}
	if fp("user") == fp("assistant") {
		t.Error("a user question and an assistant prefill with the same text share a fingerprint")
	}
}
