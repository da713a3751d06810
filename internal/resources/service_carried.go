package resources

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/statefulhq/terraform-provider-stateful/internal/carry"
)

// carried returns, by name, the stateful_service attributes with an entry
// per replica. The provider server carries them around the plugin framework
// (see package carry), so a refresh or plan does not grow with replicas.
func (m *serviceModel) carried() map[string]*types.List {
	return map[string]*types.List{"instances": &m.Instances, "rollout": &m.Rollout}
}

// CarriedAttributes names the attributes the provider server must carry:
// those of carried, so the two never disagree.
func CarriedAttributes() []string {
	return slices.Sorted(maps.Keys((&serviceModel{}).carried()))
}

type modelSource interface {
	Get(ctx context.Context, target any) diag.Diagnostics
}

type modelTarget interface {
	Set(ctx context.Context, val any) diag.Diagnostics
}

// getModel reads a request's state or plan, with the values of its carried
// attributes as the request held them under from.
func getModel(ctx context.Context, data modelSource, from carry.Source, m *serviceModel) diag.Diagnostics {
	diags := data.Get(ctx, m)
	if diags.HasError() {
		return diags
	}
	for name, field := range m.carried() {
		v, taken := carry.Taken(ctx, from, name)
		if !taken {
			continue
		}
		value, err := field.Type(ctx).ValueFromTerraform(ctx, v)
		list, isList := value.(types.List)
		if err != nil || !isList {
			diags.AddError("Unexpected "+name+" value", fmt.Sprintf("cannot read %s from the state (%v); this is a bug in the provider", name, err))
			continue
		}
		*field = list
	}
	return diags
}

// setModel writes a response's state or plan; the carried attributes go
// to the provider server, and the framework sees them null. They are handed
// only once the framework took the rest, so a failed write hands nothing.
func setModel(ctx context.Context, data modelTarget, m serviceModel) diag.Diagnostics {
	var diags diag.Diagnostics
	values := map[string]tftypes.Value{}
	if carry.Active(ctx) {
		for name, field := range m.carried() {
			v, err := field.ToTerraformValue(ctx)
			if err != nil {
				diags.AddError("Unexpected "+name+" value", fmt.Sprintf("cannot write %s to the state (%v); this is a bug in the provider", name, err))
				continue
			}
			values[name] = v
			*field = types.ListNull(field.ElementType(ctx))
		}
	}
	if diags.Append(data.Set(ctx, m)...); diags.HasError() {
		return diags
	}
	for name, v := range values {
		carry.Hand(ctx, name, v)
	}
	return diags
}
