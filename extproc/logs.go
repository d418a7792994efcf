package extproc

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// maxLogField bounds a client-chosen value (model, request id) in a log
// line: a 1 MiB model name must not make a 1 MiB line.
const maxLogField = 128

// clip cuts s to maxLogField bytes at a rune boundary and says how long it
// was.
func clip(s string) string {
	if len(s) <= maxLogField {
		return s
	}
	cut := maxLogField
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

// warnEvery is how often one kind of failure may log a WARN line: during
// an outage every request fails the same way, and the metrics count them
// all.
const warnEvery = 10 * time.Second

// logLimiter lets one line per kind through every warnEvery and counts the
// ones it held back, for the next line to report.
type logLimiter struct {
	mu         sync.Mutex
	now        func() time.Time
	last       map[string]time.Time
	suppressed map[string]int
}

func newLogLimiter() *logLimiter {
	return &logLimiter{now: time.Now, last: map[string]time.Time{}, suppressed: map[string]int{}}
}

// allow reports whether a line of kind may be logged now, and how many
// were held back since the last one.
func (l *logLimiter) allow(kind string) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if last, ok := l.last[kind]; ok && now.Sub(last) < warnEvery {
		l.suppressed[kind]++
		return 0, false
	}
	n := l.suppressed[kind]
	l.last[kind], l.suppressed[kind] = now, 0
	return n, true
}

// warn logs a swallowed failure of kind at WARN, at most once per
// warnEvery; the caller has counted it.
func (st *stream) warn(kind, msg string, args ...any) {
	n, ok := st.s.warns.allow(kind)
	if !ok {
		return
	}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	st.log.Warn(msg, args...)
}
