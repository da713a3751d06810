package resources

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

type serviceModel struct {
	ID               types.String         `tfsdk:"id"`
	Name             types.String         `tfsdk:"name"`
	Image            types.String         `tfsdk:"image"`
	Replicas         types.Int64          `tfsdk:"replicas"`
	OrdinalStart     types.Int64          `tfsdk:"ordinal_start"`
	Command          types.List           `tfsdk:"command"`
	Entrypoint       types.List           `tfsdk:"entrypoint"`
	Env              types.Map            `tfsdk:"env"`
	Labels           types.Map            `tfsdk:"labels"`
	User             types.String         `tfsdk:"user"`
	Restart          types.String         `tfsdk:"restart"`
	StopSignal       types.String         `tfsdk:"stop_signal"`
	StopGracePeriod  timetypes.GoDuration `tfsdk:"stop_grace_period"`
	PullPolicy       types.String         `tfsdk:"pull_policy"`
	StableMACAddress types.Bool           `tfsdk:"stable_mac_address"`
	Network          types.String         `tfsdk:"network"`
	Instances        types.List           `tfsdk:"instances"`
	Port             types.List           `tfsdk:"port"`
	Health           types.Object         `tfsdk:"health"`
	Volume           types.List           `tfsdk:"volume"`
	Retention        types.Object         `tfsdk:"retention"`
	Secret           types.List           `tfsdk:"secret"`
	File             types.List           `tfsdk:"file"`
	Cluster          types.Object         `tfsdk:"cluster"`
	Update           types.Object         `tfsdk:"update"`
	Hooks            types.Object         `tfsdk:"hooks"`
	Backup           types.Object         `tfsdk:"backup"`
	Placement        types.Object         `tfsdk:"placement"`
	Bootstrap        types.String         `tfsdk:"bootstrap"`
	MinReady         timetypes.GoDuration `tfsdk:"min_ready"`
	Seeds            types.List           `tfsdk:"seeds"`
	Rollout          types.List           `tfsdk:"rollout"`
	Timeouts         timeouts.Value       `tfsdk:"timeouts"`
	settingsModel
}

type portModel struct {
	Internal types.Int64  `tfsdk:"internal"`
	External types.Int64  `tfsdk:"external"`
	Protocol types.String `tfsdk:"protocol"`
	HostIP   types.String `tfsdk:"host_ip"`
}

type healthModel struct {
	Test        types.List           `tfsdk:"test"`
	Interval    timetypes.GoDuration `tfsdk:"interval"`
	Timeout     timetypes.GoDuration `tfsdk:"timeout"`
	StartPeriod timetypes.GoDuration `tfsdk:"start_period"`
	Retries     types.Int64          `tfsdk:"retries"`
}

