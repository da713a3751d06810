package reconcile

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// doneLog records OnDone calls as "name kind: ok" or "name kind: <error>",
// in the order they came, and the runtime calls made before each.
type doneLog struct {
	rt    *fakeRuntime
	lines []string
	calls []int // how many runtime calls were recorded at each report
	took  []time.Duration
}

func (l *doneLog) onDone(a Action, took time.Duration, err error) {
	line := fmt.Sprintf("%s %s: ok", a.Name, a.Kind)
	if err != nil {
		line = fmt.Sprintf("%s %s: %v", a.Name, a.Kind, err)
	}
	l.lines = append(l.lines, line)
	l.calls = append(l.calls, len(l.rt.recorded()))
	l.took = append(l.took, took)
}

func TestExecuteReportsEachActionAsItCompletesInOrder(t *testing.T) {
	rt := &fakeRuntime{}
	log := &doneLog{rt: rt}
	actions := []Action{
		{Kind: Remove, Ordinal: 4, Name: "db-4", ContainerID: "c4", Reason: "scale down"},
		{Kind: Create, Ordinal: 3, Name: "db-3"},
		{Kind: Start, Ordinal: 1, Name: "db-1", ContainerID: "c1"},
		{Kind: Update, Ordinal: 0, Name: "db-0", ContainerID: "c0"},
		{Kind: Replace, Ordinal: 2, Name: "db-2", ContainerID: "c2"},
		{Kind: Hold, Ordinal: 5, Name: "db-5", ContainerID: "c5"},
	}
	if err := Execute(context.Background(), rt, desired("v2", 0, 1, 2, 3, 5), actions, ExecOptions{OnDone: log.onDone}); err != nil {
		t.Fatal(err)
	}
	want := []string{"db-4 remove: ok", "db-3 create: ok", "db-1 start: ok", "db-0 update in place: ok", "db-2 replace: ok"}
	if !reflect.DeepEqual(log.lines, want) {
		t.Fatalf("reports:\n  %s\nwant (held back replicas not reported):\n  %s", strings.Join(log.lines, "\n  "), strings.Join(want, "\n  "))
	}
	// Each report comes after its action's last runtime call and before
	// the next action's first: 1 remove; 3 create; 2 start; 1 update; 4 replace.
	if wantCalls := []int{1, 4, 6, 7, 11}; !reflect.DeepEqual(log.calls, wantCalls) {
		t.Fatalf("runtime calls made at each report = %v, want %v", log.calls, wantCalls)
	}
}

func TestExecuteReportsTheTimeEachActionTook(t *testing.T) {
	rt := &fakeRuntime{delay: 20 * time.Millisecond}
	log := &doneLog{rt: rt}
	actions := []Action{
		{Kind: Create, Ordinal: 0, Name: "db-0"},                    // 3 calls
		{Kind: Remove, Ordinal: 1, Name: "db-1", ContainerID: "c1"}, // 1 call
	}
	if err := Execute(context.Background(), rt, desired("v1", 0), actions, ExecOptions{OnDone: log.onDone}); err != nil {
		t.Fatal(err)
	}
	if log.took[0] < 60*time.Millisecond || log.took[1] < 20*time.Millisecond || log.took[1] >= log.took[0] {
		t.Fatalf("took = %v, want at least 60ms for the create (3 calls) and 20ms, less, for the remove", log.took)
	}
}

func TestExecuteReportsAFailureOnceUnprefixedAndNothingAfterIt(t *testing.T) {
	rt := &fakeRuntime{fail: failOn("wait new-db-1")}
	log := &doneLog{rt: rt}
	actions := []Action{
		{Kind: Replace, Ordinal: 2, Name: "db-2", ContainerID: "c2", Reason: "image changed"},
		{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Reason: "image changed"},
		{Kind: Replace, Ordinal: 0, Name: "db-0", ContainerID: "c0", Reason: "image changed"},
	}
	err := Execute(context.Background(), rt, desired("v2", 0, 1, 2), actions, ExecOptions{OnDone: log.onDone})
	if err == nil || err.Error() != "db-1: replace (image changed): boom" {
		t.Fatalf("err = %v", err)
	}
	if want := []string{"db-2 replace: ok", "db-1 replace: boom"}; !reflect.DeepEqual(log.lines, want) {
		t.Fatalf("reports = %q, want %q (db-0 never started)", log.lines, want)
	}
}

