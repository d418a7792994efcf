// Command semproc-load drives a running semproc over gRPC exactly as
// Envoy's ext_proc filter does with the shipped configuration (BUFFERED
// request body, then response headers and a STREAMED response body on a
// miss), and reports throughput, latency percentiles and the hit ratio.
//
//	semproc-load -addr 127.0.0.1:50051 -c 8 -d 20s -prompts 200
//
// With -prompts N it cycles through N distinct prompts: the first round
// misses and stores, later rounds hit. -unique makes every request a miss.
// -variant V asks the same questions in other words (an exact miss), which
// the embeddings server -serve-embeddings starts maps near the stored
// vectors: a semantic hit. -passthrough sends requests semproc does not
// handle; -floor also starts, in its own process, a server that only skips
// after the request headers, and compares semproc's throughput with it
// (and, given semproc's -pid, the CPU time each spends a request).
//
//	semproc-load -serve-embeddings 127.0.0.1:50600 -dims 1536 &
//	semproc-load -addr 127.0.0.1:50551 -floor -c 64 -d 10s
//
// -soak runs a mixed load instead and samples semproc's RSS and goroutines
// (soak.go); -hostile N sends bodies of N tiny messages (hostile.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

type options struct {
	addr        string
	conc        int
	duration    time.Duration
	max         int
	prompts     int
	unique      bool
	first       int
	variant     int
	passthrough bool
	floor       bool
	pid         int
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:50051", "semproc's ext_proc address")
	flag.IntVar(&o.conc, "c", 4, "concurrent streams")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "how long to run")
	flag.IntVar(&o.max, "n", 0, "stop after this many requests (0: run for -d)")
	flag.IntVar(&o.prompts, "prompts", 100, "distinct prompts to cycle through")
	flag.BoolVar(&o.unique, "unique", false, "a new prompt for every request (all misses)")
	flag.IntVar(&o.first, "first", 0, "number of the first prompt (with -unique: new questions after an earlier run)")
	flag.IntVar(&o.variant, "variant", 0, "ask the prompts in other words, variant V (exact misses, semantic hits with -serve-embeddings)")
	flag.BoolVar(&o.passthrough, "passthrough", false, "send only requests semproc does not handle (GET, request headers)")
	flag.BoolVar(&o.floor, "floor", false, "with -passthrough: also measure a server that only skips, started in its own process, and print the ratio")
	flag.IntVar(&o.pid, "pid", 0, "with -floor: semproc's process ID, to compare the CPU time each server spends a request too (Linux)")
	serveEmbeddings := flag.String("serve-embeddings", "", "serve a zero-work OpenAI embeddings API on this address instead of sending load")
	dims := flag.Int("dims", 1536, "vector size -serve-embeddings returns")
	serveFloor := flag.String("serve-floor", "", "serve the pass-through floor on this address instead of sending load (-floor starts it)")
	soak, hostile := soakFlags(), hostileFlags()
	flag.Parse()
	var err error
	switch {
	case *hostile > 0:
		err = runHostile(o.addr, *hostile, o.conc, os.Stdout)
	case soak.enabled:
		soak.addr, soak.conc, soak.duration = o.addr, o.conc, o.duration
		err = runSoak(*soak, os.Stdout)
	case *serveEmbeddings != "":
		err = serveEmbeddingsAPI(*serveEmbeddings, *dims)
	case *serveFloor != "":
		err = serveFloorServer(context.Background(), *serveFloor)
	case o.floor:
		o.passthrough = true
		err = runFloor(context.Background(), o, os.Stdout)
	default:
		err = run(o, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "semproc-load:", err)
		os.Exit(1)
	}
}

type result struct {
	latency time.Duration
	hit     bool
}

func run(o options, out io.Writer) error {
	results, elapsed, err := load(o)
	report(out, results, elapsed, o)
	return err
}

