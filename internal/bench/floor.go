package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/statefulhq/terraform-provider-stateful/internal/parallel"
)

const (
	// floorParallelism is how many operations the floor runs at once: the
	// parallelism the provider is specified with.
	floorParallelism = 16
	// floorGrace matches the provider config's stop_grace_period.
	floorGrace = 5
	// floorLabel marks everything the floor creates, for cleanup.
	floorLabel = "statefulhq-bench.floor"
)

// dockerEnv is the local daemon, for the floor and for cleanup.
type dockerEnv struct {
	cli     *client.Client
	version string
	// volumeList describes a slow unfiltered volume list, empty when fast:
	// the provider lists volumes, so its figures include that latency.
	volumeList string
}

// connectDocker fails early, with the fix, when the daemon or the image is
// missing, rather than in the middle of a run.
func connectDocker(ctx context.Context) (*dockerEnv, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("no Docker daemon answers at %s (start one, e.g. scripts/docker-up): %w", cli.DaemonHost(), err)
	}
	if _, err := cli.ImageInspect(ctx, image); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("image %s missing (build it: go run ./internal/acctest/cmd/workload-image): %w", image, err)
	}
	d := &dockerEnv{cli: cli, version: fmt.Sprintf("%s (API %s)", v.Version, cli.ClientVersion())}
	return d, d.probeVolumeList(ctx)
}

// probeVolumeList times a volume list by label, as the provider makes one.
// Docker asks every volume driver, so one registered plugin that no longer
// answers stalls each such list until Docker gives up on it.
func (d *dockerEnv) probeVolumeList(ctx context.Context) error {
	start := time.Now()
	resp, err := d.cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", floorLabel+"=probe"))})
	if err != nil {
		return fmt.Errorf("volume list: %w", err)
	}
	if took := time.Since(start); took > time.Second {
		d.volumeList = fmt.Sprintf("a volume list by label takes %.1f s on this daemon (%s)", took.Seconds(), strings.Join(resp.Warnings, "; "))
	}
	return nil
}

// removeLabeled force-removes the containers, networks and volumes carrying
// the label selector key=value, in that order (volumes in use can't go).
func (d *dockerEnv) removeLabeled(ctx context.Context, selector string) error {
	f := filters.NewArgs(filters.Arg("label", selector))
	cs, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("cleanup %s: %w", selector, err)
	}
	errs := []error{parallel.Run(len(cs), floorParallelism, func(i int) error {
		return d.cli.ContainerRemove(ctx, cs[i].ID, container.RemoveOptions{Force: true})
	})}
	nets, err := d.cli.NetworkList(ctx, network.ListOptions{Filters: f})
	errs = append(errs, err)
	for _, n := range nets {
		if err := d.cli.NetworkRemove(ctx, n.ID); err != nil && !strings.Contains(err.Error(), "active endpoints") {
			errs = append(errs, err) // a stale endpoint count clears when the daemon restarts
		}
	}
	// Only local volumes are ever created here; naming the driver keeps the
	// list fast even when another, dead, volume plugin is registered.
	vf := filters.NewArgs(filters.Arg("label", selector), filters.Arg("driver", "local"))
	vols, err := d.cli.VolumeList(ctx, volume.ListOptions{Filters: vf})
	errs = append(errs, err)
	for _, v := range vols.Volumes {
		errs = append(errs, d.cli.VolumeRemove(ctx, v.Name, false))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cleanup %s: %w", selector, err)
	}
	return nil
}

// expectRunning checks that n labeled containers run.
func (d *dockerEnv) expectRunning(ctx context.Context, selector string, n int) error {
	f := filters.NewArgs(filters.Arg("label", selector), filters.Arg("status", "running"))
	cs, err := d.cli.ContainerList(ctx, container.ListOptions{Filters: f})
	if err != nil {
		return err
	}
	if len(cs) != n {
		return fmt.Errorf("%d containers labeled %s run after apply, want %d", len(cs), selector, n)
	}
	return nil
}

// floor does the provider's work directly through the Docker API.
type floor struct {
	cli      *client.Client
	n        int
	selector string
	network  string
	ids      []string
}

// benchFloor times the four phases at N, then removes what they left.
func benchFloor(ctx context.Context, d *dockerEnv, n int, s *sample) error {
	f := &floor{cli: d.cli, n: n, selector: floorLabel + "=" + strconv.Itoa(n),
		network: fmt.Sprintf("floor-%d-%d", n, time.Now().UnixNano()), ids: make([]string, n)} // a unique network: a stale one may outlive its run
	if err := d.removeLabeled(ctx, f.selector); err != nil {
		return err
	}
	defer func() { _ = d.removeLabeled(context.WithoutCancel(ctx), f.selector) }()
	phases := [numOps]func(context.Context) error{f.create, f.list, f.replace, f.destroy, f.ordered}
	for op, phase := range phases {
		start := time.Now()
		if err := phase(ctx); err != nil {
			return fmt.Errorf("%s: %w", opNames[op], err)
		}
		s.floor[op] = time.Since(start).Seconds()
	}
	return nil
}

