// Package sse reads and writes Server-Sent Events (the text/event-stream
// format of the WHATWG HTML standard) incrementally, as LLM APIs stream
// them: a body arrives in chunks that split events, lines and even CRLF
// pairs anywhere.
package sse

import (
	"bytes"
	"strings"
)

// Event is one dispatched event. Data joins the event's data lines with
// "\n", as the standard says.
type Event struct {
	Name string
	Data string
}

// Reader splits a stream into events. The zero value is ready to use.
type Reader struct {
	buf     []byte
	name    string
	data    strings.Builder
	hasData bool
	// pendingCR is set when the last byte seen was a CR, so a LF that starts
	// the next chunk belongs to the same line ending.
	pendingCR bool
}

// Write feeds the next chunk and returns the events it completed.
func (r *Reader) Write(p []byte) []Event {
	if r.pendingCR && len(p) > 0 && p[0] == '\n' {
		p = p[1:]
	}
	r.pendingCR = false
	r.buf = append(r.buf, p...)
	var out []Event
	for {
		i := bytes.IndexAny(r.buf, "\r\n")
		if i < 0 {
			return out
		}
		line := string(r.buf[:i])
		next := i + 1
		if r.buf[i] == '\r' {
			if next == len(r.buf) {
				r.pendingCR = true
			} else if r.buf[next] == '\n' {
				next++
			}
		}
		r.buf = r.buf[next:]
		if ev, ok := r.line(line); ok {
			out = append(out, ev)
		}
	}
}

// Pending reports whether bytes of an unfinished event are buffered: a
// stream that ends with Pending true was cut off.
func (r *Reader) Pending() bool {
	return len(r.buf) > 0 || r.hasData || r.name != ""
}

func (r *Reader) line(line string) (Event, bool) {
	if line == "" {
		if !r.hasData {
			r.name = ""
			return Event{}, false
		}
		ev := Event{Name: r.name, Data: r.data.String()}
		r.name, r.hasData = "", false
		r.data.Reset()
		return ev, true
	}
	if strings.HasPrefix(line, ":") {
		return Event{}, false
	}
	field, value, _ := strings.Cut(line, ":")
	value = strings.TrimPrefix(value, " ")
	switch field {
	case "event":
		r.name = value
	case "data":
		if r.hasData {
			r.data.WriteByte('\n')
		}
		r.data.WriteString(value)
		r.hasData = true
	}
	return Event{}, false
}

// Append writes ev in the canonical form: an "event:" line when it has a
// name, one "data:" line per line of Data, and a blank line.
func Append(dst []byte, ev Event) []byte {
	if ev.Name != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, ev.Name...)
		dst = append(dst, '\n')
	}
	for _, l := range strings.Split(ev.Data, "\n") {
		dst = append(dst, "data: "...)
		dst = append(dst, l...)
		dst = append(dst, '\n')
	}
	return append(dst, '\n')
}
