package envoysim

import (
	"net/http"
	"strconv"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// dirState is the mode part of Envoy's ProcessorState for one direction.
type dirState struct {
	request      bool
	sendHeaders  bool
	bodyMode     filterv3.ProcessingMode_BodySendMode
	sendTrailers bool
	// bodyReceived is set once body data reached the filter (Envoy's
	// setBodyReceived, which ends fail-open in FULL_DUPLEX_STREAMED).
	bodyReceived bool
}

// setMode mirrors setProcessingModeInternal: headers are sent unless SKIP,
// trailers only with SEND.
func (d *dirState) setMode(pm *filterv3.ProcessingMode) {
	if d.request {
		d.sendHeaders = pm.GetRequestHeaderMode() != filterv3.ProcessingMode_SKIP
		d.sendTrailers = pm.GetRequestTrailerMode() == filterv3.ProcessingMode_SEND
		d.bodyMode = pm.GetRequestBodyMode()
		return
	}
	d.sendHeaders = pm.GetResponseHeaderMode() != filterv3.ProcessingMode_SKIP
	d.sendTrailers = pm.GetResponseTrailerMode() == filterv3.ProcessingMode_SEND
	d.bodyMode = pm.GetResponseBodyMode()
}

func (d *dirState) duplex() bool { return d.bodyMode == filterv3.ProcessingMode_FULL_DUPLEX_STREAMED }

func (d *dirState) streamed() bool { return d.bodyMode == filterv3.ProcessingMode_STREAMED }

func (d *dirState) buffered() bool { return d.bodyMode == filterv3.ProcessingMode_BUFFERED }

// removeContentLength mirrors ProcessorState::shouldRemoveContentLength: in
// these modes Envoy cannot keep content-length right once the body changes.
func (d *dirState) removeContentLength() bool {
	switch d.bodyMode {
	case filterv3.ProcessingMode_STREAMED, filterv3.ProcessingMode_FULL_DUPLEX_STREAMED,
		filterv3.ProcessingMode_BUFFERED_PARTIAL:
		return true
	case filterv3.ProcessingMode_BUFFERED:
		return !d.sendHeaders
	}
	return false
}

func (d *dirState) headersMsg(h *headerMap, eos bool) *extprocv3.ProcessingRequest {
	hh := &extprocv3.HttpHeaders{Headers: h.toProto(), EndOfStream: eos}
	if d.request {
		return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: hh}}
	}
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: hh}}
}

func (d *dirState) bodyMsg(data []byte, eos bool) *extprocv3.ProcessingRequest {
	b := &extprocv3.HttpBody{Body: append([]byte{}, data...), EndOfStream: eos}
	if d.request {
		return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: b}}
	}
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: b}}
}

func (d *dirState) trailersMsg(t *headerMap) *extprocv3.ProcessingRequest {
	tr := &extprocv3.HttpTrailers{Trailers: t.toProto()}
	if d.request {
		return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestTrailers{RequestTrailers: tr}}
	}
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseTrailers{ResponseTrailers: tr}}
}

// headersReply returns the reply's CommonResponse if it answers d's headers.
func (d *dirState) headersReply(r *extprocv3.ProcessingResponse) (*extprocv3.CommonResponse, bool) {
	if d.request {
		return r.GetRequestHeaders().GetResponse(), r.GetRequestHeaders() != nil
	}
	return r.GetResponseHeaders().GetResponse(), r.GetResponseHeaders() != nil
}

func (d *dirState) bodyReply(r *extprocv3.ProcessingResponse) (*extprocv3.CommonResponse, bool) {
	if d.request {
		return r.GetRequestBody().GetResponse(), r.GetRequestBody() != nil
	}
	return r.GetResponseBody().GetResponse(), r.GetResponseBody() != nil
}

func (d *dirState) trailersReply(r *extprocv3.ProcessingResponse) (*extprocv3.HeaderMutation, bool) {
	if d.request {
		return r.GetRequestTrailers().GetHeaderMutation(), r.GetRequestTrailers() != nil
	}
	return r.GetResponseTrailers().GetHeaderMutation(), r.GetResponseTrailers() != nil
}

// tooLarge mirrors Envoy's answer to a BUFFERED body over the buffer limit:
// 413 on requests, 500 on responses.
func (d *dirState) tooLarge() error {
	if d.request {
		return &localReply{status: http.StatusRequestEntityTooLarge, body: []byte("Payload Too Large"), details: "request_payload_too_large"}
	}
	return &localReply{status: http.StatusInternalServerError, body: []byte("Internal Server Error"), details: "response_payload_too_large"}
}

// applyBody mirrors MutationUtils::applyBodyMutations: body replaces,
// clear_body empties, anything else (streamed_response) leaves data as is.
func applyBody(m *extprocv3.BodyMutation, data []byte) []byte {
	switch v := m.GetMutation().(type) {
	case *extprocv3.BodyMutation_Body:
		return append([]byte{}, v.Body...)
	case *extprocv3.BodyMutation_ClearBody:
		if v.ClearBody {
			return nil
		}
	}
	return data
}

func contentLength(h *headerMap) (int64, bool) {
	v, ok := h.get("content-length")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}
