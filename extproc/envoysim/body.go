package envoysim

import (
	"errors"
	"fmt"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// errContentLength is Envoy's rejection of a buffered body mutation whose
// size differs from the content-length the headers keep.
var errContentLength = errors.New("mismatch between content length and the length of the mutated body")

// buffered mirrors BUFFERED mode (handleDataBufferedMode and the
// BufferedBodyCallback branch of handleBodyResponse): the body is collected
// up to the buffer limit, sent as one message (end_of_stream unless trailers
// follow), and its reply may still change the held headers.
func (f *flow) buffered() error {
	for !f.ended {
		r, err := f.s.next(f.frames, func(fr frame) error {
			if fr.err != nil {
				return fr.err
			}
			f.note(fr)
			if fr.trailers == nil {
				f.held = append(f.held, fr.data...)
				f.heldAny = true
			}
			if f.d.buffered() && len(f.held) > f.s.p.opts.BufferLimit {
				return f.d.tooLarge()
			}
			if f.ended {
				return errYield
			}
			return nil
		})
		if r != nil {
			// Nothing is awaited: any reply is out of turn.
			return f.other(r)
		}
		if !errors.Is(err, errYield) || f.s.complete {
			return f.after(err)
		}
	}
	if f.heldAny {
		if err := f.s.send(f.d, f.d.bodyMsg(f.held, f.trailers == nil)); err != nil || f.s.complete {
			return f.after(err)
		}
		r, err := f.s.next(nil, nil)
		if r == nil {
			return f.after(err)
		}
		cr, ok := f.d.bodyReply(r)
		if !ok {
			return f.other(r)
		}
		if err := f.onBufferedReply(cr); err != nil {
			return err
		}
	}
	return f.trailersThenFinish()
}

func (f *flow) onBufferedReply(cr *extprocv3.CommonResponse) error {
	if cr.GetHeaderMutation() != nil && f.headersHeld {
		replacing := cr.GetStatus() == extprocv3.CommonResponse_CONTINUE_AND_REPLACE
		if err := applyHeaderMutation(cr.GetHeaderMutation(), f.h, f.s.p.checker, replacing, f.d.removeContentLength()); err != nil {
			return f.s.errorReply(err)
		}
	}
	if bm := cr.GetBodyMutation(); bm != nil {
		if n, ok := contentLength(f.h); ok && f.headersHeld && n != int64(len(bm.GetBody())) {
			return f.s.errorReply(fmt.Errorf("%w: content-length %d, body %d bytes", errContentLength, n, len(bm.GetBody())))
		}
		f.held = applyBody(bm, f.held)
	}
	f.clearRouteCache(cr)
	f.headersHeld = false
	return nil
}

// trailersThenFinish sends trailers when the mode asks for them, then lets
// the direction continue with what is held.
func (f *flow) trailersThenFinish() error {
	if f.trailers != nil && f.d.sendTrailers && !f.trailersSent {
		if err := f.sendTrailers(); err != nil || f.s.complete {
			return f.after(err)
		}
		if err := f.awaitTrailers(); err != nil || f.s.complete {
			return f.after(err)
		}
	}
	return f.finish()
}

// awaitTrailers waits for the trailers reply (handleTrailersResponse).
func (f *flow) awaitTrailers() error {
	r, err := f.s.next(nil, nil)
	if r == nil {
		return err
	}
	mut, ok := f.d.trailersReply(r)
	if !ok {
		return f.other(r)
	}
	return f.applyTrailers(mut)
}

func (f *flow) applyTrailers(mut *extprocv3.HeaderMutation) error {
	f.trailersDone = true
	if mut == nil {
		return nil
	}
	if err := applyHeaderMutation(mut, f.trailers, f.s.p.checker, false, false); err != nil {
		return f.s.errorReply(err)
	}
	return nil
}

// streamed mirrors STREAMED mode: chunks go out as they arrive, without
// waiting; each reply answers the oldest chunk in flight
// (handleStreamedBodyResponse): its body_mutation rewrites that chunk,
// header mutations are ignored, a streamed_response is spurious.
func (f *flow) streamed() error {
	for f.awaiting() {
		r, err := f.s.next(f.frames, f.onStreamFrame)
		if r == nil {
			if errors.Is(err, errYield) && !f.s.complete {
				continue
			}
			return f.after(err)
		}
		if cr, ok := f.d.bodyReply(r); ok && len(f.pending) > 0 && cr.GetBodyMutation().GetStreamedResponse() == nil {
			if err := f.onStreamedReply(cr); err != nil || f.s.complete {
				return f.after(err)
			}
			continue
		}
		if mut, ok := f.d.trailersReply(r); ok && f.trailersSent && !f.trailersDone && len(f.pending) == 0 {
			if err := f.applyTrailers(mut); err != nil {
				return err
			}
			continue
		}
		return f.other(r)
	}
	return f.finish()
}

// awaiting says whether the direction still waits for body or replies.
func (f *flow) awaiting() bool {
	return !f.ended || len(f.pending) > 0 || f.trailersSent && !f.trailersDone ||
		f.d.duplex() && f.chunkSent && !f.bodyDone
}

func (f *flow) onStreamFrame(fr frame) error {
	if fr.err != nil {
		return fr.err
	}
	f.note(fr)
	if err := f.sendFrame(fr); err != nil {
		return err
	}
	if !f.awaiting() {
		return errYield
	}
	return nil
}

func (f *flow) onStreamedReply(cr *extprocv3.CommonResponse) error {
	head := f.pending[0]
	f.pending = f.pending[1:]
	data := head.data
	if bm := cr.GetBodyMutation(); bm != nil {
		data = applyBody(bm, data)
	}
	f.clearRouteCache(cr)
	if err := f.emit(data); err != nil {
		return err
	}
	if head.eos || f.ended && len(f.pending) == 0 {
		// should_continue: the headers (if still held) go on with the end.
		if err := f.proceed(); err != nil {
			return err
		}
	}
	if len(f.pending) == 0 && f.trailers != nil && f.d.sendTrailers && !f.trailersSent {
		return f.sendTrailers()
	}
	return nil
}

// duplex mirrors FULL_DUPLEX_STREAMED: chunks go out as they arrive and are
// drained; every body reply carries a streamed_response piece of the new
// body, the last with end_of_stream unless trailers follow
// (handleDuplexStreamedBodyResponse); a body reply without one is
// spurious, as is any after the end.
func (f *flow) duplex() error {
	for f.awaiting() {
		r, err := f.s.next(f.frames, f.onStreamFrame)
		if r == nil {
			if errors.Is(err, errYield) && !f.s.complete {
				continue
			}
			return f.after(err)
		}
		if cr, ok := f.d.bodyReply(r); ok && f.chunkSent && !f.bodyDone {
			sr := cr.GetBodyMutation().GetStreamedResponse()
			if sr == nil {
				return f.other(r)
			}
			f.clearRouteCache(cr)
			if err := f.emit(sr.GetBody()); err != nil {
				return err
			}
			if sr.GetEndOfStream() {
				f.bodyDone = true
				if err := f.proceed(); err != nil {
					return err
				}
			}
			continue
		}
		// Envoy takes a trailers reply at any time in this mode, and with
		// trailers it completes the body: the chunks before it carry
		// end_of_stream false (the body request's was false), and the chain
		// continues on this reply (handleTrailersResponse →
		// continueIfNecessary). A body reply after it is spurious.
		if mut, ok := f.d.trailersReply(r); ok && f.trailersSent && !f.trailersDone {
			if err := f.applyTrailers(mut); err != nil {
				return err
			}
			if !f.bodyDone {
				f.bodyDone = true
				if err := f.proceed(); err != nil {
					return err
				}
			}
			continue
		}
		return f.other(r)
	}
	return f.finish()
}

// unprocessedBody mirrors body mode NONE: the body passes as it comes;
// trailers still go to the processor with SEND, and the headers wait for
// their reply when they are already there (finalizeContinueResponse).
// A reply arriving meanwhile is out of turn.
func (f *flow) unprocessedBody() error {
	if !f.ended || f.trailers == nil || !f.d.sendTrailers {
		if err := f.proceed(); err != nil {
			return err
		}
	}
	for !f.ended {
		r, err := f.s.next(f.frames, func(fr frame) error {
			if fr.err != nil {
				return fr.err
			}
			f.note(fr)
			if err := f.emit(fr.data); err != nil {
				return err
			}
			if f.ended {
				return errYield
			}
			return nil
		})
		if r != nil {
			return f.other(r)
		}
		if !errors.Is(err, errYield) || f.s.complete {
			return f.after(err)
		}
	}
	return f.trailersThenFinish()
}
