package resources

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"

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

func TestPlacementsAreRememberedUntilTheirDataIsDeleted(t *testing.T) {
	ctx := context.Background()
	private := memoryPrivate{}
	svc := spec.Service{Name: "db", Replicas: 2}
	running := []reconcile.Observed{{Ordinal: 0, Host: "a", State: "running"}, {Ordinal: 1, Host: "b", State: "running"}}
	if diags := recordPlacements(ctx, private, map[int]string{3: "c"}, svc, running); diags.HasError() {
		t.Fatal(diags)
	}
	if got, want := rememberedHosts(ctx, private), map[int]string{0: "a", 1: "b", 3: "c"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("remembered %v, want %v", got, want)
	}
	svc.Retention.WhenScaled = spec.Delete
	if diags := recordPlacements(ctx, private, rememberedHosts(ctx, private), svc, running[:1]); diags.HasError() {
		t.Fatal(diags)
	}
	if got, want := rememberedHosts(ctx, private), map[int]string{0: "a", 1: "b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after a scale-down that deletes data: remembered %v, want %v", got, want)
	}
}

func TestServiceHostsListsEveryHostWithReplicasOrData(t *testing.T) {
	hosts := testHosts()
	svc := spec.Service{Name: "db", Placement: &spec.Placement{Hosts: []string{"b"}, Strategy: spec.PlaceSpread}}
	instances := observedInstances([]reconcile.Observed{{Ordinal: 0, Host: "a"}})
	got, err := serviceHosts(hosts, svc, instances, map[int]string{4: "c", 5: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range got {
		names = append(names, h.Name())
	}
	if want := []string{"b", "a", "c"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("hosts %v, want %v (a host that only held data and is gone is skipped)", names, want)
	}
	instances = observedInstances([]reconcile.Observed{{Ordinal: 0, Host: "gone"}})
	if _, err := serviceHosts(hosts, svc, instances, nil); err == nil || !strings.Contains(err.Error(), `replicas on host "gone", which is no longer configured`) {
		t.Fatalf("err = %v, want the missing host with replicas named", err)
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
