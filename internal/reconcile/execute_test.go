package reconcile

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

var errBoom = errors.New("boom")

// fakeRuntime records every call as "verb arg" in order. A call listed in
// fail returns errBoom; onCall runs after a call is recorded; delay keeps a
// call in flight so that concurrency can be measured. Peer answers with
// peer (or defaultPeer when unset), each Exec records its timeout in
// timeouts.
type fakeRuntime struct {
	mu          sync.Mutex
	calls       []string
	fail        map[string]bool
	onCall      func(call string)
	delay       time.Duration
	inFlight    int
	maxInFlight int
	peer        *Target
	timeouts    []time.Duration
}

// defaultPeer is the container Peer finds when a test names none.
var defaultPeer = Target{ID: "c-peer", Name: "db-peer"}

func (f *fakeRuntime) call(call string) error {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	hook, fail := f.onCall, f.fail[call]
	f.mu.Unlock()
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	if hook != nil {
		hook(call)
	}
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
	if fail {
		return errBoom
	}
	return nil
}

func (f *fakeRuntime) Create(_ context.Context, r spec.Replica) (string, error) {
	if err := f.call("create " + r.Name + at(r.Host)); err != nil {
		return "", err
	}
	return "new-" + r.Name, nil
}

// at suffixes a call with its host, when the test placed replicas.
func at(host string) string {
	if host == "" {
		return ""
	}
	return "@" + host
}

func (f *fakeRuntime) Prepare(_ context.Context, _ spec.Replica) error { return nil }
func (f *fakeRuntime) Start(_ context.Context, host, id string) error {
	return f.call("start " + id + at(host))
}
func (f *fakeRuntime) UpdateSettings(_ context.Context, r spec.Replica, host, id string) error {
	return f.call("update " + id + " restart=" + r.Container.Restart.String() + at(host))
}
func (f *fakeRuntime) WaitReady(_ context.Context, host, id string) error {
	return f.call("wait " + id + at(host))
}
func (f *fakeRuntime) Remove(_ context.Context, host, _, id string) error {
	return f.call("remove " + id + at(host))
}
func (f *fakeRuntime) RemoveVolume(_ context.Context, host, name string) error {
	return f.call("remove-volume " + name + at(host))
}
func (f *fakeRuntime) DeleteData(_ context.Context, host string, m spec.Mount) error {
	return f.call("delete-data " + m.Source + at(host))
}

func (f *fakeRuntime) Stop(_ context.Context, host, id string) error {
	return f.call("stop " + id + at(host))
}

// Backup records "backup <source> of <replica>", or "backup <source>" for
// a shared volume.
func (f *fakeRuntime) Backup(_ context.Context, host, replica string, m spec.Mount) error {
	of := ""
	if replica != "" {
		of = " of " + replica
	}
	return f.call("backup " + m.Source + of + at(host))
}

// Exec records "exec <id> <command words>".
func (f *fakeRuntime) Exec(_ context.Context, host, id string, command []string, timeout time.Duration) error {
	f.mu.Lock()
	f.timeouts = append(f.timeouts, timeout)
	f.mu.Unlock()
	return f.call("exec " + id + " " + strings.Join(command, " ") + at(host))
}

// Peer records "peer <ordinal>".
func (f *fakeRuntime) Peer(_ context.Context, ordinal int) (Target, error) {
	if err := f.call("peer " + strconv.Itoa(ordinal)); err != nil {
		return Target{}, err
	}
	if f.peer != nil {
		return *f.peer, nil
	}
	return defaultPeer, nil
}

func (f *fakeRuntime) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.calls...)
}

func failOn(calls ...string) map[string]bool {
	m := map[string]bool{}
	for _, c := range calls {
		m[c] = true
	}
	return m
}

