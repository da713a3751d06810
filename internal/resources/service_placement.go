package resources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

var placementPath = path.Root("placement")

func placementBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "Which of the provider's hosts the replicas run on. Placement is decided at plan time (see `instances[*].host` " +
			"and `rollout`) and is sticky: a placed replica stays on its host across updates and re-applies, and a scaled-up ordinal returns " +
			"to the host its retained data is on. Without this block every replica runs on the provider's first host.",
		Attributes: map[string]schema.Attribute{
			"hosts": schema.ListAttribute{
				MarkdownDescription: "Names of the provider's `host` blocks the replicas may run on. With more than one, replicas reach each " +
					"other through the hosts' `advertise_address` and published ports (see `cluster`).",
				ElementType: types.StringType,
				Optional:    true,
				Validators:  []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues()},
			},
			"strategy": schema.StringAttribute{
				MarkdownDescription: "How replicas without a host yet are placed: `spread` (default) puts each on the host with the fewest " +
					"replicas of the service, `pack` fills `hosts` in order (up to `max_per_host` each), `pinned` takes every ordinal's host " +
					"from `pinned`.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.OneOf(spec.PlacementStrategies...)},
			},
			"pinned": schema.MapAttribute{
				MarkdownDescription: "Ordinal to host, e.g. `{ \"0\" = \"a\", \"1\" = \"b\" }`. Pins win over the strategy; strategy " +
					"`pinned` needs one for every ordinal. Changing a pin moves the replica.",
				ElementType: types.StringType,
				Optional:    true,
			},
			"max_per_host": schema.Int64Attribute{
				MarkdownDescription: "The most replicas `pack` puts on one host. Defaults to no limit: everything on the first host.",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"allow_local_data_move": schema.BoolAttribute{
				MarkdownDescription: "Let the plan move a replica whose data lives on its host (a `host` volume or a `local`-driver `plugin` " +
					"volume) to another host, where it starts without that data; the old data is left in place. Without it such a move is " +
					"a plan-time error. Defaults to `false`.",
				Optional: true,
			},
		},
	}
}

var placementAttrTypes = map[string]attr.Type{
	"hosts": types.ListType{ElemType: types.StringType}, "strategy": types.StringType,
	"pinned": types.MapType{ElemType: types.StringType}, "max_per_host": types.Int64Type, "allow_local_data_move": types.BoolType,
}

type placementModel struct {
	Hosts              types.List   `tfsdk:"hosts"`
	Strategy           types.String `tfsdk:"strategy"`
	Pinned             types.Map    `tfsdk:"pinned"`
	MaxPerHost         types.Int64  `tfsdk:"max_per_host"`
	AllowLocalDataMove types.Bool   `tfsdk:"allow_local_data_move"`
}

func placementToSpec(ctx context.Context, placement types.Object) (*spec.Placement, diag.Diagnostics) {
	var diags diag.Diagnostics
	if placement.IsNull() {
		return nil, nil
	}
	var m placementModel
	diags.Append(placement.As(ctx, &m, objectAsOptions)...)
	p := &spec.Placement{
		Strategy:   orDefault(m.Strategy.ValueString(), spec.PlaceSpread),
		MaxPerHost: int(m.MaxPerHost.ValueInt64()), AllowLocalDataMove: m.AllowLocalDataMove.ValueBool(),
	}
	diags.Append(m.Hosts.ElementsAs(ctx, &p.Hosts, true)...)
	var pinned map[string]string
	diags.Append(m.Pinned.ElementsAs(ctx, &pinned, true)...)
	for key, host := range pinned {
		ordinal, err := strconv.Atoi(key)
		if err != nil || ordinal < 0 {
			diags.AddAttributeError(placementPath.AtName("pinned"), "Invalid pinned ordinal",
				fmt.Sprintf("%q is not an ordinal: keys of placement.pinned are replica ordinals such as \"0\".", key))
			continue
		}
		if p.Pinned == nil {
			p.Pinned = map[int]string{}
		}
		p.Pinned[ordinal] = host
	}
	return p, diags
}

// placeReplicas decides, at plan and apply alike, where each desired
// replica runs: it stays where it runs now (current), returns to where its
// data was left (the placement record in private state), or goes where the
// strategy says. It also fills what seeds need: each host's address.
func (r *serviceResource) placeReplicas(svc *spec.Service, current, remembered map[int]string) diag.Diagnostics {
	var diags diag.Diagnostics
	if p := svc.Placement; p != nil {
		for _, name := range p.Hosts {
			if _, err := r.hosts.Get(name); err != nil {
				diags.AddAttributeError(placementPath.AtName("hosts"), "Unknown host", err.Error())
			}
		}
		if diags.HasError() {
			return diags
		}
	}
	placed, err := svc.Place(r.hosts.Default().Name(), current, remembered, svc.LocalData())
	var moves *spec.LocalDataMoveError
	switch {
	case errors.As(err, &moves):
		diags.AddAttributeError(placementPath, "Placement would move replicas away from their data", err.Error())
		return diags
	case err != nil:
		diags.AddAttributeError(placementPath, "Invalid placement", err.Error())
		return diags
	}
	svc.Placed = placed
	if !svc.Placement.MultiHost() {
		return diags
	}
	svc.Advertise = map[string]string{}
	var missing []string
	for _, name := range svc.Placement.Hosts {
		host, _ := r.hosts.Get(name)
		svc.Advertise[name] = host.AdvertiseAddress()
		if svc.Advertise[name] == "" {
			missing = append(missing, name)
		}
	}
	if svc.Cluster != nil && len(missing) > 0 {
		diags.AddAttributeError(placementPath.AtName("hosts"), "Host without an advertised address",
			fmt.Sprintf("Replicas on other hosts reach the cluster through each host's address, and host(s) %s have none (a local socket tells none). "+
				"Set advertise_address in those host blocks of the provider to an address the other hosts' containers can reach.",
				strings.Join(quoted(missing), ", ")))
	}
	return diags
}

