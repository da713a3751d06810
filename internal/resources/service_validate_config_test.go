package resources

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// validateConfig runs ValidateConfig on a configuration that sets the
// given attributes and leaves every other one null.
func validateConfig(t *testing.T, set map[string]tftypes.Value) resource.ValidateConfigResponse {
	t.Helper()
	ctx := context.Background()
	s := serviceSchema(ctx)
	objectType, ok := s.Type().TerraformType(ctx).(tftypes.Object)
	if !ok {
		t.Fatal("the schema is not an object")
	}
	values := map[string]tftypes.Value{}
	for name, typ := range objectType.AttributeTypes {
		values[name] = tftypes.NewValue(typ, nil)
		if v, ok := set[name]; ok {
			values[name] = v
		}
	}
	var resp resource.ValidateConfigResponse
	req := resource.ValidateConfigRequest{Config: tfsdk.Config{Schema: s, Raw: tftypes.NewValue(objectType, values)}}
	(&serviceResource{}).ValidateConfig(ctx, req, &resp)
	return resp
}

func TestAPartitionAboveEveryOrdinalWarns(t *testing.T) {
	updateType := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"max_unavailable": tftypes.Number, "partition": tftypes.Number, "on_failure": tftypes.String}}
	update := func(partition int64) tftypes.Value {
		return tftypes.NewValue(updateType, map[string]tftypes.Value{
			"max_unavailable": tftypes.NewValue(tftypes.Number, nil), "on_failure": tftypes.NewValue(tftypes.String, nil),
			"partition": tftypes.NewValue(tftypes.Number, partition),
		})
	}
	for partition, warns := range map[int64]bool{2: false, 3: true, 7: true} {
		resp := validateConfig(t, map[string]tftypes.Value{
			"name": tftypes.NewValue(tftypes.String, "db"), "image": tftypes.NewValue(tftypes.String, "img"),
			"replicas": tftypes.NewValue(tftypes.Number, 3), "ordinal_start": tftypes.NewValue(tftypes.Number, 0),
			"update": update(partition),
		})
		if resp.Diagnostics.HasError() {
			t.Fatalf("partition %d: %v", partition, resp.Diagnostics)
		}
		got := len(resp.Diagnostics.Warnings()) == 1 && strings.Contains(resp.Diagnostics.Warnings()[0].Detail(), "highest ordinal is 2")
		if got != warns {
			t.Errorf("partition %d with ordinals 0..2: warned %v, want %v (%v)", partition, got, warns, resp.Diagnostics)
		}
	}
}
