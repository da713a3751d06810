package resources

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

type volumeModel struct {
	Name             types.String `tfsdk:"name"`
	Target           types.String `tfsdk:"target"`
	ReadOnly         types.Bool   `tfsdk:"read_only"`
	PerReplica       types.Bool   `tfsdk:"per_replica"`
	RecreateOnChange types.Bool   `tfsdk:"recreate_on_change"`
	Host             types.Object `tfsdk:"host"`
	Shared           types.Object `tfsdk:"shared"`
	Plugin           types.Object `tfsdk:"plugin"`
}

type hostVolumeModel struct {
	Path  types.String `tfsdk:"path"`
	Owner types.String `tfsdk:"owner"`
	Mode  types.String `tfsdk:"mode"`
}

type sharedVolumeModel struct {
	Type                 types.String `tfsdk:"type"`
	Address              types.String `tfsdk:"address"`
	Device               types.String `tfsdk:"device"`
	Options              types.String `tfsdk:"options"`
	CredentialsWO        types.String `tfsdk:"credentials_wo"`
	CredentialsWOVersion types.Int64  `tfsdk:"credentials_wo_version"`
}

type pluginVolumeModel struct {
	Driver  types.String `tfsdk:"driver"`
	Options types.Map    `tfsdk:"options"`
}

type retentionModel struct {
	WhenScaled  types.String `tfsdk:"when_scaled"`
	WhenDeleted types.String `tfsdk:"when_deleted"`
}

// volumesToSpec reads volume blocks; known is false while any value is
// unknown.
func volumesToSpec(ctx context.Context, list types.List) (volumes []spec.Volume, known bool, diags diag.Diagnostics) {
	var blocks []volumeModel
	if diags = list.ElementsAs(ctx, &blocks, true); diags.HasError() {
		return nil, false, diags
	}
	for _, b := range blocks {
		if !allKnown(b.Name, b.Target, b.ReadOnly, b.PerReplica, b.RecreateOnChange, b.Host, b.Shared, b.Plugin) {
			return nil, false, diags
		}
		v := spec.Volume{
			Name: b.Name.ValueString(), Target: b.Target.ValueString(), ReadOnly: b.ReadOnly.ValueBool(),
			PerReplica: b.PerReplica.IsNull() || b.PerReplica.ValueBool(), RecreateOnChange: b.RecreateOnChange.ValueBool(),
		}
		if !b.Host.IsNull() {
			var h hostVolumeModel
			diags.Append(b.Host.As(ctx, &h, objectAsOptions)...)
			v.Host = &spec.HostVolume{Path: h.Path.ValueString(), Owner: h.Owner.ValueString(), Mode: h.Mode.ValueString()}
		}
		if !b.Shared.IsNull() {
			var s sharedVolumeModel
			diags.Append(b.Shared.As(ctx, &s, objectAsOptions)...)
			v.Shared = &spec.SharedVolume{
				Type: s.Type.ValueString(), Address: s.Address.ValueString(), Device: s.Device.ValueString(),
				Options: s.Options.ValueString(), CredentialsVersion: s.CredentialsWOVersion.ValueInt64(),
			}
		}
		if !b.Plugin.IsNull() {
			var p pluginVolumeModel
			diags.Append(b.Plugin.As(ctx, &p, objectAsOptions)...)
			v.Plugin = &spec.PluginVolume{Driver: p.Driver.ValueString()}
			diags.Append(p.Options.ElementsAs(ctx, &v.Plugin.Options, true)...)
		}
		volumes = append(volumes, v)
	}
	return volumes, !diags.HasError(), diags
}

func retentionToSpec(ctx context.Context, obj types.Object) (spec.Retention, diag.Diagnostics) {
	if obj.IsNull() || obj.IsUnknown() {
		return spec.Retention{}, nil
	}
	var r retentionModel
	diags := obj.As(ctx, &r, objectAsOptions)
	return spec.Retention{WhenScaled: r.WhenScaled.ValueString(), WhenDeleted: r.WhenDeleted.ValueString()}, diags
}

