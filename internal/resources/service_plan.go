package resources

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// planInstances decides, from the refreshed state, what apply will do to
// each replica and records it in the planned instances.
func (r *serviceResource) planInstances(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, svc spec.Service, plan *serviceModel) diag.Diagnostics {
	key, diags := r.planSecretKey(ctx, req, resp, svc)
	diags.Append(resolveSecrets(ctx, req.Config, &svc, key, false)...)
	if diags.HasError() {
		return diags
	}
	var state *serviceModel
	var prior []instanceModel
	if !req.State.Raw.IsNull() {
		state = &serviceModel{}
		diags.Append(req.State.Get(ctx, state)...)
		recorded, d := state.instances()
		diags.Append(d...)
		prior = recorded
	}
	observed, err := r.planObservations(ctx, req.Private, state, prior)
	if err != nil {
		diags.AddError("Could not read the service", err.Error())
		return diags
	}
	if diags.Append(r.checkOwnership(ctx, req, svc, observed)...); diags.HasError() {
		return diags
	}
	if diags.Append(r.placeReplicas(&svc, currentHosts(observed), readPlacements(ctx, req.Private).latest())...); diags.HasError() {
		return diags
	}
	desired, err := svc.Render()
	if err != nil {
		addValidationError(ctx, serviceSchema(ctx), &diags, err)
		return diags
	}
	hosts, err := r.placedHosts(svc)
	if err != nil {
		diags.AddAttributeError(placementPath, "Unknown host", err.Error())
		return diags
	}
	for _, host := range hosts {
		diags.Append(checkDrivers(ctx, host, svc)...)
	}
	if diags.HasError() {
		return diags
	}
	opts, err := planOptions(ctx, hosts, svc)
	if err != nil {
		diags.AddError("Could not read the service's volumes", err.Error())
		return diags
	}
	opts.Known = knownBefore(state, prior)
	if opts.Networks, err = networksOf(ctx, hosts, observed, svc.Name); err != nil {
		diags.AddError("Could not read the service's network", err.Error())
		return diags
	}
	opts.StaleImages = r.staleImages(ctx, svc, observed)
	actions, blocked := reconcile.Plan(desired, observed, opts)
	if err := tellMissingHostDirs(ctx, r.hosts, desired, actions); err != nil {
		diags.AddError("Could not check the host directories of stopped replicas", err.Error())
		return diags
	}
	plan.Rollout = stringsValue(rolloutLines(actions, priorRollout(state)))
	if len(rolloutLines(actions, 0)) == 0 && state != nil {
		// Nothing to do: keep the record of the last rollout, so that a
		// plan with nothing to do is empty.
		plan.Rollout = state.Rollout
	}
	if held := heldBack(actions); len(held) > 0 {
		diags.AddAttributeWarning(path.Root("update").AtName("partition"), "Replicas held back by the partition",
			fmt.Sprintf("%d replica(s) below the partition keep their previous spec: %s.", len(held), strings.Join(held, "; ")))
	}
	seeds, err := svc.Seeds()
	if err != nil {
		diags.AddAttributeError(path.Root("cluster"), "Invalid cluster configuration", err.Error())
	}
	plan.Seeds = stringsValue(orEmpty(seeds))
	if len(blocked) > 0 {
		diags.AddAttributeError(volumePath, "Volume definition changed", blockedDetail(blocked))
	}
	if svc.PullPolicy == spec.PullNever {
		for _, host := range r.launchHosts(desired, actions) {
			diags.Append(checkImage(ctx, host, svc.Image)...)
		}
	}
	diags.Append(planOwnerNames(ctx, r.launchHosts(desired, actions), svc)...)
	diags.Append(instancesInto(plan, plannedInstances(prior, desired, actions))...)
	return diags
}

// planObservations are the containers a plan decides from: those the
// refresh before it recorded, or, when there is no record (a state
// upgraded and not refreshed since), those the hosts list now. A new
// service has none.
func (r *serviceResource) planObservations(ctx context.Context, private privateGetter, state *serviceModel, prior []instanceModel) ([]reconcile.Observed, error) {
	if state == nil {
		return nil, nil
	}
	if observed, ok := recordedObservations(ctx, private); ok {
		return observed, nil
	}
	svc, _, _ := state.toSpec(ctx)
	hosts, err := serviceHosts(r.hosts, svc, prior, readPlacements(ctx, private))
	if err != nil {
		return nil, err
	}
	observed, _, _, err := listService(ctx, hosts, svc.Name)
	if err != nil {
		return nil, err
	}
	return observed, docker.ReadRestartPolicies(ctx, r.hosts, observed)
}

// checkImage fails the plan when an image that must not be pulled is not
// on a host that launches replicas.
func checkImage(ctx context.Context, host *docker.Host, image string) diag.Diagnostics {
	var diags diag.Diagnostics
	present, err := host.ImageExists(ctx, image)
	switch {
	case err != nil:
		diags.AddError("Could not check the image", err.Error())
	case !present:
		diags.AddAttributeError(path.Root("image"), "Image not on the host",
			fmt.Sprintf("Image %q is not on host %q and pull_policy is %q: build or load it there first, or set pull_policy = %q.",
				image, host.Name(), spec.PullNever, spec.PullMissing))
	}
	return diags
}

