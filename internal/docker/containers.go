package docker

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"

	"github.com/statefulhq/terraform-provider-stateful/internal/parallel"
	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// readyPollInterval is how often readiness is checked: short, so ordered
// rollouts add little beyond the replicas' own start time.
const readyPollInterval = 50 * time.Millisecond

// logTailLines is how much of a failed replica's log an error carries.
const logTailLines = "20"

// ListReplicas returns every container owned by the service on this host,
// sorted by ordinal, in one list call (restart policies are not read: see
// ReadRestartPolicies).
func (h *Host) ListReplicas(ctx context.Context, service string) ([]reconcile.Observed, error) {
	cli, err := h.client(ctx)
	if err != nil {
		return nil, err
	}
	list, err := cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", spec.LabelService+"="+service)),
	})
	if err != nil {
		return nil, h.errorf("list containers of service %q: %w", service, err)
	}
	out := make([]reconcile.Observed, 0, len(list))
	for _, c := range list {
		ordinal, err := strconv.Atoi(c.Labels[spec.LabelOrdinal])
		if err != nil {
			continue // not one of ours in shape: never touch it
		}
		out = append(out, reconcile.Observed{
			ID:          c.ID,
			Name:        containerName(c.Names),
			Host:        h.Name(),
			Ordinal:     ordinal,
			Fingerprint: c.Labels[spec.LabelFingerprint],
			State:       c.State,
			Health:      healthFromStatus(c.Status),
			Address:     address(c.NetworkSettings, spec.NetworkName(service)),
			Spec:        c.Labels[spec.LabelSpec],
			Published:   published(c.Ports),
			Network:     networkID(c.NetworkSettings, spec.NetworkName(service)),
			Owner:       c.Labels[spec.LabelOwner],
			ImageID:     c.ImageID,
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Ordinal != out[j].Ordinal {
			return out[i].Ordinal < out[j].Ordinal
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// CreateContainer creates (but does not start) a replica's container.
func (h *Host) CreateContainer(ctx context.Context, c spec.Container) (string, error) {
	cli, err := h.client(ctx)
	if err != nil {
		return "", err
	}
	config, hostConfig, netConfig := containerConfig(c, cli.ClientVersion())
	resp, err := cli.ContainerCreate(ctx, config, hostConfig, netConfig, nil, c.Name)
	if err != nil {
		return "", h.errorf("create container %s: %w", c.Name, err)
	}
	// API versions before 1.44 create with one network: the extra ones
	// are connected before the container starts.
	for _, n := range c.ExtraNetworks {
		err := cli.NetworkConnect(ctx, n.Name, resp.ID, &network.EndpointSettings{Aliases: n.Aliases})
		if err != nil {
			_ = cli.ContainerRemove(ctx, resp.ID, container.RemoveOptions{Force: true})
			return "", h.errorf("connect container %s to network %q (extra_network; it must exist on every host the service runs on): %w", c.Name, n.Name, err)
		}
	}
	return resp.ID, nil
}

func containerConfig(c spec.Container, apiVersion string) (*container.Config, *container.HostConfig, *network.NetworkingConfig) {
	stopTimeout := int((c.StopTimeout + time.Second - 1) / time.Second)
	config := &container.Config{
		Hostname:     c.Hostname,
		Image:        c.Image,
		Cmd:          c.Command,
		Entrypoint:   c.Entrypoint,
		Env:          c.Env,
		Labels:       c.Labels,
		User:         c.User,
		StopSignal:   c.StopSignal,
		StopTimeout:  &stopTimeout,
		ExposedPorts: nat.PortSet{},
	}
	hostConfig := &container.HostConfig{
		NetworkMode:   container.NetworkMode(c.Network),
		RestartPolicy: restartPolicy(c.Restart),
		PortBindings:  nat.PortMap{},
		Mounts:        mounts(c.Mounts, c.SecretDirs),
	}
	applySettings(config, hostConfig, c.ContainerSettings)
	for _, p := range c.Ports {
		port := nat.Port(fmt.Sprintf("%d/%s", p.Internal, p.Protocol))
		config.ExposedPorts[port] = struct{}{}
		binding := nat.PortBinding{HostIP: p.HostIP}
		if p.External > 0 {
			binding.HostPort = strconv.Itoa(p.External)
		}
		hostConfig.PortBindings[port] = append(hostConfig.PortBindings[port], binding)
	}
	if c.Health != nil {
		config.Healthcheck = &container.HealthConfig{
			Test:        c.Health.Test,
			Interval:    c.Health.Interval,
			Timeout:     c.Health.Timeout,
			StartPeriod: c.Health.StartPeriod,
			Retries:     c.Health.Retries,
		}
	}
	endpoint := &network.EndpointSettings{Aliases: c.Aliases}
	if c.MAC != "" {
		// The MAC moved from the container to the endpoint in API 1.44.
		if versions.LessThan(apiVersion, "1.44") {
			config.MacAddress = c.MAC //nolint:staticcheck // the only way on API < 1.44
		} else {
			endpoint.MacAddress = c.MAC
		}
	}
	netConfig := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{c.Network: endpoint}}
	return config, hostConfig, netConfig
}

func mounts(ms []spec.Mount, secrets []spec.SecretDir) []mount.Mount {
	out := make([]mount.Mount, 0, len(ms)+len(secrets))
	for _, m := range ms {
		t := mount.TypeVolume
		if !m.Named() {
			t = mount.TypeBind
		}
		out = append(out, mount.Mount{Type: t, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	for _, s := range secrets {
		out = append(out, mount.Mount{Type: mount.TypeBind, Source: s.Source, Target: s.Target, ReadOnly: true})
	}
	return out
}

// UpdateContainer puts back the settings Docker changes in place (docker
// update): the restart policy.
func (h *Host) UpdateContainer(ctx context.Context, id string, c spec.Container) error {
	cli, err := h.client(ctx)
	if err != nil {
		return err
	}
	_, err = cli.ContainerUpdate(ctx, id, container.UpdateConfig{RestartPolicy: restartPolicy(c.Restart)})
	if err != nil {
		return h.errorf("update container %s: %w", shortID(id), err)
	}
	return nil
}

func restartPolicy(p spec.RestartPolicy) container.RestartPolicy {
	return container.RestartPolicy{Name: container.RestartPolicyMode(p.Name), MaximumRetryCount: p.MaxRetries}
}

// StartContainer starts a created or stopped container.
func (h *Host) StartContainer(ctx context.Context, id string) error {
	cli, err := h.client(ctx)
	if err != nil {
		return err
	}
	if err := cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return h.errorf("start container %s: %w", shortID(id), err)
	}
	return nil
}

// StopContainer stops a container within grace (then kills it), keeping
// it. A container that is already stopped or gone is not an error.
func (h *Host) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	cli, err := h.client(ctx)
	if err != nil {
		return err
	}
	seconds := int((grace + time.Second - 1) / time.Second)
	if err := cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &seconds}); err != nil && !cerrdefs.IsNotFound(err) {
		return h.errorf("stop container %s: %w", shortID(id), err)
	}
	return nil
}

// RemoveContainer stops a container within grace and removes it. Its
// volumes are kept: data is never deleted implicitly. A container that is
// already gone is not an error.
func (h *Host) RemoveContainer(ctx context.Context, id string, grace time.Duration) error {
	if err := h.StopContainer(ctx, id, grace); err != nil {
		return err
	}
	cli, err := h.client(ctx)
	if err != nil {
		return err
	}
	if err := cli.ContainerRemove(ctx, id, container.RemoveOptions{RemoveVolumes: false, Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return h.errorf("remove container %s: %w", shortID(id), err)
	}
	return nil
}

// inspectContainer returns the daemon's full view of a container.
func (h *Host) inspectContainer(ctx context.Context, id string) (container.InspectResponse, error) {
	cli, err := h.client(ctx)
	if err != nil {
		return container.InspectResponse{}, err
	}
	info, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		return container.InspectResponse{}, h.errorf("inspect container %s: %w", shortID(id), err)
	}
	return info, nil
}

// WaitReady polls until the container is ready: healthy when it has a
// health check, else running for minReady without restarting. A container
// that exits, restarts or turns unhealthy fails at once, with the tail of
// its log in the error.
func (h *Host) WaitReady(ctx context.Context, id string, minReady time.Duration) error {
	ticker := time.NewTicker(readyPollInterval)
	defer ticker.Stop()
	for {
		info, err := h.inspectContainer(ctx, id)
		if err != nil {
			return err
		}
		ready, failure := readiness(info, minReady, time.Now())
		if ready {
			return nil
		}
		if failure != "" {
			return h.errorf("container %s %s%s", strings.TrimPrefix(info.Name, "/"), failure, h.logTail(ctx, id))
		}
		select {
		case <-ctx.Done():
			return h.errorf("container %s not ready before the timeout (state %s%s)%s",
				strings.TrimPrefix(info.Name, "/"), info.State.Status, healthSuffix(info.State), h.logTail(context.WithoutCancel(ctx), id))
		case <-ticker.C:
		}
	}
}

// readiness decides from one inspect whether a container is ready, or has
// failed and why.
func readiness(info container.InspectResponse, minReady time.Duration, now time.Time) (ready bool, failure string) {
	s := info.State
	switch {
	case s == nil:
		return false, ""
	case s.Restarting || info.RestartCount > 0:
		return false, fmt.Sprintf("crashed and is restarting (exit code %d, %d restarts)", s.ExitCode, info.RestartCount)
	case !s.Running:
		if s.Status == container.StateCreated {
			return false, ""
		}
		return false, fmt.Sprintf("exited with code %d", s.ExitCode)
	case s.Health == nil:
		started, err := time.Parse(time.RFC3339Nano, s.StartedAt)
		return err != nil || now.Sub(started) >= minReady, ""
	case s.Health.Status == container.Healthy:
		return true, ""
	case s.Health.Status == container.Unhealthy:
		return false, "is unhealthy" + lastProbe(s.Health)
	}
	return false, ""
}

func lastProbe(health *container.Health) string {
	if len(health.Log) == 0 {
		return ""
	}
	last := health.Log[len(health.Log)-1]
	return fmt.Sprintf(" (last check exit %d: %s)", last.ExitCode, strings.TrimSpace(last.Output))
}

func healthSuffix(s *container.State) string {
	if s == nil || s.Health == nil {
		return ""
	}
	return ", health " + s.Health.Status
}

// logTail returns the last log lines of a container, formatted for an error.
// A container the daemon is restarting can refuse its log for a moment, so
// reading is tried a few times before the error says the log is unreadable.
func (h *Host) logTail(ctx context.Context, id string) string {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			time.Sleep(300 * time.Millisecond)
		}
		var text string
		switch text, err = h.readLogTail(ctx, id); {
		case err != nil:
			continue
		case text == "":
			return "; its log is empty"
		default:
			return "; last log lines:\n" + text
		}
	}
	return "; its log could not be read: " + err.Error()
}

