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

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// DeliverSecrets stages a replica's secret files on the host, under
// spec.SecretsRoot (tmpfs), before its container starts: a helper container
// (never started) binds the root read-write and the files are copied in
// with their modes and owners; the replica binds its directories
// read-only. Files of an earlier delivery are wiped first, so a rotated or
// removed secret leaves nothing behind. Values never reach labels, env or
// the container's configuration.
func (h *Host) DeliverSecrets(ctx context.Context, image, service, replica string, files []spec.SecretFile, dirs []spec.SecretDir) error {
	if len(files) == 0 {
		return nil
	}
	files, err := h.resolveSecretFiles(ctx, image, files)
	if err != nil {
		return err
	}
	return h.withSecretsRoot(ctx, image, func(cli *client.Client, id string) error {
		if err := wipe(ctx, cli, id, path.Join(service, replica)); err != nil {
			return err
		}
		return cli.CopyToContainer(ctx, id, helperParent, secretsArchive(service, replica, files, dirs),
			container.CopyToContainerOptions{CopyUIDGID: true, AllowOverwriteDirWithFile: true})
	})
}

// WipeSecrets deletes what DeliverSecrets staged for a replica, or for the
// whole service when replica is empty.
func (h *Host) WipeSecrets(ctx context.Context, image, service, replica string) error {
	return h.withSecretsRoot(ctx, image, func(cli *client.Client, id string) error {
		return wipe(ctx, cli, id, path.Join(service, replica))
	})
}

func (h *Host) withSecretsRoot(ctx context.Context, image string, fn func(*client.Client, string) error) error {
	return h.withHelper(ctx, image, container.HostConfig{Binds: []string{spec.SecretsRoot + ":" + helperParent}}, fn)
}

// wipe deletes a staged directory and everything in it, leaving no entry
// behind (an earlier release left an empty file in its place, which goes
// too, and a path below such a file is simply absent).
func wipe(ctx context.Context, cli *client.Client, id, rel string) error {
	if err := removePath(ctx, cli, id, helperParent, path.Join(helperParent, rel)); err != nil {
		return fmt.Errorf("wipe staged secrets %s: %w", rel, err)
	}
	return nil
}

func secretsArchive(service, replica string, files []spec.SecretFile, dirs []spec.SecretDir) *bytes.Buffer {
	now := time.Now()
	index := map[string]int{}
	for i, d := range dirs {
		index[d.Target] = i
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) {
		_ = tw.WriteHeader(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: mode, ModTime: now})
	}
	dir(service, 0o700)
	dir(path.Join(service, replica), 0o700)
	for i := range dirs {
		dir(path.Join(service, replica, strconv.Itoa(i)), 0o755)
	}
	for _, f := range files {
		name := path.Join(service, replica, strconv.Itoa(index[f.Dir]), f.Name)
		_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: int64(f.Mode), Uid: f.UID, Gid: f.GID, Size: int64(len(f.Value)), ModTime: now})
		_, _ = tw.Write(f.Value)
	}
	_ = tw.Close() // writes to memory cannot fail
	return &buf
}

// WriteFiles writes config files into a created container's file system
// before it starts; missing parent directories are created. Owners that
// name a user or group must be resolved first (ResolveFiles).
func (h *Host) WriteFiles(ctx context.Context, id string, files []spec.File) error {
	if len(files) == 0 {
		return nil
	}
	cli, err := h.client(ctx)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if f.Owner != "" {
			return h.errorf("config file %s: owner %q is not resolved", f.Path, f.Owner)
		}
		_ = tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(f.Path, "/"), Typeflag: tar.TypeReg, Mode: int64(f.Mode), Uid: f.UID, Gid: f.GID, Size: int64(len(f.Content)), ModTime: time.Now()})
		_, _ = tw.Write([]byte(f.Content))
	}
	_ = tw.Close()
	// The daemon keeps the archive's owners unless CopyUIDGID is set, which
	// would chown every file to the container's user, looked up in the
	// Docker host's (not the image's) passwd database.
	if err := cli.CopyToContainer(ctx, id, "/", &buf, container.CopyToContainerOptions{}); err != nil {
		return h.errorf("write config files into container %s: %w", shortID(id), err)
	}
	return nil
}
