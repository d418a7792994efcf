package main

import (
	"context"
	"math"
	"net"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func cosineDistance(a, b []float64) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += a[i] * b[i]
		na += a[i] * a[i]
		nb += b[i] * b[i]
	}
	return 1 - dot/math.Sqrt(na*nb)
}

// TestVariantsLandNearTheirQuestion checks what the semantic-hit run relies
// on: a variant is well within the default threshold (0.1) of its question,
// and another question is far from it.
func TestVariantsLandNearTheirQuestion(t *testing.T) {
	q := "Question number 7: what is 7 times 14?"
	for _, c := range []struct {
		other    string
		min, max float64
	}{
		{q, 0, 0},
		{q + variantMark + "!", 0.001, 0.02},
		{q + variantMark + "!!", 0.001, 0.02},
		{"Question number 8: what is 8 times 15?", 0.5, 1.5},
	} {
		if d := cosineDistance(embedText(q, 1536), embedText(c.other, 1536)); d < c.min-1e-12 || d > c.max+1e-12 {
			t.Errorf("%q: distance %g, want %g to %g", c.other, d, c.min, c.max)
		}
	}
}

// TestFloorAnswersAsSemprocDoes drives the floor server with the
// pass-through exchange the load checks on semproc: one skip reply, then
// the end of the stream.
func TestFloorAnswersAsSemprocDoes(t *testing.T) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(s, floorServer{})
	go func() { _ = s.Serve(l) }()
	defer s.Stop()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 3 {
		if err := passThrough(ctx, extprocv3.NewExternalProcessorClient(conn)); err != nil {
			t.Fatal(err)
		}
	}
}
