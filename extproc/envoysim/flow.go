package envoysim

import (
	"errors"
	"fmt"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// sink takes one direction's traffic once the filter lets it continue: the
// upstream request, or the response to the client.
type sink interface {
	// start sends the headers on (Envoy's continueDecoding/Encoding).
	start(h *headerMap, noBody bool) error
	started() bool
	write(p []byte) error
	finish(trailers *headerMap) error
}

// errYield makes session.next return because the body reached a point where
// no reply is awaited.
var errYield = errors.New("yield")

// queued is a STREAMED chunk sent to the processor and awaiting its reply
// (Envoy's ChunkQueue).
type queued struct {
	data []byte
	eos  bool
}

// flow runs one direction through the filter: its headers, body and
// trailers, following Envoy's ProcessorState for the direction's modes.
type flow struct {
	s      *session
	d      *dirState
	h      *headerMap
	frames <-chan frame
	out    sink

	// held is data the filter holds: received while a reply was awaited, or
	// processed and waiting for the headers to continue.
	held    []byte
	heldAny bool // a data frame arrived (Envoy's bufferedData() != nullptr)
	pending []queued
	ended   bool
	// trailers ends the body when it has any.
	trailers                   *headerMap
	trailersSent, trailersDone bool
	// headersHeld is Envoy's headers_ != nullptr: a buffered body reply may
	// still mutate them.
	headersHeld bool
	// discard drops the rest of the body after CONTINUE_AND_REPLACE.
	discard bool
	// bodyDone: FULL_DUPLEX_STREAMED got its end_of_stream body reply.
	bodyDone, chunkSent bool
}

// process runs direction d; frames is nil when the message has no body.
func (s *session) process(d *dirState, h *headerMap, frames <-chan frame, out sink) error {
	f := &flow{s: s, d: d, h: h, frames: frames, out: out, ended: frames == nil}
	return f.run()
}

func (f *flow) run() error {
	if f.s.complete {
		return f.passThrough()
	}
	if !f.d.sendHeaders {
		// Envoy lets headers it does not send continue at once (decodeHeaders
		// returns Continue) and still handles the body by mode.
		if f.d.removeContentLength() {
			f.h.remove("content-length")
		}
		if err := f.proceed(); err != nil {
			return err
		}
		return f.body()
	}
	msg := f.d.headersMsg(f.h, f.frames == nil)
	// decodeHeaders/encodeHeaders drop content-length after onHeaders built
	// the message, so the processor still sees it.
	if f.d.removeContentLength() {
		f.h.remove("content-length")
	}
	f.headersHeld = true
	if err := f.s.send(f.d, msg); err != nil || f.s.complete {
		return f.after(err)
	}
	f.s.awaitingHeaders = true
	r, err := f.s.next(f.frames, f.onFrameAwaitingHeaders)
	f.s.awaitingHeaders = false
	if r == nil {
		return f.after(err)
	}
	cr, ok := f.d.headersReply(r)
	if !ok {
		return f.other(r)
	}
	return f.onHeadersReply(cr)
}

// after continues once processing ended: an error fails the request, nil
// means it goes on unprocessed.
func (f *flow) after(err error) error {
	if err != nil && !errors.Is(err, errYield) {
		return err
	}
	return f.passThrough()
}

// other handles a reply that is not the one awaited: an immediate response,
// or a spurious message.
func (f *flow) other(r *extprocv3.ProcessingResponse) error {
	if r.GetImmediateResponse() != nil {
		return f.after(f.s.immediate(r))
	}
	return f.after(f.s.spurious(r))
}

// note records a frame's effect on the direction's state.
func (f *flow) note(fr frame) {
	if len(fr.data) > 0 {
		f.d.bodyReceived = true
	}
	if fr.trailers != nil {
		f.trailers = fr.trailers
	}
	f.ended = f.ended || fr.end()
}

// onFrameAwaitingHeaders mirrors Filter::onData while the headers reply is
// outstanding: FULL_DUPLEX_STREAMED (and STREAMED with
// send_body_without_waiting_for_header_response) send chunks at once;
// other modes hold the data, and BUFFERED fails over the buffer limit.
func (f *flow) onFrameAwaitingHeaders(fr frame) error {
	if fr.err != nil {
		return fr.err
	}
	f.note(fr)
	sendNow := f.d.duplex() || f.d.streamed() && f.s.p.opts.Filter.GetSendBodyWithoutWaitingForHeaderResponse()
	if !sendNow {
		if fr.trailers == nil {
			f.held = append(f.held, fr.data...)
			f.heldAny = true
		}
		if f.d.buffered() && len(f.held) > f.s.p.opts.BufferLimit {
			return f.d.tooLarge()
		}
		return nil
	}
	return f.sendFrame(fr)
}

// sendFrame sends a frame in STREAMED or FULL_DUPLEX_STREAMED mode. A
// STREAMED chunk is queued for its reply; a FULL_DUPLEX_STREAMED one is
// drained (the processor's streamed_response makes the new body).
// Trailers go at once in FULL_DUPLEX_STREAMED and, in STREAMED, once no
// chunk awaits its reply (Envoy's onTrailers).
func (f *flow) sendFrame(fr frame) error {
	if fr.trailers != nil {
		if f.d.sendTrailers && (f.d.duplex() || len(f.pending) == 0) {
			return f.sendTrailers()
		}
		return nil
	}
	if f.d.streamed() {
		f.pending = append(f.pending, queued{data: fr.data, eos: fr.eos})
	}
	f.chunkSent = true
	return f.s.send(f.d, f.d.bodyMsg(fr.data, fr.eos))
}

func (f *flow) sendTrailers() error {
	f.trailersSent = true
	return f.s.send(f.d, f.d.trailersMsg(f.trailers))
}

// onHeadersReply mirrors ProcessorState::handleHeadersResponse.
func (f *flow) onHeadersReply(cr *extprocv3.CommonResponse) error {
	replacing := cr.GetStatus() == extprocv3.CommonResponse_CONTINUE_AND_REPLACE
	if cr.GetHeaderMutation() != nil {
		if err := applyHeaderMutation(cr.GetHeaderMutation(), f.h, f.s.p.checker, replacing, f.d.removeContentLength()); err != nil {
			return f.s.errorReply(err)
		}
	}
	f.clearRouteCache(cr)
	if replacing {
		// handleHeadersResponseWithContinueAndReplace: a body_mutation
		// replaces the body (content-length goes), and nothing more of this
		// direction reaches the processor.
		if cr.GetBodyMutation() != nil {
			f.h.remove("content-length")
			f.held = applyBody(cr.GetBodyMutation(), f.held)
			f.discard = true
		}
		f.pending = nil
		f.d.bodyMode = filterv3.ProcessingMode_NONE
		f.d.sendTrailers = false
		return f.passThrough()
	}
	if f.frames == nil {
		return f.finish()
	}
	if f.ended && f.d.bodyMode != filterv3.ProcessingMode_NONE {
		if f.chunkSent || f.trailersSent {
			// The chunks went out while the headers reply was awaited; the
			// headers continue with the last body reply.
			if f.d.duplex() {
				return f.duplex()
			}
			return f.streamed()
		}
		// handleCompleteBodyAvailable: the whole body arrived meanwhile and
		// goes as one message, its reply handled as a buffered one.
		return f.buffered()
	}
	switch f.d.bodyMode {
	case filterv3.ProcessingMode_BUFFERED:
		return f.buffered()
	case filterv3.ProcessingMode_STREAMED:
		if len(f.held) > 0 {
			data := f.held
			f.held = nil
			if err := f.sendFrame(frame{data: data}); err != nil || f.s.complete {
				return f.after(err)
			}
		}
		if err := f.proceed(); err != nil {
			return err
		}
		return f.streamed()
	case filterv3.ProcessingMode_FULL_DUPLEX_STREAMED:
		if err := f.proceed(); err != nil {
			return err
		}
		return f.duplex()
	case filterv3.ProcessingMode_NONE:
		return f.unprocessedBody()
	}
	return f.s.errorReply(fmt.Errorf("body mode %v is not simulated", f.d.bodyMode))
}

// body handles the body of a direction whose headers were not sent.
func (f *flow) body() error {
	if f.frames == nil {
		return f.finish()
	}
	switch f.d.bodyMode {
	case filterv3.ProcessingMode_BUFFERED:
		return f.buffered()
	case filterv3.ProcessingMode_STREAMED:
		return f.streamed()
	case filterv3.ProcessingMode_FULL_DUPLEX_STREAMED:
		return f.duplex()
	case filterv3.ProcessingMode_NONE:
		return f.unprocessedBody()
	}
	return f.s.errorReply(fmt.Errorf("body mode %v is not simulated", f.d.bodyMode))
}

// clearRouteCache mirrors DecodingProcessorState::clearRouteCache: only in
// the request direction and only when the reply has a header_mutation;
// route_cache_action CLEAR clears on any such reply, RETAIN (or
// disable_clear_route_cache) never.
func (f *flow) clearRouteCache(cr *extprocv3.CommonResponse) {
	if !f.d.request || cr.GetHeaderMutation() == nil {
		return
	}
	cfg := f.s.p.opts.Filter
	if cfg.GetDisableClearRouteCache() {
		return
	}
	switch cfg.GetRouteCacheAction() {
	case filterv3.ExternalProcessor_CLEAR:
		f.s.ex.RouteCacheCleared = true
	case filterv3.ExternalProcessor_DEFAULT:
		if cr.GetClearRouteCache() {
			f.s.ex.RouteCacheCleared = true
		}
	}
}

// proceed lets the headers continue (once) and sends on the data held.
func (f *flow) proceed() error {
	f.headersHeld = false
	if !f.out.started() {
		if err := f.out.start(f.h, f.frames == nil && len(f.held) == 0); err != nil {
			return err
		}
	}
	if len(f.held) > 0 {
		data := f.held
		f.held = nil
		return f.out.write(data)
	}
	return nil
}

// emit sends processed data on, or holds it while the headers wait.
func (f *flow) emit(p []byte) error {
	if !f.out.started() {
		f.held = append(f.held, p...)
		return nil
	}
	return f.out.write(p)
}

func (f *flow) finish() error {
	if err := f.proceed(); err != nil {
		return err
	}
	return f.out.finish(f.trailers)
}

// passThrough lets the rest of the direction go on unprocessed, as Envoy
// does once processing is complete (clearAsyncState): held data and queued
// chunks pass untouched, then everything still to come.
func (f *flow) passThrough() error {
	for _, q := range f.pending {
		f.held = append(f.held, q.data...)
	}
	f.pending = nil
	if err := f.proceed(); err != nil {
		return err
	}
	for !f.ended {
		fr, ok := <-f.frames
		if !ok {
			break
		}
		if fr.err != nil {
			return fr.err
		}
		f.note(fr)
		if !f.discard && len(fr.data) > 0 {
			if err := f.out.write(fr.data); err != nil {
				return err
			}
		}
	}
	return f.out.finish(f.trailers)
}
