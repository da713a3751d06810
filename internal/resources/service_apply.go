package resources

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// applyRequest is what Create and Update differ in: an update has the
// prior state and its private state (the secret key, where replicas ran).
type applyRequest struct {
	config  tfsdk.Config
	plan    tfsdk.Plan
	prior   *tfsdk.State
	private privateGetter
}

type applyResponse struct {
	state   *tfsdk.State
	private privateSetter
	diags   *diag.Diagnostics
}

// apply is Create and Update: it brings the hosts to the planned service
// and records the result. A failed create records no state, and removes
// the containers it made (see discard); a failed update records each
// replica as it now is, so the next plan resumes.
func (r *serviceResource) apply(ctx context.Context, req applyRequest, resp applyResponse) {
	creating := req.prior == nil
	operation := "update"
	if creating {
		operation = "create"
	}
	var plan serviceModel
	if resp.diags.Append(req.plan.Get(ctx, &plan)...); resp.diags.HasError() {
		return
	}
	defer r.logCalls(ctx, operation)()
	timeout, diags := plan.Timeouts.Update(ctx, defaultUpdateTimeout)
	if creating {
		timeout, diags = plan.Timeouts.Create(ctx, defaultCreateTimeout)
	}
	resp.diags.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	svc, _, diags := plan.toSpec(ctx)
	resp.diags.Append(diags...)
	svc.Owner = ownerOrNew(ctx, req.private)
	resp.diags.Append(recordOwner(ctx, resp.private, svc.Owner)...)
	key, diags := r.applySecretKey(ctx, svc, req.private, resp.private)
	resp.diags.Append(diags...)
	// Replicas staged secrets if the old or the new definition has some;
	// those of removed replicas are wiped either way.
	staged := len(svc.Secrets) > 0
	var recorded []instanceModel
	var known map[int]bool
	record := placementRecord{}
	if !creating {
		var prior serviceModel
		resp.diags.Append(req.prior.Get(ctx, &prior)...)
		recorded, diags = prior.instances()
		resp.diags.Append(diags...)
		known = knownBefore(&prior, recorded)
		old, _, _ := prior.toSpec(ctx)
		staged = staged || len(old.Secrets) > 0
		record = readPlacements(ctx, req.private)
	}
	resp.diags.Append(completeForApply(ctx, req.config, &svc, key)...)
	if resp.diags.HasError() {
		return
	}
	pending := failedAfterReady(ctx, req.private)
	observed, warnings, err := r.rollout(ctx, svc, staged, recorded, known, pending, record, creating)
	addWarnings(resp.diags, warnings)
	ports := svc.WithDefaults().Ports
	if err != nil {
		resp.diags.AddError("Could not "+operation+" the service", err.Error())
		if creating {
			if observed != nil { // nil: it failed before it changed anything
				r.discard(ctx, svc, observed, staged, resp.diags)
			}
			return
		}
		if observed == nil {
			return
		}
		plan.settleComputed(r.seeds(svc, observed, record.latest()))
		resp.diags.Append(instancesInto(&plan, observedInstances(observed, ports))...)
	} else {
		resp.diags.Append(plan.settle(observed, ports, r.seeds(svc, observed, record.latest()))...)
	}
	resp.diags.Append(recordPlacements(ctx, resp.private, record.updated(svc, observed))...)
	resp.diags.Append(recordReplicas(ctx, resp.private, observed)...)
	resp.diags.Append(resp.state.Set(ctx, plan)...)
}

// applySecretKey returns the key that digests plan-time secret values: a
// new one for a new service that has such values, else the recorded one.
func (r *serviceResource) applySecretKey(ctx context.Context, svc spec.Service, prior privateGetter, private privateSetter) ([]byte, diag.Diagnostics) {
	if prior != nil {
		return secretKey(ctx, prior)
	}
	if !svc.PlanTimeSecrets() {
		return nil, nil
	}
	key, encoded := newSecretKey()
	return key, private.SetKey(ctx, privateSecretKey, encoded)
}

// completeForApply adds what only apply may see to the planned service:
// write-only values from the configuration, and secret values.
func completeForApply(ctx context.Context, config tfsdk.Config, svc *spec.Service, key []byte) diag.Diagnostics {
	diags := withCredentials(ctx, config, svc)
	diags.Append(resolveSecrets(ctx, config, svc, key, true)...)
	return diags
}

