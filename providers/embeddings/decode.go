package embeddings

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxMessageChars bounds an error message taken from a response body, so a
// proxy's HTML page does not flood the logs.
const maxMessageChars = 200

// decodeOpenAI reads an OpenAI (or Azure OpenAI) embeddings response:
// {"object":"list","data":[{"object":"embedding","index":0,"embedding":[…]}],…}.
func decodeOpenAI(data []byte) ([]float32, error) {
	var r struct {
		Data []struct {
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("malformed response: %w", err)
	}
	// Some compatible servers answer 200 with an error object.
	if len(r.Data) == 0 && hasError(r.Error) {
		return nil, fmt.Errorf("error in response%s", codeSuffix(errorCode(data)))
	}
	if len(r.Data) != 1 {
		return nil, fmt.Errorf("malformed response: want 1 embedding, got %d", len(r.Data))
	}
	if len(r.Data[0].Embedding) == 0 {
		return nil, errors.New("malformed response: empty embedding")
	}
	return r.Data[0].Embedding, nil
}

// decodeOllama reads an Ollama /api/embed response:
// {"model":"…","embeddings":[[…]],…}.
func decodeOllama(data []byte) ([]float32, error) {
	var r struct {
		Embeddings [][]float32     `json:"embeddings"`
		Error      json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("malformed response: %w", err)
	}
	if len(r.Embeddings) == 0 && hasError(r.Error) {
		return nil, fmt.Errorf("error in response%s", codeSuffix(errorCode(data)))
	}
	if len(r.Embeddings) != 1 {
		return nil, fmt.Errorf("malformed response: want 1 embedding, got %d", len(r.Embeddings))
	}
	if len(r.Embeddings[0]) == 0 {
		return nil, errors.New("malformed response: empty embedding")
	}
	return r.Embeddings[0], nil
}

func hasError(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// errorCode picks the machine part of an error body, which never echoes
// the input: OpenAI's and Azure's {"error":{"code":…,"type":…}}. Anything
// that does not look like an identifier is dropped.
func errorCode(data []byte) string {
	var r struct {
		Error struct {
			Code any    `json:"code"`
			Type string `json:"type"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &r) != nil {
		return ""
	}
	for _, c := range []any{r.Error.Code, r.Error.Type} {
		if s, ok := c.(string); ok && identifier(s) {
			return s
		}
	}
	return ""
}

func identifier(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func codeSuffix(code string) string {
	if code == "" {
		return ""
	}
	return " (" + code + ")"
}

// errorMessage picks the human part of an error body: OpenAI and Azure send
// {"error":{"message":…}}, Ollama {"error":"…"}, some gateways
// {"message":…}. Anything else is shown as a short excerpt.
func errorMessage(data []byte) string {
	var r struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(data, &r) == nil {
		var nested struct {
			Message string `json:"message"`
		}
		var flat string
		switch {
		case json.Unmarshal(r.Error, &nested) == nil && nested.Message != "":
			return excerpt(nested.Message)
		case json.Unmarshal(r.Error, &flat) == nil && flat != "":
			return excerpt(flat)
		case r.Message != "":
			return excerpt(r.Message)
		}
	}
	return excerpt(string(data))
}

// excerpt makes s one short line of valid UTF-8.
func excerpt(s string) string {
	if len(s) > 8*maxMessageChars {
		// Enough for maxMessageChars runes; ToValidUTF8 mends a cut rune.
		s = s[:8*maxMessageChars]
	}
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "?")), " ")
	if utf8.RuneCountInString(s) <= maxMessageChars {
		return s
	}
	r := []rune(s)
	return string(r[:maxMessageChars]) + "…"
}
