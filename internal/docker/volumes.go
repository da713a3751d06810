package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// helperParent is where a helper container sees the parent of a host
// directory it creates or empties.
const helperParent = "/stateful-parent"

// ListVolumes returns the Docker volumes owned by the service, in one call.
// Given drivers, only those are asked: the daemon otherwise asks every
// volume driver it knows, and one broken plugin stalls the list for 15s.
func (h *Host) ListVolumes(ctx context.Context, service string, drivers ...string) ([]reconcile.ObservedVolume, error) {
	cli, err := h.client(ctx)
	if err != nil {
		return nil, err
	}
	args := filters.NewArgs(filters.Arg("label", spec.LabelService+"="+service))
	for _, d := range drivers {
		args.Add("driver", d)
	}
	resp, err := cli.VolumeList(ctx, volume.ListOptions{Filters: args})
	if err != nil {
		return nil, h.errorf("list volumes of service %q: %w", service, err)
	}
	out := make([]reconcile.ObservedVolume, 0, len(resp.Volumes))
	for _, v := range resp.Volumes {
		ordinal, err := strconv.Atoi(v.Labels[spec.LabelOrdinal])
		if err != nil {
			ordinal = -1 // shared by all replicas
		}
		out = append(out, reconcile.ObservedVolume{Host: h.Name(), Name: v.Name, Definition: v.Labels[spec.LabelDefinition],
			Volume: v.Labels[spec.LabelVolume], Ordinal: ordinal, Driver: v.Driver})
	}
	return out, nil
}

// VolumeDrivers lists the volume drivers the daemon knows.
func (h *Host) VolumeDrivers(ctx context.Context) ([]string, error) {
	cli, err := h.client(ctx)
	if err != nil {
		return nil, err
	}
	info, err := cli.Info(ctx)
	if err != nil {
		return nil, h.errorf("read daemon info: %w", err)
	}
	return info.Plugins.Volume, nil
}

