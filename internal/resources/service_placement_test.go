package resources

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// memoryPrivate is private state in memory.
type memoryPrivate map[string][]byte

func (m memoryPrivate) GetKey(_ context.Context, key string) ([]byte, diag.Diagnostics) {
	return m[key], nil
}

func (m memoryPrivate) SetKey(_ context.Context, key string, value []byte) diag.Diagnostics {
	m[key] = value
	return nil
}

func testHosts() *docker.Hosts {
	return docker.NewHosts([]docker.Config{
		{Name: "a", Endpoint: "unix:///var/run/docker.sock", AdvertiseAddress: "10.0.0.1"},
		{Name: "b", Endpoint: "tcp://10.0.0.2:2376"},
		{Name: "c", Endpoint: "unix:///run/other.sock"},
	})
}

func TestCurrentHostsPrefersTheRunningDuplicate(t *testing.T) {
	got := currentHosts([]reconcile.Observed{
		{Ordinal: 0, Host: "a", State: reconcile.StateExited},
		{Ordinal: 0, Host: "b", State: reconcile.StateRunning},
		{Ordinal: 1, Host: "c", State: reconcile.StateRunning},
		{Ordinal: 1, Host: "a", State: reconcile.StateExited},
	})
	if want := map[int]string{0: "b", 1: "c"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("currentHosts = %v, want %v", got, want)
	}
}

func TestPlacementRecordKeepsEveryHostAnOrdinalRanOn(t *testing.T) {
	ctx := context.Background()
	private := memoryPrivate{}
	svc := spec.Service{Name: "db", Replicas: 2}
	running := []reconcile.Observed{{Ordinal: 0, Host: "a", State: "running"}, {Ordinal: 1, Host: "b", State: "running"}}
	record := placementRecord{1: {"b", "a"}, 3: {"c"}}.updated(svc, running)
	if diags := recordPlacements(ctx, private, record); diags.HasError() {
		t.Fatal(diags)
	}
	got := readPlacements(ctx, private)
	if want := (placementRecord{0: {"a"}, 1: {"a", "b"}, 3: {"c"}}); !reflect.DeepEqual(got, want) {
		t.Fatalf("record %v, want %v (a move back puts b last, a stays listed)", got, want)
	}
	if want := map[int]string{0: "a", 1: "b", 3: "c"}; !reflect.DeepEqual(got.latest(), want) {
		t.Fatalf("latest %v, want %v", got.latest(), want)
	}
	svc.Retention.WhenScaled = spec.Delete
	if got, want := got.updated(svc, running[:1]), (placementRecord{0: {"a"}, 1: {"a", "b"}}); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a scale-down that deletes data: %v, want %v", got, want)
	}
}

func names(hosts []*docker.Host) []string {
	out := []string{}
	for _, h := range hosts {
		out = append(out, h.Name())
	}
	return out
}

