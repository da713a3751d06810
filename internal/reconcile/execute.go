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
	Start(ctx context.Context, id string) error
	// WaitReady returns when the container runs (and is healthy, when it has
	// a health check), or fails with what went wrong.
	WaitReady(ctx context.Context, id string) error
	// Remove stops the container within its grace period and removes it,
	// keeping its volumes.
	Remove(ctx context.Context, id string) error
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
		return rt.Remove(ctx, a.ContainerID)
	case Start:
		if err := rt.Start(ctx, a.ContainerID); err != nil {
			return err
		}
		return rt.WaitReady(ctx, a.ContainerID)
	case Replace:
		if err := rt.Remove(ctx, a.ContainerID); err != nil {
			return err
		}
		return launch(ctx, rt, r)
	case Create:
		return launch(ctx, rt, r)
	}
	return fmt.Errorf("unknown action kind %q", a.Kind)
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
