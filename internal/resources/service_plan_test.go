package resources

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

var testHost = types.StringValue("default")

func testReplicas(fp string, ordinals ...int) []spec.Replica {
	out := make([]spec.Replica, 0, len(ordinals))
	for _, o := range ordinals {
		out = append(out, spec.Replica{Ordinal: o, Name: spec.ReplicaName("db", o), Host: testHost.ValueString(), Fingerprint: fp})
	}
	return out
}

// recorded is an instance as state records it after a successful apply.
func recordedInstance(ordinal int, id, state, fp string) instanceModel {
	return instanceModel{
		Ordinal:     types.Int64Value(int64(ordinal)),
		Name:        types.StringValue(spec.ReplicaName("db", ordinal)),
		Host:        types.StringValue("default"),
		ContainerID: types.StringValue(id),
		Address:     types.StringValue(fmt.Sprintf("172.18.0.%d", ordinal+2)),
		State:       types.StringValue(state),
		Health:      types.StringValue("healthy"),
		Fingerprint: types.StringValue(fp),
	}
}

// pending is what plannedInstances promises for a created or replaced
// replica.
func pendingInstance(ordinal int, fp string) instanceModel {
	return instanceModel{
		Ordinal:     types.Int64Value(int64(ordinal)),
		Name:        types.StringValue(spec.ReplicaName("db", ordinal)),
		Host:        testHost,
		ContainerID: types.StringUnknown(),
		Address:     types.StringUnknown(),
		State:       types.StringValue("running"),
		Health:      types.StringUnknown(),
		Fingerprint: types.StringValue(fp),
	}
}

func formatInstance(i instanceModel) string {
	return fmt.Sprintf("{ordinal=%s name=%s host=%s id=%s address=%s state=%s health=%s fp=%s}",
		i.Ordinal, i.Name, i.Host, i.ContainerID, i.Address, i.State, i.Health, i.Fingerprint)
}

func instancesEqual(i, o instanceModel) bool {
	return i.Ordinal.Equal(o.Ordinal) && i.Name.Equal(o.Name) && i.Host.Equal(o.Host) &&
		i.ContainerID.Equal(o.ContainerID) && i.Address.Equal(o.Address) && i.State.Equal(o.State) &&
		i.Health.Equal(o.Health) && i.Fingerprint.Equal(o.Fingerprint)
}

func assertInstances(t *testing.T, got, want []instanceModel) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = instancesEqual(got[i], want[i])
	}
	if !ok {
		show := func(list []instanceModel) string {
			lines := make([]string, len(list))
			for i, m := range list {
				lines[i] = formatInstance(m)
			}
			return strings.Join(lines, "\n  ")
		}
		t.Fatalf("instances:\n  %s\nwant:\n  %s", show(got), show(want))
	}
}

