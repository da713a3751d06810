package resources

import (
	"errors"
	"testing"
	"time"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
)

func TestProgressMessageSaysWhatHappenedToTheReplica(t *testing.T) {
	action := func(kind reconcile.Kind, name string) reconcile.Action {
		return reconcile.Action{Kind: kind, Name: name, Reason: "image changed"}
	}
	cases := []struct {
		action      reconcile.Action
		took        time.Duration
		err         error
		healthCheck bool
		want        string
	}{
		{action(reconcile.Replace, "db-2"), 4140 * time.Millisecond, nil, true, "db-2: replaced, healthy after 4.1s"},
		{action(reconcile.Replace, "db-2"), 4140 * time.Millisecond, nil, false, "db-2: replaced, ready after 4.1s"},
		{action(reconcile.Start, "db-1"), 800 * time.Millisecond, nil, false, "db-1: started, ready after 0.8s"},
		{action(reconcile.Create, "db-3"), 1200 * time.Millisecond, nil, false, "db-3: created, ready after 1.2s"},
		{action(reconcile.Remove, "db-4"), 2 * time.Second, nil, false, "db-4: removed"},
		{action(reconcile.Update, "db-0"), 10 * time.Millisecond, nil, false, "db-0: updated in place"},
		{action(reconcile.Replace, "db-2"), 30 * time.Second, errors.New("container exited (1)"), true, "db-2: replace failed after 30.0s: container exited (1)"},
		{action(reconcile.Replace, "db-2"), 31*time.Minute + 5400*time.Millisecond, errors.New("context deadline exceeded"), false, "db-2: replace failed after 31m5s: context deadline exceeded"},
	}
	for _, tc := range cases {
		if got := progressMessage(tc.action, tc.took, tc.err, tc.healthCheck); got != tc.want {
			t.Errorf("progressMessage(%s, %v, %v) = %q, want %q", tc.action, tc.took, tc.err, got, tc.want)
		}
	}
}

func TestDurationTextWritesTimeoutsAsConfigured(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * time.Minute: "10m", 20 * time.Minute: "20m", time.Hour: "1h", 90 * time.Minute: "1h30m", 45 * time.Second: "45s",
	} {
		if got := durationText(d); got != want {
			t.Errorf("durationText(%v) = %q, want %q", d, got, want)
		}
	}
}
