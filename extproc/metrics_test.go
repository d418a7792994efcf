package extproc

import (
	"fmt"
	"strings"
	"testing"
)

func TestModelLabels(t *testing.T) {
	l := newModelLabels([]string{"gpt-4o", "claude-sonnet-4-5"})
	// Fill the seen names' room.
	for i := range MaxSeenModels {
		if got := l.label(fmt.Sprintf("seen-%d", i)); got != fmt.Sprintf("seen-%d", i) {
			t.Fatalf("model %d of %d gets %q", i, MaxSeenModels, got)
		}
	}
	tests := []struct {
		model, want string
	}{
		{"gpt-4o", "gpt-4o"},   // known: always its own, even with no room left
		{"seen-3", "seen-3"},   // seen before the room ran out
		{"new-model", "other"}, // no room left
		{"", "unknown"},
		{strings.Repeat("m", maxModelLabel+1), "other"},
		{"gpt\n4o", "other"},
		{"gpt 4o", "other"},
	}
	for _, tt := range tests {
		if got := l.label(tt.model); got != tt.want {
			t.Errorf("label(%q) = %q, want %q", tt.model, got, tt.want)
		}
	}
}
