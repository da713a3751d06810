package resources

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// testPorts are two port blocks: one with a fixed host port, one Docker
// chooses.
var testPorts = []spec.Port{
	{Internal: 5432, External: 15432, Protocol: "tcp", HostIP: "127.0.0.1"},
	{Internal: 9000, Protocol: "udp"},
}

func testReplicas(ordinals ...int) []spec.Replica {
	out := make([]spec.Replica, 0, len(ordinals))
	for _, o := range ordinals {
		r := spec.Replica{Ordinal: o, Name: spec.ReplicaName("db", o), Host: "default"}
		for _, p := range testPorts {
			if p.External > 0 {
				p.External += o
			}
			r.Container.Ports = append(r.Container.Ports, p)
		}
		out = append(out, r)
	}
	return out
}

// recordedInstance is an entry as state records it after a refresh.
func recordedInstance(ordinal int) instanceModel {
	return instanceModel{
		Ordinal: types.Int64Value(int64(ordinal)),
		Name:    types.StringValue(spec.ReplicaName("db", ordinal)),
		Host:    types.StringValue("default"),
		Address: types.StringValue(fmt.Sprintf("172.18.0.%d", ordinal+2)),
		Endpoints: []types.String{
			types.StringValue(fmt.Sprintf("127.0.0.1:%d", 15432+ordinal)),
			types.StringValue(fmt.Sprintf("0.0.0.0:%d", 32768+ordinal)),
		},
	}
}

// launched is what a plan promises for a created or replaced replica: the
// configured endpoint is known, the address and the port Docker chooses
// are not.
func launched(ordinal int) instanceModel {
	i := recordedInstance(ordinal)
	i.Address = types.StringUnknown()
	i.Endpoints[1] = types.StringUnknown()
	return i
}

// started is what a plan promises for a replica started again: the
// daemon tells its address and ports once it runs.
func started(ordinal int) instanceModel {
	i := launched(ordinal)
	i.Endpoints[0] = types.StringUnknown()
	return i
}

func formatInstance(i instanceModel) string {
	endpoints := make([]string, len(i.Endpoints))
	for k, e := range i.Endpoints {
		endpoints[k] = e.String()
	}
	return fmt.Sprintf("{ordinal=%s name=%s host=%s address=%s endpoints=%s}", i.Ordinal, i.Name, i.Host, i.Address, strings.Join(endpoints, ","))
}

func assertInstances(t *testing.T, got, want []instanceModel) {
	t.Helper()
	show := func(list []instanceModel) string {
		lines := make([]string, len(list))
		for i, m := range list {
			lines[i] = formatInstance(m)
		}
		return strings.Join(lines, "\n  ")
	}
	if show(got) != show(want) {
		t.Fatalf("instances:\n  %s\nwant:\n  %s", show(got), show(want))
	}
}