func (h *Host) readLogTail(ctx context.Context, id string) (string, error) {
	cli, err := h.client(ctx)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rc, err := cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: logTailLines})
	if err != nil {
		return "", err
	}
	defer func() { _ = rc.Close() }()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil && out.Len() == 0 {
		return "", err
	}
	return strings.TrimSpace(out.String()), nil
}

// published lists the published ports of a listed container; the daemon
// lists them only while it runs.
func published(ports []container.Port) []reconcile.PublishedPort {
	out := make([]reconcile.PublishedPort, 0, len(ports))
	for _, p := range ports {
		if p.PublicPort == 0 {
			continue
		}
		out = append(out, reconcile.PublishedPort{Internal: int(p.PrivatePort), Protocol: p.Type, HostIP: p.IP, HostPort: int(p.PublicPort)})
	}
	return out
}

func containerName(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return strings.TrimPrefix(names[0], "/")
}

// healthFromStatus reads the health out of the list status text ("Up 3
// seconds (healthy)"), since API 1.41 lists no health field.
func healthFromStatus(status string) string {
	switch {
	case strings.HasSuffix(status, "(healthy)"):
		return container.Healthy
	case strings.HasSuffix(status, "(unhealthy)"):
		return container.Unhealthy
	case strings.HasSuffix(status, "(health: starting)"):
		return container.Starting
	}
	return ""
}

