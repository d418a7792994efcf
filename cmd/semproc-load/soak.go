package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// soakOptions configure -soak: a mixed load, bounded in time, that watches
// semproc's memory, goroutines and protocol conformance as it runs.
type soakOptions struct {
	enabled  bool
	addr     string
	metrics  string // semproc's /metrics URL
	conc     int
	duration time.Duration
	every    time.Duration
}

// soakFlags registers the soak mode's own flags; -addr, -c and -d are
// shared with the benchmark.
func soakFlags() *soakOptions {
	var o soakOptions
	flag.BoolVar(&o.enabled, "soak", false, "soak mode: a mixed load (hits, misses, streams, pass-through, cancellations) reporting RSS, goroutines and protocol errors")
	flag.StringVar(&o.metrics, "metrics", "http://127.0.0.1:9090/metrics", "soak: semproc's /metrics URL")
	flag.DurationVar(&o.every, "every", 30*time.Second, "soak: how often to sample the metrics")
	return &o
}

// The mix: repeats of a few prompts (hits after the first round), unique
// prompts (misses that store), streamed misses, requests semproc does not
// handle, and clients that go away mid-body or mid-stream.
var soakMix = []struct {
	name   string
	weight int
	run    func(ctx context.Context, c extprocv3.ExternalProcessorClient, rnd *rand.Rand) error
}{
	{"hit", 40, func(ctx context.Context, c extprocv3.ExternalProcessorClient, rnd *rand.Rand) error {
		return soakJSON(ctx, c, fmt.Sprintf("Soak question %d: name a colour.", rnd.IntN(50)))
	}},
	{"miss", 20, func(ctx context.Context, c extprocv3.ExternalProcessorClient, rnd *rand.Rand) error {
		return soakJSON(ctx, c, fmt.Sprintf("Unique soak question %d: name a city.", rnd.Uint64()))
	}},
	{"stream", 20, soakStream},
	{"pass-through", 10, soakPassThrough},
	{"cancel", 10, soakCancel},
}

// protocolError is a reply Envoy would count as spurious, or a stream that
// failed without the client asking for it.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

func runSoak(o soakOptions, out io.Writer) error {
	if o.conc < 1 || o.duration <= 0 || o.every <= 0 {
		return errors.New("-c, -d and -every must be positive")
	}
	conn, err := grpc.NewClient(o.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	client := extprocv3.NewExternalProcessorClient(conn)

	start := time.Now()
	first, err := sample(o.metrics)
	if err != nil {
		return fmt.Errorf("reading %s: %w", o.metrics, err)
	}
	fmt.Fprintf(out, "%-8s %10s %10s %10s %8s\n", "elapsed", "requests", "rss_mib", "goroutines", "errors")
	fmt.Fprintf(out, "%-8s %10d %10.1f %10.0f %8d\n", "0s", 0, first.rss/(1<<20), first.goroutines, 0)

	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	var (
		done, protoErrs atomic.Int64
		counts          = make([]atomic.Int64, len(soakMix))
		mu              sync.Mutex
		firstErr        error
		wg              sync.WaitGroup
	)
	total := 0
	for _, m := range soakMix {
		total += m.weight
	}
	for w := range o.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for ctx.Err() == nil {
				k, pick := 0, rnd.IntN(total)
				for pick >= soakMix[k].weight {
					pick -= soakMix[k].weight
					k++
				}
				err := soakMix[k].run(ctx, client, rnd)
				if ctx.Err() != nil {
					return // cut off by the end of the soak: not a sample
				}
				done.Add(1)
				counts[k].Add(1)
				if err != nil {
					protoErrs.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s: %w", soakMix[k].name, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	tick := time.NewTicker(o.every)
	defer tick.Stop()
	var last metricsSample
	peak := first.rss
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			if last, err = sample(o.metrics); err != nil {
				return err
			}
			peak = max(peak, last.rss)
			fmt.Fprintf(out, "%-8s %10d %10.1f %10.0f %8d\n", time.Since(start).Round(time.Second), done.Load(), last.rss/(1<<20), last.goroutines, protoErrs.Load())
		}
	}
	wg.Wait()
	// Streams cut by the deadline need a moment to retire on the server.
	time.Sleep(2 * time.Second)
	end, err := sample(o.metrics)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%-8s %10d %10.1f %10.0f %8d  (2s after the load stopped)\n", "end", done.Load(), end.rss/(1<<20), end.goroutines, protoErrs.Load())
	var mix []string
	for k, m := range soakMix {
		mix = append(mix, fmt.Sprintf("%s %d", m.name, counts[k].Load()))
	}
	fmt.Fprintf(out, "%d requests in %s with %d streams (%s); %d protocol errors; RSS %.1f MiB at start, %.1f MiB peak sample, %.1f MiB at end; goroutines %.0f → %.0f\n",
		done.Load(), o.duration, o.conc, strings.Join(mix, ", "), protoErrs.Load(), first.rss/(1<<20), peak/(1<<20), end.rss/(1<<20), first.goroutines, end.goroutines)
	return firstErr
}

type metricsSample struct{ rss, goroutines float64 }

// sample reads semproc's resident memory and goroutine count from its
// Prometheus exposition.
func sample(url string) (metricsSample, error) {
	resp, err := http.Get(url) //nolint:gosec,noctx // the operator's own admin URL
	if err != nil {
		return metricsSample{}, err
	}
	defer resp.Body.Close()
	var s metricsSample
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch name {
		case "process_resident_memory_bytes":
			s.rss = v
		case "go_goroutines":
			s.goroutines = v
		}
	}
	if s.rss == 0 || s.goroutines == 0 {
		return s, errors.New("no process_resident_memory_bytes or go_goroutines in the metrics")
	}
	return s, sc.Err()
}