func TestPlannedInstances(t *testing.T) {
	cases := map[string]struct {
		prior   []instanceModel
		desired []spec.Replica
		actions []reconcile.Action
		want    []instanceModel
	}{
		"nothing to do keeps every entry exactly": {
			prior:   []instanceModel{recordedInstance(0), recordedInstance(1)},
			desired: testReplicas(0, 1),
			want:    []instanceModel{recordedInstance(0), recordedInstance(1)},
		},
		"fresh create knows the configured endpoints only": {
			desired: testReplicas(0, 1),
			actions: []reconcile.Action{{Kind: reconcile.Create, Ordinal: 0, Name: "db-0"}, {Kind: reconcile.Create, Ordinal: 1, Name: "db-1"}},
			want:    []instanceModel{launched(0), launched(1)},
		},
		"scale down drops removed replicas": {
			prior:   []instanceModel{recordedInstance(0), recordedInstance(1), recordedInstance(2)},
			desired: testReplicas(0),
			actions: []reconcile.Action{
				{Kind: reconcile.Remove, Ordinal: 2, Name: "db-2", ContainerID: "c2"},
				{Kind: reconcile.Remove, Ordinal: 1, Name: "db-1", ContainerID: "c1"},
			},
			want: []instanceModel{recordedInstance(0)},
		},
		"replace leaves what the daemon tells unknown": {
			prior:   []instanceModel{recordedInstance(0), recordedInstance(1)},
			desired: testReplicas(0, 1),
			actions: []reconcile.Action{
				{Kind: reconcile.Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1"},
				{Kind: reconcile.Replace, Ordinal: 0, Name: "db-0", ContainerID: "c0"},
			},
			want: []instanceModel{launched(0), launched(1)},
		},
		"update in place keeps the entry exactly": {
			prior:   []instanceModel{recordedInstance(0), recordedInstance(1)},
			desired: testReplicas(0, 1),
			actions: []reconcile.Action{{Kind: reconcile.Update, Ordinal: 1, Name: "db-1", ContainerID: "c1"}},
			want:    []instanceModel{recordedInstance(0), recordedInstance(1)},
		},
		"running hooks again keeps the entry exactly": {
			prior:   []instanceModel{recordedInstance(0), recordedInstance(1)},
			desired: testReplicas(0, 1),
			actions: []reconcile.Action{{Kind: reconcile.Hook, Ordinal: 1, Name: "db-1", ContainerID: "c1"}},
			want:    []instanceModel{recordedInstance(0), recordedInstance(1)},
		},
		"start shows the replica as touched": {
			prior:   []instanceModel{recordedInstance(0), recordedInstance(1)},
			desired: testReplicas(0, 1),
			actions: []reconcile.Action{{Kind: reconcile.Start, Ordinal: 1, Name: "db-1", ContainerID: "c1"}},
			want:    []instanceModel{recordedInstance(0), started(1)},
		},
		"held back replicas keep their entry": {
			prior:   []instanceModel{recordedInstance(0), recordedInstance(1)},
			desired: testReplicas(0, 1),
			actions: []reconcile.Action{
				{Kind: reconcile.Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1"},
				{Kind: reconcile.Hold, Ordinal: 0, Name: "db-0", ContainerID: "c0"},
			},
			want: []instanceModel{recordedInstance(0), launched(1)},
		},
		"duplicate removed, the first entry of its ordinal kept": {
			prior:   []instanceModel{recordedInstance(0), started(0)},
			desired: testReplicas(0),
			actions: []reconcile.Action{{Kind: reconcile.Remove, Ordinal: 0, Name: "db-0", ContainerID: "dup"}},
			want:    []instanceModel{recordedInstance(0)},
		},
		"mixed rollout follows desired order": {
			prior:   []instanceModel{recordedInstance(3), recordedInstance(2), recordedInstance(0), recordedInstance(1)},
			desired: testReplicas(0, 1, 2),
			actions: []reconcile.Action{
				{Kind: reconcile.Remove, Ordinal: 3, Name: "db-3", ContainerID: "c3"},
				{Kind: reconcile.Start, Ordinal: 2, Name: "db-2", ContainerID: "c2"},
				{Kind: reconcile.Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1"},
			},
			want: []instanceModel{recordedInstance(0), launched(1), started(2)},
		},
		"scale to zero plans no instances": {
			prior:   []instanceModel{recordedInstance(0)},
			actions: []reconcile.Action{{Kind: reconcile.Remove, Ordinal: 0, Name: "db-0", ContainerID: "c0"}},
			want:    []instanceModel{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			assertInstances(t, plannedInstances(tc.prior, tc.desired, tc.actions), tc.want)
		})
	}
}

func testObservation(ordinal int, id, state string) reconcile.Observed {
	o := reconcile.Observed{
		ID: id, Name: spec.ReplicaName("db", ordinal), Host: "default", Ordinal: ordinal,
		Fingerprint: "v2", State: state, Address: fmt.Sprintf("172.18.0.%d", ordinal+2),
	}
	if state == reconcile.StateRunning {
		o.Published = []reconcile.PublishedPort{
			{Internal: 9000, Protocol: "udp", HostIP: "::", HostPort: 40000 + ordinal},
			{Internal: 9000, Protocol: "udp", HostIP: "0.0.0.0", HostPort: 32768 + ordinal},
			{Internal: 5432, Protocol: "tcp", HostIP: "127.0.0.1", HostPort: 15432 + ordinal},
		}
	}
	return o
}

// The plan a plan shows is made from the same observations and actions as
// apply's: what is recorded stays, what is touched becomes unknown.
func TestPlannedInstancesAgreeWithPlan(t *testing.T) {
	observed := []reconcile.Observed{
		testObservation(0, "c0", "running"), testObservation(1, "c1", "exited"), testObservation(2, "c2", "running"), testObservation(4, "c4", "running"),
	}
	observed[2].Fingerprint = "v0"
	desired := testReplicas(0, 1, 2, 3)
	for i := range desired {
		desired[i].Fingerprint = "v2"
	}
	actions, _ := reconcile.Plan(desired, observed, reconcile.Options{})
	got := plannedInstances(observedInstances(observed, testPorts), desired, actions)
	assertInstances(t, got, []instanceModel{recordedInstance(0), started(1), launched(2), launched(3)})
}

func TestObservedInstancesFindEachPortBlock(t *testing.T) {
	got := observedInstances([]reconcile.Observed{testObservation(0, "c0", "running"), testObservation(1, "c1", "exited")}, testPorts)
	stopped := recordedInstance(1)
	stopped.Endpoints = []types.String{types.StringNull(), types.StringNull()}
	// The wildcard binding is preferred to the IPv6 one listed first.
	assertInstances(t, got, []instanceModel{recordedInstance(0), stopped})
}

func TestEndpointsBracketIPv6(t *testing.T) {
	if got := endpoint("::1", 5432).ValueString(); got != "[::1]:5432" {
		t.Fatalf("endpoint = %s, want [::1]:5432", got)
	}
	if got := endpoint("", 80).ValueString(); got != "0.0.0.0:80" {
		t.Fatalf("endpoint = %s, want 0.0.0.0:80", got)
	}
}

func TestInstancesAfterApplyFillOnlyUnknownValues(t *testing.T) {
	planned := []instanceModel{recordedInstance(0), launched(1), started(2)}
	moved := testObservation(0, "c0", "running")
	moved.Address = "10.9.9.9"
	observed := []reconcile.Observed{moved, testObservation(1, "new1", "running"), testObservation(2, "c2", "running")}
	// Known values are kept, though the daemon now says otherwise: the next
	// refresh records that.
	assertInstances(t, appliedInstances(planned, observed, testPorts), []instanceModel{recordedInstance(0), recordedInstance(1), recordedInstance(2)})
}

func TestInstancesAfterApplyPreferTheRunningObservation(t *testing.T) {
	running := testObservation(0, "new0", "running")
	stale := testObservation(0, "old0", "exited")
	stale.Address = ""
	restarting := testObservation(0, "other0", "restarting")
	restarting.Address = "10.9.9.9"
	cases := map[string][]reconcile.Observed{
		"running last":              {stale, running},
		"running first":             {running, stale},
		"running between":           {stale, running, restarting},
		"running after restarting":  {restarting, stale, running},
		"running among many stales": {stale, stale, running, stale},
	}
	for name, observed := range cases {
		t.Run(name, func(t *testing.T) {
			assertInstances(t, appliedInstances([]instanceModel{launched(0)}, observed, testPorts), []instanceModel{recordedInstance(0)})
		})
	}
}

func TestInstancesAfterApplyFollowThePlannedOrder(t *testing.T) {
	planned := []instanceModel{launched(0), launched(1), launched(2)}
	observed := []reconcile.Observed{testObservation(2, "n2", "running"), testObservation(0, "n0", "running"), testObservation(1, "n1", "running")}
	assertInstances(t, appliedInstances(planned, observed, testPorts), []instanceModel{recordedInstance(0), recordedInstance(1), recordedInstance(2)})
}

func TestInstancesValueRoundTrips(t *testing.T) {
	want := []instanceModel{recordedInstance(0), launched(1)}
	var m serviceModel
	if diags := instancesInto(&m, want); diags.HasError() {
		t.Fatal(diags)
	}
	got, diags := m.instances()
	if diags.HasError() {
		t.Fatal(diags)
	}
	assertInstances(t, got, want)
}
