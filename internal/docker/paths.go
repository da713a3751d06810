package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// statPath stats p, a path a helper container sees below root (its bind of
// a host directory). A path below a file is absent, as a missing one is.
func statPath(ctx context.Context, cli *client.Client, id, root, p string) (container.PathStat, bool, error) {
	return statBelow(root, p, func(p string) (container.PathStat, error) { return cli.ContainerStatPath(ctx, id, p) })
}

// statBelow stats p with stat and tells whether it exists. A missing path
// is absent; so is a path below a file (ENOTDIR), which the daemon reports
// to a stat (a HEAD request: no message) as a bare 500, the same answer as
// a real failure. Only then are the ancestors of p up to root asked: one
// that is a file means p is absent; one that is a directory means the 500
// was something else, which is reported.
func statBelow(root, p string, stat func(string) (container.PathStat, error)) (container.PathStat, bool, error) {
	st, err := stat(p)
	switch {
	case err == nil:
		return st, true, nil
	case cerrdefs.IsNotFound(err), strings.Contains(err.Error(), "not a directory"):
		return container.PathStat{}, false, nil
	case !cerrdefs.IsInternal(err) || p == root:
		return container.PathStat{}, false, err
	}
	for dir := path.Dir(p); dir == root || strings.HasPrefix(dir, root+"/"); dir = path.Dir(dir) {
		parent, perr := stat(dir)
		switch {
		case perr == nil && parent.Mode&os.ModeSymlink != 0:
			return container.PathStat{}, false, err
		case perr == nil && !parent.Mode.IsDir():
			return container.PathStat{}, false, nil // below a file
		case perr == nil:
			return container.PathStat{}, false, err // not ENOTDIR
		case cerrdefs.IsNotFound(perr):
			return container.PathStat{}, false, nil
		}
		if dir == root || dir == "/" {
			break
		}
	}
	return container.PathStat{}, false, err
}

// removePath deletes p (a file, or a directory and everything in it), which
// a helper container sees below root, through the Docker API only (no
// shell, no exec: the helper never starts).
//
// Copying an archive whose one entry, named like p, has a type the daemon
// does not know makes it remove whatever is at p (it clears the way for
// the entry, as AllowOverwriteDirWithFile permits) and then fail with
// "unhandled tar header type": p is gone, which is all this wants (Docker
// 20.10). Should a daemon refuse the entry before removing p, p is
// replaced by an empty file instead, so that no data is left either.
func removePath(ctx context.Context, cli *client.Client, id, root, p string) error {
	if _, found, err := statPath(ctx, cli, id, root, p); err != nil || !found {
		return err
	}
	dir, base := path.Split(p)
	opts := container.CopyToContainerOptions{AllowOverwriteDirWithFile: true}
	removeErr := cli.CopyToContainer(ctx, id, dir, tarOf(removalEntry(base)), opts)
	if isRemovalRefusal(removeErr) {
		removeErr = nil
	}
	_, found, err := statPath(ctx, cli, id, root, p)
	if err != nil || !found {
		return err
	}
	if err := cli.CopyToContainer(ctx, id, dir, fileEntry(base), opts); err != nil {
		return errors.Join(removeErr, err)
	}
	return nil
}

// removalType is a tar entry type no daemon extracts.
const removalType = 'Z'

func removalEntry(name string) *tar.Header {
	return &tar.Header{Name: name, Typeflag: removalType, Mode: 0o600, ModTime: time.Now()}
}

// isRemovalRefusal reports the daemon's refusal of the removal entry: the
// expected end of removePath's copy.
func isRemovalRefusal(err error) bool {
	return err != nil && strings.Contains(err.Error(), fmt.Sprintf("unhandled tar header type %d", removalType))
}

// isMissingBindSource tells a helper the daemon would not create because
// a host directory it binds does not exist: the daemon's only word for it
// is its message.
func isMissingBindSource(err error) bool {
	return err != nil && strings.Contains(err.Error(), "bind source path does not exist")
}

// hostDirMounts are the mounts of host directories (not Docker volumes).
func hostDirMounts(ms []spec.Mount) []spec.Mount {
	var out []spec.Mount
	for _, m := range ms {
		if !m.Named() {
			out = append(out, m)
		}
	}
	return out
}

// MissingHostDirs returns the host directories of mounts (Docker volumes
// are left out) that do not exist on the host, in the order of mounts. It
// changes nothing: helper containers (never started) bind each distinct
// parent read-only through the Mounts API, which creates no missing
// source. They run the image of the existing container ref (an ID or a
// name), which is on the host as long as the container is.
func (h *Host) MissingHostDirs(ctx context.Context, ref string, mounts []spec.Mount) ([]string, error) {
	dirs := hostDirMounts(mounts)
	if len(dirs) == 0 {
		return nil, nil
	}
	image, err := h.containerImage(ctx, ref)
	if err != nil {
		return nil, err
	}
	var parents []string
	bases := map[string][]string{}
	for _, m := range dirs {
		parent, base := path.Split(m.Source)
		parent = path.Clean(parent)
		if _, seen := bases[parent]; !seen {
			parents = append(parents, parent)
		}
		bases[parent] = append(bases[parent], base)
	}
	missing := map[string]bool{}
	for _, parent := range parents {
		bind := mount.Mount{Type: mount.TypeBind, Source: parent, Target: helperParent, ReadOnly: true}
		err := h.withHelper(ctx, image, container.HostConfig{Mounts: []mount.Mount{bind}}, func(cli *client.Client, id string) error {
			for _, base := range bases[parent] {
				_, found, err := statPath(ctx, cli, id, helperParent, path.Join(helperParent, base))
				if err != nil {
					return fmt.Errorf("stat host path %s: %w", path.Join(parent, base), err)
				}
				missing[path.Join(parent, base)] = !found
			}
			return nil
		})
		switch {
		case isMissingBindSource(err):
			for _, base := range bases[parent] {
				missing[path.Join(parent, base)] = true
			}
		case err != nil:
			return nil, err
		}
	}
	var out []string
	for _, m := range dirs {
		if missing[path.Clean(m.Source)] {
			out = append(out, m.Source)
		}
	}
	return out, nil
}

// containerImage is the ID of the image a container was created from.
func (h *Host) containerImage(ctx context.Context, ref string) (string, error) {
	info, err := h.inspectContainer(ctx, ref)
	if err != nil {
		return "", err
	}
	return info.Image, nil
}
