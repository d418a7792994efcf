package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
)

// passThrough is a request semproc does not handle, as Envoy presents it:
// the request headers, one reply, then the stream ends.
func passThrough(ctx context.Context, c extprocv3.ExternalProcessorClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.Process(ctx)
	if err != nil {
		return err
	}
	err = s.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
		EndOfStream: true, Headers: headers(":method", "GET", ":path", "/v1/models", "authorization", "Bearer load-test")}}})
	if err != nil {
		return err
	}
	r, err := s.Recv()
	if err != nil {
		return err
	}
	if r.GetRequestHeaders() == nil || r.GetModeOverride().GetResponseHeaderMode() != filterv3.ProcessingMode_SKIP {
		return fmt.Errorf("pass-through answered with %v, want a skip after the request headers", r)
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("pass-through stream did not end: %w", err)
	}
	return nil
}

// floorServer is what a pass-through cannot cost less than: it answers the
// request headers with a skip, as semproc does, and does nothing else.
type floorServer struct {
	extprocv3.UnimplementedExternalProcessorServer
}

func (floorServer) Process(s extprocv3.ExternalProcessor_ProcessServer) error {
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if m.GetRequestHeaders() == nil {
			continue
		}
		err = s.Send(&extprocv3.ProcessingResponse{
			Response:     &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{}}},
			ModeOverride: &filterv3.ProcessingMode{ResponseHeaderMode: filterv3.ProcessingMode_SKIP},
		})
		if err != nil {
			return err
		}
	}
}

func serveFloorServer(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	s := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(s, floorServer{})
	return s.Serve(l)
}

// runFloor measures pass-through on semproc and on the floor server, in
// four alternating rounds of a quarter of -d each so both see the same
// machine, and prints the ratio of their throughputs.
func runFloor(ctx context.Context, o options, out io.Writer) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	floorAddr := l.Addr().String()
	l.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	cmd := exec.CommandContext(ctx, self, "-serve-floor", floorAddr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { stop(); _ = cmd.Wait() }()
	if err := waitListening(ctx, floorAddr, 10*time.Second); err != nil {
		return err
	}

	round := o
	round.duration = o.duration / 4
	pids := [2]int{o.pid, cmd.Process.Pid}
	var n [2]int
	var took, cpu [2]time.Duration
	for i := range 4 {
		round.addr = o.addr
		if i%2 == 1 {
			round.addr = floorAddr
		}
		before, cerr := cpuTime(pids[i%2])
		rs, elapsed, err := load(round)
		if err != nil {
			return fmt.Errorf("%s: %w", round.addr, err)
		}
		after, aerr := cpuTime(pids[i%2])
		if o.pid > 0 && (cerr != nil || aerr != nil) {
			return fmt.Errorf("CPU time of process %d: %w", pids[i%2], errors.Join(cerr, aerr))
		}
		n[i%2] += len(rs)
		took[i%2] += elapsed
		cpu[i%2] += after - before
	}
	semproc, floor := float64(n[0])/took[0].Seconds(), float64(n[1])/took[1].Seconds()
	fmt.Fprintf(out, "pass-through with %d streams: semproc %.0f req/s, floor %.0f req/s, ratio %.3f\n", o.conc, semproc, floor, semproc/floor)
	if o.pid > 0 {
		perReq := func(i int) float64 { return float64(cpu[i].Microseconds()) / float64(n[i]) }
		fmt.Fprintf(out, "CPU time a request: semproc %.1f µs, floor %.1f µs; floor / semproc %.3f\n", perReq(0), perReq(1), perReq(1)/perReq(0))
	}
	return nil
}

// cpuTime is the user and system CPU time process pid has used so far, from
// /proc (Linux); an error elsewhere.
func cpuTime(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces), from field 3:
	// utime and stime are fields 14 and 15, in clock ticks (USER_HZ, 100 on
	// every Linux platform Go supports).
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	var ticks int64
	for _, s := range f[11:13] {
		t, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += t
	}
	return time.Duration(ticks) * time.Second / 100, nil
}

func waitListening(ctx context.Context, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	d := net.Dialer{Timeout: time.Second}
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("floor server on %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