func TestExecuteReportsARevertedReplacementOnceWithTheRevert(t *testing.T) {
	previous := spec.Replica{Ordinal: 1, Name: "db-1", Fingerprint: "v1"}
	action := Action{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Previous: &previous}
	rt := &fakeRuntime{fail: failOn("wait new-db-1")}
	var got []string
	onDone := func(a Action, _ time.Duration, err error) {
		got = append(got, fmt.Sprintf("%s: %v", a.Name, err))
		if calls := len(rt.recorded()); calls != 8 {
			t.Errorf("reported after %d runtime calls, want 8 (the revert included)", calls)
		}
	}
	// The revert's wait fails too ("wait new-db-1" again): both are told.
	err := Execute(context.Background(), rt, desired("v2", 1), []Action{action}, ExecOptions{Revert: true, OnDone: onDone})
	if err == nil {
		t.Fatal("Execute succeeded")
	}
	if want := []string{"db-1: boom; reverting to the previous spec failed too: boom"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("reports = %q, want %q", got, want)
	}

	rt = &fakeRuntime{fail: failOn("wait new-db-1")}
	rt.onCall = func(call string) {
		if call == "wait new-db-1" { // this one fails; the revert's succeeds
			rt.mu.Lock()
			rt.fail = nil
			rt.mu.Unlock()
		}
	}
	got = nil
	onDone = func(a Action, _ time.Duration, err error) { got = append(got, fmt.Sprintf("%s: %v", a.Name, err)) }
	if err := Execute(context.Background(), rt, desired("v2", 1), []Action{action}, ExecOptions{Revert: true, OnDone: onDone}); err == nil {
		t.Fatal("Execute succeeded")
	}
	if len(got) != 1 || !strings.HasSuffix(got[0], "db-1 was reverted to its previous spec") {
		t.Fatalf("reports = %q, want one saying db-1 was reverted", got)
	}
}

func TestExecuteIndependentReportsEveryActionOnceWithoutOverlap(t *testing.T) {
	n := MaxParallel + 5
	rt := &fakeRuntime{delay: 2 * time.Millisecond, fail: failOn("remove c-db-3")}
	var mu sync.Mutex
	inside, most := 0, 0
	var got []string
	onDone := func(a Action, _ time.Duration, err error) {
		mu.Lock()
		inside++
		most = max(most, inside)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		got = append(got, fmt.Sprintf("%s %v", a.Name, err))
		mu.Lock()
		inside--
		mu.Unlock()
	}
	if err := Execute(context.Background(), rt, nil, removals(n), ExecOptions{Independent: true, OnDone: onDone}); !errors.Is(err, errBoom) {
		t.Fatalf("err = %v", err)
	}
	if most != 1 {
		t.Fatalf("%d OnDone calls ran at once, want 1", most)
	}
	var want []string
	for i := range n {
		line := spec.ReplicaName("db", i) + " <nil>"
		if i == 3 {
			line = "db-3 boom"
		}
		want = append(want, line)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reports (sorted):\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestExecuteReportsNothingWhenCancelledBeforeAnAction(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	reported := 0
	err := Execute(ctx, &fakeRuntime{}, desired("v1", 0), []Action{{Kind: Create, Ordinal: 0, Name: "db-0"}},
		ExecOptions{OnDone: func(Action, time.Duration, error) { reported++ }})
	if !errors.Is(err, context.Canceled) || reported != 0 {
		t.Fatalf("err = %v, %d reports, want context.Canceled and none", err, reported)
	}
}
