package main

import "testing"

func TestPerReplicaGapNamesItsDirection(t *testing.T) {
	for _, tc := range []struct {
		provider, floor float64
		n               int
		want            string
	}{
		{provider: 23.75, floor: 22.95, n: 100, want: "8 ms per replica more than"},
		{provider: 5.02, floor: 5.06, n: 20, want: "2 ms per replica less than"},
		{provider: 1, floor: 1, n: 3, want: "0 ms per replica more than"},
	} {
		if got := perReplicaGap(tc.provider, tc.floor, tc.n); got != tc.want {
			t.Errorf("perReplicaGap(%v, %v, %d) = %q, want %q", tc.provider, tc.floor, tc.n, got, tc.want)
		}
	}
}
