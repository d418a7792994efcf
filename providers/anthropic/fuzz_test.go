package anthropic

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image"}]}]}`,
		`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"temperature":1.0}`,
		`{"messages":[]}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s), 2)
	}
	f.Fuzz(func(t *testing.T, body []byte, countback int) {
		req, err := Messages{}.ParseRequest(body, countback)
		if err != nil {
			return
		}
		if req.API != API || len(req.Fingerprint) != 64 {
			t.Errorf("request %+v", req)
		}
		if _, err := (Messages{}).SetModel(body, "m"); err != nil {
			t.Errorf("SetModel fails on a body ParseRequest accepts: %v", err)
		}
	})
}

// FuzzCaptureSSE feeds arbitrary streams in two chunks. A record may only
// come from a stream that ended cleanly, and must replay to a stream that
// captures to the same message.
func FuzzCaptureSSE(f *testing.F) {
	f.Add(fixture(f, "stream.sse"), uint16(100))
	f.Add(fixture(f, "stream_tool_use.sse"), uint16(7))
	f.Add([]byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), uint16(3))
	f.Add([]byte("data: \x00\xff\r\n\r"), uint16(1))
	f.Fuzz(func(t *testing.T, stream []byte, split uint16) {
		i := int(split) % (len(stream) + 1)
		got, err := capture(true, testLimit, stream[:i], stream[i:])
		if err != nil {
			return
		}
		if !bytes.Contains(stream, []byte("message_stop")) || !bytes.Contains(stream, []byte("message_start")) {
			t.Fatalf("record %s from a stream without message_start and message_stop", got.Record)
		}
		reply, err := Messages{}.Replay(got.Record, streamRequest)
		if err != nil {
			t.Fatalf("Replay of a fresh record: %v", err)
		}
		again, err := capture(true, testLimit, reply.Body)
		if err != nil {
			t.Fatalf("capture of a replay: %v", err)
		}
		if r, err := (Messages{}).Replay(again.Record, streamRequest); err != nil || !bytes.Equal(r.Body, reply.Body) {
			t.Fatalf("replay is not a fixed point: %v", err)
		}
	})
}

func TestRandomBytesNeverMakeARecord(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("event: message_start\ndata: {\"type\":\"message_stop\"}\r\n:[]")
	for n := range 2000 {
		buf := make([]byte, rng.IntN(400))
		for i := range buf {
			if n%2 == 0 {
				buf[i] = byte(rng.UintN(256))
			} else {
				buf[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		for _, sse := range []bool{true, false} {
			if got, err := capture(sse, testLimit, buf); err == nil {
				t.Fatalf("record %s from random bytes %q", got.Record, buf)
			}
		}
	}
}