// load sends o's requests to o.addr for o.duration (or o.max requests).
func load(o options) ([]result, time.Duration, error) {
	if o.conc < 1 || o.prompts < 1 || o.duration <= 0 {
		return nil, 0, errors.New("-c, -prompts and -d must be positive")
	}
	conn, err := grpc.NewClient(o.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, 0, err
	}
	defer conn.Close()
	client := extprocv3.NewExternalProcessorClient(conn)
	// The streams in flight at the end are cancelled, as Envoy resets a
	// stream, not given the run's deadline: semproc would count a deadline
	// that passed during a store or embeddings call as that dependency's
	// timeout, and a few in a row open its circuit breaker for the next run.
	deadline := time.Now().Add(o.duration)
	ctx, cancel := context.WithCancel(context.Background())
	defer time.AfterFunc(o.duration, cancel).Stop()
	defer cancel()

	var next atomic.Int64
	var mu sync.Mutex
	var results []result
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range o.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1)
				if o.max > 0 && i > int64(o.max) {
					return
				}
				prompt := int64(o.first) + i%int64(o.prompts)
				if o.unique {
					prompt = int64(o.first) + i
				}
				text := fmt.Sprintf("Question number %d: what is %d times %d?", prompt, prompt, prompt+7)
				if o.variant > 0 {
					text += variantMark + strings.Repeat("!", o.variant) // no digits: the cache compares numbers
				}
				t0 := time.Now()
				var hit bool
				var err error
				if o.passthrough {
					err = passThrough(ctx, client)
				} else {
					hit, err = oneRequest(ctx, client, text)
				}
				if !time.Now().Before(deadline) {
					return // ended at the deadline, perhaps cut off by it: not a sample
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					results = append(results, result{latency: time.Since(t0), hit: hit})
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return results, time.Since(start), firstErr
}

// oneRequest is one HTTP request as Envoy presents it: it reports whether
// semproc answered from the cache.
func oneRequest(ctx context.Context, c extprocv3.ExternalProcessorClient, prompt string) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.Process(ctx)
	if err != nil {
		return false, err
	}
	body := fmt.Sprintf(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":%q}]}`, prompt)
	exchange := func(m *extprocv3.ProcessingRequest) (*extprocv3.ProcessingResponse, error) {
		if err := s.Send(m); err != nil {
			return nil, err
		}
		return s.Recv()
	}
	steps := []*extprocv3.ProcessingRequest{
		{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: headers(
			":method", "POST", ":path", "/v1/chat/completions", "authorization", "Bearer load-test", "content-type", "application/json")}}},
		{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte(body), EndOfStream: true}}},
		{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: headers(":status", "200", "content-type", "application/json")}}},
		{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{EndOfStream: true, Body: []byte(
			`{"id":"chatcmpl-load","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"` + prompt + ` is answered."},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`)}}},
	}
	for _, m := range steps {
		r, err := exchange(m)
		if err != nil {
			return false, err
		}
		if r.GetImmediateResponse() != nil {
			return true, s.CloseSend()
		}
	}
	return false, s.CloseSend()
}

func headers(kv ...string) *corev3.HeaderMap {
	hm := &corev3.HeaderMap{}
	for i := 0; i+1 < len(kv); i += 2 {
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
	}
	return hm
}

func report(out io.Writer, rs []result, elapsed time.Duration, o options) {
	if len(rs) == 0 {
		fmt.Fprintln(out, "no request completed")
		return
	}
	var hits []time.Duration
	var misses []time.Duration
	for _, r := range rs {
		if r.hit {
			hits = append(hits, r.latency)
		} else {
			misses = append(misses, r.latency)
		}
	}
	fmt.Fprintf(out, "%d requests in %s with %d streams: %.0f req/s, %.1f%% hits\n",
		len(rs), elapsed.Round(time.Millisecond), o.conc, float64(len(rs))/elapsed.Seconds(), 100*float64(len(hits))/float64(len(rs)))
	for _, g := range []struct {
		name string
		ls   []time.Duration
	}{{"hit", hits}, {"miss", misses}} {
		if len(g.ls) == 0 {
			continue
		}
		slices.Sort(g.ls)
		p := func(q float64) time.Duration { return g.ls[int(q*float64(len(g.ls)-1))].Round(time.Microsecond) }
		fmt.Fprintf(out, "%-4s n=%-7d p50=%-10s p90=%-10s p99=%-10s max=%s\n", g.name, len(g.ls), p(0.5), p(0.9), p(0.99), g.ls[len(g.ls)-1].Round(time.Microsecond))
	}
}
