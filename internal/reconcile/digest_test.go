package reconcile

import (
	"reflect"
	"testing"
)

// A replica whose image tag moved (pull_policy "always") is replaced, one
// at a time, highest first, like any other rollout; the others are kept.
func TestPlanReplacesStaleImages(t *testing.T) {
	want := desired("a", 0, 1, 2)
	seen := []Observed{obs("c0", 0, StateRunning, "a"), obs("c1", 1, StateRunning, "a"), obs("c2", 2, StateRunning, "a")}
	actions, _ := Plan(want, seen, Options{StaleImages: map[string]bool{"c0": true, "c2": true}})
	got := render(actions)
	expected := []string{"db-2: replace (image digest changed) @c2", "db-0: replace (image digest changed) @c0"}
	if !reflect.DeepEqual(got, expected) {
		t.Fatalf("got %q, want %q", got, expected)
	}
	if actions, _ := Plan(want, seen, Options{}); len(actions) != 0 {
		t.Fatalf("nothing stale: want no actions, got %q", render(actions))
	}
}