// ReadRestartPolicies fills in each observed container's restart policy,
// which only an inspect tells: docker update changes it behind the plan's
// back. One call per container, so only what plans (refresh, the rollout's
// own plan) asks for it; lists for other uses stay one call per host.
func ReadRestartPolicies(ctx context.Context, hosts *Hosts, observed []reconcile.Observed) error {
	return parallel.Run(len(observed), inspectParallel, func(i int) error {
		h, err := hosts.Lookup(observed[i].Host)
		if err != nil {
			return err
		}
		info, err := h.inspectContainer(ctx, observed[i].ID)
		switch {
		case cerrdefs.IsNotFound(err):
			return nil // removed since the list: the next plan sees it gone
		case err != nil:
			return err
		case info.HostConfig != nil:
			p := info.HostConfig.RestartPolicy
			observed[i].Restart = &spec.RestartPolicy{Name: string(p.Name), MaxRetries: p.MaximumRetryCount}
		}
		return nil
	})
}

// inspectParallel bounds the inspects of one list.
const inspectParallel = 8

func networkID(settings *container.NetworkSettingsSummary, networkName string) string {
	if settings == nil {
		return ""
	}
	if ep, ok := settings.Networks[networkName]; ok && ep != nil {
		return ep.NetworkID
	}
	return ""
}

func address(settings *container.NetworkSettingsSummary, networkName string) string {
	if settings == nil {
		return ""
	}
	if ep, ok := settings.Networks[networkName]; ok && ep != nil {
		return ep.IPAddress
	}
	return ""
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
