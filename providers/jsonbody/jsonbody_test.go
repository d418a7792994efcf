package jsonbody

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestSetModel(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"model":"a","n":1.0}`, `{"model":"b<&>","n":1.0}`},
		{`{ "x" : [1, 2] ,"model" : "a" }`, `{ "x" : [1, 2] ,"model" : "b<&>" }`},
		{`{"n":1}`, `{"model":"b<&>","n":1}`},
		{`{}`, `{"model":"b<&>"}`},
		{`{"model":"a","model":"c"}`, `{"model":"b<&>","model":"b<&>"}`},
	}
	for _, tt := range tests {
		got, err := SetModel([]byte(tt.in), "b<&>")
		if err != nil || string(got) != tt.want {
			t.Errorf("SetModel(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{``, `[]`, `{"model":`, `{"a":1} {}`, `null`} {
		if _, err := SetModel([]byte(bad), "m"); err == nil {
			t.Errorf("SetModel(%q) accepted a body that is not one JSON object", bad)
		}
	}
}

func TestDecodeObjectKeepsNumbersAsWritten(t *testing.T) {
	obj, err := DecodeObject([]byte(`{"t":1.0}`))
	if err != nil || obj["t"] != json.Number("1.0") {
		t.Errorf("DecodeObject = %v, %v", obj, err)
	}
	for _, bad := range []string{``, `[1]`, `null`, `{"a":1}x`, `"s"`} {
		if _, err := DecodeObject([]byte(bad)); err == nil {
			t.Errorf("DecodeObject(%q) accepted it", bad)
		}
	}
}

func FuzzSetModel(f *testing.F) {
	f.Add([]byte(`{"model":"a","messages":[]}`), "m")
	f.Fuzz(func(t *testing.T, body []byte, model string) {
		out, err := SetModel(body, model)
		if err != nil {
			return
		}
		var got, orig map[string]any
		if json.Unmarshal(out, &got) != nil {
			t.Fatalf("SetModel made invalid JSON from %q: %q", body, out)
		}
		if json.Unmarshal(body, &orig) != nil {
			return
		}
		// The encoder replaces invalid UTF-8, so only valid models compare.
		if utf8.ValidString(model) && got["model"] != model {
			t.Fatalf("model %q came back as %v", model, got["model"])
		}
		delete(got, "model")
		delete(orig, "model")
		if len(got) != len(orig) {
			t.Fatalf("SetModel changed other fields: %q -> %q", body, out)
		}
	})
}
