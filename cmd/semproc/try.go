package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/semproc/semproc/extproc/envoysim"
	"github.com/semproc/semproc/internal/fakellm"
)

const trySynopsis = `usage: semproc try [-listen ADDR] [-upstream URL]

Starts semproc (configured by the SEMPROC_* variables, on the defaults
otherwise: local embeddings, in-process store) with semproc's Envoy
stand-in in front of it as an HTTP proxy, towards -upstream or a built-in
fake chat completions API, and prints the requests to send. The stand-in is
for trying and testing, not for production.`

// tryOptions configure semproc try.
type tryOptions struct {
	// listen is the stand-in's HTTP address.
	listen string
	// upstream is the base URL requests go on to; empty: the built-in fake.
	upstream string
}

// tryDefaults are the settings try uses unless the environment sets them:
// listeners on free loopback ports (the stand-in is their only client), no
// drain delay (no Envoy to tell), and text logs at warn, so the requests to
// send stay readable on a terminal.
var tryDefaults = []string{
	"SEMPROC_GRPC_ADDR=127.0.0.1:0", "SEMPROC_ADMIN_ADDR=127.0.0.1:0", "SEMPROC_DRAIN_DELAY=0s",
	"SEMPROC_LOG_FORMAT=text", "SEMPROC_LOG_LEVEL=warn",
}

func tryCmd(ctx context.Context, args, environ []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("try", flag.ContinueOnError)
	var o tryOptions
	fs.StringVar(&o.listen, "listen", "127.0.0.1:10000", "the stand-in's HTTP address: send requests here")
	fs.StringVar(&o.upstream, "upstream", "", "base URL (scheme and host) of an OpenAI-compatible API, e.g. https://api.openai.com; default: a built-in fake that answers offline, with no key")
	if help, err := parseFlags(fs, trySynopsis, args, stdout); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Errorf("try takes no arguments, got %q", fs.Args()), flagUsage(fs, trySynopsis)}
	}
	return runTry(ctx, o, environ, stdout, nil)
}

// runTry serves until ctx ends; ready, when set, is told the stand-in's
// base URL and the admin address once both serve.
func runTry(ctx context.Context, o tryOptions, environ []string, stdout io.Writer, ready func(proxyURL, admin string)) error {
	upstream, err := tryUpstream(o.upstream)
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	if upstream == nil {
		fakeLis, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("fake upstream: %w", err)
		}
		fake := &http.Server{Handler: &fakellm.Chat{}, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = fake.Serve(fakeLis) }()
		defer func() { _ = fake.Close() }()
		upstream = &url.URL{Scheme: "http", Host: fakeLis.Addr().String()}
	}
	lis, err := lc.Listen(ctx, "tcp", o.listen)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	defer func() { _ = lis.Close() }()

	serveCtx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	addrs := make(chan [2]string, 1)
	served := make(chan error, 1)
	go func() {
		served <- serve(serveCtx, append(append([]string(nil), environ...), tryDefaults...), stdout,
			func(g, a string) { addrs <- [2]string{g, a} })
	}()
	var grpcAddr, admin string
	select {
	case a := <-addrs:
		grpcAddr, admin = a[0], a[1]
	case err := <-served:
		return err
	}

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		stopServe()
		return errors.Join(err, <-served)
	}
	defer func() { _ = conn.Close() }()
	proxy, err := envoysim.New(envoysim.Options{
		Filter: envoysim.ShippedFilter(), Client: extprocv3.NewExternalProcessorClient(conn),
		Upstream:    func(http.Header) *url.URL { return upstream },
		BufferLimit: envoysim.ShippedBufferLimit, HostRewrite: true, Forget: true,
	})
	if err != nil {
		stopServe()
		return errors.Join(err, <-served)
	}
	front := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	frontErr := make(chan error, 1)
	go func() { frontErr <- front.Serve(lis) }()

	proxyURL := "http://" + lis.Addr().String()
	printTry(stdout, proxyURL, admin, o.upstream)
	if ready != nil {
		ready(proxyURL, admin)
	}

	var ferr error
	select {
	case <-ctx.Done():
	case ferr = <-frontErr:
	case err := <-served:
		_ = front.Close()
		return err
	}
	// The stand-in stops first, as Envoy would stop sending, then semproc
	// drains.
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := front.Shutdown(shut); err != nil {
		ferr = errors.Join(ferr, err)
	}
	stopServe()
	if errors.Is(ferr, http.ErrServerClosed) {
		ferr = nil
	}
	return errors.Join(ferr, <-served)
}

// tryUpstream checks -upstream: a base URL whose path the stand-in would
// drop (it keeps the client's path, as an Envoy route does).
func tryUpstream(s string) (*url.URL, error) {
	if s == "" {
		return nil, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return nil, &usageError{fmt.Errorf("-upstream %q: want a base URL, scheme and host only (e.g. https://api.openai.com); clients' paths are kept", s), trySynopsis}
	}
	return u, nil
}

// tryRequests are the requests try suggests, in order: a Miss, the same
// prompt again (an exact Hit), a paraphrase (a semantic Hit) and the prompt
// streamed (a Hit replayed as SSE).
var tryRequests = []struct{ comment, body string }{
	{"a Miss: the upstream answers, semproc stores the answer", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is the capital of France?"}]}`},
	{"the same again: an exact Hit, the stored answer (the upstream is not called)", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is the capital of France?"}]}`},
	{"a paraphrase: a semantic Hit (X-Cache-Distance says how near)", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Which city is the capital of France?"}]}`},
	{"streamed: a Hit replayed as server-sent events", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"What is the capital of France?"}]}`},
}

// tryCurl is the curl command of one suggested request.
func tryCurl(proxyURL, auth, body string) string {
	return fmt.Sprintf("curl -s -i -w '\\n' %s/v1/chat/completions -H %s -H 'Content-Type: application/json' \\\n  -d '%s'", proxyURL, auth, body)
}

func printTry(w io.Writer, proxyURL, admin, upstream string) {
	up := "a built-in fake chat completions API: offline, no key; it numbers its answers (\"Answer 1 to: …\")"
	auth := `'Authorization: Bearer try-tenant'`
	if upstream != "" {
		up = upstream + " (the client's Authorization goes through)"
		auth = `"Authorization: Bearer $OPENAI_API_KEY"`
	}
	fmt.Fprintf(w, `semproc try
  proxy     %s  (Envoy stand-in, configured like envoy/envoy.yaml)
  semproc   local embeddings and in-process store unless SEMPROC_* say otherwise; metrics on http://%s/metrics
  upstream  %s

The Envoy stand-in is for trying and testing, not for production: deploy
semproc behind Envoy (README, "Envoy" and "Deploy").

Send these from another terminal; Ctrl-C stops.
`, proxyURL, admin, up)
	for i, r := range tryRequests {
		fmt.Fprintf(w, "\n# %d. %s\n%s\n", i+1, r.comment, tryCurl(proxyURL, auth, r.body))
	}
}
