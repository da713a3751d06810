package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// Where a backup helper sees the data it archives and the destination.
const (
	backupSource = "/stateful-source"
	backupTarget = "/stateful-backup"
)

// errDataChanged is a second read of the data that differs from the first.
var errDataChanged = errors.New("the data changed while it was archived; stop what writes to it and try again")

// BackupMount archives the data of one mount (a Docker volume or a host
// directory) into dest, as one file named spec.BackupFileName, mode 0600,
// owned by root. The file holds a tar of the data whose entries are
// relative to the volume's root, so that
//
//	docker cp - c:/restore < FILE.tar
//
// restores it into a container's /restore (tar -xf FILE.tar -C DIR into a
// host directory).
//
// Two helper containers of image (on the host; never started) mount the
// data, read-only, and the destination: a host directory, which the daemon
// creates when missing, or a Docker volume, created when missing with no
// label of the provider, so that no retention ever deletes it. (One
// helper cannot serve both: the daemon locks a container for each copy.)
// The data is read twice, through the Docker API only: once to measure
// the archive, whose size the file's header needs first, then to stream
// it into the destination; nothing is held in memory or on the provider's
// disk. A second read that differs fails the backup, and the partial file
// is removed. The data must be at rest: stop what writes to it first.
//
// file is the archive's name in dest; it is empty, with no error, when the
// data does not exist (a missing volume or host directory): there is
// nothing to archive.
func (h *Host) BackupMount(ctx context.Context, image, service, replica string, m spec.Mount, dest spec.Backup, at time.Time) (file string, err error) {
	source, found, err := h.backupSourceMount(ctx, m)
	if err != nil || !found {
		return "", err
	}
	name := backupFileName(service, replica, m, at)
	err = h.backup(ctx, image, source, dest, name, at)
	switch {
	case !m.Named() && isMissingBindSource(err) && strings.Contains(err.Error(), m.Source):
		return "", nil // no host directory: nothing to archive
	case err != nil:
		return "", fmt.Errorf("back up %s to %s: %w", describeMount(m), dest.Destination(), err)
	}
	return name, nil
}

// backup archives what source mounts into dest/name, through a reading and
// a writing helper; a partial file is removed.
func (h *Host) backup(ctx context.Context, image string, source mount.Mount, dest spec.Backup, name string, at time.Time) error {
	cli, reader, remove, err := h.newHelper(ctx, image, container.HostConfig{Mounts: []mount.Mount{source}})
	if err != nil {
		return err
	}
	defer remove()
	_, writer, remove, err := h.newHelper(ctx, image, container.HostConfig{Binds: []string{backupBind(dest)}})
	if err != nil {
		return err
	}
	defer remove()
	if err := checkDir(ctx, cli, writer, backupTarget, "the destination"); err != nil {
		return h.errorf("%w", err)
	}
	if err := checkDir(ctx, cli, reader, backupSource, "the data"); err != nil {
		return h.errorf("%w", err)
	}
	size, err := readData(ctx, cli, reader, io.Discard)
	if err != nil {
		return h.errorf("%w", err)
	}
	err = writeBackup(ctx, cli, reader, writer, name, size, at)
	if err == nil {
		return nil
	}
	cleanup := context.WithoutCancel(ctx)
	if rerr := removePath(cleanup, cli, writer, backupTarget, path.Join(backupTarget, name)); rerr != nil {
		return h.errorf("%w; the partial file %s could not be removed: %w", err, name, rerr)
	}
	return h.errorf("%w", err)
}

// describeMount names a mount in errors: its volume block and its data.
func describeMount(m spec.Mount) string {
	kind := "Docker volume"
	if !m.Named() {
		kind = "host directory"
	}
	if m.Volume == "" {
		return fmt.Sprintf("%s %s", kind, m.Source)
	}
	return fmt.Sprintf("volume %q (%s %s)", m.Volume, kind, m.Source)
}

