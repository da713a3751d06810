package docker

import (
	"context"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// ServiceRuntime runs reconcile actions for one service on the hosts its
// replicas are placed on.
type ServiceRuntime struct {
	Hosts   *Hosts
	Service string
	// Image runs the never-started helper containers that create and empty
	// host directories: the service's own image, already on the host.
	Image string
	Grace time.Duration
	// MinReady is how long a replica without a health check must run
	// before it counts as ready.
	MinReady time.Duration
	// Secrets is true when the service delivers secret files, which are
	// wiped when a replica is removed.
	Secrets bool
	// Credentials of shared volumes: the daemon may quote mount options in
	// start errors, so they are redacted from those.
	Credentials []string
	// PeerHosts are the hosts the service's replicas may run on, where
	// Peer looks for a running replica (one list call per host); nil means
	// every host of Hosts.
	PeerHosts []*Host
	// BackupTo is where Backup archives data before it is deleted or
	// recreated; nil when the service sets no backup.
	BackupTo *spec.Backup
	// Now dates backups; nil means time.Now.
	Now func() time.Time
}

var _ reconcile.Runtime = ServiceRuntime{}

// Create implements reconcile.Runtime: the replica's data and secrets
// first (the daemon checks bind sources at create), then its container with
// its config files.
func (r ServiceRuntime) Create(ctx context.Context, replica spec.Replica) (string, error) {
	host, err := r.Hosts.Lookup(replica.Host)
	if err != nil {
		return "", err
	}
	files, err := host.ResolveFiles(ctx, replica.Container.Image, replica.Container.Files)
	if err != nil {
		return "", err
	}
	if err := host.EnsureMounts(ctx, r.Service, replica.Container.Image, replica.Ordinal, replica.Container.Mounts); err != nil {
		return "", err
	}
	if err := r.stageSecrets(ctx, host, replica); err != nil {
		return "", err
	}
	id, err := host.CreateContainer(ctx, replica.Container)
	if err != nil {
		return "", err
	}
	return id, host.WriteFiles(ctx, id, files)
}

// Prepare implements reconcile.Runtime, before a stopped replica starts
// again. Host directories removed since it ran are created again, empty,
// the way Create creates them (the daemon would refuse to start it: bind
// source path does not exist; the plan says it starts on an empty
// directory). Its Docker volumes cannot have gone while its container
// exists. Helpers run the container's own image: the configured one may
// not be on the host yet. Secrets are staged anew, so a rebooted host
// (tmpfs wiped) gets them back.
func (r ServiceRuntime) Prepare(ctx context.Context, replica spec.Replica) error {
	host, err := r.Hosts.Lookup(replica.Host)
	if err != nil {
		return err
	}
	if dirs := hostDirMounts(replica.Container.Mounts); len(dirs) > 0 {
		image, err := host.containerImage(ctx, replica.Name)
		if err != nil {
			return err
		}
		if err := host.EnsureMounts(ctx, r.Service, image, replica.Ordinal, dirs); err != nil {
			return err
		}
	}
	return r.stageSecrets(ctx, host, replica)
}

func (r ServiceRuntime) stageSecrets(ctx context.Context, host *Host, replica spec.Replica) error {
	c := replica.Container
	return host.DeliverSecrets(ctx, c.Image, r.Service, replica.Name, c.Secrets, c.SecretDirs)
}

// Start implements reconcile.Runtime.
func (r ServiceRuntime) Start(ctx context.Context, hostName, id string) error {
	host, err := r.Hosts.Lookup(hostName)
	if err != nil {
		return err
	}
	return r.redact(host.StartContainer(ctx, id))
}

// UpdateSettings implements reconcile.Runtime.
func (r ServiceRuntime) UpdateSettings(ctx context.Context, replica spec.Replica, hostName, id string) error {
	host, err := r.Hosts.Lookup(hostName)
	if err != nil {
		return err
	}
	return host.UpdateContainer(ctx, id, replica.Container)
}

// WaitReady implements reconcile.Runtime.
func (r ServiceRuntime) WaitReady(ctx context.Context, hostName, id string) error {
	host, err := r.Hosts.Lookup(hostName)
	if err != nil {
		return err
	}
	return r.redact(host.WaitReady(ctx, id, r.MinReady))
}

func (r ServiceRuntime) redact(err error) error {
	for _, c := range r.Credentials {
		if err == nil {
			return nil
		}
		err = redact(err, c)
	}
	return err
}

// Remove implements reconcile.Runtime; the replica's staged secrets go
// with its container.
func (r ServiceRuntime) Remove(ctx context.Context, hostName, replica, id string) error {
	host, err := r.Hosts.Lookup(hostName)
	if err != nil {
		return err
	}
	if err := host.RemoveContainer(ctx, id, r.Grace); err != nil {
		return err
	}
	if !r.Secrets {
		return nil
	}
	return host.WipeSecrets(ctx, r.Image, r.Service, replica)
}

// RemoveVolume implements reconcile.Runtime.
func (r ServiceRuntime) RemoveVolume(ctx context.Context, hostName, name string) error {
	host, err := r.Hosts.Lookup(hostName)
	if err != nil {
		return err
	}
	return host.RemoveVolume(ctx, name)
}

// DeleteData implements reconcile.Runtime.
func (r ServiceRuntime) DeleteData(ctx context.Context, hostName string, m spec.Mount) error {
	host, err := r.Hosts.Lookup(hostName)
	if err != nil {
		return err
	}
	if m.Named() {
		return host.RemoveVolume(ctx, m.Source)
	}
	return host.EmptyHostDir(ctx, r.Image, m)
}

// Stop implements reconcile.Runtime.
func (r ServiceRuntime) Stop(ctx context.Context, hostName, id string) error {
	host, err := r.Hosts.Lookup(hostName)
	if err != nil {
		return err
	}
	return host.StopContainer(ctx, id, r.Grace)
}

// Exec implements reconcile.Runtime.
func (r ServiceRuntime) Exec(ctx context.Context, hostName, id string, command []string, timeout time.Duration) error {
	host, err := r.Hosts.Lookup(hostName)
	if err != nil {
		return err
	}
	return host.Exec(ctx, id, command, timeout)
}

// Peer implements reconcile.Runtime, from one list of the service's
// containers on each of PeerHosts. Should a host not answer, a running
// replica on the others still serves; only when none is found does its
// failure fail the hook.
func (r ServiceRuntime) Peer(ctx context.Context, ordinal int) (reconcile.Target, error) {
	hosts := r.PeerHosts
	if hosts == nil {
		hosts = r.Hosts.list
	}
	observed, err := ListReplicasOn(ctx, hosts, r.Service)
	if peer, found := lowestRunning(observed, ordinal); found {
		return peer, nil
	}
	if err != nil {
		return reconcile.Target{}, err
	}
	return reconcile.Target{}, fmt.Errorf("no other replica of %s runs to run the hook in", r.Service)
}

// lowestRunning is the running replica of the lowest ordinal other than
// ordinal, of replicas sorted by ordinal.
func lowestRunning(observed []reconcile.Observed, ordinal int) (reconcile.Target, bool) {
	for _, o := range observed {
		if o.Ordinal != ordinal && o.State == container.StateRunning {
			return reconcile.Target{Host: o.Host, ID: o.ID, Name: o.Name}, true
		}
	}
	return reconcile.Target{}, false
}

// Backup implements reconcile.Runtime. The helper runs the image of the
// replica's container while it exists (it is stopped, and its data at
// rest, before a removal), else the service's image.
func (r ServiceRuntime) Backup(ctx context.Context, hostName, replica string, m spec.Mount) error {
	if r.BackupTo == nil {
		return fmt.Errorf("service %s sets no backup destination", r.Service)
	}
	host, err := r.Hosts.Lookup(hostName)
	if err != nil {
		return err
	}
	image, err := r.backupImage(ctx, host, replica)
	if err != nil {
		return err
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	_, err = host.BackupMount(ctx, image, r.Service, replica, m, *r.BackupTo, now())
	return err
}

func (r ServiceRuntime) backupImage(ctx context.Context, host *Host, replica string) (string, error) {
	if replica == "" {
		return r.Image, nil
	}
	image, err := host.containerImage(ctx, replica)
	if cerrdefs.IsNotFound(err) {
		return r.Image, nil
	}
	return image, err
}
