package extproc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// checkBody reads a request body once, without building it, before any
// Format decodes it. It bounds the decode's cost (at most maxValues JSON
// values, and ctx: the lookup timeout) and refuses what two readers could
// read differently, so an answer is never stored under a prompt the upstream
// did not answer:
//   - bytes that are not UTF-8, and \u escapes of lone surrogates (Go reads
//     all of them as U+FFFD, so distinct prompts would share one key);
//   - an object with a key twice, at any depth (Go keeps the last, other
//     parsers the first).
//
// An error makes the request a Bypass.
func checkBody(ctx context.Context, body []byte, maxValues int) error {
	s := bodyScanner{b: body, ctx: ctx, max: maxValues}
	if err := s.value(0); err != nil {
		return err
	}
	s.space()
	if s.i != len(s.b) {
		return errors.New("data after the JSON value")
	}
	return nil
}

// maxDepth bounds nesting: no LLM request comes near it, and it keeps the
// scanner's recursion small.
const maxDepth = 128

type bodyScanner struct {
	b      []byte
	i      int
	ctx    context.Context
	max    int
	values int
}

var errTruncated = errors.New("truncated JSON")

func (s *bodyScanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *bodyScanner) value(depth int) error {
	s.values++
	if s.values > s.max {
		return fmt.Errorf("more than %d JSON values", s.max)
	}
	if s.values%4096 == 0 {
		if err := s.ctx.Err(); err != nil {
			return fmt.Errorf("reading the body: %w", err)
		}
	}
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d", maxDepth)
	}
	s.space()
	if s.i >= len(s.b) {
		return errTruncated
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth)
	case c == '[':
		return s.array(depth)
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || c >= '0' && c <= '9':
		for s.i < len(s.b) && bytes.IndexByte([]byte("+-.eE0123456789"), s.b[s.i]) >= 0 {
			s.i++
		}
		return nil
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
				s.i += len(lit)
				return nil
			}
		}
		return fmt.Errorf("unexpected %q at offset %d", c, s.i)
	}
}

func (s *bodyScanner) object(depth int) error {
	s.i++ // {
	keys := map[string]struct{}{}
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return fmt.Errorf("object key expected at offset %d", s.i)
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		if _, dup := keys[key]; dup {
			return fmt.Errorf("key %.64q appears twice in one object", key)
		}
		keys[key] = struct{}{}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return fmt.Errorf("':' expected at offset %d", s.i)
		}
		s.i++
		if err := s.value(depth + 1); err != nil {
			return err
		}
		if done, err := s.next('}'); done || err != nil {
			return err
		}
	}
}

func (s *bodyScanner) array(depth int) error {
	s.i++ // [
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		if err := s.value(depth + 1); err != nil {
			return err
		}
		if done, err := s.next(']'); done || err != nil {
			return err
		}
	}
}

// next reads the ',' between members or the closing delimiter.
func (s *bodyScanner) next(closing byte) (bool, error) {
	s.space()
	if s.i >= len(s.b) {
		return false, errTruncated
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		return false, nil
	case closing:
		s.i++
		return true, nil
	}
	return false, fmt.Errorf("',' or %q expected at offset %d", closing, s.i)
}

// str reads a string and returns it decoded (keys are compared decoded:
// "model" and "mod\u0065l" are the same key to every parser).
func (s *bodyScanner) str() (string, error) {
	start := s.i
	s.i++ // "
	escaped := false
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			raw := s.b[start:s.i]
			if !escaped {
				return string(raw[1 : len(raw)-1]), nil
			}
			var out string
			if err := json.Unmarshal(raw, &out); err != nil {
				return "", fmt.Errorf("string at offset %d: %w", start, err)
			}
			return out, nil
		case c == '\\':
			escaped = true
			if err := s.escape(); err != nil {
				return "", err
			}
		case c < 0x20:
			return "", fmt.Errorf("control character in a string at offset %d", s.i)
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n <= 1 {
				return "", fmt.Errorf("invalid UTF-8 at offset %d", s.i)
			}
			s.i += n
		}
	}
	return "", errTruncated
}

// escape reads one escape sequence; a \u escape of a surrogate must be a
// high one followed by a low one.
func (s *bodyScanner) escape() error {
	if s.i+1 >= len(s.b) {
		return errTruncated
	}
	if s.b[s.i+1] != 'u' {
		if bytes.IndexByte([]byte(`"\/bfnrt`), s.b[s.i+1]) < 0 {
			return fmt.Errorf("invalid escape at offset %d", s.i)
		}
		s.i += 2
		return nil
	}
	r, err := s.hex4(s.i + 2)
	if err != nil {
		return err
	}
	s.i += 6
	switch {
	case r >= 0xdc00 && r <= 0xdfff:
		return fmt.Errorf("lone low surrogate at offset %d", s.i-6)
	case r >= 0xd800 && r <= 0xdbff:
		if s.i+1 >= len(s.b) || s.b[s.i] != '\\' || s.b[s.i+1] != 'u' {
			return fmt.Errorf("lone high surrogate at offset %d", s.i-6)
		}
		low, err := s.hex4(s.i + 2)
		if err != nil {
			return err
		}
		if low < 0xdc00 || low > 0xdfff {
			return fmt.Errorf("lone high surrogate at offset %d", s.i-6)
		}
		s.i += 6
	}
	return nil
}

func (s *bodyScanner) hex4(at int) (rune, error) {
	if at+4 > len(s.b) {
		return 0, errTruncated
	}
	var r rune
	for _, c := range s.b[at : at+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, fmt.Errorf("invalid \\u escape at offset %d", at-2)
		}
		r = r<<4 | rune(d)
	}
	return r, nil
}
