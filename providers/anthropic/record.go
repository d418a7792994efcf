package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// A record is {"v":1,"source":"json"|"sse","body":<message>}. It is written
// by hand with body last so that a JSON source keeps the upstream's exact
// bytes: json.Marshal would compact and re-escape a json.RawMessage.
const (
	recordVersion = 1
	sourceJSON    = "json"
	sourceSSE     = "sse"
)

type record struct {
	V      int             `json:"v"`
	Source string          `json:"source"`
	Body   json.RawMessage `json:"body"`
}

func recordPrefix(source string) string {
	return fmt.Sprintf(`{"v":%d,"source":%q,"body":`, recordVersion, source)
}

// encodeRecord wraps a message body that decodeMessage accepted.
func encodeRecord(source string, body []byte) []byte {
	prefix := recordPrefix(source)
	out := make([]byte, 0, len(prefix)+len(body)+1)
	out = append(out, prefix...)
	out = append(out, body...)
	return append(out, '}')
}

// decodeRecord reads a record. For a JSON source Body is the stored
// upstream body byte for byte, white space around it included.
func decodeRecord(rec []byte) (record, error) {
	var r record
	if err := json.Unmarshal(rec, &r); err != nil {
		return record{}, fmt.Errorf("anthropic record: %w", err)
	}
	if r.V != recordVersion {
		return record{}, fmt.Errorf("anthropic record: version %d, want %d", r.V, recordVersion)
	}
	switch r.Source {
	case sourceSSE:
	case sourceJSON:
		prefix := recordPrefix(sourceJSON)
		if !bytes.HasPrefix(rec, []byte(prefix)) || !bytes.HasSuffix(rec, []byte("}")) {
			return record{}, fmt.Errorf("anthropic record: not written by this package")
		}
		r.Body = rec[len(prefix) : len(rec)-1]
	default:
		return record{}, fmt.Errorf("anthropic record: unknown source %q", r.Source)
	}
	return r, nil
}
