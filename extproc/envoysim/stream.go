package envoysim

import (
	"context"
	"errors"
	"io"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// session is one HTTP request's ext_proc stream and filter state (Envoy's
// Filter with its decoding and encoding ProcessorState).
type session struct {
	p      *Proxy
	ctx    context.Context
	cancel context.CancelFunc
	ex     *Exchange

	stream  extprocv3.ExternalProcessor_ProcessClient
	replies chan recvResult
	// complete is Envoy's processing_complete_: nothing more is sent, replies
	// are ignored, traffic flows unprocessed.
	complete     bool
	protocolSent bool
	closed       bool

	timer             *time.Timer
	timerOn           bool
	timeoutOverridden bool
	// awaitingHeaders is Envoy's inHeaderProcessState(): a headers message
	// is waiting for its reply, the only time mode_override counts.
	awaitingHeaders bool

	req, resp dirState
}

type recvResult struct {
	resp *extprocv3.ProcessingResponse
	err  error
}

func newSession(ctx context.Context, p *Proxy, ex *Exchange) *session {
	ctx, cancel := context.WithCancel(ctx)
	s := &session{p: p, ctx: ctx, cancel: cancel, ex: ex}
	pm := p.opts.Filter.GetProcessingMode()
	s.req = dirState{request: true}
	s.resp = dirState{}
	s.req.setMode(pm)
	s.resp.setMode(pm)
	return s
}

// close resets the gRPC stream (Envoy's closeStream after an error) and
// stops the timer.
func (s *session) close() {
	s.stopTimer()
	s.closed = true
	s.cancel()
}

// remoteCloseTimeout is Envoy's default
// envoy.filters.http.ext_proc.remote_close_timeout_milliseconds.
const remoteCloseTimeout = time.Second

// end closes the stream at the end of the request the way Envoy's
// closeStreamMaybeGraceful does: half-close, then wait (bounded) for the
// server to end the stream, so a server sees io.EOF rather than a cancel.
func (s *session) end() {
	if s.closed || s.stream == nil {
		s.close()
		return
	}
	s.stopTimer()
	_ = s.stream.CloseSend()
	wait := time.NewTimer(remoteCloseTimeout)
	defer wait.Stop()
	for {
		select {
		case r := <-s.replies:
			if r.err == nil {
				continue // Envoy ignores messages once processing is over.
			}
		case <-wait.C:
		}
		s.close()
		return
	}
}

func (s *session) open() error {
	st, err := s.p.opts.Client.Process(s.ctx)
	if err != nil {
		return err
	}
	s.stream = st
	s.replies = make(chan recvResult)
	go func() {
		for {
			r, err := st.Recv()
			select {
			case s.replies <- recvResult{r, err}:
			case <-s.ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return nil
}

// send sends one message on d's behalf. Like Envoy's encodeProtocolConfig,
// only the first message of the stream carries protocol_config; like
// onStartProcessorCall, it (re)starts the message timer unless d's body
// mode is FULL_DUPLEX_STREAMED. A failed stream goes through fail.
func (s *session) send(d *dirState, m *extprocv3.ProcessingRequest) error {
	if s.stream == nil {
		if err := s.open(); err != nil {
			return s.fail(FailOpenStreamError, err)
		}
	}
	if !s.protocolSent {
		m.ProtocolConfig = &extprocv3.ProtocolConfiguration{
			RequestBodyMode:                         s.req.bodyMode,
			ResponseBodyMode:                        s.resp.bodyMode,
			SendBodyWithoutWaitingForHeaderResponse: s.p.opts.Filter.GetSendBodyWithoutWaitingForHeaderResponse(),
		}
		s.protocolSent = true
	}
	// Envoy always sets metadata_context, empty without forwarding namespaces.
	m.MetadataContext = &corev3.Metadata{}
	s.ex.Messages = append(s.ex.Messages, Message{Sent: m})
	if err := s.stream.Send(m); err != nil {
		return s.fail(s.sendFailure(err))
	}
	if d.bodyMode != filterv3.ProcessingMode_FULL_DUPLEX_STREAMED {
		s.startTimer(s.p.messageTimeout)
	}
	return nil
}

// sendFailure classifies a failed Send by the stream's final status, which
// only Recv reports.
func (s *session) sendFailure(err error) (FailOpen, error) {
	if !errors.Is(err, io.EOF) {
		return FailOpenStreamError, err
	}
	for r := range s.replies {
		if r.err != nil {
			if errors.Is(r.err, io.EOF) {
				return FailOpenClosed, r.err
			}
			return FailOpenStreamError, r.err
		}
	}
	return FailOpenStreamError, err
}

func (s *session) startTimer(d time.Duration) {
	if s.timer == nil {
		s.timer = time.NewTimer(d)
	} else {
		s.timer.Reset(d)
	}
	s.timerOn = true
	s.timeoutOverridden = false
}

func (s *session) stopTimer() {
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timerOn = false
}

// next waits for the processor's next reply, handing body frames that
// arrive meanwhile to onFrame (Envoy keeps receiving data while a call is
// outstanding). It returns nil when processing ended instead; the error then
// says whether the request must fail (nil: it goes on unprocessed).
//
// As Envoy's onReceiveMessage does before looking at the reply's type, it
// consumes override_message_timeout replies, applies mode_override and keeps
// dynamic metadata. Like onFinishProcessorCall, a reply stops the timer
// (Envoy restarts it only when it sends another message, so chunks still in
// flight after a reply run without one).
func (s *session) next(frames <-chan frame, onFrame func(frame) error) (*extprocv3.ProcessingResponse, error) {
	for {
		var timeout <-chan time.Time
		if s.timerOn {
			timeout = s.timer.C
		}
		select {
		case f, ok := <-frames:
			if !ok {
				frames = nil
				continue
			}
			if err := onFrame(f); err != nil || s.complete {
				return nil, err
			}
		case r := <-s.replies:
			if r.err != nil {
				if errors.Is(r.err, io.EOF) {
					return nil, s.fail(FailOpenClosed, r.err)
				}
				return nil, s.fail(FailOpenStreamError, r.err)
			}
			s.ex.Messages = append(s.ex.Messages, Message{Received: r.resp})
			if t := r.resp.GetOverrideMessageTimeout(); t != nil {
				s.overrideTimeout(t.AsDuration())
				continue
			}
			s.stopTimer()
			s.applyModeOverride(r.resp)
			s.keepMetadata(r.resp)
			return r.resp, nil
		case <-timeout:
			s.timerOn = false
			return nil, s.fail(FailOpenTimeout, errors.New("per-message timeout exceeded"))
		case <-s.ctx.Done():
			// The client went away: Envoy resets the stream and closes the
			// ext_proc stream with it.
			return nil, errDownstreamGone
		}
	}
}

// errDownstreamGone ends processing when the client has disconnected.
var errDownstreamGone = errors.New("downstream disconnected")

// overrideTimeout mirrors Filter::onNewTimeout: honoured once per call,
// within [1ms, max_message_timeout], only while a timer runs.
func (s *session) overrideTimeout(d time.Duration) {
	if d < time.Millisecond || d > s.p.maxTimeout || !s.timerOn || s.timeoutOverridden {
		return
	}
	s.timer.Reset(d)
	s.timeoutOverridden = true
}

// applyModeOverride mirrors onReceiveMessage: mode_override counts with
// allow_mode_override, without send_body_without_waiting_for_header_response,
// when no configured body mode is FULL_DUPLEX_STREAMED, and only while a
// headers reply is awaited. Header and trailer modes left DEFAULT keep the
// configured value; body modes are always taken from the override
// (effectiveModeOverride). allowed_override_modes restricts it.
func (s *session) applyModeOverride(r *extprocv3.ProcessingResponse) {
	f := s.p.opts.Filter
	cfg := f.GetProcessingMode()
	if !f.GetAllowModeOverride() || f.GetSendBodyWithoutWaitingForHeaderResponse() ||
		cfg.GetRequestBodyMode() == filterv3.ProcessingMode_FULL_DUPLEX_STREAMED ||
		cfg.GetResponseBodyMode() == filterv3.ProcessingMode_FULL_DUPLEX_STREAMED ||
		!s.awaitingHeaders || r.GetModeOverride() == nil {
		return
	}
	o := r.GetModeOverride()
	eff := &filterv3.ProcessingMode{
		RequestHeaderMode:   cfg.GetRequestHeaderMode(),
		ResponseHeaderMode:  cfg.GetResponseHeaderMode(),
		RequestTrailerMode:  cfg.GetRequestTrailerMode(),
		ResponseTrailerMode: cfg.GetResponseTrailerMode(),
		RequestBodyMode:     o.GetRequestBodyMode(),
		ResponseBodyMode:    o.GetResponseBodyMode(),
	}
	if o.GetRequestHeaderMode() != filterv3.ProcessingMode_DEFAULT {
		eff.RequestHeaderMode = o.GetRequestHeaderMode()
	}
	if o.GetResponseHeaderMode() != filterv3.ProcessingMode_DEFAULT {
		eff.ResponseHeaderMode = o.GetResponseHeaderMode()
	}
	if o.GetRequestTrailerMode() != filterv3.ProcessingMode_DEFAULT {
		eff.RequestTrailerMode = o.GetRequestTrailerMode()
	}
	if o.GetResponseTrailerMode() != filterv3.ProcessingMode_DEFAULT {
		eff.ResponseTrailerMode = o.GetResponseTrailerMode()
	}
	if allowed := f.GetAllowedOverrideModes(); len(allowed) > 0 {
		ok := false
		for _, a := range allowed {
			// Envoy ignores request_header_mode here: it is already past.
			if a.GetRequestBodyMode() == eff.RequestBodyMode && a.GetRequestTrailerMode() == eff.RequestTrailerMode &&
				a.GetResponseHeaderMode() == eff.ResponseHeaderMode && a.GetResponseBodyMode() == eff.ResponseBodyMode &&
				a.GetResponseTrailerMode() == eff.ResponseTrailerMode {
				ok = true
			}
		}
		if !ok {
			return
		}
	}
	s.req.setMode(eff)
	s.resp.setMode(eff)
}

// keepMetadata mirrors Filter::setDynamicMetadata: top-level keys of
// dynamic_metadata are namespaces, kept only when listed in
// metadata_options.receiving_namespaces.untyped, merged into what is there.
// Envoy does this for every reply of a known type, before handling it.
func (s *session) keepMetadata(r *extprocv3.ProcessingResponse) {
	switch r.GetResponse().(type) {
	case nil, *extprocv3.ProcessingResponse_StreamedImmediateResponse:
		return
	}
	for ns, v := range r.GetDynamicMetadata().GetFields() {
		if !s.p.receiving[ns] || v.GetStructValue() == nil {
			continue
		}
		if s.ex.DynamicMetadata == nil {
			s.ex.DynamicMetadata = map[string]*structpb.Struct{}
		}
		cur := s.ex.DynamicMetadata[ns]
		if cur == nil {
			cur = &structpb.Struct{Fields: map[string]*structpb.Value{}}
			s.ex.DynamicMetadata[ns] = cur
		}
		for k, fv := range v.GetStructValue().GetFields() {
			cur.Fields[k] = fv
		}
	}
}
