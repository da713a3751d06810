package resources

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// tellMissingHostDirs says, in the reason of each start action, which host
// directories of the stopped replica were removed outside Terraform: apply
// creates them again before it starts the replica, so it starts on empty
// directories. Only start actions are checked (only stopped replicas, so
// cheap): a launched replica's directories are created or re-adopted as
// always, and a running one keeps what it mounts.
func tellMissingHostDirs(ctx context.Context, hosts *docker.Hosts, desired []spec.Replica, actions []reconcile.Action) error {
	replicas := make(map[int]spec.Replica, len(desired))
	for _, r := range desired {
		replicas[r.Ordinal] = r
	}
	for i, a := range actions {
		r, ok := replicas[a.Ordinal]
		if a.Kind != reconcile.Start || !ok || !slices.ContainsFunc(r.Container.Mounts, isHostDir) {
			continue
		}
		host, err := hosts.Lookup(a.Host)
		if err != nil {
			return err
		}
		missing, err := host.MissingHostDirs(ctx, a.ContainerID, r.Container.Mounts)
		if err != nil {
			return fmt.Errorf("%s: %w", a.Name, err)
		}
		actions[i].Reason = withReason(a.Reason, missingDirsReason(missing))
	}
	return nil
}

// missingDirsReason explains what missing host directories mean for a
// replica that starts again.
func missingDirsReason(missing []string) string {
	switch len(missing) {
	case 0:
		return ""
	case 1:
		return "host directory " + missing[0] + " is missing: starts on an empty directory"
	}
	return "host directories " + strings.Join(missing, ", ") + " are missing: starts on empty directories"
}

func withReason(reason, more string) string {
	switch {
	case more == "":
		return reason
	case reason == "":
		return more
	}
	return reason + "; " + more
}

func isHostDir(m spec.Mount) bool { return !m.Named() }