// withCredentials copies write-only credentials from the configuration
// (the only place they exist, and only during apply) into the service.
func withCredentials(ctx context.Context, config tfsdk.Config, svc *spec.Service) diag.Diagnostics {
	var blocks []volumeModel
	var list types.List
	diags := config.GetAttribute(ctx, volumePath, &list)
	if diags.HasError() || list.IsNull() {
		return diags
	}
	diags.Append(list.ElementsAs(ctx, &blocks, true)...)
	for i, b := range blocks {
		if i >= len(svc.Volumes) || b.Shared.IsNull() || svc.Volumes[i].Shared == nil {
			continue
		}
		var s sharedVolumeModel
		diags.Append(b.Shared.As(ctx, &s, objectAsOptions)...)
		svc.Volumes[i].Shared.Credentials = s.CredentialsWO.ValueString()
	}
	return diags
}

func volumesFromSpec(ctx context.Context, volumes []spec.Volume) (types.List, diag.Diagnostics) {
	var diags diag.Diagnostics
	blocks := make([]volumeModel, 0, len(volumes))
	for _, v := range volumes {
		b := volumeModel{
			Name: types.StringValue(v.Name), Target: types.StringValue(v.Target),
			ReadOnly: optionalBool(v.ReadOnly), PerReplica: types.BoolNull(), RecreateOnChange: optionalBool(v.RecreateOnChange),
			Host:   types.ObjectNull(hostVolumeAttrTypes),
			Shared: types.ObjectNull(sharedVolumeAttrTypes),
			Plugin: types.ObjectNull(pluginVolumeAttrTypes),
		}
		if !v.PerReplica {
			b.PerReplica = types.BoolValue(false)
		}
		var d diag.Diagnostics
		switch {
		case v.Host != nil:
			b.Host, d = types.ObjectValueFrom(ctx, hostVolumeAttrTypes, hostVolumeModel{
				Path: types.StringValue(v.Host.Path), Owner: optionalString(v.Host.Owner), Mode: optionalString(v.Host.Mode),
			})
		case v.Shared != nil:
			version := types.Int64Null()
			if v.Shared.CredentialsVersion > 0 {
				version = types.Int64Value(v.Shared.CredentialsVersion)
			}
			b.Shared, d = types.ObjectValueFrom(ctx, sharedVolumeAttrTypes, sharedVolumeModel{
				Type: types.StringValue(v.Shared.Type), Address: optionalString(v.Shared.Address), Device: optionalString(v.Shared.Device),
				Options: optionalString(v.Shared.Options), CredentialsWO: types.StringNull(), CredentialsWOVersion: version,
			})
		case v.Plugin != nil:
			b.Plugin, d = types.ObjectValueFrom(ctx, pluginVolumeAttrTypes, pluginVolumeModel{
				Driver: types.StringValue(v.Plugin.Driver), Options: optionalMap(ctx, v.Plugin.Options, &diags),
			})
		}
		diags.Append(d...)
		blocks = append(blocks, b)
	}
	list, d := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: volumeAttrTypes}, blocks)
	diags.Append(d...)
	return list, diags
}

func retentionFromSpec(ctx context.Context, r spec.Retention) (types.Object, diag.Diagnostics) {
	if r == (spec.Retention{}) {
		return types.ObjectNull(retentionAttrTypes), nil
	}
	return types.ObjectValueFrom(ctx, retentionAttrTypes, retentionModel{
		WhenScaled: optionalString(r.WhenScaled), WhenDeleted: optionalString(r.WhenDeleted),
	})
}

var volumePath = path.Root("volume")

func optionalBool(b bool) types.Bool {
	if !b {
		return types.BoolNull()
	}
	return types.BoolValue(true)
}
