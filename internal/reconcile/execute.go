package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/statefulhq/terraform-provider-stateful/internal/parallel"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// Runtime is what the executor needs from a Docker host.
type Runtime interface {
	// Create creates the replica's container on the replica's host without
	// starting it.
	Create(ctx context.Context, r spec.Replica) (id string, err error)
	// Prepare gives an existing container of the replica what it needs
	// before it starts again (secrets staged on the host).
	Prepare(ctx context.Context, r spec.Replica) error
	Start(ctx context.Context, host, id string) error
	// UpdateSettings puts back, in place, the settings of the replica's
	// running container that Docker can change without a restart.
	UpdateSettings(ctx context.Context, r spec.Replica, host, id string) error
	// WaitReady returns when the container runs (and is healthy, when it has
	// a health check), or fails with what went wrong.
	WaitReady(ctx context.Context, host, id string) error
	// Remove stops the replica's container within its grace period and
	// removes it, keeping its volumes.
	Remove(ctx context.Context, host, replica, id string) error
	// RemoveVolume removes a Docker volume of the service; a missing one is
	// not an error.
	RemoveVolume(ctx context.Context, host, name string) error
	// DeleteData deletes the data of one mount on a host: the Docker
	// volume, or the contents of the host directory.
	DeleteData(ctx context.Context, host string, m spec.Mount) error
}

// revertTimeout bounds putting one replica back on its previous spec.
const revertTimeout = 5 * time.Minute

// MaxParallel bounds the Docker operations one batch runs at once: enough
// to keep a daemon busy, few enough not to swamp it.
const MaxParallel = 16

// ExecOptions are the executor's policies.
type ExecOptions struct {
	// Revert puts a replica whose replacement failed back on its previous
	// spec (Action.Previous) before reporting the failure.
	Revert bool
	// Independent runs the actions as independent of each other, as destroy
	// runs its removals: all of them, MaxParallel at a time, batches
	// ignored; a failure stops nothing, and every failure is reported.
	Independent bool
	// OnDone, when set, is called once for every action that ran, as it
	// completes: with how long it took (a failed replacement's revert
	// included) and its failure, nil on success. Actions not started
	// (held back, or after a failed batch or a cancellation) are not
	// reported. Calls never overlap, so OnDone needs no locking of its own.
	OnDone func(a Action, took time.Duration, err error)
}

// Execute runs actions batch by batch, the actions of a batch at once, and
// stops after the first batch with a failure, so an interrupted rollout
// leaves every later replica untouched; a new Plan over what is then
// observed resumes it. Held-back actions are not run. With
// opts.Independent it runs all the given actions at once instead (see
// ExecOptions). Each failure is reported prefixed by its action.
func Execute(ctx context.Context, rt Runtime, desired []spec.Replica, actions []Action, opts ExecOptions) error {
	replicas := byOrdinal(desired)
	var reporting sync.Mutex
	runAll := func(actions []Action) error {
		return parallel.Run(len(actions), MaxParallel, func(i int) error {
			a := actions[i]
			began := time.Now()
			err := runOrRevert(ctx, rt, replicas[a.Ordinal], a, opts)
			if opts.OnDone != nil {
				reporting.Lock()
				opts.OnDone(a, time.Since(began), err)
				reporting.Unlock()
			}
			if err != nil {
				return fmt.Errorf("%s: %w", a, err)
			}
			return nil
		})
	}
	if opts.Independent {
		return runAll(actions)
	}
	for _, batch := range batches(actions) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: not started: %w", batch[0], err)
		}
		if err := runAll(batch); err != nil {
			return err
		}
	}
	return nil
}

// batches groups consecutive actions of one batch number; batch zero
// actions stand alone. Held-back actions are left out.
func batches(actions []Action) [][]Action {
	var out [][]Action
	for _, a := range actions {
		if a.Kind == Hold {
			continue
		}
		if n := len(out); n > 0 && a.Batch != 0 && out[n-1][0].Batch == a.Batch {
			out[n-1] = append(out[n-1], a)
			continue
		}
		out = append(out, []Action{a})
	}
	return out
}

// runOrRevert runs one action; a failed replacement is reverted to the
// previous spec when asked, and the failure is still reported (not yet
// prefixed by its action).
func runOrRevert(ctx context.Context, rt Runtime, r spec.Replica, a Action, o ExecOptions) error {
	err := run(ctx, rt, r, a)
	if err == nil {
		return nil
	}
	if !o.Revert || a.Kind != Replace || a.Previous == nil {
		return err
	}
	var failed *launchError
	if !errors.As(err, &failed) {
		return err // the old replica was never removed: nothing to revert
	}
	// The revert runs even when the rollout's deadline passed, within a
	// bound of its own.
	revertCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revertTimeout)
	defer cancel()
	if rerr := revert(revertCtx, rt, *a.Previous, r.Host, failed.id); rerr != nil {
		return fmt.Errorf("%w; reverting to the previous spec failed too: %w", err, rerr)
	}
	return fmt.Errorf("%w; %s was reverted to its previous spec", err, a.Name)
}

func revert(ctx context.Context, rt Runtime, previous spec.Replica, failedOn, failedID string) error {
	if failedID != "" {
		if err := rt.Remove(ctx, failedOn, previous.Name, failedID); err != nil {
			return err
		}
	}
	return launch(ctx, rt, previous)
}

// launchError is a failure after the new container may exist.
type launchError struct {
	id  string
	err error
}

func (e *launchError) Error() string { return e.err.Error() }
func (e *launchError) Unwrap() error { return e.err }

func run(ctx context.Context, rt Runtime, r spec.Replica, a Action) error {
	switch a.Kind {
	case Remove:
		if err := rt.Remove(ctx, a.Host, a.Name, a.ContainerID); err != nil {
			return err
		}
		for _, m := range a.DeleteData {
			if err := rt.DeleteData(ctx, a.Host, m); err != nil {
				return err
			}
		}
		return nil
	case Start:
		if err := rt.Prepare(ctx, r); err != nil {
			return err
		}
		if err := rt.Start(ctx, a.Host, a.ContainerID); err != nil {
			return err
		}
		return rt.WaitReady(ctx, a.Host, a.ContainerID)
	case Replace:
		if err := rt.Remove(ctx, a.Host, a.Name, a.ContainerID); err != nil {
			return err
		}
		// From here the old replica is gone: any failure may be reverted.
		if err := recreate(ctx, rt, r, a.RecreateVolumes); err != nil {
			var launched *launchError
			if errors.As(err, &launched) {
				return err
			}
			return &launchError{err: err}
		}
		return nil
	case Create:
		return recreate(ctx, rt, r, a.RecreateVolumes)
	case Update:
		return rt.UpdateSettings(ctx, r, a.Host, a.ContainerID)
	}
	return fmt.Errorf("unknown action kind %q", a.Kind)
}

// recreate removes volumes whose definition changed, then launches the
// replica, which creates them anew.
func recreate(ctx context.Context, rt Runtime, r spec.Replica, volumes []string) error {
	for _, v := range volumes {
		if err := rt.RemoveVolume(ctx, r.Host, v); err != nil {
			return err
		}
	}
	return launch(ctx, rt, r)
}

func launch(ctx context.Context, rt Runtime, r spec.Replica) error {
	id, err := rt.Create(ctx, r)
	if err != nil {
		return &launchError{err: err}
	}
	if err := rt.Start(ctx, r.Host, id); err != nil {
		return &launchError{id: id, err: err}
	}
	if err := rt.WaitReady(ctx, r.Host, id); err != nil {
		return &launchError{id: id, err: err}
	}
	return nil
}
