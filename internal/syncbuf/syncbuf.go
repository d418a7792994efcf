// Package syncbuf is a buffer goroutines share: the log sink a test reads
// while a server (and its background work) writes to it.
package syncbuf

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer is an io.Writer safe for concurrent use; the zero value is ready.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Lines returns what was written so far, one entry a line, without the
// final newline.
func (s *Buffer) Lines() []string {
	return strings.Split(strings.TrimSpace(s.String()), "\n")
}
