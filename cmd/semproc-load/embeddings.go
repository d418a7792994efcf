package main

import (
	"encoding/json"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// variantMark ends a prompt asked in other words: the embeddings server
// places the variant close to the question before the mark.
const variantMark = " | asked again"

// serveEmbeddingsAPI answers OpenAI embeddings requests at once, with a
// random unit vector seeded by the text: the same question gives the same
// vector, and a variant of it one at cosine distance about 0.005.
func serveEmbeddingsAPI(addr string, dims int) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /embeddings", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Input string `json:"input"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		v := embedText(req.Input, dims)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"object": "list", "model": "semproc-load",
			"data":  []map[string]any{{"object": "embedding", "index": 0, "embedding": v}},
			"usage": map[string]int{"prompt_tokens": 1, "total_tokens": 1},
		})
	})
	s := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return s.ListenAndServe()
}

// embedText is the question's vector, moved a little for a variant.
func embedText(text string, dims int) []float64 {
	question, _, _ := strings.Cut(text, variantMark)
	v := gaussian(question, dims, 1)
	if question != text {
		for i, x := range gaussian(text, dims, 0.1) {
			v[i] += x
		}
	}
	return v
}

// gaussian is dims normal samples of the given deviation, seeded by text.
func gaussian(text string, dims int, dev float64) []float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(text))
	r := rand.New(rand.NewPCG(h.Sum64(), 1))
	v := make([]float64, dims)
	for i := range v {
		v[i] = dev * r.NormFloat64()
	}
	return v
}
