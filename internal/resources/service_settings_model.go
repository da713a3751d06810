package resources

import (
	"context"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// settingsModel holds the container settings; serviceModel embeds it.
type settingsModel struct {
	Memory            types.String `tfsdk:"memory"`
	MemoryReservation types.String `tfsdk:"memory_reservation"`
	MemorySwap        types.String `tfsdk:"memory_swap"`
	CPUs              types.String `tfsdk:"cpus"`
	CPUShares         types.Int64  `tfsdk:"cpu_shares"`
	PidsLimit         types.Int64  `tfsdk:"pids_limit"`
	ShmSize           types.String `tfsdk:"shm_size"`
	Ulimit            types.List   `tfsdk:"ulimit"`
	Sysctls           types.Map    `tfsdk:"sysctls"`
	Tmpfs             types.Map    `tfsdk:"tmpfs"`
	Init              types.Bool   `tfsdk:"init"`
	CapAdd            types.Set    `tfsdk:"cap_add"`
	CapDrop           types.Set    `tfsdk:"cap_drop"`
	SecurityOpt       types.Set    `tfsdk:"security_opt"`
	ReadOnly          types.Bool   `tfsdk:"read_only"`
	WorkingDir        types.String `tfsdk:"working_dir"`
	ExtraHosts        types.Map    `tfsdk:"extra_hosts"`
	DNS               types.List   `tfsdk:"dns"`
	DNSSearch         types.List   `tfsdk:"dns_search"`
	DNSOptions        types.List   `tfsdk:"dns_options"`
	Log               types.Object `tfsdk:"log"`
	GroupAdd          types.Set    `tfsdk:"group_add"`
	ExtraNetwork      types.List   `tfsdk:"extra_network"`
}

type ulimitModel struct {
	Name types.String `tfsdk:"name"`
	Soft types.Int64  `tfsdk:"soft"`
	Hard types.Int64  `tfsdk:"hard"`
}

type logModel struct {
	Driver  types.String `tfsdk:"driver"`
	Options types.Map    `tfsdk:"options"`
}

type extraNetworkModel struct {
	Name    types.String `tfsdk:"name"`
	Aliases types.Set    `tfsdk:"aliases"`
}

func (m settingsModel) values() []attr.Value {
	return []attr.Value{
		m.Memory, m.MemoryReservation, m.MemorySwap, m.CPUs, m.CPUShares, m.PidsLimit, m.ShmSize, m.Ulimit, m.Sysctls, m.Tmpfs,
		m.Init, m.CapAdd, m.CapDrop, m.SecurityOpt, m.ReadOnly, m.WorkingDir, m.ExtraHosts, m.DNS, m.DNSSearch, m.DNSOptions, m.Log, m.GroupAdd, m.ExtraNetwork,
	}
}

// toSpec reads the settings; known is false while any value is unknown.
func (m settingsModel) toSpec(ctx context.Context) (s spec.Settings, known bool, diags diag.Diagnostics) {
	if !allKnown(m.values()...) || !setsKnown(m.CapAdd, m.CapDrop, m.SecurityOpt, m.GroupAdd) {
		return spec.Settings{}, false, nil
	}
	s = spec.Settings{
		Memory: m.Memory.ValueString(), MemoryReservation: m.MemoryReservation.ValueString(), MemorySwap: m.MemorySwap.ValueString(),
		CPUs: m.CPUs.ValueString(), CPUShares: m.CPUShares.ValueInt64(), PidsLimit: m.PidsLimit.ValueInt64(), ShmSize: m.ShmSize.ValueString(),
		Init: m.Init.ValueBool(), ReadOnly: m.ReadOnly.ValueBool(), WorkingDir: m.WorkingDir.ValueString(),
	}
	diags.Append(m.Sysctls.ElementsAs(ctx, &s.Sysctls, true)...)
	diags.Append(m.Tmpfs.ElementsAs(ctx, &s.Tmpfs, true)...)
	diags.Append(m.ExtraHosts.ElementsAs(ctx, &s.ExtraHosts, true)...)
	diags.Append(m.DNS.ElementsAs(ctx, &s.DNS, true)...)
	diags.Append(m.DNSSearch.ElementsAs(ctx, &s.DNSSearch, true)...)
	diags.Append(m.DNSOptions.ElementsAs(ctx, &s.DNSOptions, true)...)
	for _, set := range []struct {
		from types.Set
		into *[]string
	}{{m.CapAdd, &s.CapAdd}, {m.CapDrop, &s.CapDrop}, {m.SecurityOpt, &s.SecurityOpt}, {m.GroupAdd, &s.GroupAdd}} {
		diags.Append(set.from.ElementsAs(ctx, set.into, true)...)
		slices.Sort(*set.into) // one order for the definition label
	}
	var ulimits []ulimitModel
	diags.Append(m.Ulimit.ElementsAs(ctx, &ulimits, true)...)
	for _, u := range ulimits {
		s.Ulimits = append(s.Ulimits, spec.Ulimit{Name: u.Name.ValueString(), Soft: u.Soft.ValueInt64(), Hard: u.Hard.ValueInt64()})
	}
	if !m.Log.IsNull() {
		var l logModel
		diags.Append(m.Log.As(ctx, &l, objectAsOptions)...)
		s.Log = &spec.Log{Driver: l.Driver.ValueString()}
		diags.Append(l.Options.ElementsAs(ctx, &s.Log.Options, true)...)
	}
	var networks []extraNetworkModel
	diags.Append(m.ExtraNetwork.ElementsAs(ctx, &networks, true)...)
	for _, n := range networks {
		if !setsKnown(n.Aliases) {
			return spec.Settings{}, false, diags
		}
		network := spec.Network{Name: n.Name.ValueString()}
		diags.Append(n.Aliases.ElementsAs(ctx, &network.Aliases, true)...)
		slices.Sort(network.Aliases)
		s.Networks = append(s.Networks, network)
	}
	return s, !diags.HasError(), diags
}

// setsKnown looks inside sets, which allKnown does not open.
func setsKnown(sets ...types.Set) bool {
	for _, s := range sets {
		if !elementsKnown(s.Elements()) {
			return false
		}
	}
	return true
}

// fromSpec fills the settings from a service definition read back from a
// replica's label (import); what is unset stays null.
func (m *settingsModel) fromSpec(ctx context.Context, s spec.Settings) diag.Diagnostics {
	var diags, d diag.Diagnostics
	m.Memory, m.MemoryReservation, m.MemorySwap = optionalString(s.Memory), optionalString(s.MemoryReservation), optionalString(s.MemorySwap)
	m.CPUs, m.CPUShares, m.PidsLimit = optionalString(s.CPUs), optionalInt64(s.CPUShares), optionalInt64(s.PidsLimit)
	m.ShmSize, m.WorkingDir = optionalString(s.ShmSize), optionalString(s.WorkingDir)
	m.Init, m.ReadOnly = optionalBool(s.Init), optionalBool(s.ReadOnly)
	m.Sysctls, m.Tmpfs, m.ExtraHosts = optionalMap(ctx, s.Sysctls, &diags), optionalMap(ctx, s.Tmpfs, &diags), optionalMap(ctx, s.ExtraHosts, &diags)
	m.DNS, m.DNSSearch, m.DNSOptions = optionalList(ctx, s.DNS, &diags), optionalList(ctx, s.DNSSearch, &diags), optionalList(ctx, s.DNSOptions, &diags)
	m.CapAdd, m.CapDrop = optionalSet(ctx, s.CapAdd, &diags), optionalSet(ctx, s.CapDrop, &diags)
	m.SecurityOpt, m.GroupAdd = optionalSet(ctx, s.SecurityOpt, &diags), optionalSet(ctx, s.GroupAdd, &diags)
	ulimitType := types.ObjectType{AttrTypes: ulimitAttrTypes}
	ulimits := make([]ulimitModel, 0, len(s.Ulimits)) // blocks: an empty list, never null
	for _, u := range s.Ulimits {
		ulimits = append(ulimits, ulimitModel{Name: types.StringValue(u.Name), Soft: types.Int64Value(u.Soft), Hard: types.Int64Value(u.Hard)})
	}
	m.Ulimit, d = types.ListValueFrom(ctx, ulimitType, ulimits)
	diags.Append(d...)
	m.Log = types.ObjectNull(logAttrTypes)
	if s.Log != nil {
		m.Log, d = types.ObjectValueFrom(ctx, logAttrTypes, logModel{Driver: optionalString(s.Log.Driver), Options: optionalMap(ctx, s.Log.Options, &diags)})
		diags.Append(d...)
	}
	networkType := types.ObjectType{AttrTypes: extraNetworkAttrTypes}
	networks := make([]extraNetworkModel, 0, len(s.Networks))
	for _, n := range s.Networks {
		networks = append(networks, extraNetworkModel{Name: types.StringValue(n.Name), Aliases: optionalSet(ctx, n.Aliases, &diags)})
	}
	m.ExtraNetwork, d = types.ListValueFrom(ctx, networkType, networks)
	diags.Append(d...)
	return diags
}

func optionalInt64(n int64) types.Int64 {
	if n == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(n)
}

func optionalSet(ctx context.Context, values []string, diags *diag.Diagnostics) types.Set {
	if len(values) == 0 {
		return types.SetNull(types.StringType)
	}
	s, d := types.SetValueFrom(ctx, types.StringType, values)
	diags.Append(d...)
	return s
}
