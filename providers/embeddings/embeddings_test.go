package embeddings

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semproc/semproc/semantic"
)

func TestRequestShape(t *testing.T) {
	for _, p := range providers() {
		for _, dims := range []int{0, 3} {
			t.Run(p.name, func(t *testing.T) {
				srv := newFakeServer(t, http.StatusOK, p.ok([]float32{0.1, 0.2, 0.3}))
				e, err := p.newClient(srv.URL, Options{APIKey: testKey + "\n", Dimensions: dims})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.Embed(context.Background(), "hello"); err != nil {
					t.Fatal(err)
				}
				reqs := srv.requests()
				if len(reqs) != 1 {
					t.Fatalf("got %d requests, want 1", len(reqs))
				}
				r := reqs[0]
				if r.method != http.MethodPost || r.path != p.path || r.query != p.query {
					t.Errorf("request %s %s?%s, want POST %s?%s", r.method, r.path, r.query, p.path, p.query)
				}
				if got := r.header.Get(p.authHeader); got != p.authValue {
					t.Errorf("%s = %q, want %q", p.authHeader, got, p.authValue)
				}
				if got := r.header.Get("Content-Type"); got != "application/json" {
					t.Errorf("Content-Type = %q", got)
				}
				if want := p.request(dims); !reflect.DeepEqual(r.body, want) {
					t.Errorf("body = %v, want %v", r.body, want)
				}
			})
		}
	}
}

