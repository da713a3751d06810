package docker

import (
	"context"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// EnsureNetwork creates the service's bridge network, or adopts it when it
// already carries the service's label. A same-named network that someone
// else owns is an error, never silently shared.
func (h *Host) EnsureNetwork(ctx context.Context, service string) error {
	cli, err := h.client(ctx)
	if err != nil {
		return err
	}
	name := spec.NetworkName(service)
	existing, err := cli.NetworkInspect(ctx, name, network.InspectOptions{})
	switch {
	case err == nil && existing.Labels[spec.LabelService] == service:
		return nil
	case err == nil:
		return h.errorf("network %q exists but is not owned by service %q (label %s=%q): remove or rename it, or choose another service name",
			name, service, spec.LabelService, existing.Labels[spec.LabelService])
	case !cerrdefs.IsNotFound(err):
		return h.errorf("inspect network %q: %w", name, err)
	}
	_, err = cli.NetworkCreate(ctx, name, network.CreateOptions{
		Driver: "bridge",
		Labels: map[string]string{spec.LabelService: service},
	})
	if err != nil {
		return h.errorf("create network %q: %w", name, err)
	}
	return nil
}

// RemoveNetwork removes the service's network if the service owns it.
func (h *Host) RemoveNetwork(ctx context.Context, service string) error {
	cli, err := h.client(ctx)
	if err != nil {
		return err
	}
	name := spec.NetworkName(service)
	existing, err := cli.NetworkInspect(ctx, name, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) || (err == nil && existing.Labels[spec.LabelService] != service) {
		return nil
	}
	if err != nil {
		return h.errorf("inspect network %q: %w", name, err)
	}
	// The daemon releases a removed container's endpoint shortly after the
	// removal returns: retry briefly. A network that still reports active
	// endpoints with no container attached for staleAfter is stale: waiting
	// longer would not help.
	var emptySince time.Time
	for deadline := time.Now().Add(networkReleaseWait); ; time.Sleep(100 * time.Millisecond) {
		err = cli.NetworkRemove(ctx, existing.ID)
		if err == nil || cerrdefs.IsNotFound(err) {
			return nil
		}
		if !strings.Contains(err.Error(), "active endpoints") || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		current, ierr := cli.NetworkInspect(ctx, existing.ID, network.InspectOptions{})
		switch {
		case ierr != nil || len(current.Containers) > 0:
			emptySince = time.Time{}
		case emptySince.IsZero():
			emptySince = time.Now()
		case time.Since(emptySince) > staleAfter:
			return &StaleNetworkError{Host: h.Name(), Network: name}
		}
	}
	if current, ierr := cli.NetworkInspect(ctx, existing.ID, network.InspectOptions{}); ierr == nil && len(current.Containers) == 0 {
		return &StaleNetworkError{Host: h.Name(), Network: name}
	}
	return h.errorf("remove network %q (are containers outside the service still attached?): %w", name, err)
}

// StaleNetworkError reports a network the daemon refuses to remove though
// no container is attached: Docker 20.10 can leave a stale endpoint count
// after many containers leave a network at once. The daemon clears it when
// it restarts; until then the network stays, labeled, and a later create
// adopts it.
type StaleNetworkError struct{ Host, Network string }

func (e *StaleNetworkError) Error() string {
	return fmt.Sprintf("docker host %q: network %q has no containers attached but the daemon reports active endpoints "+
		"(a known Docker bug after many containers leave a network at once); it was left in place and is cleared when the daemon restarts",
		e.Host, e.Network)
}

// networkReleaseWait bounds how long removal waits for endpoints to go;
// staleAfter is how long a network without containers may keep reporting
// active endpoints before it is taken for stale.
const (
	networkReleaseWait = 10 * time.Second
	staleAfter         = time.Second
)

// NetworkExists reports whether the service's network is on the host.
func (h *Host) NetworkExists(ctx context.Context, service string) (bool, error) {
	id, err := h.NetworkID(ctx, service)
	return id != "", err
}

// NetworkID returns the ID of the service's network on the host, or ""
// when there is none.
func (h *Host) NetworkID(ctx context.Context, service string) (string, error) {
	cli, err := h.client(ctx)
	if err != nil {
		return "", err
	}
	existing, err := cli.NetworkInspect(ctx, spec.NetworkName(service), network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", h.errorf("inspect network %q: %w", spec.NetworkName(service), err)
	}
	return existing.ID, nil
}
