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
	// Stop stops a replica's container within its grace period, keeping
	// it, so that its data is at rest for a backup.
	Stop(ctx context.Context, host, id string) error
	// Backup archives the data of one mount of a replica ("" for a shared
	// volume) into the service's backup destination on the host.
	Backup(ctx context.Context, host, replica string, m spec.Mount) error
	// Exec runs a command in a running container and fails, with the
	// command's output, when it does not exit 0 within timeout.
	Exec(ctx context.Context, host, id string, command []string, timeout time.Duration) error
	// Peer finds the running replica of the lowest ordinal other than
	// ordinal, where hooks that run in a peer run.
	Peer(ctx context.Context, ordinal int) (Target, error)
}

// Target is a container a hook runs in.
type Target struct {
	Host string
	ID   string
	Name string
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
	_, err := launch(ctx, rt, previous)
	return err
}

// launchError is a failure after the new container may exist.
type launchError struct {
	id  string
	err error
}

func (e *launchError) Error() string { return e.err.Error() }
func (e *launchError) Unwrap() error { return e.err }

// run runs one action and its hooks: those before it first, a failure
// stopping the action before it touches the replica; after_ready once the
// replica it launched is ready.
func run(ctx context.Context, rt Runtime, r spec.Replica, a Action) error {
	self := Target{Host: a.Host, ID: a.ContainerID, Name: a.Name}
	if err := runHooks(ctx, rt, a, self, false); err != nil {
		return err
	}
	id, err := runAction(ctx, rt, r, a)
	if err != nil || a.Kind == Remove || a.Kind == Update {
		return err
	}
	if a.Kind != Start && a.Kind != Hook {
		self = Target{Host: r.Host, ID: id, Name: r.Name}
	}
	if err := runHooks(ctx, rt, a, self, true); err != nil {
		return &AfterReadyError{ContainerID: self.ID, err: err}
	}
	return nil
}

// AfterReadyError is a failed after_ready hook: the replica runs, ready,
// and the hook must run again in ContainerID.
type AfterReadyError struct {
	ContainerID string
	err         error
}

func (e *AfterReadyError) Error() string { return e.err.Error() }
func (e *AfterReadyError) Unwrap() error { return e.err }

// runAction runs the action itself and returns the ID of the container it
// launched, if any.
func runAction(ctx context.Context, rt Runtime, r spec.Replica, a Action) (string, error) {
	switch a.Kind {
	case Remove:
		return "", remove(ctx, rt, a)
	case Start:
		if err := rt.Prepare(ctx, r); err != nil {
			return "", err
		}
		if err := rt.Start(ctx, a.Host, a.ContainerID); err != nil {
			return "", err
		}
		return a.ContainerID, rt.WaitReady(ctx, a.Host, a.ContainerID)
	case Replace:
		if err := rt.Remove(ctx, a.Host, a.Name, a.ContainerID); err != nil {
			return "", err
		}
		// From here the old replica is gone: any failure may be reverted.
		id, err := recreate(ctx, rt, r, a)
		if err != nil {
			var launched *launchError
			if errors.As(err, &launched) {
				return "", err
			}
			return "", &launchError{err: err}
		}
		return id, nil
	case Create:
		return recreate(ctx, rt, r, a)
	case Update:
		return "", rt.UpdateSettings(ctx, r, a.Host, a.ContainerID)
	case Hook:
		return a.ContainerID, nil
	}
	return "", fmt.Errorf("unknown action kind %q", a.Kind)
}

// remove removes a replica and the data retention deletes. With a backup,
// the replica is stopped first and kept until its data is archived, so a
// failed backup leaves the stopped replica for the next apply to remove
// again, and deletes nothing.
func remove(ctx context.Context, rt Runtime, a Action) error {
	if a.BackupTo != "" && len(a.DeleteData) > 0 {
		if err := rt.Stop(ctx, a.Host, a.ContainerID); err != nil {
			return err
		}
		for _, m := range a.DeleteData {
			if err := rt.Backup(ctx, a.Host, a.Name, m); err != nil {
				return fmt.Errorf("backup of %s failed, nothing was deleted: %w", m.Source, err)
			}
		}
	}
	if err := rt.Remove(ctx, a.Host, a.Name, a.ContainerID); err != nil {
		return err
	}
	for _, m := range a.DeleteData {
		if err := rt.DeleteData(ctx, a.Host, m); err != nil {
			return err
		}
	}
	return nil
}

// recreate removes volumes whose definition changed, archived first when
// the action takes a backup, then launches the replica, which creates
// them anew.
func recreate(ctx context.Context, rt Runtime, r spec.Replica, a Action) (string, error) {
	for _, v := range a.RecreateVolumes {
		if a.BackupTo != "" {
			if err := rt.Backup(ctx, r.Host, backupReplica(r, v), volumeMount(r, v)); err != nil {
				return "", fmt.Errorf("backup of %s failed, it was not recreated: %w", v, err)
			}
		}
		if err := rt.RemoveVolume(ctx, r.Host, v); err != nil {
			return "", err
		}
	}
	return launch(ctx, rt, r)
}

// volumeMount is the replica's mount of a Docker volume, by its name.
func volumeMount(r spec.Replica, source string) spec.Mount {
	for _, m := range r.Container.Mounts {
		if m.Source == source {
			return m
		}
	}
	return spec.Mount{Source: source}
}

// backupReplica is the replica a volume's backup is named by: none for a
// volume all replicas share.
func backupReplica(r spec.Replica, source string) string {
	if volumeMount(r, source).Shared {
		return ""
	}
	return r.Name
}

func launch(ctx context.Context, rt Runtime, r spec.Replica) (string, error) {
	id, err := rt.Create(ctx, r)
	if err != nil {
		return "", &launchError{err: err}
	}
	if err := rt.Start(ctx, r.Host, id); err != nil {
		return "", &launchError{id: id, err: err}
	}
	if err := rt.WaitReady(ctx, r.Host, id); err != nil {
		return "", &launchError{id: id, err: err}
	}
	return id, nil
}

// runHooks runs the action's hooks before it (after false) or after it.
func runHooks(ctx context.Context, rt Runtime, a Action, self Target, after bool) error {
	for _, h := range a.Hooks {
		if (h.Point == spec.HookAfterReady) != after {
			continue
		}
		in := self
		if h.RunIn == spec.RunInPeer {
			peer, err := rt.Peer(ctx, a.Ordinal)
			if err != nil {
				return fmt.Errorf("%s hook: %w", h.Point, err)
			}
			in = peer
		}
		if err := rt.Exec(ctx, in.Host, in.ID, h.Command, h.Timeout); err != nil {
			return fmt.Errorf("%s hook in %s failed: %w", h.Point, in.Name, err)
		}
	}
	return nil
}
