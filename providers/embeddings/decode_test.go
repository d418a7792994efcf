package embeddings

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestErrorMessage(t *testing.T) {
	cases := []struct{ body, want string }{
		{`{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}`, "Incorrect API key provided"},
		{`{"error":{"code":"429","message":"Rate limit exceeded"}}`, "Rate limit exceeded"},
		{`{"error":"model \"x\" not found, try pulling it first"}`, `model "x" not found, try pulling it first`},
		{`{"message":"upstream  connect\nerror"}`, "upstream connect error"},
		{`{"error":{"code":"500"}}`, `{"error":{"code":"500"}}`},
		{"Service\r\nUnavailable", "Service Unavailable"},
		{"bad \xff utf8", "bad ? utf8"},
		{"", ""},
	}
	for _, c := range cases {
		if got := errorMessage([]byte(c.body)); got != c.want {
			t.Errorf("errorMessage(%q) = %q, want %q", c.body, got, c.want)
		}
	}
}

// checkDecoded holds for any decoder result: an error, or a non-empty
// vector.
func checkDecoded(t *testing.T, vec []float32, err error) {
	t.Helper()
	if err == nil && len(vec) == 0 {
		t.Fatal("no error and no vector")
	}
	if err != nil && vec != nil {
		t.Fatalf("error %v with a vector", err)
	}
}

func FuzzDecodeOpenAI(f *testing.F) {
	for _, s := range []string{
		`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}],"model":"m","usage":{"prompt_tokens":1,"total_tokens":1}}`,
		`{"data":[]}`, `{"error":{"message":"x"}}`, `{"data":[{"embedding":"AAAA"}]}`, `{"data":[{"embedding":[1e39]}]}`, `null`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vec, err := decodeOpenAI(data)
		checkDecoded(t, vec, err)
	})
}

func FuzzDecodeOllama(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","embeddings":[[0.01,-0.5,3]],"total_duration":1,"load_duration":1,"prompt_eval_count":2}`,
		`{"embeddings":[]}`, `{"embeddings":[[1],[2]]}`, `{"error":"boom"}`, `{"embeddings":[null]}`, `1`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vec, err := decodeOllama(data)
		checkDecoded(t, vec, err)
	})
}

func FuzzErrorMessage(f *testing.F) {
	for _, s := range []string{`{"error":{"message":"x"}}`, `{"error":"y"}`, `{"message":"z"}`, "<html>\n</html>", "\xff\xfe", strings.Repeat("é", 1000)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg := errorMessage(data)
		if !utf8.ValidString(msg) {
			t.Fatalf("message %q is not valid UTF-8", msg)
		}
		if n := utf8.RuneCountInString(msg); n > maxMessageChars+1 {
			t.Fatalf("message has %d characters, want at most %d", n, maxMessageChars+1)
		}
		if strings.ContainsAny(msg, "\n\r") {
			t.Fatalf("message %q spans lines", msg)
		}
	})
}
