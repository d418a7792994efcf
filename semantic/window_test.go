package semantic

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestWindow(t *testing.T) {
	conv := []Message{
		{Role: "system", Text: "be brief"},
		{Role: "user", Text: "hi"},
		{Role: "assistant", Text: "hello"},
		{Role: "system", Text: "late system"},
		{Role: "user", Text: "what is 2+2?"},
	}
	tests := []struct {
		name      string
		msgs      []Message
		countback int
		text      string
		indexes   []int
		bypass    bool
	}{
		{"last message alone", conv, 1, "what is 2+2?", []int{4}, false},
		{"zero countback means one", conv, 0, "what is 2+2?", []int{4}, false},
		{"two skip system", conv, 2, "assistant: hello\n\nuser: what is 2+2?", []int{2, 4}, false},
		{"more than there are", conv, 9, "user: hi\n\nassistant: hello\n\nuser: what is 2+2?", []int{1, 2, 4}, false},
		{"only system", conv[:1], 1, "", nil, true},
		{"non-text in window", []Message{{Role: "user", NonText: true, Text: "look"}}, 1, "", []int{0}, true},
		{"non-text outside window", []Message{{Role: "user", NonText: true}, {Role: "user", Text: "q"}}, 1, "q", []int{1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, idx, bypass := Window(tt.msgs, tt.countback)
			if text != tt.text || !slices.Equal(idx, tt.indexes) || (bypass != "") != tt.bypass {
				t.Errorf("Window = %q %v %q, want %q %v bypass=%v", text, idx, bypass, tt.text, tt.indexes, tt.bypass)
			}
		})
	}
}

func TestFingerprintCanonical(t *testing.T) {
	decode := func(s string) any {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	fp := func(s string) string {
		f, err := Fingerprint(decode(s))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if fp(`{"a":1,"b":[true,null]}`) != fp(`{ "b" : [true, null], "a" : 1 }`) {
		t.Error("key order or white space changed the fingerprint")
	}
	if fp(`{"temperature":1}`) == fp(`{"temperature":1.0}`) {
		t.Error("1 and 1.0 must stay distinct as written")
	}
	if fp(`{"temperature":0.2}`) == fp(`{"temperature":0.7}`) {
		t.Error("different values gave one fingerprint")
	}
}

func TestNamespace(t *testing.T) {
	tests := []struct{ storage, model, want string }{
		{"json", "text-embedding-3-small", "json:text-embedding-3-small:1536"},
		{"hash", "BAAI/bge Small:v1.5", "hash:baai-bge-small-v1.5:1536"},
		{"json", "modèle", "json:mod-le:1536"},
	}
	for _, tt := range tests {
		if got := Namespace(tt.storage, tt.model, 1536); got != tt.want {
			t.Errorf("Namespace(%q, %q) = %q, want %q", tt.storage, tt.model, got, tt.want)
		}
	}
}
