package docker

import (
	"context"
	"time"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// ServiceRuntime runs reconcile actions for one service on one host.
type ServiceRuntime struct {
	Host  *Host
	Grace time.Duration
}

var _ reconcile.Runtime = ServiceRuntime{}

// Create implements reconcile.Runtime.
func (r ServiceRuntime) Create(ctx context.Context, replica spec.Replica) (string, error) {
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