func (f *floor) labels() map[string]string {
	key, value, _ := strings.Cut(f.selector, "=")
	return map[string]string{key: value}
}

func (f *floor) name(i int) string { return fmt.Sprintf("floor-%d-%d", f.n, i) }

// create: the network, then per replica its volume and a started container.
func (f *floor) create(ctx context.Context) error {
	if _, err := f.cli.NetworkCreate(ctx, f.network, network.CreateOptions{Driver: "bridge", Labels: f.labels()}); err != nil {
		return err
	}
	return parallel.Run(f.n, floorParallelism, func(i int) error {
		if _, err := f.cli.VolumeCreate(ctx, volume.CreateOptions{Name: f.name(i) + "-data", Driver: "local", Labels: f.labels()}); err != nil {
			return err
		}
		return f.launch(ctx, i, "1")
	})
}

// launch creates and starts replica i with env WAVE=wave.
func (f *floor) launch(ctx context.Context, i int, wave string) error {
	name := f.name(i)
	cfg := &container.Config{Image: image, Hostname: name, Env: []string{"WAVE=" + wave}, Labels: f.labels()}
	host := &container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: name + "-data", Target: "/data"}}}
	nets := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{f.network: {Aliases: []string{name}}}}
	c, err := f.cli.ContainerCreate(ctx, cfg, host, nets, nil, name)
	if err != nil {
		return err
	}
	f.ids[i] = c.ID
	return f.cli.ContainerStart(ctx, c.ID, container.StartOptions{})
}

// list is what a refresh needs: one container list filtered by label.
func (f *floor) list(ctx context.Context) error {
	cs, err := f.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", f.selector))})
	if err != nil {
		return err
	}
	if len(cs) != f.n {
		return fmt.Errorf("listed %d containers, want %d", len(cs), f.n)
	}
	return nil
}

// replace: stop-first replacement of every replica with WAVE=2.
func (f *floor) replace(ctx context.Context) error {
	return parallel.Run(f.n, floorParallelism, func(i int) error {
		if err := f.remove(ctx, i); err != nil {
			return err
		}
		return f.launch(ctx, i, "2")
	})
}

// destroy: every container, then the network; volumes stay, as the
// provider keeps them.
func (f *floor) destroy(ctx context.Context) error {
	if err := parallel.Run(f.n, floorParallelism, func(i int) error { return f.remove(ctx, i) }); err != nil {
		return err
	}
	// As the provider does: the daemon releases endpoints shortly after
	// container removal returns; a network that keeps reporting active
	// endpoints with no container attached for a second is left, stale
	// (the daemon's stale endpoint bug; the provider warns and leaves it).
	var emptySince time.Time
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		err := f.cli.NetworkRemove(ctx, f.network)
		if err == nil || !strings.Contains(err.Error(), "active endpoints") {
			return err
		}
		current, ierr := f.cli.NetworkInspect(ctx, f.network, network.InspectOptions{})
		switch {
		case ierr != nil || len(current.Containers) > 0:
			emptySince = time.Time{}
		case emptySince.IsZero():
			emptySince = time.Now()
		case time.Since(emptySince) > time.Second:
			return nil
		}
		if time.Now().After(deadline) {
			return nil
		}
	}
}

// ordered: a new network, then one replica after the other, each started
// and seen running before the next is created (volumes exist already, as
// they do for the provider's ordered create after its destroy).
func (f *floor) ordered(ctx context.Context) error {
	f.network += "-ordered" // the first one may be left stale
	if _, err := f.cli.NetworkCreate(ctx, f.network, network.CreateOptions{Driver: "bridge", Labels: f.labels()}); err != nil {
		return err
	}
	for i := range f.n {
		if _, err := f.cli.VolumeCreate(ctx, volume.CreateOptions{Name: f.name(i) + "-data", Driver: "local", Labels: f.labels()}); err != nil {
			return err
		}
		if err := f.launch(ctx, i, "1"); err != nil {
			return err
		}
		info, err := f.cli.ContainerInspect(ctx, f.ids[i])
		if err != nil {
			return err
		}
		if !info.State.Running {
			return fmt.Errorf("%s is %s after start", f.name(i), info.State.Status)
		}
	}
	return nil
}

func (f *floor) remove(ctx context.Context, i int) error {
	grace := floorGrace
	if err := f.cli.ContainerStop(ctx, f.ids[i], container.StopOptions{Timeout: &grace}); err != nil {
		return err
	}
	return f.cli.ContainerRemove(ctx, f.ids[i], container.RemoveOptions{})
}