func TestNoKeyNoAuthHeader(t *testing.T) {
	for _, p := range providers() {
		if p.name == "azure" {
			continue // the key is required there
		}
		t.Run(p.name, func(t *testing.T) {
			srv := newFakeServer(t, http.StatusOK, p.ok([]float32{1, 2}))
			e, err := p.newClient(srv.URL, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Embed(context.Background(), "hello"); err != nil {
				t.Fatal(err)
			}
			if h := srv.requests()[0].header.Get("Authorization"); h != "" {
				t.Errorf("Authorization = %q, want none", h)
			}
		})
	}
}

func TestEmbedReturnsVectorAsGiven(t *testing.T) {
	for _, p := range providers() {
		t.Run(p.name, func(t *testing.T) {
			srv := newFakeServer(t, http.StatusOK, p.ok([]float32{3, -4, 0.5}))
			e, err := p.newClient(srv.URL, Options{APIKey: testKey})
			if err != nil {
				t.Fatal(err)
			}
			if d := e.Dimensions(); d != 0 {
				t.Errorf("Dimensions before any call = %d, want 0", d)
			}
			vec, err := e.Embed(context.Background(), "hello")
			if err != nil {
				t.Fatal(err)
			}
			if want := []float32{3, -4, 0.5}; !reflect.DeepEqual(vec, want) {
				t.Errorf("vector = %v, want %v (not normalised)", vec, want)
			}
			if d := e.Dimensions(); d != 0 {
				t.Errorf("Dimensions after a call = %d, want 0 (learning is semantic.Dimensions')", d)
			}
		})
	}
}

func TestStatusErrors(t *testing.T) {
	cases := []struct {
		status int
		msg    string
	}{
		{http.StatusUnauthorized, "Incorrect API key provided: " + testKey + ". You can find your API key at https://platform.openai.com/account/api-keys."},
		{http.StatusTooManyRequests, "Rate limit reached for requests"},
		{http.StatusInternalServerError, "The server had an error while processing your request."},
		{http.StatusBadRequest, "Invalid input: 'hello' contains a token the model refuses"},
	}
	for _, p := range providers() {
		for _, c := range cases {
			t.Run(p.name+"/"+http.StatusText(c.status), func(t *testing.T) {
				srv := newFakeServer(t, c.status, p.fail(c.msg))
				e, err := p.newClient(srv.URL, Options{APIKey: testKey})
				if err != nil {
					t.Fatal(err)
				}
				_, err = e.Embed(context.Background(), "hello")
				var se *StatusError
				if !errors.As(err, &se) {
					t.Fatalf("error %v, want a *StatusError", err)
				}
				if se.StatusCode != c.status || se.Provider != p.name {
					t.Errorf("StatusError %+v, want status %d from %s", se, c.status, p.name)
				}
				if strings.Contains(err.Error(), testKey) {
					t.Errorf("error %q contains the API key", err)
				}
				// Logs and /readyz print Error: never the provider's text,
				// which may echo the prompt.
				if strings.Contains(err.Error(), "hello") || strings.Contains(err.Error(), c.msg[:12]) {
					t.Errorf("error %q carries the provider's text", err)
				}
				// The provider's message, key removed, not the JSON around it.
				if want := strings.ReplaceAll(c.msg, testKey, "[redacted]"); se.Message != want {
					t.Errorf("message %q, want %q", se.Message, want)
				}
			})
		}
	}
}

func TestStatusErrorWithoutJSONBody(t *testing.T) {
	srv := newFakeServer(t, http.StatusBadGateway, "<html>\n<body>502 Bad Gateway "+strings.Repeat("x", 5000)+"</body></html>")
	e, err := NewOpenAI(Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Embed(context.Background(), "hello")
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusBadGateway {
		t.Fatalf("error %v, want a 502 StatusError", err)
	}
	if !strings.HasPrefix(se.Message, "<html> <body>502 Bad Gateway") || len(se.Message) > 4*maxMessageChars+len("…") {
		t.Errorf("message %q, want a short one-line excerpt", se.Message)
	}
}

func TestTimeout(t *testing.T) {
	for _, p := range providers() {
		t.Run(p.name, func(t *testing.T) {
			srv := newFakeServer(t, http.StatusOK, p.ok([]float32{1}))
			srv.hang = true
			e, err := p.newClient(srv.URL, Options{APIKey: testKey, Timeout: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.Embed(context.Background(), "hello")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error %v, want one wrapping context.DeadlineExceeded", err)
			}
			if !strings.Contains(err.Error(), "no answer within 50ms") {
				t.Errorf("error %q does not say the call timed out", err)
			}
		})
	}
}

func TestCallerCancel(t *testing.T) {
	p := providers()[0]
	srv := newFakeServer(t, http.StatusOK, p.ok([]float32{1}))
	srv.hang = true
	e, err := p.newClient(srv.URL, Options{Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Embed(ctx, "hello"); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestWrongDimension(t *testing.T) {
	for _, p := range providers() {
		t.Run(p.name+"/configured", func(t *testing.T) {
			srv := newFakeServer(t, http.StatusOK, p.ok([]float32{1, 2}))
			e, err := p.newClient(srv.URL, Options{APIKey: testKey, Dimensions: 3})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Embed(context.Background(), "hello"); !errors.Is(err, semantic.ErrDimension) {
				t.Fatalf("error %v, want semantic.ErrDimension", err)
			}
			if d := e.Dimensions(); d != 3 {
				t.Errorf("Dimensions = %d, want the configured 3", d)
			}
		})
		t.Run(p.name+"/not configured: any size passes", func(t *testing.T) {
			srv := newFakeServer(t, http.StatusOK, p.ok([]float32{1, 2}))
			e, err := p.newClient(srv.URL, Options{APIKey: testKey})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Embed(context.Background(), "hello"); err != nil {
				t.Fatal(err)
			}
			srv.mu.Lock()
			srv.body = p.ok([]float32{1, 2, 3})
			srv.mu.Unlock()
			if _, err := e.Embed(context.Background(), "hello"); err != nil {
				t.Fatalf("error %v: an unpinned size is checked by semantic.Dimensions, which heals", err)
			}
		})
	}
}

func TestMalformedResponses(t *testing.T) {
	openAI := []struct{ name, body, want string }{
		{"not json", `<html>ok</html>`, "malformed response"},
		{"truncated", `{"data":[{"embedding":[0.1,`, "malformed response"},
		{"no data", `{"object":"list","data":[]}`, "want 1 embedding, got 0"},
		{"two embeddings", `{"data":[{"embedding":[1]},{"embedding":[2]}]}`, "want 1 embedding, got 2"},
		{"empty embedding", `{"data":[{"embedding":[]}]}`, "empty embedding"},
		{"base64", `{"data":[{"embedding":"AACAPw=="}]}`, "malformed response"},
		{"error in 200", `{"error":{"message":"model overloaded","type":"server_error"}}`, "error in response (server_error)"},
		{"error in 200 with the key", `{"error":{"message":"bad key sk-test"}}`, "error in response"},
		{"error in 200 echoing the input", `{"error":{"message":"cannot embed 'hello'","code":"invalid_input"}}`, "error in response (invalid_input)"},
		{"error code that is not an identifier", `{"error":{"message":"x","code":"'hello' is bad"}}`, "error in response"},
	}
	ollama := []struct{ name, body, want string }{
		{"not json", `nope`, "malformed response"},
		{"no embeddings", `{"model":"m","embeddings":[]}`, "want 1 embedding, got 0"},
		{"flat vector", `{"embeddings":[0.1,0.2]}`, "malformed response"},
		{"empty embedding", `{"embeddings":[[]]}`, "empty embedding"},
		{"error in 200", `{"error":"model not loaded"}`, "error in response"},
		{"error in 200 echoing the input", `{"error":"cannot embed 'hello'"}`, "error in response"},
	}
	for _, p := range providers() {
		cases := openAI
		if p.name == "ollama" {
			cases = ollama
		}
		for _, c := range cases {
			t.Run(p.name+"/"+c.name, func(t *testing.T) {
				srv := newFakeServer(t, http.StatusOK, c.body)
				e, err := p.newClient(srv.URL, Options{APIKey: testKey})
				if err != nil {
					t.Fatal(err)
				}
				vec, err := e.Embed(context.Background(), "hello")
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("got %v, %v; want an error containing %q", vec, err, c.want)
				}
				if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "hello") {
					t.Errorf("error %q contains the API key or the input", err)
				}
				if d := e.Dimensions(); d != 0 {
					t.Errorf("a bad answer taught Dimensions %d", d)
				}
			})
		}
	}
}

func TestEmptyInputNotSent(t *testing.T) {
	for _, p := range providers() {
		t.Run(p.name, func(t *testing.T) {
			srv := newFakeServer(t, http.StatusOK, p.ok([]float32{1}))
			e, err := p.newClient(srv.URL, Options{APIKey: testKey})
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range []string{"", " \n\t"} {
				if _, err := e.Embed(context.Background(), in); !errors.Is(err, ErrEmptyInput) {
					t.Errorf("Embed(%q) error %v, want ErrEmptyInput", in, err)
				}
			}
			if n := len(srv.requests()); n != 0 {
				t.Errorf("%d requests sent for empty input", n)
			}
		})
	}
}

func TestFits(t *testing.T) {
	e, err := NewOllama(Options{MaxInputChars: 5})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]bool{"héllo": true, "hello!": false, "": true} {
		if got := e.Fits(in); got != want {
			t.Errorf("Fits(%q) = %v, want %v", in, got, want)
		}
	}
	unlimited, err := NewOllama(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !unlimited.Fits(strings.Repeat("x", 1<<20)) {
		t.Error("without MaxInputChars every text fits")
	}
}

func TestOptionsValidation(t *testing.T) {
	cases := []struct {
		name string
		new  func() error
		want []string
	}{
		{"openai relative url", func() error { _, err := NewOpenAI(Options{URL: "api.openai.com/v1"}); return err }, []string{"absolute http or https URL"}},
		{"openai api version", func() error { _, err := NewOpenAI(Options{APIVersion: "2024-10-21"}); return err }, []string{"azure only"}},
		{"negatives", func() error {
			_, err := NewOpenAI(Options{Dimensions: -1, Timeout: -time.Second, MaxInputChars: -1})
			return err
		}, []string{"dimensions", "timeout", "max input chars"}},
		{"azure nothing", func() error { _, err := NewAzure(Options{}); return err }, []string{"url is required", "api key is required"}},
		{"azure resource url", func() error {
			_, err := NewAzure(Options{URL: "https://r.openai.azure.com/", APIKey: "k"})
			return err
		}, []string{"names no deployment"}},
		{"ollama scheme", func() error { _, err := NewOllama(Options{URL: "ftp://host"}); return err }, []string{"absolute http or https URL"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.new()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestAzureAPIVersion(t *testing.T) {
	cases := []struct{ url, version, want string }{
		{"/openai/deployments/d/", "", "api-version=" + DefaultAzureAPIVersion},
		{"/openai/deployments/d?api-version=2025-01-01-preview", "", "api-version=2025-01-01-preview"},
		{"/openai/deployments/d?api-version=2025-01-01-preview", "2024-06-01", "api-version=2024-06-01"},
	}
	for _, c := range cases {
		srv := newFakeServer(t, http.StatusOK, `{"data":[{"embedding":[1]}]}`)
		e, err := NewAzure(Options{URL: srv.URL + c.url, APIKey: "k", APIVersion: c.version})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Embed(context.Background(), "hi"); err != nil {
			t.Fatal(err)
		}
		r := srv.requests()[0]
		if r.path != "/openai/deployments/d/embeddings" || r.query != c.want {
			t.Errorf("%s (version %q): request to %s?%s, want …?%s", c.url, c.version, r.path, r.query, c.want)
		}
	}
}

// TestConcurrentCallsReuseConnections runs three rounds of 64 calls at
// once: the keep-alive pool must carry the later rounds, where Go's default
// transport (2 idle connections per host) opens one connection per call.
func TestConcurrentCallsReuseConnections(t *testing.T) {
	body := `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}]}`
	var opened atomic.Int64
	release := make(chan struct{})
	var inFlight sync.WaitGroup
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		inFlight.Done()
		<-release // hold every call of a round open at once
		_, _ = io.WriteString(w, body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	e, err := NewOpenAI(Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	const calls = 64
	for range 3 {
		inFlight.Add(calls)
		var wg sync.WaitGroup
		errs := make(chan error, calls)
		for range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.Embed(context.Background(), "hello")
				errs <- err
			}()
		}
		inFlight.Wait()
		for range calls {
			release <- struct{}{}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := opened.Load(); n > calls {
		t.Errorf("%d connections for 3 rounds of %d concurrent calls, want at most %d", n, calls, calls)
	}
}
