package semantic

import (
	"errors"
	"testing"
)

func TestDimensions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pinned  int
		answers []int
		// wantOK[i] says whether answer i is accepted.
		wantOK  []bool
		want    int
		changes []int
	}{
		{"learned from the first healthy answer", 0, []int{64, 64}, []bool{true, true}, 64, []int{64}},
		{"pinned never changes", 3, []int{64, 64, 64, 64, 3}, []bool{false, false, false, false, true}, 3, nil},
		{"a wrong first answer heals once the provider is consistent", 0, []int{3, 64, 64, 64, 64}, []bool{true, false, false, true, true}, 64, []int{3, 64}},
		{"a single odd answer changes nothing", 0, []int{64, 3, 64, 3, 3, 64}, []bool{true, false, true, false, false, true}, 64, []int{64}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var changes []int
			d := NewDimensions(DimensionsOptions{Pinned: tc.pinned, OnChange: func(n int) { changes = append(changes, n) }})
			for i, n := range tc.answers {
				err := d.Check(n)
				if (err == nil) != tc.wantOK[i] || (err != nil && !errors.Is(err, ErrDimension)) {
					t.Errorf("answer %d (%d dims): %v, want ok=%v", i, n, err, tc.wantOK[i])
				}
			}
			if d.Get() != tc.want || len(changes) != len(tc.changes) {
				t.Fatalf("dimensions %d, changes %v; want %d, %v", d.Get(), changes, tc.want, tc.changes)
			}
			for i := range changes {
				if changes[i] != tc.changes[i] {
					t.Errorf("changes %v, want %v", changes, tc.changes)
				}
			}
		})
	}
}
