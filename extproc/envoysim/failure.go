package envoysim

import (
	"fmt"
	"net/http"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// localReply is an answer the proxy makes itself (Envoy's sendLocalReply):
// an ImmediateResponse or an error status.
type localReply struct {
	status  int
	headers *headerMap
	body    []byte
	details string
}

func (l *localReply) Error() string { return fmt.Sprintf("local reply %d: %s", l.status, l.details) }

// failureModeAllow mirrors Filter::failureModeAllow (≥ 1.36): a
// FULL_DUPLEX_STREAMED direction that has received body data can no longer
// fail open, since the data went to the processor only.
func (s *session) failureModeAllow() bool {
	if s.req.duplex() && s.req.bodyReceived || s.resp.duplex() && s.resp.bodyReceived {
		return false
	}
	return s.p.opts.Filter.GetFailureModeAllow()
}

// fail ends processing after a stream error, a clean close, a timeout or a
// spurious reply. A clean close always lets the request go on
// (onGrpcClose); the others do with failure_mode_allow and otherwise answer
// status_on_error (500), or 504 on a timeout (onMessageTimeout).
func (s *session) fail(kind FailOpen, cause error) error {
	s.complete = true
	s.close()
	if kind == FailOpenClosed || s.failureModeAllow() {
		s.ex.FailedOpen = kind
		return nil
	}
	status := s.statusOnError()
	if kind == FailOpenTimeout {
		status = http.StatusGatewayTimeout
	}
	return &localReply{status: status, details: fmt.Sprintf("ext_proc_error: %s: %v", kind, cause)}
}

// errorReply mirrors handleErrorResponse: a reply Envoy cannot apply (bad
// mutation, content-length mismatch) fails the request whatever
// failure_mode_allow says.
func (s *session) errorReply(err error) error {
	s.complete = true
	s.close()
	return &localReply{status: s.statusOnError(), details: err.Error()}
}

func (s *session) statusOnError() int {
	if c := int(s.p.opts.Filter.GetStatusOnError().GetCode()); c >= 200 && c <= 999 {
		return c
	}
	return http.StatusInternalServerError
}

// spurious handles a reply of the wrong type for the current state.
func (s *session) spurious(r *extprocv3.ProcessingResponse) error {
	return s.fail(FailOpenSpurious, fmt.Errorf("unexpected %T", r.GetResponse()))
}

// immediate turns an immediate_response into a local reply
// (Filter::sendImmediateResponse): status < 200 or unset becomes 200, headers
// go through the mutation rules (failures only logged by Envoy, so ignored),
// and a non-empty body gets content-length and, unless set,
// content-type text/plain, as sendLocalReply adds them. With
// disable_immediate_response the reply is spurious.
func (s *session) immediate(r *extprocv3.ProcessingResponse) error {
	if s.p.opts.Filter.GetDisableImmediateResponse() {
		return s.spurious(r)
	}
	s.complete = true
	s.close()
	ir := r.GetImmediateResponse()
	status := int(ir.GetStatus().GetCode())
	if status < 200 || status > 999 {
		status = http.StatusOK
	}
	h := &headerMap{}
	_ = applyHeaderMutation(ir.GetHeaders(), h, s.p.checker, false, false)
	if len(ir.GetBody()) > 0 {
		h.set("content-length", fmt.Sprint(len(ir.GetBody())))
		if _, ok := h.get("content-type"); !ok {
			h.set("content-type", "text/plain")
		}
	}
	return &localReply{status: status, headers: h, body: ir.GetBody(), details: "immediate_response: " + ir.GetDetails()}
}
