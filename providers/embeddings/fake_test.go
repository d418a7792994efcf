package embeddings

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/semproc/semproc/semantic"
)

// testEmbedder is what the tests need of every provider.
type testEmbedder interface {
	semantic.Embedder
	Dimensions() int
	Fits(string) bool
}

// provider describes one API as its documentation does: where requests go,
// how they authenticate, what bodies look like.
type provider struct {
	name string
	// newClient builds the client against a fake server's URL.
	newClient func(serverURL string, o Options) (testEmbedder, error)
	path      string
	query     string
	// authHeader and authValue carry the API key "sk-test".
	authHeader, authValue string
	// request is the body the client must send for input "hello" with
	// dimensions d (0 = not sent).
	request func(d int) map[string]any
	// ok is a successful answer carrying vec.
	ok func(vec []float32) string
	// fail is an error answer carrying msg.
	fail func(msg string) string
}

const testKey = "sk-test"

func providers() []provider {
	openAIOK := func(vec []float32) string {
		b, _ := json.Marshal(vec)
		return fmt.Sprintf(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":%s}],"model":"text-embedding-3-small","usage":{"prompt_tokens":1,"total_tokens":1}}`, b)
	}
	openAIFail := func(msg string) string {
		b, _ := json.Marshal(msg)
		return fmt.Sprintf(`{"error":{"message":%s,"type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`, b)
	}
	return []provider{{
		name: "openai",
		newClient: func(u string, o Options) (testEmbedder, error) {
			o.URL = u + "/v1"
			return NewOpenAI(o)
		},
		path:       "/v1/embeddings",
		authHeader: "Authorization", authValue: "Bearer " + testKey,
		request: func(d int) map[string]any {
			m := map[string]any{"model": "text-embedding-3-small", "input": "hello", "encoding_format": "float"}
			if d > 0 {
				m["dimensions"] = float64(d)
			}
			return m
		},
		ok:   openAIOK,
		fail: openAIFail,
	}, {
		name: "azure",
		newClient: func(u string, o Options) (testEmbedder, error) {
			o.URL = u + "/openai/deployments/emb3"
			return NewAzure(o)
		},
		path:       "/openai/deployments/emb3/embeddings",
		query:      "api-version=" + DefaultAzureAPIVersion,
		authHeader: "Api-Key", authValue: testKey,
		request: func(d int) map[string]any {
			m := map[string]any{"input": "hello", "encoding_format": "float"}
			if d > 0 {
				m["dimensions"] = float64(d)
			}
			return m
		},
		ok: openAIOK,
		fail: func(msg string) string {
			b, _ := json.Marshal(msg)
			return fmt.Sprintf(`{"error":{"code":"401","message":%s}}`, b)
		},
	}, {
		name: "ollama",
		newClient: func(u string, o Options) (testEmbedder, error) {
			o.URL = u
			return NewOllama(o)
		},
		path:       "/api/embed",
		authHeader: "Authorization", authValue: "Bearer " + testKey,
		request: func(d int) map[string]any {
			m := map[string]any{"model": "nomic-embed-text", "input": "hello", "truncate": false}
			if d > 0 {
				m["dimensions"] = float64(d)
			}
			return m
		},
		ok: func(vec []float32) string {
			b, _ := json.Marshal(vec)
			return fmt.Sprintf(`{"model":"nomic-embed-text","embeddings":[%s],"total_duration":14143917,"load_duration":1019500,"prompt_eval_count":1}`, b)
		},
		fail: func(msg string) string {
			b, _ := json.Marshal(msg)
			return fmt.Sprintf(`{"error":%s}`, b)
		},
	}}
}

// recorded is one request as the fake server saw it.
type recorded struct {
	method, path, query string
	header              http.Header
	body                map[string]any
}

// fakeServer answers every request with status and body, or hangs until
// the client gives up.
type fakeServer struct {
	*httptest.Server
	mu     sync.Mutex
	seen   []recorded
	status int
	body   string
	hang   bool
}

func newFakeServer(t *testing.T, status int, body string) *fakeServer {
	t.Helper()
	f := &fakeServer{status: status, body: body}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	f.mu.Lock()
	f.seen = append(f.seen, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
	status, resp, hang := f.status, f.body, f.hang
	f.mu.Unlock()
	if hang {
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, resp)
}

func (f *fakeServer) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.seen...)
}