// EnsureMounts makes the data of a replica's mounts exist: Docker volumes
// are created (or re-adopted by name), host directories created. Existing
// data is never touched.
func (h *Host) EnsureMounts(ctx context.Context, service, image string, ordinal int, mounts []spec.Mount) error {
	for _, m := range mounts {
		var err error
		if m.Named() {
			err = h.ensureVolume(ctx, service, ordinal, m)
		} else {
			err = h.ensureHostDir(ctx, image, m)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ensureVolume creates a replica's Docker volume, or re-adopts it: create
// with an explicit driver returns an existing volume of that name as it
// is, so one call both creates and tells what was there. (Inspecting a
// missing volume instead would ask every volume driver, slowly.)
func (h *Host) ensureVolume(ctx context.Context, service string, ordinal int, m spec.Mount) error {
	cli, err := h.client(ctx)
	if err != nil {
		return err
	}
	labels := map[string]string{spec.LabelService: service, spec.LabelVolume: m.Volume, spec.LabelDefinition: m.Definition}
	if !m.Shared {
		labels[spec.LabelOrdinal] = strconv.Itoa(ordinal)
	}
	got, err := cli.VolumeCreate(ctx, volume.CreateOptions{Name: m.Source, Driver: m.Driver, DriverOpts: spec.MountOptions(m), Labels: labels})
	switch {
	case err != nil:
		// Never echo the options: they may hold write-only credentials.
		return h.errorf("create volume %q with driver %q: %w", m.Source, m.Driver, redact(err, m.Credentials))
	case got.Labels[spec.LabelService] != service:
		return h.errorf("volume %q exists but is not owned by service %q; remove or rename it, or rename volume %q", m.Source, service, m.Volume)
	case got.Labels[spec.LabelDefinition] != m.Definition:
		return h.errorf("volume %q exists with another definition (driver or options); set recreate_on_change on volume %q to replace it, deleting its data", m.Source, m.Volume)
	}
	return nil
}

// RemoveVolume removes a Docker volume; a missing one is not an error.
func (h *Host) RemoveVolume(ctx context.Context, name string) error {
	cli, err := h.client(ctx)
	if err != nil {
		return err
	}
	if err := cli.VolumeRemove(ctx, name, false); err != nil && !cerrdefs.IsNotFound(err) {
		return h.errorf("remove volume %q: %w", name, err)
	}
	return nil
}

// ensureHostDir creates a missing host directory with its owner and mode,
// through the daemon, so it works on remote hosts without SSH: a helper
// container (never started) binds the parent directory, and a directory
// entry is copied into it.
func (h *Host) ensureHostDir(ctx context.Context, image string, m spec.Mount) error {
	parent, base := path.Split(m.Source)
	m, err := h.resolveMount(ctx, image, m)
	if err != nil {
		return err
	}
	return h.withHelper(ctx, image, container.HostConfig{Binds: []string{parent + ":" + helperParent}}, func(cli *client.Client, id string) error {
		stat, found, err := statPath(ctx, cli, id, helperParent, path.Join(helperParent, base))
		switch {
		case err != nil:
			return fmt.Errorf("stat host path %s: %w", m.Source, err)
		case found && !stat.Mode.IsDir():
			return fmt.Errorf("host path %s exists and is not a directory", m.Source)
		case found:
			return nil // existing data: never touched
		}
		return cli.CopyToContainer(ctx, id, helperParent, dirEntry(base, m), container.CopyToContainerOptions{CopyUIDGID: true})
	})
}

// EmptyHostDir deletes everything in a host directory (retention =
// delete), leaving it empty with the configured owner and mode. Through the
// daemon only: the directory is replaced by a file, then by a directory.
func (h *Host) EmptyHostDir(ctx context.Context, image string, m spec.Mount) error {
	parent, base := path.Split(m.Source)
	m, err := h.resolveMount(ctx, image, m)
	if err != nil {
		return err
	}
	bind := mount.Mount{Type: mount.TypeBind, Source: path.Clean(parent), Target: helperParent}
	err = h.withHelper(ctx, image, container.HostConfig{Mounts: []mount.Mount{bind}}, func(cli *client.Client, id string) error {
		if _, found, err := statPath(ctx, cli, id, helperParent, path.Join(helperParent, base)); err != nil {
			return fmt.Errorf("stat host path %s: %w", m.Source, err)
		} else if !found {
			return nil // nothing there to delete (also below a file)
		}
		opts := container.CopyToContainerOptions{AllowOverwriteDirWithFile: true, CopyUIDGID: true}
		if err := cli.CopyToContainer(ctx, id, helperParent, fileEntry(base), opts); err != nil {
			return err
		}
		return cli.CopyToContainer(ctx, id, helperParent, dirEntry(base, m), opts)
	})
	if isMissingBindSource(err) {
		return nil // nothing there to delete
	}
	return err
}

// withHelper runs fn against a created, never started container of image
// with the given mounts, and removes the container afterwards.
func (h *Host) withHelper(ctx context.Context, image string, hostConfig container.HostConfig, fn func(*client.Client, string) error) error {
	cli, id, remove, err := h.newHelper(ctx, image, hostConfig)
	if err != nil {
		return err
	}
	defer remove()
	if err := fn(cli, id); err != nil {
		return h.errorf("%w", err)
	}
	return nil
}

// newHelper creates a container of image with the given mounts that is
// never started; remove removes it, even once ctx is done.
func (h *Host) newHelper(ctx context.Context, image string, hostConfig container.HostConfig) (cli *client.Client, id string, remove func(), err error) {
	cli, err = h.client(ctx)
	if err != nil {
		return nil, "", nil, err
	}
	hostConfig.NetworkMode = "none"
	created, err := cli.ContainerCreate(ctx, &container.Config{
		Image:      image,
		Entrypoint: []string{"/stateful-helper-never-started"},
		Labels:     map[string]string{spec.LabelPrefix + "helper": "true"},
	}, &hostConfig, nil, nil, "")
	if err != nil {
		return nil, "", nil, h.errorf("create helper container from %s: %w", image, err)
	}
	remove = func() {
		_ = cli.ContainerRemove(context.WithoutCancel(ctx), created.ID, container.RemoveOptions{Force: true})
	}
	return cli, created.ID, remove, nil
}

func dirEntry(name string, m spec.Mount) *bytes.Buffer {
	hdr := &tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: int64(m.Mode), ModTime: time.Now()}
	if m.Owner != nil {
		hdr.Uid, hdr.Gid = m.Owner.UID, m.Owner.GID
	}
	return tarOf(hdr)
}

func fileEntry(name string) *bytes.Buffer {
	return tarOf(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o600, ModTime: time.Now()})
}

func tarOf(hdr *tar.Header) *bytes.Buffer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(hdr) // writes to memory cannot fail
	_ = tw.Close()
	return &buf
}

// redact removes a secret from an error message.
func redact(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), secret, "(credentials)"))
}
