package resources

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"

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
	actions, blocked := reconcile.Plan(desired, observed, opts)
	plan.Rollout = stringsValue(rolloutLines(actions))
	if len(rolloutLines(actions)) == 0 && state != nil {
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
	return observed, err
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

// rolloutLines renders the actions apply will take, in order.
func rolloutLines(actions []reconcile.Action) []string {
	out := []string{}
	for _, a := range actions {
		if a.Kind != reconcile.Hold {
			out = append(out, a.String())
		}
	}
	return out
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