// backupFileName names a mount's archive by its volume block, else by its
// data's name.
func backupFileName(service, replica string, m spec.Mount, at time.Time) string {
	volumeName := m.Volume
	if volumeName == "" {
		volumeName = path.Base(m.Source)
	}
	return spec.BackupFileName(service, replica, volumeName, at)
}

// backupBind binds the destination: HostConfig.Binds, unlike the Mounts
// API, creates a missing host directory, and creates a missing volume
// without labels.
func backupBind(dest spec.Backup) string {
	if dest.Volume != "" {
		return dest.Volume + ":" + backupTarget
	}
	return dest.HostPath + ":" + backupTarget
}

// backupSourceMount mounts a mount's data read-only at backupSource. A
// missing Docker volume is not found: the Mounts API would create it
// empty. (A missing host directory fails the helper's create.)
func (h *Host) backupSourceMount(ctx context.Context, m spec.Mount) (mount.Mount, bool, error) {
	if !m.Named() {
		return mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: backupSource, ReadOnly: true}, true, nil
	}
	found, err := h.volumeExists(ctx, m.Source, m.Driver)
	if err != nil || !found {
		return mount.Mount{}, false, err
	}
	return mount.Mount{
		Type: mount.TypeVolume, Source: m.Source, Target: backupSource, ReadOnly: true,
		VolumeOptions: &mount.VolumeOptions{NoCopy: true},
	}, true, nil
}

// volumeExists tells whether a volume exists, asking only its driver when
// known (an inspect of a missing volume asks every driver, slowly).
func (h *Host) volumeExists(ctx context.Context, name, driver string) (bool, error) {
	cli, err := h.client(ctx)
	if err != nil {
		return false, err
	}
	args := filters.NewArgs(filters.Arg("name", name))
	if driver != "" {
		args.Add("driver", driver)
	}
	resp, err := cli.VolumeList(ctx, volume.ListOptions{Filters: args})
	if err != nil {
		return false, h.errorf("look up volume %q: %w", name, err)
	}
	for _, v := range resp.Volumes {
		if v.Name == name {
			return true, nil
		}
	}
	return false, nil
}

func checkDir(ctx context.Context, cli *client.Client, id, p, what string) error {
	st, err := cli.ContainerStatPath(ctx, id, p)
	switch {
	case err != nil:
		return fmt.Errorf("stat %s: %w", what, err)
	case !st.Mode.IsDir():
		return fmt.Errorf("%s is not a directory", what)
	}
	return nil
}

// readData writes the archive of the data, rebased, to w and returns its
// size.
func readData(ctx context.Context, cli *client.Client, id string, w io.Writer) (int64, error) {
	rc, _, err := cli.CopyFromContainer(ctx, id, backupSource)
	if err != nil {
		return 0, fmt.Errorf("read the data: %w", err)
	}
	defer func() { _ = rc.Close() }()
	n := &counter{next: w}
	err = rebaseArchive(n, rc, path.Base(backupSource))
	switch {
	case errors.Is(err, errDataChanged):
		return 0, errDataChanged
	case err != nil:
		return 0, fmt.Errorf("read the data: %w", err)
	}
	return n.n, nil
}

// writeBackup streams the data's archive, which must be size bytes long,
// from the reading helper as one file into the writing helper's
// destination.
func writeBackup(ctx context.Context, cli *client.Client, reader, writer, name string, size int64, at time.Time) error {
	pr, pw := io.Pipe()
	produced := make(chan error, 1)
	go func() {
		produced <- produceBackup(ctx, cli, reader, pw, name, size, at)
	}()
	err := cli.CopyToContainer(ctx, writer, backupTarget, pr, container.CopyToContainerOptions{})
	_ = pr.CloseWithError(errors.New("the copy ended")) // unblocks the producer
	if perr := <-produced; perr != nil {
		return perr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// produceBackup writes the outer archive: one root-owned 0600 file holding
// the data's archive. A failure closes the pipe with it, so the daemon sees
// a truncated archive and the copy fails.
func produceBackup(ctx context.Context, cli *client.Client, id string, pw *io.PipeWriter, name string, size int64, at time.Time) error {
	tw := tar.NewWriter(pw)
	err := tw.WriteHeader(backupHeader(name, size, at))
	if err == nil {
		inner := &exactly{next: tw, left: size}
		if _, err = readData(ctx, cli, id, inner); err == nil {
			err = inner.done()
		}
	}
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		_ = pw.CloseWithError(err)
		return err
	}
	return pw.Close()
}

func backupHeader(name string, size int64, at time.Time) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o600, Size: size, ModTime: at}
}

