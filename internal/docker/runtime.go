package docker

import (
	"context"
	"time"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// ServiceRuntime runs reconcile actions for one service on one host.
type ServiceRuntime struct {
	Host    *Host
	Service string
	// Image runs the never-started helper containers that create and empty
	// host directories: the service's own image, already on the host.
	Image string
	Grace time.Duration
}

var _ reconcile.Runtime = ServiceRuntime{}

// Create implements reconcile.Runtime: the replica's data first, then its
// container.
func (r ServiceRuntime) Create(ctx context.Context, replica spec.Replica) (string, error) {
	if err := r.Host.EnsureMounts(ctx, r.Service, replica.Container.Image, replica.Ordinal, replica.Container.Mounts); err != nil {
		return "", err
	}
	return r.Host.CreateContainer(ctx, replica.Container)
}

// Start implements reconcile.Runtime.
func (r ServiceRuntime) Start(ctx context.Context, id string) error {
	return r.Host.StartContainer(ctx, id)
}

// WaitReady implements reconcile.Runtime.
func (r ServiceRuntime) WaitReady(ctx context.Context, id string) error {
	return r.Host.WaitReady(ctx, id)
}

// Remove implements reconcile.Runtime.
func (r ServiceRuntime) Remove(ctx context.Context, id string) error {
	return r.Host.RemoveContainer(ctx, id, r.Grace)
}

// RemoveVolume implements reconcile.Runtime.
func (r ServiceRuntime) RemoveVolume(ctx context.Context, name string) error {
	return r.Host.RemoveVolume(ctx, name)
}

// DeleteData implements reconcile.Runtime.
func (r ServiceRuntime) DeleteData(ctx context.Context, m spec.Mount) error {
	if m.Named() {
		return r.Host.RemoveVolume(ctx, m.Source)
	}
	return r.Host.EmptyHostDir(ctx, r.Image, m)
}
