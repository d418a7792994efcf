package extproc

import (
	"slices"
	"strconv"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// maxStreamedChunk bounds each streamed_response chunk: Envoy advises
// chunks under 64 KiB in FULL_DUPLEX_STREAMED mode.
const maxStreamedChunk = 62_000

// headerSet builds header mutations. Values go in raw_value: with its
// default runtime Envoy reads only raw_value (a value-only header would be
// set empty, and both set is an error). append stays unset, which Envoy
// reads as overwrite; it ignores append_action here.
type headerSet struct {
	set    []*corev3.HeaderValueOption
	remove []string
}

func (h headerSet) add(name, value string) headerSet {
	h.set = append(h.set, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: name, RawValue: []byte(value)}})
	return h
}

func (h headerSet) del(name string) headerSet {
	h.remove = append(h.remove, name)
	return h
}

// replace sets name, dropping any earlier set of it.
func (h headerSet) replace(name, value string) headerSet {
	h.set = slices.DeleteFunc(slices.Clone(h.set), func(o *corev3.HeaderValueOption) bool { return o.GetHeader().GetKey() == name })
	return h.add(name, value)
}

// merge adds other's removals and sets after h's.
func (h headerSet) merge(other headerSet) headerSet {
	h.set = append(slices.Clone(h.set), other.set...)
	h.remove = append(slices.Clone(h.remove), other.remove...)
	return h
}

func (h headerSet) empty() bool { return len(h.set) == 0 && len(h.remove) == 0 }

// mutation wraps the set in a HeaderMutation; an empty set still yields a
// non-nil mutation, because clear_route_cache only takes effect when the
// reply carries one.
func (h headerSet) mutation() *extprocv3.HeaderMutation {
	return &extprocv3.HeaderMutation{SetHeaders: h.set, RemoveHeaders: h.remove}
}

// skipAll tells Envoy to send nothing more of this stream: the body modes
// of an override are always taken from it, so leaving them unset is NONE,
// and the response headers are skipped too.
func skipAll() *filterv3.ProcessingMode {
	return &filterv3.ProcessingMode{ResponseHeaderMode: filterv3.ProcessingMode_SKIP}
}

// skipResponseBody keeps nothing of the response but its headers.
func skipResponseBody() *filterv3.ProcessingMode {
	return &filterv3.ProcessingMode{}
}

// streamResponseBody asks for the response body chunk by chunk: SSE must
// reach the client as it comes, and streaming never hits Envoy's buffer
// limit (a buffered response over it is a 500).
func streamResponseBody() *filterv3.ProcessingMode {
	return &filterv3.ProcessingMode{ResponseBodyMode: filterv3.ProcessingMode_STREAMED}
}

func common(h headerSet, clearRoute bool) *extprocv3.CommonResponse {
	if h.empty() && !clearRoute {
		return &extprocv3.CommonResponse{}
	}
	return &extprocv3.CommonResponse{HeaderMutation: h.mutation(), ClearRouteCache: clearRoute}
}

func requestHeadersReply(c *extprocv3.CommonResponse, mode *filterv3.ProcessingMode) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{
		Response:     &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: c}},
		ModeOverride: mode,
	}
}

func responseHeadersReply(c *extprocv3.CommonResponse, mode *filterv3.ProcessingMode, md *structpb.Struct) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{
		Response:        &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{Response: c}},
		ModeOverride:    mode,
		DynamicMetadata: md,
	}
}

func requestBodyReply(c *extprocv3.CommonResponse) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: c}}}
}

func responseBodyReply() *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{}}}
}

func trailersReply(request bool) *extprocv3.ProcessingResponse {
	if request {
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestTrailers{RequestTrailers: &extprocv3.TrailersResponse{}}}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseTrailers{ResponseTrailers: &extprocv3.TrailersResponse{}}}
}

// withBody replaces a BUFFERED request body. Envoy fails the request when
// the content-length left after the reply's header mutation differs from
// the new body, so the new length is set in the same reply.
func withBody(h headerSet, body []byte) *extprocv3.CommonResponse {
	h = h.add("content-length", strconv.Itoa(len(body)))
	c := &extprocv3.CommonResponse{HeaderMutation: h.mutation()}
	c.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: body}}
	return c
}

// streamedBody splits body into FULL_DUPLEX_STREAMED body replies of at
// most maxStreamedChunk bytes, the last marked end_of_stream when eos.
func streamedBody(body []byte, eos, request bool) []*extprocv3.ProcessingResponse {
	var out []*extprocv3.ProcessingResponse
	for first := true; first || len(body) > 0; first = false {
		n := min(len(body), maxStreamedChunk)
		chunk := body[:n]
		body = body[n:]
		br := &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_StreamedResponse{
			StreamedResponse: &extprocv3.StreamedBodyResponse{Body: chunk, EndOfStream: eos && len(body) == 0},
		}}}}
		if request {
			out = append(out, &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: br}})
		} else {
			out = append(out, &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: br}})
		}
	}
	return out
}

func immediateReply(h headerSet, contentType string, body []byte, md *structpb.Struct) *extprocv3.ProcessingResponse {
	h = h.add("content-type", contentType)
	return &extprocv3.ProcessingResponse{
		Response: &extprocv3.ProcessingResponse_ImmediateResponse{ImmediateResponse: &extprocv3.ImmediateResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode_OK},
			Headers: h.mutation(),
			Body:    body,
		}},
		DynamicMetadata: md,
	}
}

// metadata wraps fields in the semproc namespace, the one Envoy keeps when
// metadata_options.receiving_namespaces lists it.
func metadata(fields map[string]string) *structpb.Struct {
	inner := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(fields))}
	for k, v := range fields {
		inner.Fields[k] = structpb.NewStringValue(v)
	}
	return &structpb.Struct{Fields: map[string]*structpb.Value{"semproc": structpb.NewStructValue(inner)}}
}
