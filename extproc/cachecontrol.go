package extproc

import (
	"strconv"
	"strings"
	"time"
)

// cacheControl is what semproc reads of a Cache-Control header (RFC 9111).
type cacheControl struct {
	noStore, noCache, private bool
	maxAge                    time.Duration
	hasMaxAge                 bool
}

func parseCacheControl(v string) cacheControl {
	var cc cacheControl
	for _, d := range strings.Split(v, ",") {
		name, arg, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-store":
			cc.noStore = true
		case "no-cache":
			cc.noCache = true
		case "private":
			cc.private = true
		case "max-age":
			n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(arg), `"`), 10, 64)
			if err != nil || n < 0 {
				// RFC 9111 §4.2.1: an invalid freshness lifetime is stale.
				n = 0
			}
			n = min(n, int64(1<<31-1))
			if !cc.hasMaxAge || time.Duration(n)*time.Second < cc.maxAge {
				cc.maxAge = time.Duration(n) * time.Second
			}
			cc.hasMaxAge = true
		}
	}
	return cc
}
