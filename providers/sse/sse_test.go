package sse

import (
	"reflect"
	"testing"
)

func TestReaderSplitsAnywhere(t *testing.T) {
	stream := "event: message_start\r\ndata: {\"a\":1}\r\n\r\n: comment\n\ndata: x\ndata: y\n\ndata:[DONE]\n\n"
	want := []Event{{Name: "message_start", Data: `{"a":1}`}, {Data: "x\ny"}, {Data: "[DONE]"}}
	for size := 1; size <= len(stream); size++ {
		var r Reader
		var got []Event
		for i := 0; i < len(stream); i += size {
			got = append(got, r.Write([]byte(stream[i:min(i+size, len(stream))]))...)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("chunk size %d: got %+v, want %+v", size, got, want)
		}
		if r.Pending() {
			t.Fatalf("chunk size %d: pending after a complete stream", size)
		}
	}
}

func TestReaderPendingOnCutStream(t *testing.T) {
	var r Reader
	if evs := r.Write([]byte("data: {\"partial\":")); len(evs) != 0 || !r.Pending() {
		t.Fatalf("cut stream: events %v pending %v", evs, r.Pending())
	}
	var r2 Reader
	r2.Write([]byte("data: done\n"))
	if !r2.Pending() {
		t.Fatal("an event without its blank line must be pending")
	}
}

func TestAppendRoundTrip(t *testing.T) {
	evs := []Event{{Name: "content_block_delta", Data: `{"t":"a"}`}, {Data: "two\nlines"}}
	var b []byte
	for _, ev := range evs {
		b = Append(b, ev)
	}
	var r Reader
	if got := r.Write(b); !reflect.DeepEqual(got, evs) {
		t.Fatalf("round trip: got %+v, want %+v", got, evs)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("data: a\r\n\r\nevent: e\ndata: b\n\n"), 3)
	f.Fuzz(func(t *testing.T, b []byte, size int) {
		if size < 1 {
			size = 1
		}
		var whole, split Reader
		want := whole.Write(b)
		var got []Event
		for i := 0; i < len(b); i += size {
			got = append(got, split.Write(b[i:min(i+size, len(b))])...)
		}
		if len(got) != len(want) {
			t.Fatalf("split into %d-byte chunks gave %d events, whole gave %d", size, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("event %d differs: %+v vs %+v", i, got[i], want[i])
			}
		}
	})
}