func TestServiceHostsRequiresHostsWithReplicas(t *testing.T) {
	hosts := testHosts()
	svc := spec.Service{Name: "db", Placement: &spec.Placement{Hosts: []string{"b", "a"}, Strategy: spec.PlaceSpread}}
	instances := observedInstances([]reconcile.Observed{{Ordinal: 0, Host: "a"}}, nil)
	set, err := serviceHosts(hosts, svc, instances, placementRecord{4: {"c"}, 5: {"gone"}, 0: {"b", "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(set.required), []string{"a", "c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("required %v, want %v", got, want)
	}
	if got, want := names(set.optional), []string{"b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("optional %v, want %v (placement hosts without replicas, older records; unconfigured ones skipped)", got, want)
	}
	set, err = serviceHosts(hosts, svc, nil, nil)
	if err != nil || !reflect.DeepEqual(names(set.required), []string{"b", "a"}) || len(set.optional) != 0 {
		t.Errorf("a service with no replica anywhere requires its placement hosts: %v, %v, %v", names(set.required), names(set.optional), err)
	}
	instances = observedInstances([]reconcile.Observed{{Ordinal: 0, Host: "gone"}}, nil)
	if _, err := serviceHosts(hosts, svc, instances, nil); err == nil || !strings.Contains(err.Error(), `replicas on host "gone", which is no longer configured`) {
		t.Fatalf("err = %v, want the missing host with replicas named", err)
	}
}

func TestDataHostsAreTheReachableHostsAnOrdinalRanOn(t *testing.T) {
	hosts := testHosts()
	a, _ := hosts.Get("a")
	b, _ := hosts.Get("b")
	got := dataHosts([]*docker.Host{a, b}, []reconcile.Observed{{Ordinal: 0, Host: "a"}}, nil, placementRecord{0: {"b", "a"}, 1: {"c"}, 2: {"b"}})
	if want := map[int][]string{0: {"b", "a"}, 2: {"b"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("dataHosts %v, want %v", got, want)
	}
}

func TestPlaceReplicasChecksHostsAndAddresses(t *testing.T) {
	r := &serviceResource{hosts: testHosts()}
	cluster := &spec.Cluster{Seeds: 1, Port: 7000}
	for _, tc := range []struct {
		name      string
		placement spec.Placement
		want      string
	}{
		{"unknown host", spec.Placement{Hosts: []string{"a", "x"}, Strategy: spec.PlaceSpread}, `no host named "x" is configured in the provider (it has: a, b, c)`},
		{"host without address", spec.Placement{Hosts: []string{"a", "c"}, Strategy: spec.PlaceSpread}, `host(s) "c" have none`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.placement
			svc := spec.Service{Name: "db", Replicas: 2, Cluster: cluster, Placement: &p}
			diags := r.placeReplicas(&svc, nil, nil)
			if !diags.HasError() || !strings.Contains(diagnosticsError(diags).Error(), tc.want) {
				t.Fatalf("diags = %v, want an error containing %q", diags, tc.want)
			}
		})
	}
	svc := spec.Service{Name: "db", Replicas: 2, Cluster: cluster, Placement: &spec.Placement{Hosts: []string{"a", "b"}, Strategy: spec.PlaceSpread}}
	if diags := r.placeReplicas(&svc, nil, nil); diags.HasError() {
		t.Fatal(diags)
	}
	if want := map[string]string{"a": "10.0.0.1", "b": "10.0.0.2"}; !reflect.DeepEqual(svc.Advertise, want) {
		t.Errorf("advertised %v, want %v (b's from its endpoint)", svc.Advertise, want)
	}
	if want := map[int]string{0: "a", 1: "b"}; !reflect.DeepEqual(svc.Placed, want) {
		t.Errorf("placed %v, want %v", svc.Placed, want)
	}
}

func TestPlacementToSpecReadsPinsAndRejectsBadOrdinals(t *testing.T) {
	ctx := context.Background()
	object := func(pinned map[string]string) types.Object {
		pins, _ := types.MapValueFrom(ctx, types.StringType, pinned)
		return types.ObjectValueMust(placementAttrTypes, map[string]attr.Value{
			"hosts": stringsValue([]string{"a", "b"}), "strategy": types.StringNull(), "pinned": pins,
			"max_per_host": types.Int64Null(), "allow_local_data_move": types.BoolNull(),
		})
	}
	p, diags := placementToSpec(ctx, object(map[string]string{"0": "b", "1": "a"}))
	if diags.HasError() || p.Strategy != spec.PlaceSpread || !reflect.DeepEqual(p.Pinned, map[int]string{0: "b", 1: "a"}) {
		t.Fatalf("placement %+v, %v; want spread with pins 0=b, 1=a", p, diags)
	}
	_, diags = placementToSpec(ctx, object(map[string]string{"first": "a"}))
	if !diags.HasError() || !strings.Contains(diags.Errors()[0].Detail(), `"first" is not an ordinal`) {
		t.Fatalf("diags = %v, want the bad key named", diags)
	}
	if p, diags := placementToSpec(ctx, types.ObjectNull(placementAttrTypes)); p != nil || diags.HasError() {
		t.Fatalf("no block: %+v, %v", p, diags)
	}
}
