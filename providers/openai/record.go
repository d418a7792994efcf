package openai

import (
	"bytes"
	"encoding/json"
	"errors"
)

// A record is {"v":1,"source":"json"|"sse","body":<completion>}: valid
// JSON, but written and read by its byte layout, so body holds the
// upstream's bytes exactly (a JSON hit of a JSON-stored entry returns them
// unchanged; encoding/json would compact and re-escape them). For an SSE
// source, body is the assembled completion.
const (
	recordJSON = `{"v":1,"source":"json","body":`
	recordSSE  = `{"v":1,"source":"sse","body":`
)

func newRecord(fromSSE bool, body []byte) []byte {
	head := recordJSON
	if fromSSE {
		head = recordSSE
	}
	rec := make([]byte, 0, len(head)+len(body)+1)
	rec = append(append(append(rec, head...), body...), '}')
	return rec
}

// readRecord returns the body of a record.
func readRecord(rec []byte) ([]byte, error) {
	body, ok := bytes.CutPrefix(rec, []byte(recordJSON))
	if !ok {
		body, ok = bytes.CutPrefix(rec, []byte(recordSSE))
	}
	if !ok {
		return nil, errors.New("not an openai record of version 1")
	}
	body, ok = bytes.CutSuffix(body, []byte{'}'})
	if !ok || !json.Valid(body) {
		return nil, errors.New("record body is not JSON")
	}
	return body, nil
}