// checkDrivers fails the plan when a plugin volume's driver is not on the
// host.
func checkDrivers(ctx context.Context, host *docker.Host, svc spec.Service) diag.Diagnostics {
	var diags diag.Diagnostics
	var wanted []string
	for _, v := range svc.Volumes {
		// Every daemon has the local driver: no need to ask.
		if v.Plugin != nil && v.Plugin.Driver != "local" && !slices.Contains(wanted, v.Plugin.Driver) {
			wanted = append(wanted, v.Plugin.Driver)
		}
	}
	missing, drivers, err := missingDrivers(ctx, host, wanted)
	if err == nil && len(missing) > 0 {
		// A legacy plugin is listed only once the daemon has used it: a
		// volume list naming it activates it; a missing one costs the
		// daemon's lookup timeout, on this error path only.
		_, _ = host.ListVolumes(ctx, svc.Name, missing...)
		missing, drivers, err = missingDrivers(ctx, host, missing)
	}
	if err != nil {
		diags.AddError("Could not list the host's volume drivers", err.Error())
		return diags
	}
	for _, d := range missing {
		diags.AddAttributeError(volumePath, "Volume driver not installed",
			fmt.Sprintf("Volume driver %q is not installed on host %q (it has: %s). Install the plugin there (docker plugin install), or choose another driver.",
				d, host.Name(), strings.Join(drivers, ", ")))
	}
	return diags
}

func missingDrivers(ctx context.Context, host *docker.Host, wanted []string) (missing, drivers []string, err error) {
	if len(wanted) == 0 {
		return nil, nil, nil
	}
	if drivers, err = host.VolumeDrivers(ctx); err != nil {
		return nil, nil, err
	}
	for _, d := range wanted {
		if !slices.Contains(drivers, d) && !slices.Contains(drivers, d+":latest") {
			missing = append(missing, d)
		}
	}
	return missing, drivers, nil
}

// planSecretKey returns the key that digests plan-time secret values: from
// private state, or new for an existing resource that has none (imported),
// handed to apply through the planned private state. A new resource gets
// its key at create.
func (r *serviceResource) planSecretKey(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, svc spec.Service) ([]byte, diag.Diagnostics) {
	if !svc.PlanTimeSecrets() {
		return nil, nil
	}
	key, diags := secretKey(ctx, req.Private)
	if key != nil || req.State.Raw.IsNull() {
		return key, diags
	}
	key, encoded := newSecretKey()
	diags.Append(resp.Private.SetKey(ctx, privateSecretKey, encoded)...)
	return key, diags
}

// rolloutLines renders the actions apply will take, in order, each marked
// with the number of the rollout (the one after previous): Terraform hides
// list elements equal to those of the prior state, and a replica replaced
// again for the same reason must still show.
func rolloutLines(actions []reconcile.Action, previous int) []string {
	out := []string{}
	for _, a := range actions {
		if a.Kind != reconcile.Hold {
			out = append(out, fmt.Sprintf("#%d %s", previous+1, a))
		}
	}
	return out
}

// priorRollout is the number of the rollout the state records; zero when
// it records none, or lines of a release before numbers.
func priorRollout(state *serviceModel) int {
	if state == nil || state.Rollout.IsNull() || state.Rollout.IsUnknown() || len(state.Rollout.Elements()) == 0 {
		return 0
	}
	first, ok := state.Rollout.Elements()[0].(types.String)
	if !ok {
		return 0
	}
	var n int
	if _, err := fmt.Sscanf(first.ValueString(), "#%d ", &n); err != nil {
		return 0
	}
	return n
}

// checkOwnership fails the plan of a new service whose name is taken on a
// host it may be placed on, and that of an existing one when containers of
// its name belong to another state's service.
func (r *serviceResource) checkOwnership(ctx context.Context, req resource.ModifyPlanRequest, svc spec.Service, observed []reconcile.Observed) diag.Diagnostics {
	var diags diag.Diagnostics
	if !req.State.Raw.IsNull() {
		if others := foreign(observed, readOwner(ctx, req.Private)); len(others) > 0 {
			foreignError(&diags, svc.Name, others)
		}
		return diags
	}
	existing, err := r.unclaimed(ctx, svc.Name, r.candidateHosts(svc))
	switch {
	case err != nil:
		diags.AddError("Could not read the hosts", err.Error())
	case len(existing) > 0:
		claimedError(&diags, svc.Name, existing)
	}
	return diags
}

// networksOf are the IDs of the service's network on the hosts where a
// container is down, the only ones that can have lost it (Docker refuses to
// remove a network a running container is attached to).
func networksOf(ctx context.Context, hosts []*docker.Host, observed []reconcile.Observed, service string) (map[string]string, error) {
	out := map[string]string{}
	for _, h := range hosts {
		down := slices.ContainsFunc(observed, func(o reconcile.Observed) bool {
			return o.Host == h.Name() && o.State != reconcile.StateRunning && o.State != reconcile.StateRestarting
		})
		if !down {
			continue
		}
		id, err := h.NetworkID(ctx, service)
		if err != nil {
			return nil, err
		}
		out[h.Name()] = id
	}
	return out, nil
}

func heldBack(actions []reconcile.Action) []string {
	var out []string
	for _, a := range actions {
		if a.Kind == reconcile.Hold {
			out = append(out, a.String())
		}
	}
	return out
}

// knownBefore are the ordinals the service had before this plan: recorded
// instances and the previously desired range.
func knownBefore(state *serviceModel, prior []instanceModel) map[int]bool {
	known := map[int]bool{}
	for _, p := range prior {
		known[int(p.Ordinal.ValueInt64())] = true
	}
	if state == nil {
		return known
	}
	start, n := state.OrdinalStart.ValueInt64(), state.Replicas.ValueInt64()
	for o := start; o < start+n; o++ {
		known[int(o)] = true
	}
	return known
}

func orEmpty(values []string) []string {
	if values == nil {
		return []string{}
	}
	return values
}
