package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	redisstore "github.com/semproc/semproc/providers/redis"
	"github.com/semproc/semproc/semantic"
)

// cacheAdmin is what the cache administration endpoints (SPEC §9) need of
// a store; both the in-process and the Redis store have it.
type cacheAdmin interface {
	// Delete removes the entry whose X-Cache-Key is key and says whether
	// there was one.
	Delete(ctx context.Context, key string) (bool, error)
	// DeleteWhere removes the entries f selects and counts them.
	DeleteWhere(ctx context.Context, f semantic.Filter) (int, error)
	Stats(ctx context.Context) (semantic.Stats, error)
}

var (
	_ cacheAdmin = (*semantic.Memory)(nil)
	_ cacheAdmin = (*redisstore.Store)(nil)
)

// cacheAdminHandlers serve SPEC §9 behind the bearer token; store returns
// the store in service, or why there is none yet.
type cacheAdminHandlers struct {
	store func() (cacheAdmin, error)
	log   *slog.Logger
}

// routeCacheAdmin adds the cache administration endpoints to mux, each
// behind the bearer token.
func routeCacheAdmin(mux *http.ServeMux, token string, h cacheAdminHandlers) {
	auth := bearer(token)
	mux.Handle("DELETE /cache/{key}", auth(http.HandlerFunc(h.deleteKey)))
	mux.Handle("DELETE /cache", auth(http.HandlerFunc(h.deleteMany)))
	mux.Handle("GET /cache/stats", auth(http.HandlerFunc(h.stats)))
}

// bearer lets through requests carrying Authorization: Bearer <token>. The
// comparison is of hashes, in constant time, so neither the token's bytes
// nor its length show in the timing.
func bearer(token string) func(http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			sum := sha256.Sum256([]byte(got))
			if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="semproc"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// noSuchEntry tells a missing entry's 404 from a missing endpoint's.
const noSuchEntry = "no such entry"

func (h cacheAdminHandlers) deleteKey(w http.ResponseWriter, r *http.Request) {
	s, ok := h.open(w)
	if !ok {
		return
	}
	key := r.PathValue("key")
	found, err := s.Delete(r.Context(), key)
	if err != nil {
		h.failed(w, "delete", err)
		return
	}
	if !found {
		http.Error(w, noSuchEntry, http.StatusNotFound)
		return
	}
	h.log.Info("cache entry deleted by the admin API", "key", key)
	w.WriteHeader(http.StatusNoContent)
}

func (h cacheAdminHandlers) deleteMany(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f semantic.Filter
	switch model, tag, all := q.Get("model"), q.Get("model_hash"), q.Get("all"); {
	case model != "" && tag == "" && all == "":
		f.Model = semantic.ModelTag(model)
	case tag != "" && model == "" && all == "":
		if b, err := hex.DecodeString(tag); err != nil || len(b) != sha256.Size {
			http.Error(w, "model_hash: want the 64 hex digits /cache/stats shows", http.StatusBadRequest)
			return
		}
		f.Model = strings.ToLower(tag)
	case all == "true" && model == "" && tag == "":
	default:
		http.Error(w, "want exactly one of model=NAME, model_hash=HEX or all=true", http.StatusBadRequest)
		return
	}
	s, ok := h.open(w)
	if !ok {
		return
	}
	n, err := s.DeleteWhere(r.Context(), f)
	if err != nil {
		// Entries deleted before the failure stay deleted; the count says
		// how many.
		h.log.Warn("cache purge failed part way", "model_hash", f.Model, "deleted", n, "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"deleted": n, "error": "the store failed; retry"})
		return
	}
	h.log.Info("cache entries deleted by the admin API", "model_hash", f.Model, "deleted", n)
	writeJSON(w, http.StatusOK, map[string]int{"deleted": n})
}

func (h cacheAdminHandlers) stats(w http.ResponseWriter, r *http.Request) {
	s, ok := h.open(w)
	if !ok {
		return
	}
	st, err := s.Stats(r.Context())
	if err != nil {
		h.failed(w, "stats", err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// open returns the store in service, or answers 503 while there is none
// (the embeddings dimension is still unknown).
func (h cacheAdminHandlers) open(w http.ResponseWriter) (cacheAdmin, bool) {
	s, err := h.store()
	if err != nil {
		h.failed(w, "open", err)
		return nil, false
	}
	return s, true
}

// failed answers 503 for a store that cannot answer now. The error is
// logged, not sent: it may name hosts.
func (h cacheAdminHandlers) failed(w http.ResponseWriter, op string, err error) {
	h.log.Warn("cache admin call failed", "op", op, "error", err)
	msg := "the store failed; retry"
	if errors.Is(err, errStoreNotOpen) {
		msg = "the store is not open yet"
	}
	http.Error(w, msg, http.StatusServiceUnavailable)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// adminStore is the deferred store's current store as a cacheAdmin.
func (d *deferredStore) adminStore() (cacheAdmin, error) {
	s, err := d.get()
	if err != nil {
		return nil, err
	}
	a, ok := s.(cacheAdmin)
	if !ok {
		return nil, errors.New("the store has no administration")
	}
	return a, nil
}