// toSpec reads the service definition out of the model. known is false
// while any part of the definition is unknown (plan time, values from
// resources not yet created).
func (m serviceModel) toSpec(ctx context.Context) (svc spec.Service, known bool, diags diag.Diagnostics) {
	if !allKnown(m.Name, m.Image, m.Replicas, m.OrdinalStart, m.Command, m.Entrypoint, m.Env, m.Labels, m.User,
		m.Restart, m.StopSignal, m.StopGracePeriod, m.PullPolicy, m.StableMACAddress, m.Port, m.Health, m.Volume, m.Retention, m.File, m.Cluster, m.Update, m.Bootstrap, m.MinReady, m.Placement, m.Hooks, m.Backup) {
		return spec.Service{}, false, nil
	}
	svc = spec.Service{
		Name:            m.Name.ValueString(),
		Image:           m.Image.ValueString(),
		Replicas:        int(m.Replicas.ValueInt64()),
		OrdinalStart:    int(m.OrdinalStart.ValueInt64()),
		User:            m.User.ValueString(),
		Restart:         m.Restart.ValueString(),
		StopSignal:      m.StopSignal.ValueString(),
		StopGracePeriod: m.StopGracePeriod.ValueString(),
		PullPolicy:      m.PullPolicy.ValueString(),
		StableMAC:       m.StableMACAddress.ValueBool(),
		Bootstrap:       m.Bootstrap.ValueString(),
		MinReady:        m.MinReady.ValueString(),
	}
	diags.Append(clusterToSpec(ctx, m.Cluster, m.Update, &svc)...)
	diags.Append(hooksToSpec(ctx, m.Hooks, m.Backup, &svc)...)
	placement, d := placementToSpec(ctx, m.Placement)
	svc.Placement = placement
	diags.Append(d...)
	diags.Append(m.Command.ElementsAs(ctx, &svc.Command, true)...)
	diags.Append(m.Entrypoint.ElementsAs(ctx, &svc.Entrypoint, true)...)
	diags.Append(m.Env.ElementsAs(ctx, &svc.Env, true)...)
	diags.Append(m.Labels.ElementsAs(ctx, &svc.Labels, true)...)
	var ports []portModel
	diags.Append(m.Port.ElementsAs(ctx, &ports, true)...)
	for _, p := range ports {
		if !allKnown(p.Internal, p.External, p.Protocol, p.HostIP) {
			return spec.Service{}, false, diags
		}
		svc.Ports = append(svc.Ports, spec.Port{
			Internal: int(p.Internal.ValueInt64()), External: int(p.External.ValueInt64()),
			Protocol: p.Protocol.ValueString(), HostIP: p.HostIP.ValueString(),
		})
	}
	if !m.Health.IsNull() {
		var h healthModel
		if diags.Append(m.Health.As(ctx, &h, objectAsOptions)...); diags.HasError() {
			return spec.Service{}, false, diags
		}
		if !allKnown(h.Test, h.Interval, h.Timeout, h.StartPeriod, h.Retries) {
			return spec.Service{}, false, diags
		}
		svc.Health = &spec.Health{
			Interval: h.Interval.ValueString(), Timeout: h.Timeout.ValueString(),
			StartPeriod: h.StartPeriod.ValueString(), Retries: int(h.Retries.ValueInt64()),
		}
		diags.Append(h.Test.ElementsAs(ctx, &svc.Health.Test, true)...)
	}
	volumes, known, d := volumesToSpec(ctx, m.Volume)
	diags.Append(d...)
	if !known {
		return spec.Service{}, false, diags
	}
	svc.Volumes = volumes
	svc.Retention, d = retentionToSpec(ctx, m.Retention)
	diags.Append(d...)
	if svc.Secrets, known, d = secretsToSpec(ctx, m.Secret); !known {
		return spec.Service{}, false, append(diags, d...)
	}
	if svc.Files, known, d = filesToSpec(ctx, m.File); !known {
		return spec.Service{}, false, append(diags, d...)
	}
	if svc.Settings, known, d = m.settingsModel.toSpec(ctx); !known {
		return spec.Service{}, false, append(diags, d...)
	}
	return svc, !diags.HasError(), diags
}

// fromSpec fills the configuration attributes from a service definition
// read back from a replica's label (import).
func (m *serviceModel) fromSpec(ctx context.Context, svc spec.Service, replicas int) diag.Diagnostics {
	var diags diag.Diagnostics
	m.Name = types.StringValue(svc.Name)
	m.Image = types.StringValue(svc.Image)
	m.Replicas = types.Int64Value(int64(replicas))
	m.OrdinalStart = types.Int64Value(int64(svc.OrdinalStart))
	m.User = optionalString(svc.User)
	m.Restart = types.StringValue(svc.Restart)
	m.StopSignal = optionalString(svc.StopSignal)
	m.StopGracePeriod = durationValue(svc.StopGracePeriod)
	m.PullPolicy = types.StringValue(svc.PullPolicy)
	m.StableMACAddress = types.BoolValue(svc.StableMAC)
	m.Command = optionalList(ctx, svc.Command, &diags)
	m.Entrypoint = optionalList(ctx, svc.Entrypoint, &diags)
	m.Env = optionalMap(ctx, svc.Env, &diags)
	m.Labels = optionalMap(ctx, svc.Labels, &diags)
	ports := make([]portModel, 0, len(svc.Ports))
	for _, p := range svc.Ports {
		pm := portModel{Internal: types.Int64Value(int64(p.Internal)), External: types.Int64Null(),
			Protocol: types.StringValue(p.Protocol), HostIP: optionalString(p.HostIP)}
		if p.External > 0 {
			pm.External = types.Int64Value(int64(p.External))
		}
		ports = append(ports, pm)
	}
	var d diag.Diagnostics
	m.Port, d = types.ListValueFrom(ctx, types.ObjectType{AttrTypes: portAttrTypes}, ports)
	diags.Append(d...)
	m.Health = types.ObjectNull(healthAttrTypes)
	if h := svc.Health; h != nil {
		hm := healthModel{
			Test: optionalList(ctx, h.Test, &diags), Interval: optionalDuration(h.Interval), Timeout: optionalDuration(h.Timeout),
			StartPeriod: optionalDuration(h.StartPeriod), Retries: types.Int64Null(),
		}
		if h.Retries > 0 {
			hm.Retries = types.Int64Value(int64(h.Retries))
		}
		m.Health, d = types.ObjectValueFrom(ctx, healthAttrTypes, hm)
		diags.Append(d...)
	}
	m.Volume, d = volumesFromSpec(ctx, svc.Volumes)
	diags.Append(d...)
	m.Retention, d = retentionFromSpec(ctx, svc.Retention)
	diags.Append(d...)
	m.Secret, d = secretsFromSpec(ctx, svc.Secrets)
	diags.Append(d...)
	m.File, d = filesFromSpec(ctx, svc.Files)
	diags.Append(d...)
	m.Bootstrap = types.StringValue(orDefault(svc.Bootstrap, spec.BootstrapOrdered))
	m.MinReady = durationValue(orDefault(svc.MinReady, spec.DefaultMinReady))
	diags.Append(m.clusterFromSpec(ctx, svc)...)
	diags.Append(m.hooksFromSpec(ctx, svc)...)
	diags.Append(m.settingsModel.fromSpec(ctx, svc.Settings)...)
	return diags
}

