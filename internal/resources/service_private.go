package resources

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// privateReplicas names the private-state record of the service's
// containers as the last refresh or apply saw them: what a plan decides
// from, without a Docker call, and without putting container IDs, states
// and fingerprints in state, where every value costs every request.
const privateReplicas = "replicas"

// replicaRecord is that record. The definition labels (the service
// definition each container was created from, so a plan can say what
// changed) are stored once each: replicas mostly share one.
type replicaRecord struct {
	Definitions []string          `json:"definitions"`
	Replicas    []recordedReplica `json:"replicas"`
}

type recordedReplica struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Host        string `json:"host"`
	Ordinal     int    `json:"ordinal"`
	Fingerprint string `json:"fingerprint"`
	State       string `json:"state"`
	Health      string `json:"health,omitempty"`
	Definition  int    `json:"definition"`
	Network     string `json:"network,omitempty"`
	Owner       string `json:"owner,omitempty"`
	// Restart is the container's restart policy, when it was read.
	Restart *spec.RestartPolicy `json:"restart,omitempty"`
	// Image is the ID of the image the container runs, for pull_policy
	// "always" to tell when its tag moved.
	Image string `json:"image,omitempty"`
	// AfterReadyFailed marks a container whose after_ready hook failed.
	AfterReadyFailed bool `json:"after_ready_failed,omitempty"`
}

type privateGetter interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}

type privateSetter interface {
	SetKey(context.Context, string, []byte) diag.Diagnostics
}

// recordReplicas stores the observed containers.
func recordReplicas(ctx context.Context, private privateSetter, observed []reconcile.Observed) diag.Diagnostics {
	record := replicaRecord{Replicas: make([]recordedReplica, 0, len(observed))}
	index := map[string]int{}
	for _, o := range observed {
		i, seen := index[o.Spec]
		if !seen {
			i = len(record.Definitions)
			index[o.Spec] = i
			record.Definitions = append(record.Definitions, o.Spec)
		}
		record.Replicas = append(record.Replicas, recordedReplica{
			ID: o.ID, Name: o.Name, Host: o.Host, Ordinal: o.Ordinal, Fingerprint: o.Fingerprint,
			State: o.State, Health: o.Health, Definition: i, Network: o.Network, Owner: o.Owner, Restart: o.Restart,
			Image: o.ImageID, AfterReadyFailed: o.AfterReadyFailed,
		})
	}
	raw, err := json.Marshal(record)
	if err != nil {
		var diags diag.Diagnostics
		diags.AddError("Cannot record the service's replicas", err.Error())
		return diags
	}
	return private.SetKey(ctx, privateReplicas, raw)
}

// recordedObservations returns the containers the last refresh or apply
// recorded; ok is false when there is no record (a state written before
// the record existed, not refreshed since).
func recordedObservations(ctx context.Context, private privateGetter) (observed []reconcile.Observed, ok bool) {
	raw, diags := private.GetKey(ctx, privateReplicas)
	if raw == nil || diags.HasError() {
		return nil, false
	}
	var record replicaRecord
	if json.Unmarshal(raw, &record) != nil {
		return nil, false
	}
	observed = make([]reconcile.Observed, 0, len(record.Replicas))
	for _, r := range record.Replicas {
		o := reconcile.Observed{
			ID: r.ID, Name: r.Name, Host: r.Host, Ordinal: r.Ordinal, Fingerprint: r.Fingerprint,
			State: r.State, Health: r.Health, Network: r.Network, Owner: r.Owner, Restart: r.Restart,
			ImageID: r.Image, AfterReadyFailed: r.AfterReadyFailed,
		}
		if r.Definition >= 0 && r.Definition < len(record.Definitions) {
			o.Spec = record.Definitions[r.Definition]
		}
		observed = append(observed, o)
	}
	return observed, true
}

// failedAfterReady are the containers whose after_ready hook failed, as
// the last refresh or apply recorded them.
func failedAfterReady(ctx context.Context, private privateGetter) map[string]bool {
	out := map[string]bool{}
	if private == nil {
		return out
	}
	recorded, _ := recordedObservations(ctx, private)
	for _, o := range recorded {
		if o.AfterReadyFailed {
			out[o.ID] = true
		}
	}
	return out
}

// markAfterReadyFailed flags the observed containers listed in failed.
func markAfterReadyFailed(observed []reconcile.Observed, failed map[string]bool) {
	for i := range observed {
		observed[i].AfterReadyFailed = failed[observed[i].ID]
	}
}
