package envoysim

import (
	"errors"
	"fmt"
	"testing"

	mutationrulesv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func startHeaders() *headerMap {
	return &headerMap{entries: []header{
		{":authority", "api.example"}, {":path", "/v1/chat/completions"}, {":method", "POST"}, {":scheme", "http"},
		{"host", "api.example"}, {"content-type", "application/json"}, {"x-envoy-original", "1"}, {"x-a", "1"},
	}}
}

func TestApplyHeaderMutation(t *testing.T) {
	valueOnly := &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: "x-v", Value: "plain"}}
	both := &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: "x-v", Value: "a", RawValue: []byte("b")}}
	appendAction := setRaw("x-a", "2")
	appendAction.AppendAction = corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD
	tests := []struct {
		name      string
		mut       *extprocv3.HeaderMutation
		rules     *mutationrulesv3.HeaderMutationRules
		replacing bool
		skipCL    bool
		want      map[string]string // "" = absent; values joined by ","
		wantErr   bool
	}{
		{name: "set adds", mut: setHeaders(setRaw("x-new", "v")), want: map[string]string{"x-new": "v"}},
		{name: "set overwrites by default", mut: setHeaders(setRaw("x-a", "2")), want: map[string]string{"x-a": "2"}},
		{name: "append flag appends", mut: setHeaders(appendRaw("x-a", "2")), want: map[string]string{"x-a": "1,2"}},
		{name: "append_action is ignored", mut: setHeaders(appendAction), want: map[string]string{"x-a": "2"}},
		{name: "value only becomes empty", mut: setHeaders(valueOnly), want: map[string]string{"x-v": "="}},
		{name: "value and raw_value is an error", mut: setHeaders(both), wantErr: true},
		{name: "upper-case names are lowered", mut: setHeaders(setRaw("X-Semproc-Model", "m")), want: map[string]string{"x-semproc-model": "m"}},
		{name: "removals before sets", mut: &extprocv3.HeaderMutation{RemoveHeaders: []string{"x-a"}, SetHeaders: []*corev3.HeaderValueOption{setRaw("x-a", "3")}}, want: map[string]string{"x-a": "3"}},
		{name: "remove", mut: &extprocv3.HeaderMutation{RemoveHeaders: []string{"X-A"}}, want: map[string]string{"x-a": ""}},
		{name: "routing headers ignored", mut: setHeaders(setRaw("host", "h"), setRaw(":authority", "h"), setRaw(":method", "GET"), setRaw(":scheme", "https")),
			want: map[string]string{"host": "api.example", ":authority": "api.example", ":method": "POST", ":scheme": "http"}},
		{name: "x-envoy ignored", mut: &extprocv3.HeaderMutation{RemoveHeaders: []string{"x-envoy-original"}, SetHeaders: []*corev3.HeaderValueOption{setRaw("x-envoy-new", "1")}},
			want: map[string]string{"x-envoy-original": "1", "x-envoy-new": ""}},
		{name: "pseudo and host removals ignored", mut: &extprocv3.HeaderMutation{RemoveHeaders: []string{":path", "host"}}, want: map[string]string{":path": "/v1/chat/completions", "host": "api.example"}},
		{name: ":path may be set", mut: setHeaders(setRaw(":path", "/other")), want: map[string]string{":path": "/other"}},
		{name: ":method allowed when replacing", mut: setHeaders(setRaw(":method", "PUT")), replacing: true, want: map[string]string{":method": "PUT"}},
		{name: "appending to a pseudo-header ignored", mut: setHeaders(appendRaw(":path", "/x")), want: map[string]string{":path": "/v1/chat/completions"}},
		{name: "invalid name", mut: setHeaders(setRaw("bad name", "v")), wantErr: true},
		{name: "invalid remove name", mut: &extprocv3.HeaderMutation{RemoveHeaders: []string{"bad:name"}}, wantErr: true},
		{name: "invalid value", mut: setHeaders(setRaw("x-b", "a\r\nb")), wantErr: true},
		{name: "content-length set skipped", mut: setHeaders(setRaw("content-length", "5")), skipCL: true, want: map[string]string{"content-length": ""}},
		{name: "disallow_is_error fails", mut: setHeaders(setRaw("host", "h")), rules: &mutationrulesv3.HeaderMutationRules{DisallowIsError: wrapperspb.Bool(true)}, wantErr: true},
		{name: "allow_all_routing", mut: setHeaders(setRaw(":authority", "h")), rules: &mutationrulesv3.HeaderMutationRules{AllowAllRouting: wrapperspb.Bool(true)}, want: map[string]string{":authority": "h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newChecker(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			h := startHeaders()
			err = applyHeaderMutation(tt.mut, h, c, tt.replacing, tt.skipCL)
			if tt.wantErr {
				if !errors.Is(err, errMutation) {
					t.Fatalf("err = %v, want errMutation", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.want {
				var got []string
				for _, e := range h.entries {
					if e.key == k {
						got = append(got, e.value)
					}
				}
				g := fmt.Sprint(joinValues(got))
				if want == "=" { // present and empty
					if len(got) != 1 || got[0] != "" {
						t.Errorf("%s = %q, want one empty value", k, got)
					}
					continue
				}
				if g != want {
					t.Errorf("%s = %q, want %q", k, g, want)
				}
			}
		})
	}
}

func joinValues(v []string) string {
	out := ""
	for i, s := range v {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// FuzzApplyHeaderMutation checks that whatever a processor sends, the
// headers left are ones Envoy would accept, or the reply is rejected.
func FuzzApplyHeaderMutation(f *testing.F) {
	f.Add("x-a", "v", "x-b", false)
	f.Add(":path", "/p", "host", true)
	f.Add("bad name", "a\nb", ":status", false)
	c, err := newChecker(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key, value, remove string, appendFlag bool) {
		opt := setRaw(key, value)
		opt.Append = wrapperspb.Bool(appendFlag)
		h := startHeaders()
		err := applyHeaderMutation(&extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{opt}, RemoveHeaders: []string{remove}}, h, c, false, false)
		if err != nil {
			if !errors.Is(err, errMutation) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		for _, e := range h.entries {
			if !headerNameValid(e.key) || !headerValueValid(e.value) {
				t.Fatalf("invalid header left: %q: %q", e.key, e.value)
			}
		}
		if v, _ := h.get(":method"); v != "POST" {
			t.Fatalf(":method changed to %q", v)
		}
	})
}