// seeds renders the seed list for the replicas where they run now.
func (r *serviceResource) seeds(svc spec.Service, observed []reconcile.Observed, remembered map[int]string) []string {
	if diags := r.placeReplicas(&svc, currentHosts(observed), remembered); diags.HasError() {
		svc.Placement = nil // the plan reports the error; seeds fall back to names
	}
	seeds, _ := svc.Seeds()
	return seeds
}

// currentHosts maps each ordinal to the host its container runs on; of
// duplicates, a running one wins.
func currentHosts(observed []reconcile.Observed) map[int]string {
	out := map[int]string{}
	for ordinal, o := range preferredByOrdinal(observed) {
		out[ordinal] = o.Host
	}
	return out
}

// privatePlacements names the private-state record of the hosts each
// ordinal ran on, so that a replica scaled away and back, or removed
// outside Terraform, returns to the host its data is on, and destroy with
// retention = "delete" finds data a move left behind.
const privatePlacements = "placements"

// placementRecord lists, per ordinal, every host a replica of it ran on,
// the latest last.
type placementRecord map[int][]string

func readPlacements(ctx context.Context, private privateGetter) placementRecord {
	raw, diags := private.GetKey(ctx, privatePlacements)
	out := placementRecord{}
	if raw == nil || diags.HasError() {
		return out
	}
	_ = json.Unmarshal(raw, &out)
	return out
}

// latest is where each ordinal last ran.
func (p placementRecord) latest() map[int]string {
	out := make(map[int]string, len(p))
	for o, hosts := range p {
		if len(hosts) > 0 {
			out[o] = hosts[len(hosts)-1]
		}
	}
	return out
}

// updated adds where each replica runs now; the record of ordinals whose
// data a scale-down deleted (retention) is dropped.
func (p placementRecord) updated(svc spec.Service, observed []reconcile.Observed) placementRecord {
	out := placementRecord{}
	for o, hosts := range p {
		if svc.Retention.DeleteWhenScaled() && !slices.Contains(svc.Ordinals(), o) {
			continue
		}
		out[o] = slices.Clone(hosts)
	}
	for o, h := range currentHosts(observed) {
		out[o] = append(slices.DeleteFunc(out[o], func(x string) bool { return x == h }), h)
	}
	return out
}

func recordPlacements(ctx context.Context, private privateSetter, record placementRecord) diag.Diagnostics {
	raw, err := json.Marshal(record)
	if err != nil {
		var diags diag.Diagnostics
		diags.AddError("Cannot record replica placements", err.Error())
		return diags
	}
	return private.SetKey(ctx, privatePlacements, raw)
}

// hostSet is where a service may have replicas: required hosts hold
// replicas as far as state knows and must answer; optional ones (placement
// hosts without replicas yet, hosts that only hold data left by a move)
// are listed when they answer.
type hostSet struct {
	required, optional []*docker.Host
}

// serviceHosts finds the hosts of a service: those of its recorded
// instances and the latest of its placement record (required), and those
// of its placement (or the default host) and older records (optional).
func serviceHosts(hosts *docker.Hosts, svc spec.Service, instances []instanceModel, record placementRecord) (hostSet, error) {
	var set hostSet
	has := func(h *docker.Host) bool { return slices.Contains(set.required, h) || slices.Contains(set.optional, h) }
	for _, i := range instances {
		name := i.Host.ValueString()
		h, err := hosts.Get(name)
		if err != nil {
			return hostSet{}, fmt.Errorf("the service has replicas on host %q, which is no longer configured: add its host block back (replicas are never assumed gone): %w", name, err)
		}
		if !has(h) {
			set.required = append(set.required, h)
		}
	}
	latest := record.latest()
	for _, name := range sortedValues(latest) {
		if h, err := hosts.Get(name); err == nil && !has(h) {
			set.required = append(set.required, h)
		}
	}
	candidates := slices.Clone(svc.Placement.HostsOr(hosts.Default().Name()))
	for _, all := range record {
		candidates = append(candidates, all...)
	}
	for _, name := range candidates {
		if h, err := hosts.Get(name); err == nil && !has(h) {
			set.optional = append(set.optional, h)
		}
	}
	if len(set.required) == 0 {
		set.required, set.optional = set.optional, nil
	}
	return set, nil
}

// listService lists the service's containers: every required host must
// answer; an optional one that does not is reported as a warning and left
// out, with the hosts that did answer.
func listService(ctx context.Context, set hostSet, service string) (observed []reconcile.Observed, answered []*docker.Host, warnings []string, err error) {
	observed, err = docker.ListReplicasOn(ctx, set.required, service)
	if err != nil {
		return nil, nil, nil, err
	}
	answered = slices.Clone(set.required)
	for _, h := range set.optional {
		more, err := h.ListReplicas(ctx, service)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("Host %q holds no replica of the service as far as state knows, and could not be listed: %v", h.Name(), err))
			continue
		}
		observed = append(observed, more...)
		answered = append(answered, h)
	}
	sort.SliceStable(observed, func(i, j int) bool { return observed[i].Ordinal < observed[j].Ordinal })
	return observed, answered, warnings, nil
}

func sortedValues(m map[int]string) []string {
	out := slices.Collect(maps.Values(m))
	slices.Sort(out)
	return slices.Compact(out)
}

func quoted(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strconv.Quote(v)
	}
	return out
}
