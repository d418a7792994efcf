package envoysim

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
)

// frame is one piece of a body as Envoy's codec hands it to the filter
// chain (decodeData/encodeData, then decodeTrailers/encodeTrailers).
type frame struct {
	data []byte
	// eos marks the last frame of a body that has no trailers.
	eos bool
	// trailers, when set, ends the body (it carries no data).
	trailers *headerMap
	// err ends the body abnormally (the client or upstream went away).
	err error
}

func (f frame) end() bool { return f.eos || f.trailers != nil || f.err != nil }

// errAborted is a body that ended with a read error: Envoy resets the stream.
var errAborted = errors.New("body aborted")

const readSize = 32 << 10

// readFrames reads body into frames on a goroutine, one per Read as a codec
// dispatches data as it arrives, so server-sent events stay separate. The end
// comes in the form chosen by form (see EndOfStream); length is the body's
// length when known, else -1; trailers is asked for after the body.
func readFrames(ctx context.Context, body io.Reader, length int64, form EndOfStream, trailers func() http.Header) <-chan frame {
	if form == EndRandom {
		form = EndEmptyChunk
		if rand.IntN(2) == 0 {
			form = EndLastChunk
		}
	}
	ch := make(chan frame)
	emit := func(f frame) bool {
		select {
		case ch <- f:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(ch)
		var held *frame // EndLastChunk with unknown length: wait for the next read
		var total int64
		buf := make([]byte, readSize)
		for {
			n, err := body.Read(buf)
			if n > 0 {
				total += int64(n)
				f := frame{data: append([]byte(nil), buf[:n]...)}
				switch {
				case form == EndEmptyChunk:
					if !emit(f) {
						return
					}
				case length >= 0:
					// An HTTP/2 peer sets END_STREAM on the frame that completes
					// a body of announced length.
					f.eos = total == length
					if !emit(f) || f.eos {
						return
					}
				default:
					if held != nil && !emit(*held) {
						return
					}
					held = &f
				}
			}
			if err == nil {
				continue
			}
			if !errors.Is(err, io.EOF) {
				emit(frame{err: errors.Join(errAborted, err)})
				return
			}
			var tr *headerMap
			if t := trailers(); len(t) > 0 {
				tr = &headerMap{}
				tr.addHTTP(t)
			}
			if held != nil {
				held.eos = tr == nil
				if !emit(*held) {
					return
				}
			} else if tr == nil {
				emit(frame{eos: true})
				return
			}
			if tr != nil {
				emit(frame{trailers: tr})
			}
			return
		}
	}()
	return ch
}
