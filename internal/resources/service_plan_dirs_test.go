package resources

import (
	"context"
	"reflect"
	"testing"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

func TestMissingDirsReason(t *testing.T) {
	cases := map[string]struct {
		reason  string
		missing []string
		want    string
	}{
		"nothing missing":  {"stopped outside Terraform", nil, "stopped outside Terraform"},
		"one missing":      {"stopped outside Terraform", []string{"/srv/db-1"}, "stopped outside Terraform; host directory /srv/db-1 is missing: starts on an empty directory"},
		"two missing":      {"stopped outside Terraform", []string{"/srv/db-1", "/logs/db-1"}, "stopped outside Terraform; host directories /srv/db-1, /logs/db-1 are missing: starts on empty directories"},
		"no prior reason":  {"", []string{"/srv/db-1"}, "host directory /srv/db-1 is missing: starts on an empty directory"},
		"neither a reason": {"", nil, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := withReason(tc.reason, missingDirsReason(tc.missing)); got != tc.want {
				t.Fatalf("reason %q, want %q", got, tc.want)
			}
		})
	}
}

// Only start actions of replicas with host directories ask a host; the
// others are left as they are (nil hosts: any lookup would panic).
func TestTellMissingHostDirsAsksOnlyForStoppedReplicasWithHostDirs(t *testing.T) {
	volume := spec.Mount{Volume: "data", Strategy: spec.StrategyPlugin, Source: "db-data-0", Target: "/data"}
	desired := []spec.Replica{
		{Ordinal: 0, Name: "db-0", Container: spec.Container{Mounts: []spec.Mount{volume}}},
		{Ordinal: 1, Name: "db-1"},
		{Ordinal: 2, Name: "db-2", Container: spec.Container{Mounts: []spec.Mount{{Volume: "data", Strategy: spec.StrategyHost, Source: "/srv/db-2", Target: "/data"}}}},
	}
	actions := []reconcile.Action{
		{Kind: reconcile.Start, Ordinal: 0, Name: "db-0", ContainerID: "c0", Reason: "stopped outside Terraform"},
		{Kind: reconcile.Start, Ordinal: 1, Name: "db-1", ContainerID: "c1", Reason: "stopped outside Terraform"},
		{Kind: reconcile.Replace, Ordinal: 2, Name: "db-2", ContainerID: "c2", Reason: "image"},
		{Kind: reconcile.Remove, Ordinal: 3, Name: "db-3", ContainerID: "c3", Reason: "scale down"},
	}
	want := append([]reconcile.Action(nil), actions...)
	if err := tellMissingHostDirs(context.Background(), nil, desired, actions); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(actions, want) {
		t.Fatalf("actions changed:\n%+v\nwant\n%+v", actions, want)
	}
}
