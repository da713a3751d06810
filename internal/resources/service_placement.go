package resources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
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
	_ = r.placeReplicas(&svc, currentHosts(observed), remembered) // a placement error leaves seeds as names
	seeds, _ := svc.Seeds()
	return seeds
}

// currentHosts maps each ordinal to the host its container runs on; of
// duplicates, a running one wins.
func currentHosts(observed []reconcile.Observed) map[int]string {
	out := map[int]string{}
	running := map[int]bool{}
	for _, o := range observed {
		if _, seen := out[o.Ordinal]; !seen || (!running[o.Ordinal] && o.State == reconcile.StateRunning) {
			out[o.Ordinal] = o.Host
			running[o.Ordinal] = o.State == reconcile.StateRunning
		}
	}
	return out
}

// privatePlacements names the private-state record of where each ordinal
// last ran, so that a replica scaled away and back, or removed outside
// Terraform, returns to the host its data is on.
const privatePlacements = "placements"

func rememberedHosts(ctx context.Context, private privateGetter) map[int]string {
	raw, diags := private.GetKey(ctx, privatePlacements)
	out := map[int]string{}
	if raw == nil || diags.HasError() {
		return out
	}
	_ = json.Unmarshal(raw, &out)
	return out
}

// recordPlacements adds where each replica runs now to the record; the
// record of ordinals whose data was deleted (retention) is dropped.
func recordPlacements(ctx context.Context, private privateSetter, remembered map[int]string, svc spec.Service, observed []reconcile.Observed) diag.Diagnostics {
	record := maps.Clone(remembered)
	if record == nil {
		record = map[int]string{}
	}
	if svc.Retention.DeleteWhenScaled() {
		for o := range record {
			if !slices.Contains(svc.Ordinals(), o) {
				delete(record, o)
			}
		}
	}
	for o, h := range currentHosts(observed) {
		record[o] = h
	}
	raw, err := json.Marshal(record)
	if err != nil {
		var diags diag.Diagnostics
		diags.AddError("Cannot record replica placements", err.Error())
		return diags
	}
	return private.SetKey(ctx, privatePlacements, raw)
}

// serviceHosts lists the hosts a service may have replicas or data on:
// those of its placement (or the default host), of its recorded instances,
// and of the placement record.
func serviceHosts(hosts *docker.Hosts, svc spec.Service, instances []instanceModel, remembered map[int]string) ([]*docker.Host, error) {
	var names []string
	add := func(name string) {
		if name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if svc.Placement != nil {
		for _, h := range svc.Placement.Hosts {
			add(h)
		}
	} else {
		add(hosts.Default().Name())
	}
	for _, i := range instances {
		add(i.Host.ValueString())
	}
	out := make([]*docker.Host, 0, len(names))
	for _, name := range names {
		h, err := hosts.Get(name)
		if err != nil {
			return nil, fmt.Errorf("the service has replicas on host %q, which is no longer configured: add its host block back (replicas are never assumed gone): %w", name, err)
		}
		out = append(out, h)
	}
	// Hosts that only hold data left by replicas scaled away are listed
	// while they are configured.
	for _, name := range sortedValues(remembered) {
		if h, err := hosts.Get(name); err == nil && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out, nil
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
