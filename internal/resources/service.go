// Package resources holds the provider's Terraform resources: schema, model
// and CRUD glue only. Deciding lives in package reconcile, Docker I/O in
// package docker.
package resources

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

var (
	_ resource.ResourceWithConfigure      = &serviceResource{}
	_ resource.ResourceWithImportState    = &serviceResource{}
	_ resource.ResourceWithModifyPlan     = &serviceResource{}
	_ resource.ResourceWithValidateConfig = &serviceResource{}
)

// Default timeouts.
const (
	defaultCreateTimeout = 10 * time.Minute
	defaultUpdateTimeout = 20 * time.Minute
	defaultDeleteTimeout = 10 * time.Minute
	// deleteParallelism bounds concurrent stops on destroy.
	deleteParallelism = reconcile.MaxParallel
)

// NewServiceResource is the stateful_service resource.
func NewServiceResource() resource.Resource {
	return &serviceResource{}
}

type serviceResource struct {
	hosts *docker.Hosts
}

func (r *serviceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service"
}

func (r *serviceResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = serviceSchema(ctx)
}

func (r *serviceResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if req.ProviderData == nil {
		return
	}
	hosts, ok := req.ProviderData.(*docker.Hosts)
	if !ok {
		resp.Diagnostics.AddError("Unexpected provider data", fmt.Sprintf("expected *docker.Hosts, got %T; this is a bug in the provider", req.ProviderData))
		return
	}
	r.hosts = hosts
}

func (r *serviceResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var config serviceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	svc, known, diags := config.toSpec(ctx)
	resp.Diagnostics.Append(diags...)
	if !known || resp.Diagnostics.HasError() {
		return
	}
	for _, err := range svc.WithDefaults().Validate() {
		resp.Diagnostics.AddError("Invalid stateful_service configuration", err.Error())
	}
}

