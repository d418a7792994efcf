package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// hostileFlags registers -hostile N: send -c request bodies at once, each
// of N tiny chat messages (N = 500000 is a 15 MB body), and report how long
// semproc took to answer each and the cache status it gave. Watch the
// process's peak RSS (VmHWM in /proc/PID/status) beside it.
func hostileFlags() *int {
	return flag.Int("hostile", 0, "send -c bodies of this many tiny messages at once and time semproc's answers")
}

func runHostile(addr string, messages, conc int, out io.Writer) error {
	if messages < 1 || conc < 1 {
		return errors.New("-hostile and -c must be positive")
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	client := extprocv3.NewExternalProcessorClient(conn)
	var b bytes.Buffer
	b.WriteString(`{"model":"gpt-4o-mini","messages":[`)
	for i := range messages {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"role":"user","content":"x"}`)
	}
	b.WriteString(`]}`)
	body := b.Bytes()
	fmt.Fprintf(out, "%d bodies of %d messages (%.1f MB) at once\n", conc, messages, float64(len(body))/1e6)
	var wg sync.WaitGroup
	errs := make([]error, conc)
	for i := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			status, err := hostileRequest(client, body)
			errs[i] = err
			fmt.Fprintf(out, "body %d: %s in %s\n", i, status, time.Since(t0).Round(time.Millisecond))
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// hostileRequest sends one body and returns the X-Cache-Status semproc put
// on the response.
func hostileRequest(c extprocv3.ExternalProcessorClient, body []byte) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := c.Process(ctx)
	if err != nil {
		return "", err
	}
	var last *extprocv3.ProcessingResponse
	for _, m := range []*extprocv3.ProcessingRequest{
		reqHeadersMsg("POST", "/v1/chat/completions"),
		bodyMsg(body, true, true),
		respHeadersMsg("application/json"),
	} {
		if last, err = step(s, m); err != nil {
			return "", err
		}
		if last.GetImmediateResponse() != nil {
			return "Hit", s.CloseSend()
		}
	}
	for _, h := range last.GetResponseHeaders().GetResponse().GetHeaderMutation().GetSetHeaders() {
		if h.GetHeader().GetKey() == "x-cache-status" {
			return string(h.GetHeader().GetRawValue()), s.CloseSend()
		}
	}
	return "no status", s.CloseSend()
}
