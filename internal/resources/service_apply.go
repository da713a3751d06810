package resources

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

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
	runtime := docker.ServiceRuntime{Host: host, Service: svc.Name, Image: svc.Image, Grace: grace, MinReady: minReady, Secrets: staged, Credentials: credentials(svc)}
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
	volumes, err := host.ListVolumes(ctx, svc.Name, volumeDrivers(svc)...)
	opts.Volumes = volumes
	return opts, err
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
// it owns, and the host directories of every ordinal it ever had.
func deleteAllData(ctx context.Context, host *docker.Host, runtime docker.ServiceRuntime, svc spec.Service, ordinals []int) error {
	volumes, err := host.ListVolumes(ctx, svc.Name, volumeDrivers(svc)...)
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
