// Package resources holds the provider's Terraform resources: schema, model
// and CRUD glue only. Deciding lives in package reconcile, Docker I/O in
// package docker.
package resources

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
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
	r.hosts = hostsFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *serviceResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var config serviceModel
	if diags := req.Config.Get(ctx, &config); diags.HasError() {
		return // the framework reports values their types reject, at their attributes
	}
	svc, known, diags := config.toSpec(ctx)
	resp.Diagnostics.Append(diags...)
	if !known || resp.Diagnostics.HasError() {
		return
	}
	for _, err := range svc.WithDefaults().Validate() {
		addValidationError(ctx, serviceSchema(ctx), &resp.Diagnostics, err)
	}
	if p, end := svc.Update.Partition, svc.OrdinalStart+svc.Replicas; svc.Replicas > 0 && p >= end {
		resp.Diagnostics.AddAttributeWarning(path.Root("update").AtName("partition"), "Every replica is held back",
			fmt.Sprintf("update.partition is %d and the highest ordinal is %d: no replica takes a change of its spec. "+
				"Lower the partition to roll a change out, highest ordinal first.", p, end-1))
	}
}

func (r *serviceResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		resp.Diagnostics.Append(destroyDataWarning(ctx, req.State)...)
		return
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
	plan.Instances = types.ListUnknown(instanceType)
	plan.Rollout = types.ListUnknown(types.StringType)
	plan.Seeds = types.ListUnknown(types.StringType)
	if known && r.hosts != nil {
		defer r.logCalls(ctx, "plan")()
		resp.Diagnostics.Append(r.planInstances(ctx, req, resp, svc, &plan)...)
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

func (r *serviceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.apply(ctx, applyRequest{config: req.Config, plan: req.Plan}, applyResponse{state: &resp.State, private: resp.Private, diags: &resp.Diagnostics})
}

func (r *serviceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.apply(ctx, applyRequest{config: req.Config, plan: req.Plan, prior: &req.State, private: req.Private},
		applyResponse{state: &resp.State, private: resp.Private, diags: &resp.Diagnostics})
}

func (r *serviceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	defer r.logCalls(ctx, "read")()
	name := state.Name.ValueString()
	importing := state.Image.IsNull()
	record := readPlacements(ctx, req.Private)
	hosts, err := r.readHosts(ctx, state, record, importing)
	if err != nil {
		resp.Diagnostics.AddError("Could not read the service", err.Error())
		return
	}
	// An unreachable host with replicas fails the refresh: they are never
	// taken for gone, which would recreate them elsewhere and split the data.
	observed, answered, warnings, err := listService(ctx, hosts, name)
	if err == nil {
		err = docker.ReadRestartPolicies(ctx, r.hosts, observed)
	}
	if err != nil {
		resp.Diagnostics.AddError("Could not read the service", err.Error()+
			"\nNo state was changed. Bring the host back, or fix its host block, then refresh again.")
		return
	}
	addWarnings(&resp.Diagnostics, warnings)
	if len(observed) == 0 {
		exists, err := anyNetwork(ctx, answered, name)
		if err != nil {
			resp.Diagnostics.AddError("Could not read the service", err.Error())
			return
		}
		if !exists {
			resp.State.RemoveResource(ctx) // gone: the next plan creates it again
			return
		}
	}
	if importing { // rebuild the configuration from labels, and take the owner over
		resp.Diagnostics.Append(state.adopt(ctx, r.hosts, observed)...)
		resp.Diagnostics.Append(recordOwner(ctx, resp.Private, adoptedOwner(observed))...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	state.ID = types.StringValue(name)
	state.Network = types.StringValue(spec.NetworkName(name))
	if state.Rollout.IsNull() {
		state.Rollout = stringsValue([]string{})
	}
	svc, known, _ := state.toSpec(ctx)
	if known {
		state.Seeds = stringsValue(orEmpty(r.seeds(svc, observed, record.latest())))
	}
	resp.Diagnostics.Append(instancesInto(&state, observedInstances(observed, svc.WithDefaults().Ports))...)
	markAfterReadyFailed(observed, failedAfterReady(ctx, req.Private))
	resp.Diagnostics.Append(recordReplicas(ctx, resp.Private, observed)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
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

	warnings, err := r.destroy(ctx, state, readPlacements(ctx, req.Private))
	resp.Diagnostics.Append(warnings...)
	if err != nil {
		resp.Diagnostics.AddError("Could not destroy the service", err.Error())
	}
}

// readHosts are the hosts a refresh lists: every configured host on
// import, else those the service may have replicas on.
func (r *serviceResource) readHosts(ctx context.Context, state serviceModel, record placementRecord, importing bool) (hostSet, error) {
	if importing {
		var set hostSet
		for _, name := range r.hosts.Names() {
			h, _ := r.hosts.Get(name)
			set.required = append(set.required, h)
		}
		return set, nil
	}
	svc, _, _ := state.toSpec(ctx)
	instances, _ := state.instances()
	return serviceHosts(r.hosts, svc, instances, record)
}

// addWarnings reports hosts a listing left out.
func addWarnings(diags *diag.Diagnostics, warnings []string) {
	for _, w := range warnings {
		diags.AddWarning("Host not listed", w)
	}
}

func anyNetwork(ctx context.Context, hosts []*docker.Host, service string) (bool, error) {
	for _, h := range hosts {
		exists, err := h.NetworkExists(ctx, service)
		if err != nil || exists {
			return exists, err
		}
	}
	return false, nil
}

func (r *serviceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := spec.ValidateName(req.ID); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", "Import a service by its name: "+err.Error())
		return
	}
	resource.ImportStatePassthroughID(ctx, path.Root("name"), req, resp)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}
