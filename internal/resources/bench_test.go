package resources

import (
	"fmt"
	"testing"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

func benchObserved(b *testing.B, n int) []reconcile.Observed {
	svc := spec.Service{Name: "bench", Image: "img", Replicas: n, Restart: spec.DefaultRestart, StopGracePeriod: "5s", PullPolicy: spec.PullMissing,
		Env:     map[string]string{"WAVE": "1"},
		Volumes: []spec.Volume{{Name: "data", Target: "/data", PerReplica: true, Plugin: &spec.PluginVolume{Driver: "local"}}}}
	replicas, err := svc.Render()
	if err != nil {
		b.Fatal(err)
	}
	out := make([]reconcile.Observed, n)
	for i, r := range replicas {
		out[i] = reconcile.Observed{ID: fmt.Sprintf("%064d", i), Name: r.Name, Host: "default", Ordinal: r.Ordinal, Fingerprint: r.Fingerprint,
			State: "running", Address: "172.18.0.2", Spec: r.Container.Labels[spec.LabelSpec]}
	}
	return out
}

// BenchmarkObservedInstances measures turning a 100-replica list into the
// instances attribute, the bulk of Read's own work.
func BenchmarkObservedInstances(b *testing.B) {
	observed := benchObserved(b, 100)
	for b.Loop() {
		if _, diags := instancesValue(observedInstances(observed, nil)); diags.HasError() {
			b.Fatal(diags)
		}
	}
}

// BenchmarkPlanDecision measures the pure part of a 100-replica plan:
// render, decide, and build the planned instances.
func BenchmarkPlanDecision(b *testing.B) {
	observed := benchObserved(b, 100)
	svc := spec.Service{Name: "bench", Image: "img", Replicas: 100, Restart: spec.DefaultRestart, StopGracePeriod: "5s", PullPolicy: spec.PullMissing,
		Env:     map[string]string{"WAVE": "1"},
		Volumes: []spec.Volume{{Name: "data", Target: "/data", PerReplica: true, Plugin: &spec.PluginVolume{Driver: "local"}}}}
	prior := observedInstances(observed, nil)
	svc.Placed, _ = svc.Place(prior[0].Host.ValueString(), currentHosts(observed), nil, true)
	for b.Loop() {
		desired, err := svc.Render()
		if err != nil {
			b.Fatal(err)
		}
		actions, _ := reconcile.Plan(desired, observed, reconcile.Options{Desired: &svc, MountsFor: svc.MountsFor})
		if _, diags := instancesValue(plannedInstances(prior, desired, actions)); diags.HasError() {
			b.Fatal(diags)
		}
	}
}