// rollout brings the hosts to the service and returns the replicas as
// observed afterwards (also after a failure, when they could be listed),
// and hosts it could not list. recorded are the replicas state knows,
// known the ordinals the service had (as the plan saw them), pending the
// containers whose after_ready hook must run again (updated as hooks run,
// and marked on the containers returned), record where replicas ran. A
// create takes over no container; an update none of another state's.
func (r *serviceResource) rollout(ctx context.Context, svc spec.Service, staged bool, recorded []instanceModel, known map[int]bool, pending map[string]bool, record placementRecord, creating bool) ([]reconcile.Observed, []string, error) {
	grace, err := spec.ParseDuration("stop_grace_period", svc.StopGracePeriod)
	if err != nil {
		return nil, nil, err
	}
	hosts, err := serviceHosts(r.hosts, svc, recorded, record)
	if err != nil {
		return nil, nil, err
	}
	observed, answered, warnings, err := listService(ctx, hosts, svc.Name)
	markAfterReadyFailed(observed, pending)
	if err == nil {
		err = docker.ReadRestartPolicies(ctx, r.hosts, observed)
	}
	if err != nil {
		return nil, nil, err
	}
	var owned diag.Diagnostics
	if others := foreign(observed, svc.Owner); creating && len(observed) > 0 {
		claimedError(&owned, svc.Name, observed)
	} else if len(others) > 0 {
		foreignError(&owned, svc.Name, others)
	}
	if owned.HasError() {
		return nil, warnings, diagnosticsError(owned)
	}
	if diags := r.placeReplicas(&svc, currentHosts(observed), record.latest()); diags.HasError() {
		return observed, warnings, diagnosticsError(diags)
	}
	desired, err := svc.Render()
	if err != nil {
		return observed, warnings, err
	}
	placed, err := r.placedHosts(svc)
	if err != nil {
		return observed, warnings, err
	}
	for _, host := range placed {
		if err := host.EnsureNetwork(ctx, svc.Name); err != nil {
			return observed, warnings, err
		}
	}
	opts, err := planOptions(ctx, placed, svc)
	if err != nil {
		return observed, warnings, err
	}
	opts.Known = known
	if opts.Networks, err = networksOf(ctx, placed, observed, svc.Name); err != nil {
		return observed, warnings, err
	}
	opts.StaleImages = r.staleImages(ctx, svc, observed)
	actions, blocked := reconcile.Plan(desired, observed, opts)
	if len(blocked) > 0 {
		return observed, warnings, errors.New(blockedDetail(blocked))
	}
	for _, host := range r.launchHosts(desired, actions) {
		if err := host.EnsureImage(ctx, svc.Image, svc.PullPolicy); err != nil {
			return observed, warnings, err
		}
	}
	// Owners written as names, resolved before any container is made.
	if err := applyOwnerNames(ctx, r.launchHosts(desired, actions), svc); err != nil {
		return observed, warnings, err
	}
	minReady, err := spec.ParseDuration("min_ready", orDefault(svc.MinReady, spec.DefaultMinReady))
	if err != nil {
		return observed, warnings, err
	}
	runtime := docker.ServiceRuntime{Hosts: r.hosts, Service: svc.Name, Image: svc.Image, Grace: grace, MinReady: minReady, Secrets: staged,
		Credentials: credentials(svc), PeerHosts: union(answered, placed), BackupTo: svc.Backup}
	execErr := reconcile.Execute(ctx, runtime, desired, actions, reconcile.ExecOptions{
		Revert: svc.Update.OnFailure == spec.OnFailureRevert,
		OnDone: trackingAfterReady(pending, logProgress(ctx, svc.Name, desired)),
	})
	// List even when the deadline passed, so state tells the truth.
	final, err := docker.ListReplicasOn(context.WithoutCancel(ctx), answered, svc.Name)
	if err != nil {
		return nil, warnings, errors.Join(execErr, err)
	}
	markAfterReadyFailed(final, pending)
	if execErr == nil {
		warnings = append(warnings, removeEmptyNetworks(ctx, answered, r.candidateHosts(svc), final, svc.Name)...)
	}
	return final, warnings, execErr
}

// discardTimeout bounds removing what a failed create made, which runs
// even when the create was interrupted.
const discardTimeout = 2 * time.Minute