func (r *serviceResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	svc, known, diags := plan.toSpec(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.ID = plan.Name
	if !plan.Name.IsUnknown() {
		plan.Network = types.StringValue(spec.NetworkName(plan.Name.ValueString()))
	}
	plan.Instances = types.ListUnknown(types.ObjectType{AttrTypes: instanceAttrTypes})
	plan.Rollout = types.ListUnknown(types.StringType)
	plan.Seeds = types.ListUnknown(types.StringType)
	if known && r.hosts != nil {
		defer r.logCalls(ctx, "plan")()
		resp.Diagnostics.Append(r.planInstances(ctx, req, resp, svc, &plan)...)
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

func (r *serviceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	defer r.logCalls(ctx, "create")()
	timeout, diags := plan.Timeouts.Create(ctx, defaultCreateTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	svc, _, diags := plan.toSpec(ctx)
	resp.Diagnostics.Append(diags...)
	var key []byte
	if svc.PlanTimeSecrets() {
		var encoded []byte
		key, encoded = newSecretKey()
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateSecretKey, encoded)...)
	}
	resp.Diagnostics.Append(completeForApply(ctx, req.Config, &svc, key)...)
	if resp.Diagnostics.HasError() {
		return
	}
	observed, err := r.rollout(ctx, svc, len(svc.Secrets) > 0)
	if err != nil {
		// No state: the next apply creates again and adopts what this one
		// left, instead of replacing a tainted resource.
		resp.Diagnostics.AddError("Could not create the service", err.Error())
		return
	}
	resp.Diagnostics.Append(plan.settle(ctx, observed)...)
	resp.Diagnostics.Append(recordDefinitions(ctx, resp.Private, observed)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *serviceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	defer r.logCalls(ctx, "read")()
	host := r.hosts.Default()
	name := state.Name.ValueString()
	observed, err := host.ListReplicas(ctx, name)
	if err != nil {
		resp.Diagnostics.AddError("Could not read the service", err.Error())
		return
	}
	if len(observed) == 0 {
		exists, err := host.NetworkExists(ctx, name)
		if err != nil {
			resp.Diagnostics.AddError("Could not read the service", err.Error())
			return
		}
		if !exists {
			resp.State.RemoveResource(ctx) // gone: the next plan creates it again
			return
		}
	}
	if state.Image.IsNull() { // import: rebuild the configuration from labels
		resp.Diagnostics.Append(state.adopt(ctx, host, observed)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	state.ID = types.StringValue(name)
	state.Network = types.StringValue(spec.NetworkName(name))
	if state.Rollout.IsNull() {
		state.Rollout = stringsValue([]string{})
	}
	if svc, known, _ := state.toSpec(ctx); known {
		seeds, _ := svc.Seeds()
		state.Seeds = stringsValue(orEmpty(seeds))
	}
	resp.Diagnostics.Append(instancesInto(ctx, &state, observedInstances(observed))...)
	resp.Diagnostics.Append(recordDefinitions(ctx, resp.Private, observed)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *serviceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	defer r.logCalls(ctx, "update")()
	timeout, diags := plan.Timeouts.Update(ctx, defaultUpdateTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	svc, _, diags := plan.toSpec(ctx)
	resp.Diagnostics.Append(diags...)
	key, diags := secretKey(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(completeForApply(ctx, req.Config, &svc, key)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Replicas staged secrets if the old or the new definition has some;
	// those of removed replicas are wiped either way.
	var state serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	old, _, _ := state.toSpec(ctx)
	observed, err := r.rollout(ctx, svc, len(svc.Secrets) > 0 || len(old.Secrets) > 0)
	if err != nil {
		// Record each replica as it now is, so the next plan resumes.
		resp.Diagnostics.AddError("Could not update the service", err.Error())
		if observed != nil {
			resp.Diagnostics.Append(instancesInto(ctx, &plan, observedInstances(observed))...)
			resp.Diagnostics.Append(recordDefinitions(ctx, resp.Private, observed)...)
			resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
		}
		return
	}
	resp.Diagnostics.Append(plan.settle(ctx, observed)...)
	resp.Diagnostics.Append(recordDefinitions(ctx, resp.Private, observed)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *serviceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	defer r.logCalls(ctx, "delete")()
	timeout, diags := state.Timeouts.Delete(ctx, defaultDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	if err := r.destroy(ctx, state); err != nil {
		resp.Diagnostics.AddError("Could not destroy the service", err.Error())
	}
}

func (r *serviceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := spec.ValidateName(req.ID); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", "Import a service by its name: "+err.Error())
		return
	}
	resource.ImportStatePassthroughID(ctx, path.Root("name"), req, resp)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}

// completeForApply adds what only apply may see to the planned service:
// write-only values from the configuration, and secret values.
func completeForApply(ctx context.Context, config tfsdk.Config, svc *spec.Service, key []byte) diag.Diagnostics {
	diags := withCredentials(ctx, config, svc)
	diags.Append(resolveSecrets(ctx, config, svc, key, true)...)
	return diags
}

// rollout brings the host to the service and returns the replicas as
// observed afterwards (also after a failure, when they could be listed).
func (r *serviceResource) rollout(ctx context.Context, svc spec.Service, staged bool) ([]reconcile.Observed, error) {
	desired, err := svc.Render()
	if err != nil {
		return nil, err
	}
	grace, err := spec.ParseDuration("stop_grace_period", svc.StopGracePeriod)
	if err != nil {
		return nil, err
	}
	host := r.hosts.Default()
	if err := host.EnsureNetwork(ctx, svc.Name); err != nil {
		return nil, err
	}
	observed, err := host.ListReplicas(ctx, svc.Name)
	if err != nil {
		return nil, err
	}
	opts, err := planOptions(ctx, host, svc)
	if err != nil {
		return observed, err
	}
	actions, blocked := reconcile.PlanWith(desired, observed, opts)
	if len(blocked) > 0 {
		return observed, errors.New(blockedDetail(blocked))
	}
	if launches(actions) {
		if err := host.EnsureImage(ctx, svc.Image, svc.PullPolicy); err != nil {
			return observed, err
		}
	}
	minReady, err := spec.ParseDuration("min_ready", orDefault(svc.MinReady, spec.DefaultMinReady))
	if err != nil {
		return observed, err
	}
	runtime := docker.ServiceRuntime{Host: host, Service: svc.Name, Image: svc.Image, Grace: grace, MinReady: minReady, Secrets: staged}
	execErr := reconcile.Execute(ctx, runtime, desired, actions, reconcile.ExecOptions{Revert: svc.Update.OnFailure == spec.OnFailureRevert})
	// List even when the deadline passed, so state tells the truth.
	final, err := host.ListReplicas(context.WithoutCancel(ctx), svc.Name)
	if err != nil {
		return nil, errors.Join(execErr, err)
	}
	return final, execErr
}

// destroy stops and removes every replica in parallel, then the network.
// Volumes are kept unless retention.when_deleted is "delete".
func (r *serviceResource) destroy(ctx context.Context, state serviceModel) error {
	host := r.hosts.Default()
	svc, _, diags := state.toSpec(ctx)
	if diags.HasError() {
		return fmt.Errorf("read state: %v", diags)
	}
	grace, err := spec.ParseDuration("stop_grace_period", svc.StopGracePeriod)
	if err != nil {
		grace = 10 * time.Second
	}
	observed, err := host.ListReplicas(ctx, svc.Name)
	if err != nil {
		return err
	}
	runtime := docker.ServiceRuntime{Host: host, Service: svc.Name, Image: svc.Image, Grace: grace, Secrets: len(svc.Secrets) > 0}
	actions := make([]reconcile.Action, 0, len(observed))
	for _, o := range observed {
		actions = append(actions, reconcile.Action{Kind: reconcile.Remove, Ordinal: o.Ordinal, Name: o.Name, ContainerID: o.ID, Reason: "destroy"})
	}
	if err := reconcile.ExecuteParallel(ctx, runtime, nil, actions, deleteParallelism); err != nil {
		return err
	}
	if runtime.Secrets {
		if err := host.WipeSecrets(ctx, svc.Image, svc.Name, ""); err != nil {
			return err
		}
	}
	if svc.Retention.DeleteWhenDeleted() {
		instances, _ := state.instances(ctx)
		if err := deleteAllData(ctx, host, runtime, svc, knownOrdinals(svc, observed, instances)); err != nil {
			return err
		}
	}
	return host.RemoveNetwork(ctx, svc.Name)
}

// planOptions gathers what PlanWith needs: the rollout policy, and the
// service's Docker volumes (one list call, only when it has some).
func planOptions(ctx context.Context, host *docker.Host, svc spec.Service) (reconcile.Options, error) {
	opts := reconcile.Options{
		Retention: svc.Retention, MountsFor: svc.MountsFor, Desired: &svc,
		Partition: svc.Update.Partition, MaxUnavailable: svc.Update.MaxUnavailable,
		Parallel: svc.Bootstrap == spec.BootstrapParallel,
	}
	if !hasNamedVolumes(svc) {
		return opts, nil
	}
	volumes, err := host.ListVolumes(ctx, svc.Name)
	opts.Volumes = volumes
	return opts, err
}

func hasNamedVolumes(svc spec.Service) bool {
	for _, v := range svc.Volumes {
		if v.Host == nil {
			return true
		}
	}
	return false
}

// blockedDetail explains a volume definition change Docker cannot apply in
// place, and the user's choices.
func blockedDetail(blocked []reconcile.Blocked) string {
	var b strings.Builder
	b.WriteString("Docker cannot change a volume's driver or options in place, and these volumes exist with another definition:\n")
	for _, x := range blocked {
		fmt.Fprintf(&b, "  - %s: volume %q (%s)\n", x.Replica, x.Volume, x.Source)
	}
	b.WriteString("Choose one:\n" +
		"  - revert the change to keep using the existing volumes and their data;\n" +
		"  - rename the volume block: new volumes are created and the old ones are kept, unmounted;\n" +
		"  - set recreate_on_change = true on the volume: apply removes each replica's volume, DELETING ITS DATA, and creates it anew.\n" +
		"A volume shared by all replicas (per_replica = false) can only be recreated while no replica uses it: with recreate_on_change = true, " +
		"scale to 0, then back up; the first replica to start recreates it.")
	return b.String()
}

// deleteAllData deletes the service's data on destroy: every Docker volume
// it owns, and the host directories of every ordinal it ever had.
func deleteAllData(ctx context.Context, host *docker.Host, runtime docker.ServiceRuntime, svc spec.Service, ordinals []int) error {
	volumes, err := host.ListVolumes(ctx, svc.Name)
	if err != nil {
		return err
	}
	var errs []error
	for _, v := range volumes {
		errs = append(errs, host.RemoveVolume(ctx, v.Name))
	}
	emptied := map[string]bool{}
	for _, ordinal := range ordinals {
		mounts, err := svc.MountsFor(ordinal)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, m := range mounts {
			if !m.Named() && !emptied[m.Source] {
				emptied[m.Source] = true
				errs = append(errs, runtime.DeleteData(ctx, m))
			}
		}
	}
	return errors.Join(errs...)
}

// knownOrdinals are the ordinals a service has now, had in state, or wants.
func knownOrdinals(svc spec.Service, observed []reconcile.Observed, instances []instanceModel) []int {
	seen := map[int]bool{}
	for _, o := range svc.Ordinals() {
		seen[o] = true
	}
	for _, o := range observed {
		seen[o.Ordinal] = true
	}
	for _, i := range instances {
		seen[int(i.Ordinal.ValueInt64())] = true
	}
	out := make([]int, 0, len(seen))
	for o := range seen {
		out = append(out, o)
	}
	sort.Ints(out)
	return out
}

// logCalls starts counting the Docker API calls of an operation; the
// returned func logs them (the benchmark reads these lines).
func (r *serviceResource) logCalls(ctx context.Context, operation string) func() {
	host := r.hosts.Default()
	since := host.Calls()
	return func() {
		tflog.Info(ctx, "docker API calls", map[string]any{"operation": operation, "calls": host.Calls() - since, "host": host.Name()})
	}
}

func launches(actions []reconcile.Action) bool {
	for _, a := range actions {
		if a.Kind == reconcile.Create || a.Kind == reconcile.Replace {
			return true
		}
	}
	return false
}