// step sends one message and, unless Envoy would not wait, checks the
// reply is the one Envoy waits for (or an immediate response).
func step(s extprocv3.ExternalProcessor_ProcessClient, m *extprocv3.ProcessingRequest) (*extprocv3.ProcessingResponse, error) {
	if err := s.Send(m); err != nil {
		return nil, err
	}
	r, err := s.Recv()
	if err != nil {
		return nil, &protocolError{fmt.Sprintf("stream failed: %v", err)}
	}
	if r.GetImmediateResponse() != nil {
		return r, nil
	}
	want := fmt.Sprintf("%T", m.Request)
	got := strings.Replace(fmt.Sprintf("%T", r.Response), "ProcessingResponse_", "ProcessingRequest_", 1)
	if got != want {
		return nil, &protocolError{fmt.Sprintf("reply %s to %s", got, want)}
	}
	return r, nil
}

func chatBody(prompt string, stream bool) []byte {
	return fmt.Appendf(nil, `{"model":"gpt-4o-mini","stream":%t,"messages":[{"role":"user","content":%q}]}`, stream, prompt)
}

func reqHeadersMsg(method, path string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: headers(
		":method", method, ":path", path, "authorization", "Bearer soak", "content-type", "application/json")}}}
}

func bodyMsg(b []byte, eos bool, request bool) *extprocv3.ProcessingRequest {
	if request {
		return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: b, EndOfStream: eos}}}
	}
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{Body: b, EndOfStream: eos}}}
}

func respHeadersMsg(contentType string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: headers(
		":status", "200", "content-type", contentType)}}}
}

// exchange runs msgs in order, stopping at an immediate response (a hit)
// or once a reply skips the rest, and half-closes the stream.
func exchange(ctx context.Context, c extprocv3.ExternalProcessorClient, msgs ...*extprocv3.ProcessingRequest) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.Process(ctx)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		r, err := step(s, m)
		if err != nil {
			return err
		}
		if r.GetImmediateResponse() != nil || r.GetResponseHeaders() != nil && r.GetModeOverride() != nil && r.GetModeOverride().GetResponseBodyMode() == 0 {
			break
		}
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	// The server ends the stream once the client has: anything else is a
	// reply Envoy never asked for.
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		return &protocolError{fmt.Sprintf("stream did not end cleanly: %v", err)}
	}
	return nil
}

func soakJSON(ctx context.Context, c extprocv3.ExternalProcessorClient, prompt string) error {
	answer := fmt.Appendf(nil, `{"id":"chatcmpl-soak","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`, "answer to "+prompt)
	return exchange(ctx, c,
		reqHeadersMsg("POST", "/v1/chat/completions"),
		bodyMsg(chatBody(prompt, false), true, true),
		respHeadersMsg("application/json"),
		bodyMsg(answer, true, false))
}

func soakStream(ctx context.Context, c extprocv3.ExternalProcessorClient, rnd *rand.Rand) error {
	prompt := fmt.Sprintf("Streamed soak question %d: name a river.", rnd.IntN(1000))
	msgs := []*extprocv3.ProcessingRequest{
		reqHeadersMsg("POST", "/v1/chat/completions"),
		bodyMsg(chatBody(prompt, true), true, true),
		respHeadersMsg("text/event-stream"),
	}
	for _, word := range []string{"The", " Nile", "."} {
		msgs = append(msgs, bodyMsg(fmt.Appendf(nil, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", word), false, false))
	}
	msgs = append(msgs,
		bodyMsg([]byte("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"), false, false),
		bodyMsg(nil, true, false))
	return exchange(ctx, c, msgs...)
}

func soakPassThrough(ctx context.Context, c extprocv3.ExternalProcessorClient, _ *rand.Rand) error {
	return exchange(ctx, c, reqHeadersMsg("GET", "/v1/models"))
}

// soakCancel is a client that goes away: after the request headers (mid
// body), or in the middle of a streamed response.
func soakCancel(ctx context.Context, c extprocv3.ExternalProcessorClient, rnd *rand.Rand) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.Process(ctx)
	if err != nil {
		return err
	}
	msgs := []*extprocv3.ProcessingRequest{reqHeadersMsg("POST", "/v1/chat/completions")}
	if rnd.IntN(2) == 0 {
		msgs = append(msgs,
			bodyMsg(chatBody(fmt.Sprintf("Cancelled soak question %d", rnd.Uint64()), true), true, true),
			respHeadersMsg("text/event-stream"),
			bodyMsg([]byte("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"half\"},\"finish_reason\":null}]}\n\n"), false, false))
	}
	for _, m := range msgs {
		if _, err := step(s, m); err != nil {
			return err
		}
	}
	cancel()
	if _, err := s.Recv(); status.Code(err) != codes.Canceled {
		return &protocolError{fmt.Sprintf("cancelled stream ended with %v", err)}
	}
	return nil
}
