package reconcile

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// placedOn puts desired replicas on hosts, by ordinal.
func placedOn(replicas []spec.Replica, hosts map[int]string) []spec.Replica {
	for i := range replicas {
		replicas[i].Host = hosts[replicas[i].Ordinal]
	}
	return replicas
}

func on(o Observed, host string) Observed {
	o.Host = host
	return o
}

func TestPlanAcrossHostsKeepsPlacedReplicasAndMovesTheRest(t *testing.T) {
	want := placedOn(desired("v1", 0, 1, 2), map[int]string{0: "a", 1: "b", 2: "b"})
	observed := []Observed{
		on(obs("c0", 0, StateRunning, "v1"), "a"),
		on(obs("c1", 1, StateRunning, "v1"), "b"),
		on(obs("c2", 2, StateRunning, "v1"), "a"),
	}
	actions, _ := Plan(want, observed, Options{ShowHosts: true})
	got := render(actions)
	if wantLines := []string{"db-2: replace on b (moved from host a) @c2"}; !reflect.DeepEqual(got, wantLines) {
		t.Fatalf("actions = %q, want %q", got, wantLines)
	}
	held, _ := Plan(want, observed, Options{ShowHosts: true, Partition: 3})
	if got, wantLines := render(held), []string{"db-2: held back on b (partition 3; moved from host a) @c2"}; !reflect.DeepEqual(got, wantLines) {
		t.Fatalf("below the partition: %q, want %q", got, wantLines)
	}
	if actions[0].Host != "a" {
		t.Errorf("the old container is removed on its own host, got %q", actions[0].Host)
	}
}

func TestPlanAcrossHostsNamesTheHostOfEachLaunch(t *testing.T) {
	want := placedOn(desired("v2", 0, 1), map[int]string{0: "a", 1: "b"})
	observed := []Observed{on(obs("c1", 1, StateRunning, "v1"), "b")}
	actions, _ := Plan(want, observed, Options{ShowHosts: true})
	if got, wantLines := render(actions), []string{"db-0: create on a", "db-1: replace on b (spec changed) @c1"}; !reflect.DeepEqual(got, wantLines) {
		t.Fatalf("actions = %q, want %q", got, wantLines)
	}
}

func TestPlanKeepsTheDuplicateOnTheDesiredHost(t *testing.T) {
	want := placedOn(desired("v1", 0), map[int]string{0: "b"})
	observed := []Observed{on(obs("ca", 0, StateRunning, "v1"), "a"), on(obs("cb", 0, StateRunning, "v1"), "b")}
	actions, _ := Plan(want, observed, Options{})
	if got, wantLines := render(actions), []string{"db-0: remove (duplicate of ordinal 0) @ca"}; !reflect.DeepEqual(got, wantLines) {
		t.Fatalf("actions = %q, want %q", got, wantLines)
	}
}

func TestChangedVolumesAreComparedOnTheReplicasHost(t *testing.T) {
	mount := spec.Mount{Source: "db-data-0", Volume: "data", Definition: "new", Driver: "local"}
	want := placedOn(desired("v1", 0), map[int]string{0: "b"})
	want[0].Container.Mounts = []spec.Mount{mount}
	observed := []Observed{on(obs("c0", 0, StateRunning, "v1"), "b")}
	// The same name on another host, with another definition, is another volume.
	volumes := []ObservedVolume{{Host: "a", Name: "db-data-0", Definition: "old"}, {Host: "b", Name: "db-data-0", Definition: "new"}}
	if actions, blocked := Plan(want, observed, Options{Volumes: volumes}); len(actions) != 0 || len(blocked) != 0 {
		t.Fatalf("actions = %q, blocked = %v; want nothing to do", render(actions), blocked)
	}
	volumes[1].Definition = "old"
	if _, blocked := Plan(want, observed, Options{Volumes: volumes}); len(blocked) != 1 {
		t.Fatalf("blocked = %v, want the volume on b", blocked)
	}
}

func TestExecuteRoutesEachCallToItsHost(t *testing.T) {
	want := placedOn(desired("v1", 0, 1), map[int]string{0: "a", 1: "b"})
	actions := []Action{
		{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Host: "a", Batch: 1},
		{Kind: Start, Ordinal: 0, Name: "db-0", ContainerID: "c0", Host: "a", Batch: 2},
	}
	rt := &fakeRuntime{}
	if err := Execute(context.Background(), rt, want, actions, ExecOptions{}); err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{"remove c1@a", "create db-1@b", "start new-db-1@b", "wait new-db-1@b", "start c0@a", "wait c0@a"}
	if got := rt.recorded(); !reflect.DeepEqual(got, wantCalls) {
		t.Fatalf("calls = %q, want %q", got, wantCalls)
	}
}

func TestRevertOfAFailedMoveGoesBackToTheOldHost(t *testing.T) {
	want := placedOn(desired("v1", 1), map[int]string{1: "b"})
	previous := spec.Replica{Ordinal: 1, Name: "db-1", Host: "a", Fingerprint: "v1"}
	action := Action{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Host: "a", Previous: &previous}
	rt := &fakeRuntime{fail: failOn("wait new-db-1@b")}
	if err := Execute(context.Background(), rt, want, []Action{action}, ExecOptions{Revert: true}); err == nil {
		t.Fatal("Execute succeeded, want the failure reported")
	}
	wantCalls := []string{"remove c1@a", "create db-1@b", "start new-db-1@b", "wait new-db-1@b",
		"remove new-db-1@b", "create db-1@a", "start new-db-1@a", "wait new-db-1@a"}
	if got := rt.recorded(); !reflect.DeepEqual(got, wantCalls) {
		t.Fatalf("calls = %q, want %q", got, wantCalls)
	}
}

func TestAMoveRevertsToTheOldHostAsItWasThere(t *testing.T) {
	svc := spec.Service{Name: "db", Image: "img", Replicas: 2, Env: map[string]string{"ON": "{{.Host}}"},
		Placement: &spec.Placement{Hosts: []string{"a", "b"}, Strategy: spec.PlaceSpread}}
	svc = svc.WithDefaults()
	before := svc
	before.Placed = map[int]string{0: "a", 1: "a"}
	old, err := before.Render()
	if err != nil {
		t.Fatal(err)
	}
	svc.Placed = map[int]string{0: "a", 1: "b"}
	desired, err := svc.Render()
	if err != nil {
		t.Fatal(err)
	}
	var observed []Observed
	for _, r := range old {
		observed = append(observed, Observed{ID: "c" + r.Name, Name: r.Name, Host: "a", Ordinal: r.Ordinal, State: StateRunning,
			Fingerprint: r.Fingerprint, Spec: r.Container.Labels[spec.LabelSpec]})
	}
	actions, _ := Plan(desired, observed, Options{Desired: &svc})
	if len(actions) != 1 || actions[0].Previous == nil {
		t.Fatalf("actions = %q, want one move with its previous replica", render(actions))
	}
	previous := actions[0].Previous
	if previous.Host != "a" || !slices.Contains(previous.Container.Env, "ON=a") || previous.Fingerprint != old[1].Fingerprint {
		t.Fatalf("previous replica on %q with env %v (fingerprint %s), want it as it ran on a (fingerprint %s)",
			previous.Host, previous.Container.Env, previous.Fingerprint, old[1].Fingerprint)
	}
}
