package envoysim

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
)

// header is one entry of a headerMap.
type header struct{ key, value string }

// headerMap keeps headers the way Envoy's HeaderMap does: names in lower case,
// in order, pseudo-headers first, several entries per name allowed.
type headerMap struct{ entries []header }

// hopByHop are connection-level headers Envoy's codecs consume instead of
// passing them on (they never reach filters or the other side).
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true,
}

// requestHeaderMap builds the headers Envoy's HTTP connection manager hands to
// the filter chain: pseudo-headers first, then the client's headers (sorted,
// as net/http does not keep their order), plus x-forwarded-proto and
// x-request-id, which Envoy adds by default.
func requestHeaderMap(r *http.Request, requestID string) *headerMap {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	m := &headerMap{}
	m.add(":authority", r.Host)
	m.add(":path", r.URL.RequestURI())
	m.add(":method", r.Method)
	m.add(":scheme", scheme)
	m.addHTTP(r.Header)
	if _, ok := m.get("x-forwarded-proto"); !ok {
		m.add("x-forwarded-proto", scheme)
	}
	if _, ok := m.get("x-request-id"); !ok {
		m.add("x-request-id", requestID)
	}
	return m
}

// responseHeaderMap builds the response headers as Envoy's codec presents
// them: ":status" first.
func responseHeaderMap(status int, h http.Header) *headerMap {
	m := &headerMap{}
	m.add(":status", strconv.Itoa(status))
	m.addHTTP(h)
	return m
}

func (m *headerMap) addHTTP(h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		if hopByHop[lk] {
			continue
		}
		for _, v := range h[k] {
			m.add(lk, v)
		}
	}
}

func (m *headerMap) clone() *headerMap {
	return &headerMap{entries: append([]header(nil), m.entries...)}
}

func (m *headerMap) get(key string) (string, bool) {
	for _, e := range m.entries {
		if e.key == key {
			return e.value, true
		}
	}
	return "", false
}

func (m *headerMap) add(key, value string) {
	m.entries = append(m.entries, header{key, value})
}

// set replaces every entry of key with one, kept at the first one's place
// (Envoy's setCopy).
func (m *headerMap) set(key, value string) {
	for i, e := range m.entries {
		if e.key == key {
			m.entries[i].value = value
			rest := m.entries[i+1:]
			kept := m.entries[:i+1]
			for _, r := range rest {
				if r.key != key {
					kept = append(kept, r)
				}
			}
			m.entries = kept
			return
		}
	}
	m.add(key, value)
}

func (m *headerMap) remove(key string) {
	kept := m.entries[:0]
	for _, e := range m.entries {
		if e.key != key {
			kept = append(kept, e)
		}
	}
	m.entries = kept
}

// toProto renders the map as Envoy sends it with its default runtime
// (envoy.reloadable_features.send_header_raw_value): values in raw_value only.
func (m *headerMap) toProto() *corev3.HeaderMap {
	out := &corev3.HeaderMap{}
	for _, e := range m.entries {
		out.Headers = append(out.Headers, &corev3.HeaderValue{Key: e.key, RawValue: []byte(e.value)})
	}
	return out
}

// httpHeader returns the entries as an http.Header: regular names
// canonicalised, pseudo-headers under their own names (":path"), which
// http.Header.Get finds unchanged.
func (m *headerMap) httpHeader() http.Header {
	h := http.Header{}
	for _, e := range m.entries {
		if strings.HasPrefix(e.key, ":") {
			h[e.key] = append(h[e.key], e.value)
			continue
		}
		h.Add(e.key, e.value)
	}
	return h
}

// regular returns the non-pseudo headers, to send on the wire.
func (m *headerMap) regular() http.Header {
	h := http.Header{}
	for _, e := range m.entries {
		if !strings.HasPrefix(e.key, ":") {
			h.Add(e.key, e.value)
		}
	}
	return h
}
