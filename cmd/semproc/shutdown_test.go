package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestSIGTERMDuringTraffic stops semproc (the context signal.NotifyContext
// cancels on SIGTERM) while a request is half way through: readiness goes
// 503 and gRPC health NOT_SERVING at once, the open stream still gets every
// reply, and the process then stops cleanly.
func TestSIGTERMDuringTraffic(t *testing.T) {
	s := startServe(t, map[string]string{"SEMPROC_DRAIN_DELAY": "300ms"}, testWriter{t})
	grpcAddr, admin, sigterm := s.grpcAddr, s.admin, s.cancel
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := extprocv3.NewExternalProcessorClient(conn).Process(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	step := func(m *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		t.Helper()
		if err := stream.Send(m); err != nil {
			t.Fatalf("send: %v", err)
		}
		r, err := stream.Recv()
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		return r
	}
	hm := func(kv ...string) *corev3.HeaderMap {
		h := &corev3.HeaderMap{}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Headers = append(h.Headers, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
		}
		return h
	}
	step(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
		Headers: hm(":method", "POST", ":path", "/v1/chat/completions")}}})
	step(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{
		Body: []byte(`{"model":"m","messages":[{"role":"user","content":"Is the sky blue?"}]}`), EndOfStream: true}}})
	step(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{
		Headers: hm(":status", "200", "content-type", "application/json")}}})

	sigterm()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not turn 503 after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	hc, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("gRPC health during the drain: %v, %v; want NOT_SERVING", hc.GetStatus(), err)
	}

	// The request in flight finishes.
	r := step(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{
		Body: []byte(`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Yes."},"finish_reason":"stop"}]}`), EndOfStream: true}}})
	if r.GetResponseBody() == nil {
		t.Errorf("reply to the last body chunk: %v", r)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("stream ended with %v, want a clean end", err)
	}
	stopped := make(chan struct{})
	go func() { _ = s.wait(); close(stopped) }() // startServe's clean-up checks the error
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("semproc did not stop")
	}
}