func TestPlannedInstances(t *testing.T) {
	started := pendingInstance(1, "v1")
	started.ContainerID = types.StringValue("c1")

	cases := map[string]struct {
		prior   []instanceModel
		desired []spec.Replica
		actions []reconcile.Action
		want    []instanceModel
	}{
		"nothing to do keeps every entry exactly": {
			prior:   []instanceModel{recordedInstance(0, "c0", "running", "v1"), recordedInstance(1, "c1", "running", "v1")},
			desired: testReplicas("v1", 0, 1),
			want:    []instanceModel{recordedInstance(0, "c0", "running", "v1"), recordedInstance(1, "c1", "running", "v1")},
		},
		"fresh create leaves the daemon's values unknown": {
			desired: testReplicas("v1", 0, 1),
			actions: []reconcile.Action{{Kind: reconcile.Create, Ordinal: 0, Name: "db-0"}, {Kind: reconcile.Create, Ordinal: 1, Name: "db-1"}},
			want:    []instanceModel{pendingInstance(0, "v1"), pendingInstance(1, "v1")},
		},
		"scale down drops removed containers": {
			prior:   []instanceModel{recordedInstance(0, "c0", "running", "v1"), recordedInstance(1, "c1", "running", "v1"), recordedInstance(2, "c2", "running", "v1")},
			desired: testReplicas("v1", 0),
			actions: []reconcile.Action{
				{Kind: reconcile.Remove, Ordinal: 2, Name: "db-2", ContainerID: "c2"},
				{Kind: reconcile.Remove, Ordinal: 1, Name: "db-1", ContainerID: "c1"},
			},
			want: []instanceModel{recordedInstance(0, "c0", "running", "v1")},
		},
		"replace gets the new fingerprint and unknown id": {
			prior:   []instanceModel{recordedInstance(0, "c0", "running", "v1"), recordedInstance(1, "c1", "running", "v1")},
			desired: testReplicas("v2", 0, 1),
			actions: []reconcile.Action{
				{Kind: reconcile.Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1"},
				{Kind: reconcile.Replace, Ordinal: 0, Name: "db-0", ContainerID: "c0"},
			},
			want: []instanceModel{pendingInstance(0, "v2"), pendingInstance(1, "v2")},
		},
		"start keeps the container id": {
			prior:   []instanceModel{recordedInstance(0, "c0", "running", "v1"), recordedInstance(1, "c1", "exited", "v1")},
			desired: testReplicas("v1", 0, 1),
			actions: []reconcile.Action{{Kind: reconcile.Start, Ordinal: 1, Name: "db-1", ContainerID: "c1"}},
			want:    []instanceModel{recordedInstance(0, "c0", "running", "v1"), started},
		},
		"duplicate removed, survivor kept exactly (duplicate listed last)": {
			prior:   []instanceModel{recordedInstance(0, "c0", "running", "v1"), recordedInstance(0, "dup", "exited", "v1")},
			desired: testReplicas("v1", 0),
			actions: []reconcile.Action{{Kind: reconcile.Remove, Ordinal: 0, Name: "db-0", ContainerID: "dup"}},
			want:    []instanceModel{recordedInstance(0, "c0", "running", "v1")},
		},
		"duplicate removed, survivor kept exactly (duplicate listed first)": {
			prior:   []instanceModel{recordedInstance(0, "dup", "exited", "v1"), recordedInstance(0, "c0", "running", "v1")},
			desired: testReplicas("v1", 0),
			actions: []reconcile.Action{{Kind: reconcile.Remove, Ordinal: 0, Name: "db-0", ContainerID: "dup"}},
			want:    []instanceModel{recordedInstance(0, "c0", "running", "v1")},
		},
		"mixed rollout follows desired order": {
			prior: []instanceModel{
				recordedInstance(3, "c3", "running", "v1"),
				recordedInstance(2, "c2", "exited", "v2"),
				recordedInstance(0, "c0", "running", "v2"),
				recordedInstance(1, "c1", "running", "v1"),
			},
			desired: testReplicas("v2", 0, 1, 2),
			actions: []reconcile.Action{
				{Kind: reconcile.Remove, Ordinal: 3, Name: "db-3", ContainerID: "c3"},
				{Kind: reconcile.Start, Ordinal: 2, Name: "db-2", ContainerID: "c2"},
				{Kind: reconcile.Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1"},
			},
			want: func() []instanceModel {
				s := pendingInstance(2, "v2")
				s.ContainerID = types.StringValue("c2")
				return []instanceModel{recordedInstance(0, "c0", "running", "v2"), pendingInstance(1, "v2"), s}
			}(),
		},
		"scale to zero plans no instances": {
			prior:   []instanceModel{recordedInstance(0, "c0", "running", "v1")},
			actions: []reconcile.Action{{Kind: reconcile.Remove, Ordinal: 0, Name: "db-0", ContainerID: "c0"}},
			want:    []instanceModel{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			assertInstances(t, plannedInstances(tc.prior, tc.desired, tc.actions, true), tc.want)
		})
	}
}

func TestPlannedInstancesAgreeWithPlan(t *testing.T) {
	prior := []instanceModel{
		recordedInstance(0, "c0", "running", "v1"),
		recordedInstance(1, "c1", "exited", "v1"),
		recordedInstance(2, "c2", "running", "v0"),
		recordedInstance(4, "c4", "running", "v1"),
	}
	desired := testReplicas("v1", 0, 1, 2, 3)
	observed := make([]reconcile.Observed, 0, len(prior))
	for _, p := range prior {
		observed = append(observed, p.asObserved())
	}
	got := plannedInstances(prior, desired, reconcile.Plan(desired, observed), true)
	started := pendingInstance(1, "v1")
	started.ContainerID = types.StringValue("c1")
	assertInstances(t, got, []instanceModel{recordedInstance(0, "c0", "running", "v1"), started, pendingInstance(2, "v1"), pendingInstance(3, "v1")})
}

func testObservation(ordinal int, id, state string) reconcile.Observed {
	return reconcile.Observed{
		ID: id, Name: spec.ReplicaName("db", ordinal), Host: "default", Ordinal: ordinal,
		Fingerprint: "v2", State: state, Health: "starting", Address: fmt.Sprintf("10.0.0.%d", ordinal+10),
	}
}

func TestInstancesAfterApplyFillsOnlyUnknownValues(t *testing.T) {
	planned := []instanceModel{recordedInstance(0, "c0", "running", "v1"), pendingInstance(1, "v2")}
	observed := []reconcile.Observed{
		{ID: "c0", Name: "db-0", Host: "default", Ordinal: 0, Fingerprint: "v1", State: "restarting", Health: "unhealthy", Address: "10.9.9.9"},
		testObservation(1, "new1", "running"),
	}
	want := []instanceModel{
		recordedInstance(0, "c0", "running", "v1"), // known values kept, though the daemon now says otherwise
		{
			Ordinal:     types.Int64Value(1),
			Name:        types.StringValue("db-1"),
			Host:        types.StringValue("default"),
			ContainerID: types.StringValue("new1"),
			Address:     types.StringValue("10.0.0.11"),
			State:       types.StringValue("running"),
			Health:      types.StringValue("starting"),
			Fingerprint: types.StringValue("v2"),
		},
	}
	assertInstances(t, appliedInstances(planned, observed), want)
}

func TestInstancesAfterApplyKeepsPlannedStateOverObservedState(t *testing.T) {
	planned := []instanceModel{pendingInstance(0, "v2")}
	observed := []reconcile.Observed{testObservation(0, "new0", "restarting")}
	got := appliedInstances(planned, observed)
	if !got[0].State.Equal(types.StringValue("running")) {
		t.Fatalf("state = %s, want the planned running", got[0].State)
	}
	if !got[0].ContainerID.Equal(types.StringValue("new0")) {
		t.Fatalf("container_id = %s, want new0", got[0].ContainerID)
	}
}

func TestInstancesAfterApplyPrefersTheRunningObservation(t *testing.T) {
	running := testObservation(0, "new0", "running")
	stale := testObservation(0, "old0", "exited")
	stale.Address = ""
	restarting := testObservation(0, "other0", "restarting")
	cases := map[string][]reconcile.Observed{
		"running last":              {stale, running},
		"running first":             {running, stale},
		"running between":           {stale, running, restarting},
		"running after restarting":  {restarting, stale, running},
		"running among many stales": {stale, stale, running, stale},
	}
	for name, observed := range cases {
		t.Run(name, func(t *testing.T) {
			got := appliedInstances([]instanceModel{pendingInstance(0, "v2")}, observed)
			if len(got) != 1 {
				t.Fatalf("%d instances, want 1", len(got))
			}
			if !got[0].ContainerID.Equal(types.StringValue("new0")) || !got[0].Address.Equal(types.StringValue("10.0.0.10")) {
				t.Fatalf("instance = %s, want the running container new0", formatInstance(got[0]))
			}
		})
	}
}

func TestInstancesAfterApplyFollowsThePlannedOrder(t *testing.T) {
	planned := []instanceModel{pendingInstance(0, "v2"), pendingInstance(1, "v2"), pendingInstance(2, "v2")}
	observed := []reconcile.Observed{testObservation(2, "n2", "running"), testObservation(0, "n0", "running"), testObservation(1, "n1", "running")}
	got := appliedInstances(planned, observed)
	for i, id := range []string{"n0", "n1", "n2"} {
		if !got[i].ContainerID.Equal(types.StringValue(id)) || got[i].Ordinal.ValueInt64() != int64(i) {
			t.Errorf("instance %d = %s, want ordinal %d id %s", i, formatInstance(got[i]), i, id)
		}
	}
}

func TestInstancesAfterApplyLeavesNoUnknownValues(t *testing.T) {
	planned := []instanceModel{pendingInstance(0, "v2"), recordedInstance(1, "c1", "running", "v2")}
	observed := []reconcile.Observed{testObservation(0, "n0", "running"), testObservation(1, "c1", "running")}
	for _, m := range appliedInstances(planned, observed) {
		for _, v := range []types.String{m.Name, m.Host, m.ContainerID, m.Address, m.State, m.Health, m.Fingerprint} {
			if v.IsUnknown() {
				t.Fatalf("instance %s still has an unknown value", formatInstance(m))
			}
		}
	}
}