// rebaseArchive copies the daemon's archive of a directory, whose entry
// names begin with the directory's base name, into a tar of entries
// relative to the directory: "./" for the directory itself, then its
// contents. Each entry keeps its type, mode, owner, modification time,
// link target and extended attributes.
func rebaseArchive(w io.Writer, r io.Reader, base string) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	first := true
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		out, err := rebase(hdr, base)
		if err != nil {
			return err
		}
		if first && out.Name != "./" {
			return fmt.Errorf("the archive does not begin with the directory %s", base)
		}
		first = false
		if err := tw.WriteHeader(out); err != nil {
			return fmt.Errorf("%s: %w", out.Name, err)
		}
		if _, err := io.CopyN(tw, tr, hdr.Size); err != nil && hdr.Size > 0 {
			return fmt.Errorf("%s: %w", out.Name, err)
		}
	}
	if first {
		return fmt.Errorf("the archive of %s is empty", base)
	}
	return tw.Close()
}

// rebase returns a new header (as archive/tar advises, to drop what the
// reader filled in) for an entry below base, named relative to base. Hard
// links are archive paths and are rebased too; symbolic link targets are
// left as they are. Access and change times are dropped: reading the data
// changes the first, and neither can be restored.
func rebase(hdr *tar.Header, base string) (*tar.Header, error) {
	name, err := rebaseName(hdr.Name, base)
	if err != nil {
		return nil, err
	}
	if name == "." {
		if hdr.Typeflag != tar.TypeDir {
			return nil, fmt.Errorf("%s is not a directory", base)
		}
		name = "./"
	} else if hdr.Typeflag == tar.TypeDir {
		name += "/"
	}
	link := hdr.Linkname
	if hdr.Typeflag == tar.TypeLink {
		if link, err = rebaseName(link, base); err != nil {
			return nil, err
		}
	}
	out := &tar.Header{
		Typeflag: hdr.Typeflag,
		Name:     name,
		Linkname: link,
		Size:     hdr.Size,
		Mode:     hdr.Mode,
		Uid:      hdr.Uid,
		Gid:      hdr.Gid,
		Uname:    hdr.Uname,
		Gname:    hdr.Gname,
		ModTime:  hdr.ModTime,
		Devmajor: hdr.Devmajor,
		Devminor: hdr.Devminor,
	}
	for k, v := range hdr.PAXRecords {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			if out.PAXRecords == nil {
				out.PAXRecords = map[string]string{}
			}
			out.PAXRecords[k] = v
		}
	}
	return out, nil
}

// rebaseName turns base/x into x, and base itself into ".".
func rebaseName(name, base string) (string, error) {
	clean := path.Clean(name)
	if clean == base {
		return ".", nil
	}
	rel, ok := strings.CutPrefix(clean, base+"/")
	if !ok || rel == "" || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("unexpected entry %q in the archive of %s", name, base)
	}
	return rel, nil
}

// counter counts what is written through it.
type counter struct {
	next io.Writer
	n    int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.next.Write(p)
	c.n += int64(n)
	return n, err
}

// exactly passes on exactly left bytes: more, or fewer by done, is
// errDataChanged.
type exactly struct {
	next io.Writer
	left int64
}

func (e *exactly) Write(p []byte) (int, error) {
	if int64(len(p)) > e.left {
		return 0, errDataChanged
	}
	n, err := e.next.Write(p)
	e.left -= int64(n)
	return n, err
}

func (e *exactly) done() error {
	if e.left != 0 {
		return errDataChanged
	}
	return nil
}