// discard removes what a failed create made (its containers, their staged
// secrets and its networks) so that nothing is left that no state knows
// of; data volumes and directories are kept. observed are the containers
// the create left, all of them its own.
func (r *serviceResource) discard(ctx context.Context, svc spec.Service, observed []reconcile.Observed, staged bool, diags *diag.Diagnostics) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discardTimeout)
	defer cancel()
	runtime := docker.ServiceRuntime{Hosts: r.hosts, Service: svc.Name, Image: svc.Image, Grace: time.Second, Secrets: staged}
	var actions []reconcile.Action
	for _, o := range observed {
		if o.Owner == svc.Owner {
			actions = append(actions, reconcile.Action{Kind: reconcile.Remove, Ordinal: o.Ordinal, Name: o.Name, ContainerID: o.ID, Host: o.Host, Reason: "create failed"})
		}
	}
	errs := []error{reconcile.Execute(ctx, runtime, nil, actions, reconcile.ExecOptions{Independent: true, OnDone: logProgress(ctx, svc.Name, nil)})}
	for _, name := range r.candidateHosts(svc) {
		if h, err := r.hosts.Get(name); err == nil {
			errs = append(errs, h.RemoveNetwork(ctx, svc.Name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		diags.AddWarning("Could not remove all the failed create made",
			"Containers or networks of the service may be left on the hosts; the next plan names them. "+err.Error())
		return
	}
	diags.AddWarning("The failed create was undone",
		fmt.Sprintf("The %d container(s) and the network the create made were removed; volumes and host directories, and the data in them, are kept. "+
			"Fix the cause and apply again.", len(actions)))
}

// removeEmptyNetworks removes the service's network from hosts outside its
// placement that no longer run any of its replicas (they all moved away).
// Hosts of the placement keep it, even with no replica: a service scaled to
// zero still exists. A failure is only worth a warning, since destroy
// removes the network too.
func removeEmptyNetworks(ctx context.Context, hosts []*docker.Host, keep []string, observed []reconcile.Observed, service string) []string {
	var warnings []string
	for _, h := range hosts {
		if slices.Contains(keep, h.Name()) || slices.ContainsFunc(observed, func(o reconcile.Observed) bool { return o.Host == h.Name() }) {
			continue
		}
		if err := h.RemoveNetwork(ctx, service); err != nil {
			warnings = append(warnings, fmt.Sprintf("Host %q runs no replica of the service any more, but its network stays: %v", h.Name(), err))
		}
	}
	return warnings
}

// destroy stops and removes every replica in parallel, then the network on
// every host. Volumes are kept unless retention.when_deleted is "delete".
// Hosts that hold no replica as far as state knows and do not answer, and
// networks the daemon keeps with stale endpoints, are warnings.
func (r *serviceResource) destroy(ctx context.Context, state serviceModel, record placementRecord) (diag.Diagnostics, error) {
	var warnings diag.Diagnostics
	svc, _, diags := state.toSpec(ctx)
	if diags.HasError() {
		return nil, fmt.Errorf("read state: %v", diags)
	}
	grace, err := spec.ParseDuration("stop_grace_period", svc.StopGracePeriod)
	if err != nil {
		grace = 10 * time.Second
	}
	instances, _ := state.instances()
	hosts, err := serviceHosts(r.hosts, svc, instances, record)
	if err != nil {
		return nil, err
	}
	observed, answered, notListed, err := listService(ctx, hosts, svc.Name)
	if err != nil {
		return nil, err
	}
	addWarnings(&warnings, notListed)
	runtime := docker.ServiceRuntime{Hosts: r.hosts, Service: svc.Name, Image: svc.Image, Grace: grace, Secrets: len(svc.Secrets) > 0, BackupTo: svc.Backup}
	actions := make([]reconcile.Action, 0, len(observed))
	for _, o := range observed {
		actions = append(actions, reconcile.Action{Kind: reconcile.Remove, Ordinal: o.Ordinal, Name: o.Name, ContainerID: o.ID, Host: o.Host, Reason: "destroy"})
	}
	if err := reconcile.Execute(ctx, runtime, nil, actions, reconcile.ExecOptions{Independent: true, OnDone: logProgress(ctx, svc.Name, nil)}); err != nil {
		return warnings, err
	}
	ran := ranOn(answered, observed, instances, record)
	var errs []error
	for _, host := range ran {
		if runtime.Secrets {
			errs = append(errs, host.WipeSecrets(ctx, svc.Image, svc.Name, ""))
		}
	}
	if svc.Retention.DeleteWhenDeleted() {
		errs = append(errs, deleteAllData(ctx, ran, runtime, svc, dataHosts(ran, observed, instances, record)))
	}
	if err := errors.Join(errs...); err != nil {
		return warnings, err
	}
	for _, host := range answered {
		var stale *docker.StaleNetworkError
		switch err := host.RemoveNetwork(ctx, svc.Name); {
		case errors.As(err, &stale):
			warnings.AddWarning("Service network left in place", stale.Error())
		case err != nil:
			errs = append(errs, err)
		}
	}
	return warnings, errors.Join(errs...)
}

// ranOn are the answering hosts where replicas of the service ran: only
// they have its image, staged secrets and data.
func ranOn(answered []*docker.Host, observed []reconcile.Observed, instances []instanceModel, record placementRecord) []*docker.Host {
	var out []*docker.Host
	for _, h := range answered {
		name := h.Name()
		ran := slices.ContainsFunc(observed, func(o reconcile.Observed) bool { return o.Host == name }) ||
			slices.ContainsFunc(instances, func(i instanceModel) bool { return i.Host.ValueString() == name })
		for _, hosts := range record {
			ran = ran || slices.Contains(hosts, name)
		}
		if ran {
			out = append(out, h)
		}
	}
	return out
}

// planOptions gathers what Plan needs: the rollout policy, and the
// service's Docker volumes on the hosts its replicas are placed on (one
// list call per host, only when it has some).
func planOptions(ctx context.Context, hosts []*docker.Host, svc spec.Service) (reconcile.Options, error) {
	opts := reconcile.Options{
		Retention: svc.Retention, MountsFor: svc.MountsFor, Desired: &svc,
		Partition: svc.Update.Partition, MaxUnavailable: svc.Update.MaxUnavailable,
		Parallel:  svc.Bootstrap == spec.BootstrapParallel,
		ShowHosts: svc.Placement.MultiHost(),
		HooksFor:  svc.RenderHooks, Membership: svc.Hooks.Membership() || svc.Cluster.Joining(),
		Backup: svc.Backup,
	}
	if !hasNamedVolumes(svc) {
		return opts, nil
	}
	volumes, err := docker.ListVolumesOn(ctx, hosts, svc.Name, volumeDrivers(svc)...)
	opts.Volumes = volumes
	return opts, err
}

// candidateHosts are the hosts the service may be placed on: those of its
// placement, else the default host.
func (r *serviceResource) candidateHosts(svc spec.Service) []string {
	return svc.Placement.HostsOr(r.hosts.Default().Name())
}

// placedHosts are the hosts the service's replicas are placed on.
func (r *serviceResource) placedHosts(svc spec.Service) ([]*docker.Host, error) {
	var out []*docker.Host
	for _, name := range spec.PlacedHosts(svc.Placed) {
		h, err := r.hosts.Get(name)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// launchHosts are the hosts that create containers in this rollout.
func (r *serviceResource) launchHosts(desired []spec.Replica, actions []reconcile.Action) []*docker.Host {
	hostOf := map[int]string{}
	for _, d := range desired {
		hostOf[d.Ordinal] = d.Host
	}
	var out []*docker.Host
	for _, a := range actions {
		if a.Kind != reconcile.Create && a.Kind != reconcile.Replace {
			continue
		}
		if h, err := r.hosts.Lookup(hostOf[a.Ordinal]); err == nil && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// dataHosts says, for each ordinal the service had, the hosts its data may
// be on: every host it ran on, of those that can be reached.
func dataHosts(ran []*docker.Host, observed []reconcile.Observed, instances []instanceModel, record placementRecord) map[int][]string {
	out := map[int][]string{}
	add := func(o int, h string) {
		reachable := slices.ContainsFunc(ran, func(x *docker.Host) bool { return x.Name() == h })
		if reachable && !slices.Contains(out[o], h) {
			out[o] = append(out[o], h)
		}
	}
	for o, hosts := range record {
		for _, h := range hosts {
			add(o, h)
		}
	}
	for _, i := range instances {
		add(int(i.Ordinal.ValueInt64()), i.Host.ValueString())
	}
	for _, o := range observed {
		add(o.Ordinal, o.Host)
	}
	return out
}

func hasNamedVolumes(svc spec.Service) bool { return len(volumeDrivers(svc)) > 0 }

// volumeDrivers lists the drivers of the service's Docker volumes, once each.
func volumeDrivers(svc spec.Service) []string {
	var out []string
	for _, v := range svc.Volumes {
		d := ""
		switch {
		case v.Shared != nil:
			d = "local"
		case v.Plugin != nil:
			d = v.Plugin.Driver
		}
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
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
// it owns on its hosts, and the host directories of every ordinal it ever
// had, on the hosts that ordinal's data may be on. With a backup block,
// all of it is archived first, and nothing is deleted unless every backup
// succeeded.
func deleteAllData(ctx context.Context, hosts []*docker.Host, runtime docker.ServiceRuntime, svc spec.Service, ordinals map[int][]string) error {
	data, err := allData(ctx, hosts, svc, ordinals)
	if err != nil {
		return err
	}
	if svc.Backup != nil {
		for _, d := range data {
			if err := runtime.Backup(ctx, d.host, d.replica, d.mount); err != nil {
				return fmt.Errorf("backup of %s on %s failed, no data was deleted: %w", d.mount.Source, d.host, err)
			}
		}
	}
	var errs []error
	for _, d := range data {
		if d.mount.Named() {
			errs = append(errs, runtime.RemoveVolume(ctx, d.host, d.mount.Source))
		} else {
			errs = append(errs, runtime.DeleteData(ctx, d.host, d.mount))
		}
	}
	return errors.Join(errs...)
}

// serviceData is one volume or host directory of the service on a host,
// and the replica it belongs to ("" when shared).
type serviceData struct {
	host    string
	replica string
	mount   spec.Mount
}

// allData lists the service's data on its hosts: the Docker volumes they
// have, and the host directories of every ordinal it ever had.
func allData(ctx context.Context, hosts []*docker.Host, svc spec.Service, ordinals map[int][]string) ([]serviceData, error) {
	volumes, err := docker.ListVolumesOn(ctx, hosts, svc.Name, volumeDrivers(svc)...)
	if err != nil {
		return nil, err
	}
	var out []serviceData
	for _, v := range volumes {
		out = append(out, volumeData(svc.Name, v))
	}
	emptied := map[string]bool{}
	for _, ordinal := range slices.Sorted(maps.Keys(ordinals)) {
		mounts, err := svc.MountsFor(ordinal)
		if err != nil {
			return nil, err
		}
		for _, m := range mounts {
			for _, host := range ordinals[ordinal] {
				if key := host + "/" + m.Source; !m.Named() && !emptied[key] {
					emptied[key] = true
					replica := spec.ReplicaName(svc.Name, ordinal)
					if m.Shared {
						replica = ""
					}
					out = append(out, serviceData{host: host, replica: replica, mount: m})
				}
			}
		}
	}
	return out, nil
}

// volumeData is one of the service's Docker volumes, as its labels
// describe it; one created before volumes were labeled with their block is
// backed up under its own name.
func volumeData(service string, v reconcile.ObservedVolume) serviceData {
	m := spec.Mount{Volume: orDefault(v.Volume, v.Name), Strategy: spec.StrategyPlugin, Source: v.Name, Driver: v.Driver, Shared: v.Ordinal < 0}
	if m.Shared {
		return serviceData{host: v.Host, mount: m}
	}
	return serviceData{host: v.Host, replica: spec.ReplicaName(service, v.Ordinal), mount: m}
}

// logCalls starts counting the Docker API calls of an operation; the
// returned func logs them (the benchmark reads these lines).
func (r *serviceResource) logCalls(ctx context.Context, operation string) func() {
	since := r.hosts.Calls()
	return func() {
		tflog.Info(ctx, "docker API calls", map[string]any{"operation": operation, "calls": r.hosts.Calls() - since})
	}
}

// diagnosticsError turns error diagnostics into one error, for apply paths
// that report errors.
func diagnosticsError(diags diag.Diagnostics) error {
	var errs []error
	for _, d := range diags.Errors() {
		errs = append(errs, fmt.Errorf("%s: %s", d.Summary(), d.Detail()))
	}
	return errors.Join(errs...)
}

// credentials lists the write-only credentials of the service's shared
// volumes, for redaction.
func credentials(svc spec.Service) []string {
	var out []string
	for _, v := range svc.Volumes {
		if v.Shared != nil && v.Shared.Credentials != "" {
			out = append(out, v.Shared.Credentials)
		}
	}
	return out
}

// union lists the hosts of both lists once each.
func union(a, b []*docker.Host) []*docker.Host {
	out := slices.Clone(a)
	for _, h := range b {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// trackingAfterReady wraps a progress callback to keep pending up to date:
// a container whose after_ready hook failed is added, one whose hook ran
// again is removed.
func trackingAfterReady(pending map[string]bool, progress func(reconcile.Action, time.Duration, error)) func(reconcile.Action, time.Duration, error) {
	return func(a reconcile.Action, took time.Duration, err error) {
		progress(a, took, err)
		var failed *reconcile.AfterReadyError
		switch {
		case errors.As(err, &failed):
			pending[failed.ContainerID] = true
		case err == nil && a.Kind == reconcile.Hook:
			delete(pending, a.ContainerID)
		}
	}
}
