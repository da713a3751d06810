package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// Runtime is what the executor needs from a Docker host.
type Runtime interface {
	// Create creates the replica's container without starting it.
	Create(ctx context.Context, r spec.Replica) (id string, err error)
	// Prepare gives an existing container of the replica what it needs
	// before it starts again (secrets staged on the host).
	Prepare(ctx context.Context, r spec.Replica) error
	Start(ctx context.Context, id string) error
	// WaitReady returns when the container runs (and is healthy, when it has
	// a health check), or fails with what went wrong.
	WaitReady(ctx context.Context, id string) error
	// Remove stops the replica's container within its grace period and
	// removes it, keeping its volumes.
	Remove(ctx context.Context, replica, id string) error
	// RemoveVolume removes a Docker volume of the service; a missing one is
	// not an error.
	RemoveVolume(ctx context.Context, name string) error
	// DeleteData deletes the data of one mount: the Docker volume, or the
	// contents of the host directory.
	DeleteData(ctx context.Context, m spec.Mount) error
}

// Execute runs actions in order and stops at the first failure, so an
// interrupted rollout leaves every later replica untouched; a new Plan over
// what is then observed resumes it.
func Execute(ctx context.Context, rt Runtime, desired []spec.Replica, actions []Action) error {
	byOrdinal := make(map[int]spec.Replica, len(desired))
	for _, r := range desired {
		byOrdinal[r.Ordinal] = r
	}
	for _, a := range actions {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: not started: %w", a, err)
		}
		if err := run(ctx, rt, byOrdinal[a.Ordinal], a); err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
	}
	return nil
}

func run(ctx context.Context, rt Runtime, r spec.Replica, a Action) error {
	switch a.Kind {
	case Remove:
		if err := rt.Remove(ctx, a.Name, a.ContainerID); err != nil {
			return err
		}
		for _, m := range a.DeleteData {
			if err := rt.DeleteData(ctx, m); err != nil {
				return err
			}
		}
		return nil
	case Start:
		if err := rt.Prepare(ctx, r); err != nil {
			return err
		}
		if err := rt.Start(ctx, a.ContainerID); err != nil {
			return err
		}
		return rt.WaitReady(ctx, a.ContainerID)
	case Replace:
		if err := rt.Remove(ctx, a.Name, a.ContainerID); err != nil {
			return err
		}
		return recreate(ctx, rt, r, a.RecreateVolumes)
	case Create:
		return recreate(ctx, rt, r, a.RecreateVolumes)
	}
	return fmt.Errorf("unknown action kind %q", a.Kind)
}

// recreate removes volumes whose definition changed, then launches the
// replica, which creates them anew.
func recreate(ctx context.Context, rt Runtime, r spec.Replica, volumes []string) error {
	for _, v := range volumes {
		if err := rt.RemoveVolume(ctx, v); err != nil {
			return err
		}
	}
	return launch(ctx, rt, r)
}

func launch(ctx context.Context, rt Runtime, r spec.Replica) error {
	id, err := rt.Create(ctx, r)
	if err != nil {
		return err
	}
	if err := rt.Start(ctx, id); err != nil {
		return err
	}
	return rt.WaitReady(ctx, id)
}

// ExecuteParallel runs independent actions with at most limit at a time and
// reports every failure, not just the first.
func ExecuteParallel(ctx context.Context, rt Runtime, desired []spec.Replica, actions []Action, limit int) error {
	byOrdinal := make(map[int]spec.Replica, len(desired))
	for _, r := range desired {
		byOrdinal[r.Ordinal] = r
	}
	errs := make([]error, len(actions))
	slots := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i, a := range actions {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := run(ctx, rt, byOrdinal[a.Ordinal], a); err != nil {
				errs[i] = fmt.Errorf("%s: %w", a, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