var objectAsOptions = basetypes.ObjectAsOptions{}

func allKnown(values ...attr.Value) bool {
	for _, v := range values {
		if v.IsUnknown() {
			return false
		}
		if !fullyKnown(v) {
			return false
		}
	}
	return true
}

// fullyKnown looks inside collections for unknown elements.
func fullyKnown(v attr.Value) bool {
	switch c := v.(type) {
	case types.List:
		return elementsKnown(c.Elements())
	case types.Map:
		for _, e := range c.Elements() {
			if !allKnown(e) {
				return false
			}
		}
	case types.Object:
		for _, a := range c.Attributes() {
			if !allKnown(a) {
				return false
			}
		}
	}
	return true
}

func elementsKnown(elems []attr.Value) bool {
	for _, e := range elems {
		if !allKnown(e) {
			return false
		}
	}
	return true
}

func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func optionalList(ctx context.Context, values []string, diags *diag.Diagnostics) types.List {
	if values == nil {
		return types.ListNull(types.StringType)
	}
	l, d := types.ListValueFrom(ctx, types.StringType, values)
	diags.Append(d...)
	return l
}

// durationValue reads back a duration a label recorded, as the user wrote
// it: 60s stays 60s, so an import verifies against the configuration.
func durationValue(s string) timetypes.GoDuration {
	return timetypes.GoDuration{StringValue: types.StringValue(s)}
}

func optionalDuration(s string) timetypes.GoDuration {
	if s == "" {
		return timetypes.NewGoDurationNull()
	}
	return durationValue(s)
}

func optionalMap(ctx context.Context, values map[string]string, diags *diag.Diagnostics) types.Map {
	if len(values) == 0 {
		return types.MapNull(types.StringType)
	}
	m, d := types.MapValueFrom(ctx, types.StringType, values)
	diags.Append(d...)
	return m
}

// settle records the applied instances: the plan's promises, completed with
// what the daemon reported.
func (m *serviceModel) settle(observed []reconcile.Observed, ports []spec.Port, seeds []string) diag.Diagnostics {
	m.ID = m.Name
	m.Network = types.StringValue(spec.NetworkName(m.Name.ValueString()))
	m.settleComputed(seeds)
	if m.Instances.IsUnknown() {
		return instancesInto(m, observedInstances(observed, ports))
	}
	planned, diags := m.instances()
	diags.Append(instancesInto(m, appliedInstances(planned, observed, ports))...)
	return diags
}

// settleComputed resolves what the plan could not know (its configuration
// was not known yet): the seed list, as placed by apply, and an empty
// rollout record.
func (m *serviceModel) settleComputed(seeds []string) {
	if m.Rollout.IsUnknown() {
		m.Rollout = stringsValue([]string{})
	}
	if m.Seeds.IsUnknown() {
		m.Seeds = stringsValue(orEmpty(seeds))
	}
}

