package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// maxAccountFile bounds what is read of an image's /etc/passwd or
// /etc/group.
const maxAccountFile = 4 << 20

// accountsKey is one image on one host: hosts live for one plan or apply
// (the provider is configured anew for each), and so does what is cached.
type accountsKey struct {
	host  *Host
	image string
}

type accountsEntry struct {
	mu       sync.Mutex
	accounts *spec.Accounts
}

var accountsCache sync.Map // accountsKey -> *accountsEntry

// Accounts reads the users and groups of image on the host, from its
// /etc/passwd and /etc/group, through a helper container that is created
// and never started (no process runs). found is false when the image is
// not on the host. Answers are cached per host and image.
func (h *Host) Accounts(ctx context.Context, image string) (accounts *spec.Accounts, found bool, err error) {
	v, _ := accountsCache.LoadOrStore(accountsKey{h, image}, &accountsEntry{})
	entry := v.(*accountsEntry)
	entry.mu.Lock()
	defer entry.mu.Unlock()
	if entry.accounts != nil {
		return entry.accounts, true, nil
	}
	present, err := h.ImageExists(ctx, image)
	if err != nil || !present {
		return nil, false, err
	}
	var passwd, group []byte
	err = h.withHelper(ctx, image, container.HostConfig{}, func(cli *client.Client, id string) error {
		var err error
		if passwd, err = readImageFile(ctx, cli, id, "/etc/passwd"); err != nil {
			return err
		}
		group, err = readImageFile(ctx, cli, id, "/etc/group")
		return err
	})
	if err != nil {
		return nil, true, err
	}
	entry.accounts = spec.ParseAccounts(passwd, group)
	return entry.accounts, true, nil
}

// readImageFile reads a file of a created container; nil when it is
// missing. Symbolic links are followed (a few).
func readImageFile(ctx context.Context, cli *client.Client, id, name string) ([]byte, error) {
	for range 8 {
		rc, _, err := cli.CopyFromContainer(ctx, id, name)
		if cerrdefs.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s of the image: %w", name, err)
		}
		content, link, err := firstEntry(rc)
		_ = rc.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s of the image: %w", name, err)
		}
		if link == "" {
			return content, nil
		}
		if !path.IsAbs(link) {
			link = path.Join(path.Dir(name), link)
		}
		name = link
	}
	return nil, fmt.Errorf("read %s of the image: too many symbolic links", name)
}

// firstEntry reads the first entry of a tar stream: a regular file's
// content, or a symbolic link's target.
func firstEntry(r io.Reader) (content []byte, link string, err error) {
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if errors.Is(err, io.EOF) {
		return []byte{}, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		return nil, hdr.Linkname, nil
	case tar.TypeReg:
		content, err = io.ReadAll(io.LimitReader(tr, maxAccountFile))
		return content, "", err
	default:
		return nil, "", fmt.Errorf("not a regular file")
	}
}

// ResolveOwner turns an owner as written (names or numbers) into ids, from
// the image's accounts on the host.
func (h *Host) ResolveOwner(ctx context.Context, image, value string) (spec.Owner, error) {
	accounts, found, err := h.Accounts(ctx, image)
	switch {
	case err != nil:
		return spec.Owner{}, err
	case !found:
		return spec.Owner{}, h.errorf("owner %q cannot be resolved: image %q is not on the host", value, image)
	}
	owner, err := accounts.Resolve(value)
	if err != nil {
		return spec.Owner{}, h.errorf("owner %q in image %q: %w", value, image, err)
	}
	return owner, nil
}

// resolveMount gives a host directory whose owner names a user or group its
// ids, from image.
func (h *Host) resolveMount(ctx context.Context, image string, m spec.Mount) (spec.Mount, error) {
	if m.Owner != nil || m.OwnerName == "" {
		return m, nil
	}
	owner, err := h.ResolveOwner(ctx, image, m.OwnerName)
	if err != nil {
		return m, fmt.Errorf("volume %q: host.owner: %w", m.Volume, err)
	}
	m.Owner = &owner
	return m, nil
}

// resolveSecretFiles gives secret files whose owner names a user or group
// their ids, from image; files is not changed.
func (h *Host) resolveSecretFiles(ctx context.Context, image string, files []spec.SecretFile) ([]spec.SecretFile, error) {
	if !slices.ContainsFunc(files, func(f spec.SecretFile) bool { return f.Owner != "" }) {
		return files, nil
	}
	out := slices.Clone(files)
	for i, f := range out {
		if f.Owner == "" {
			continue
		}
		owner, err := h.ResolveOwner(ctx, image, f.Owner)
		if err != nil {
			return nil, fmt.Errorf("secret %q: owner: %w", f.Name, err)
		}
		out[i].UID, out[i].GID = owner.UID, owner.GID
	}
	return out, nil
}

// ResolveFiles gives config files whose owner names a user or group their
// ids, from image; files is not changed.
func (h *Host) ResolveFiles(ctx context.Context, image string, files []spec.File) ([]spec.File, error) {
	if !slices.ContainsFunc(files, func(f spec.File) bool { return f.Owner != "" }) {
		return files, nil
	}
	out := slices.Clone(files)
	for i, f := range out {
		if f.Owner == "" {
			continue
		}
		owner, err := h.ResolveOwner(ctx, image, f.Owner)
		if err != nil {
			return nil, fmt.Errorf("file %s: owner: %w", f.Path, err)
		}
		out[i].UID, out[i].GID, out[i].Owner = owner.UID, owner.GID, ""
	}
	return out, nil
}
