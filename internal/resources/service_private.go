package resources

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
)

// privateDefinitions names the private-state entry recording, for each
// container, the service definition it was created from (its label), so a
// plan can say what changed per replica without a Docker call.
const privateDefinitions = "definitions"

// definitions is that record, deduplicated: replicas mostly share one.
type definitions struct {
	Labels      []string       `json:"labels"`
	ByContainer map[string]int `json:"by_container"`
}

type privateGetter interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}

type privateSetter interface {
	SetKey(context.Context, string, []byte) diag.Diagnostics
}

// recordDefinitions stores the definition label of each observed container.
func recordDefinitions(ctx context.Context, private privateSetter, observed []reconcile.Observed) diag.Diagnostics {
	d := definitions{ByContainer: map[string]int{}}
	index := map[string]int{}
	for _, o := range observed {
		i, seen := index[o.Spec]
		if !seen {
			i = len(d.Labels)
			index[o.Spec] = i
			d.Labels = append(d.Labels, o.Spec)
		}
		d.ByContainer[o.ID] = i
	}
	raw, err := json.Marshal(d)
	if err != nil {
		var diags diag.Diagnostics
		diags.AddError("Cannot record replica definitions", err.Error())
		return diags
	}
	return private.SetKey(ctx, privateDefinitions, raw)
}

// withDefinitions adds recorded definition labels to observations.
func withDefinitions(ctx context.Context, private privateGetter, observed []reconcile.Observed) []reconcile.Observed {
	raw, diags := private.GetKey(ctx, privateDefinitions)
	if raw == nil || diags.HasError() {
		return observed
	}
	var d definitions
	if json.Unmarshal(raw, &d) != nil {
		return observed
	}
	for i := range observed {
		if j, ok := d.ByContainer[observed[i].ID]; ok && j < len(d.Labels) {
			observed[i].Spec = d.Labels[j]
		}
	}
	return observed
}