// adopt rebuilds the configuration of an imported service from the
// definition label of its lowest replica; replicas counts the distinct
// ordinals found from ordinal_start on.
func (m *serviceModel) adopt(ctx context.Context, hosts *docker.Hosts, observed []reconcile.Observed) diag.Diagnostics {
	var diags diag.Diagnostics
	name := m.Name.ValueString()
	if len(observed) == 0 {
		diags.AddError("Nothing to import",
			fmt.Sprintf("Service %q has a network on the provider's hosts but no replicas, so its definition cannot be read back. Remove the network %q and create the service with Terraform.",
				name, spec.NetworkName(name)))
		return diags
	}
	svc, err := spec.ParseSpecLabel(observed[0].Spec)
	if err != nil {
		diags.AddError("Cannot import this container", fmt.Sprintf("Replica %s on host %q: %v", observed[0].Name, observed[0].Host, err))
		return diags
	}
	// The highest ordinal found bounds the replica count: a replica removed
	// outside Terraform leaves a gap, not a smaller service.
	replicas := 0
	for _, o := range observed {
		replicas = max(replicas, o.Ordinal-svc.OrdinalStart+1)
	}
	diags.Append(m.fromSpec(ctx, svc, replicas)...)
	// Replicas found beyond the default host keep their hosts: the
	// placement lists them, in the provider's order.
	m.Placement = types.ObjectNull(placementAttrTypes)
	found := currentHosts(observed)
	var names []string
	for _, h := range hosts.Names() {
		if slices.Contains(slices.Collect(maps.Values(found)), h) {
			names = append(names, h)
		}
	}
	if len(names) > 1 || (len(names) == 1 && names[0] != hosts.Default().Name()) {
		var d diag.Diagnostics
		m.Placement, d = types.ObjectValueFrom(ctx, placementAttrTypes, placementModel{
			Hosts: stringsValue(names), Strategy: types.StringNull(), Pinned: types.MapNull(types.StringType),
			MaxPerHost: types.Int64Null(), AllowLocalDataMove: types.BoolNull(),
		})
		diags.Append(d...)
	}
	return diags
}

func clusterToSpec(ctx context.Context, cluster, update types.Object, svc *spec.Service) diag.Diagnostics {
	var diags diag.Diagnostics
	if !cluster.IsNull() {
		var c clusterModel
		diags.Append(cluster.As(ctx, &c, objectAsOptions)...)
		svc.Cluster = &spec.Cluster{
			Seeds: int(c.Seeds.ValueInt64()), Port: int(c.Port.ValueInt64()), Env: c.Env.ValueString(),
			File: c.File.ValueString(), Format: c.Format.ValueString(), MembersEnv: c.MembersEnv.ValueString(),
			Scaling: c.Scaling.ValueString(),
		}
		if c.Seeds.IsNull() {
			svc.Cluster.Seeds = 1
		}
	}
	if !update.IsNull() {
		var u updateModel
		diags.Append(update.As(ctx, &u, objectAsOptions)...)
		svc.Update = spec.UpdatePolicy{MaxUnavailable: int(u.MaxUnavailable.ValueInt64()), Partition: int(u.Partition.ValueInt64()), OnFailure: u.OnFailure.ValueString()}
	}
	return diags
}

func (m *serviceModel) clusterFromSpec(ctx context.Context, svc spec.Service) diag.Diagnostics {
	var diags, d diag.Diagnostics
	m.Cluster, m.Update = types.ObjectNull(clusterAttrTypes), types.ObjectNull(updateAttrTypes)
	if c := svc.Cluster; c != nil {
		seeds := types.Int64Null()
		if c.Seeds != 1 {
			seeds = types.Int64Value(int64(c.Seeds))
		}
		m.Cluster, d = types.ObjectValueFrom(ctx, clusterAttrTypes, clusterModel{
			Seeds: seeds, Port: optionalInt(c.Port), Env: optionalString(c.Env), File: optionalString(c.File),
			Format: optionalString(c.Format), MembersEnv: optionalString(c.MembersEnv), Scaling: optionalString(c.Scaling),
		})
		diags.Append(d...)
	}
	if u := svc.Update; u != (spec.UpdatePolicy{}) {
		m.Update, d = types.ObjectValueFrom(ctx, updateAttrTypes, updateModel{
			MaxUnavailable: optionalInt(u.MaxUnavailable), Partition: optionalInt(u.Partition), OnFailure: optionalString(u.OnFailure),
		})
		diags.Append(d...)
	}
	return diags
}

func orDefault(value, def string) string {
	if value == "" {
		return def
	}
	return value
}

// stringsValue builds a list of strings; it cannot fail.
func stringsValue(values []string) types.List {
	l, _ := types.ListValueFrom(context.Background(), types.StringType, values)
	return l
}