func TestExecuteRunsEachKindAsItsRuntimeCalls(t *testing.T) {
	cases := map[string]struct {
		action Action
		want   []string
	}{
		"create":  {Action{Kind: Create, Ordinal: 1, Name: "db-1"}, []string{"create db-1", "start new-db-1", "wait new-db-1"}},
		"replace": {Action{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1"}, []string{"remove c1", "create db-1", "start new-db-1", "wait new-db-1"}},
		"start":   {Action{Kind: Start, Ordinal: 1, Name: "db-1", ContainerID: "c1"}, []string{"start c1", "wait c1"}},
		"remove":  {Action{Kind: Remove, Ordinal: 1, Name: "db-1", ContainerID: "c1"}, []string{"remove c1"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rt := &fakeRuntime{}
			if err := Execute(context.Background(), rt, desired("v1", 0, 1), []Action{tc.action}, ExecOptions{}); err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if got := rt.recorded(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("calls = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestExecuteCreatesTheDesiredReplicaOfTheOrdinal(t *testing.T) {
	var got spec.Replica
	rt := &recordingCreate{into: &got}
	d := desired("v7", 3, 4)
	if err := Execute(context.Background(), rt, d, []Action{{Kind: Create, Ordinal: 4, Name: "db-4"}}, ExecOptions{}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, d[1]) {
		t.Fatalf("Create got %+v, want %+v", got, d[1])
	}
}

// recordingCreate keeps the replica passed to Create.
type recordingCreate struct {
	fakeRuntime
	into *spec.Replica
}

func (r *recordingCreate) Create(ctx context.Context, rep spec.Replica) (string, error) {
	*r.into = rep
	return r.fakeRuntime.Create(ctx, rep)
}

func TestExecuteRunsActionsInOrder(t *testing.T) {
	rt := &fakeRuntime{}
	actions := []Action{
		{Kind: Remove, Ordinal: 3, Name: "db-3", ContainerID: "c3"},
		{Kind: Create, Ordinal: 0, Name: "db-0"},
		{Kind: Start, Ordinal: 1, Name: "db-1", ContainerID: "c1"},
		{Kind: Replace, Ordinal: 2, Name: "db-2", ContainerID: "c2"},
	}
	if err := Execute(context.Background(), rt, desired("v1", 0, 1, 2), actions, ExecOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"remove c3",
		"create db-0", "start new-db-0", "wait new-db-0",
		"start c1", "wait c1",
		"remove c2", "create db-2", "start new-db-2", "wait new-db-2",
	}
	if got := rt.recorded(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestExecuteStopsAtTheFirstFailure(t *testing.T) {
	actions := []Action{
		{Kind: Replace, Ordinal: 2, Name: "db-2", ContainerID: "c2", Reason: "spec changed"},
		{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Reason: "spec changed"},
		{Kind: Replace, Ordinal: 0, Name: "db-0", ContainerID: "c0", Reason: "spec changed"},
	}
	cases := map[string]struct {
		fail      string
		wantCalls []string
		wantErr   string
	}{
		"remove fails: nothing created": {
			fail:      "remove c1",
			wantCalls: []string{"remove c2", "create db-2", "start new-db-2", "wait new-db-2", "remove c1"},
			wantErr:   "db-1: replace (spec changed): boom",
		},
		"create fails: not started": {
			fail:      "create db-2",
			wantCalls: []string{"remove c2", "create db-2"},
			wantErr:   "db-2: replace (spec changed): boom",
		},
		"start fails: not waited for": {
			fail:      "start new-db-1",
			wantCalls: []string{"remove c2", "create db-2", "start new-db-2", "wait new-db-2", "remove c1", "create db-1", "start new-db-1"},
			wantErr:   "db-1: replace (spec changed): boom",
		},
		"not ready: later replicas untouched": {
			fail:      "wait new-db-2",
			wantCalls: []string{"remove c2", "create db-2", "start new-db-2", "wait new-db-2"},
			wantErr:   "db-2: replace (spec changed): boom",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rt := &fakeRuntime{fail: failOn(tc.fail)}
			err := Execute(context.Background(), rt, desired("v2", 0, 1, 2), actions, ExecOptions{})
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if !errors.Is(err, errBoom) {
				t.Errorf("err %v does not wrap the runtime's error", err)
			}
			if got := rt.recorded(); !reflect.DeepEqual(got, tc.wantCalls) {
				t.Fatalf("calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.wantCalls, "\n  "))
			}
		})
	}
}

func TestExecuteDoesNotStartAnActionOnceCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt := &fakeRuntime{onCall: func(call string) {
		if call == "wait new-db-0" {
			cancel()
		}
	}}
	actions := []Action{{Kind: Create, Ordinal: 0, Name: "db-0"}, {Kind: Create, Ordinal: 1, Name: "db-1"}}
	err := Execute(ctx, rt, desired("v1", 0, 1), actions, ExecOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if want := "db-1: create: not started: context canceled"; err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
	if got, want := rt.recorded(), []string{"create db-0", "start new-db-0", "wait new-db-0"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %q, want %q", got, want)
	}
}

func TestExecuteWithCancelledContextRunsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rt := &fakeRuntime{}
	err := Execute(ctx, rt, desired("v1", 0), []Action{{Kind: Remove, Ordinal: 0, Name: "db-0", ContainerID: "c0"}}, ExecOptions{})
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "db-0: remove: not started") {
		t.Fatalf("err = %v", err)
	}
	if got := rt.recorded(); len(got) != 0 {
		t.Fatalf("calls = %q, want none", got)
	}
}

func TestExecuteWithoutActionsDoesNothing(t *testing.T) {
	rt := &fakeRuntime{}
	if err := Execute(context.Background(), rt, desired("v1", 0), nil, ExecOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := rt.recorded(); len(got) != 0 {
		t.Fatalf("calls = %q", got)
	}
}

func TestExecuteRejectsAnUnknownKind(t *testing.T) {
	rt := &fakeRuntime{}
	err := Execute(context.Background(), rt, desired("v1", 0), []Action{{Kind: "explode", Ordinal: 0, Name: "db-0"}}, ExecOptions{})
	if err == nil || err.Error() != `db-0: explode: unknown action kind "explode"` {
		t.Fatalf("err = %v", err)
	}
	if got := rt.recorded(); len(got) != 0 {
		t.Fatalf("calls = %q, want none", got)
	}
}

func removals(n int) []Action {
	out := make([]Action, 0, n)
	for i := range n {
		name := spec.ReplicaName("db", i)
		out = append(out, Action{Kind: Remove, Ordinal: i, Name: name, ContainerID: "c-" + name, Reason: "scale down"})
	}
	return out
}

// independent runs actions as destroy does.
var independent = ExecOptions{Independent: true}

func TestExecuteIndependentRunsEveryActionAndJoinsAllErrors(t *testing.T) {
	rt := &fakeRuntime{fail: failOn("remove c-db-1", "wait new-db-7")}
	actions := append(removals(6), Action{Kind: Create, Ordinal: 7, Name: "db-7"}, Action{Kind: Start, Ordinal: 8, Name: "db-8", ContainerID: "c8"})
	err := Execute(context.Background(), rt, desired("v1", 7, 8), actions, independent)
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, errBoom) {
		t.Errorf("err %v does not wrap the runtime's error", err)
	}
	if want := "db-1: remove (scale down): boom\ndb-7: create: boom"; err.Error() != want {
		t.Fatalf("err = %q, want %q (in action order)", err, want)
	}
	got := rt.recorded()
	slices.Sort(got)
	want := []string{
		"create db-7",
		"remove c-db-0", "remove c-db-1", "remove c-db-2", "remove c-db-3", "remove c-db-4", "remove c-db-5",
		"start c8", "start new-db-7", "wait c8", "wait new-db-7",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("calls (sorted):\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestExecuteIndependentSucceedsWithNil(t *testing.T) {
	rt := &fakeRuntime{}
	if err := Execute(context.Background(), rt, nil, removals(4), independent); err != nil {
		t.Fatalf("err = %v", err)
	}
	if err := Execute(context.Background(), rt, nil, nil, independent); err != nil {
		t.Fatalf("no actions: err = %v", err)
	}
	if got := len(rt.recorded()); got != 4 {
		t.Fatalf("%d calls, want 4", got)
	}
}

func TestExecuteIndependentKeepsEachActionsCallsInOrder(t *testing.T) {
	rt := &fakeRuntime{}
	actions := []Action{
		{Kind: Replace, Ordinal: 0, Name: "db-0", ContainerID: "c-db-0"},
		{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c-db-1"},
	}
	if err := Execute(context.Background(), rt, desired("v1", 0, 1), actions, independent); err != nil {
		t.Fatal(err)
	}
	calls := rt.recorded()
	for _, name := range []string{"db-0", "db-1"} {
		var mine []string
		for _, c := range calls {
			if strings.HasSuffix(c, name) {
				mine = append(mine, c)
			}
		}
		want := []string{"remove c-" + name, "create " + name, "start new-" + name, "wait new-" + name}
		if !reflect.DeepEqual(mine, want) {
			t.Errorf("%s calls = %q, want %q", name, mine, want)
		}
	}
}

func TestExecuteIndependentNeverExceedsMaxParallel(t *testing.T) {
	n := 2*MaxParallel + 3
	rt := &fakeRuntime{delay: 5 * time.Millisecond}
	if err := Execute(context.Background(), rt, nil, removals(n), independent); err != nil {
		t.Fatal(err)
	}
	if got := len(rt.recorded()); got != n {
		t.Fatalf("%d calls, want %d", got, n)
	}
	if rt.maxInFlight > MaxParallel {
		t.Fatalf("%d calls in flight at once, limit %d", rt.maxInFlight, MaxParallel)
	}
	if rt.maxInFlight < 2 {
		t.Fatalf("at most %d call in flight: actions did not run in parallel", rt.maxInFlight)
	}
}
