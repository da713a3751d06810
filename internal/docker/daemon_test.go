package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// Tests against the local Docker daemon run with TF_ACC set, as the
// acceptance tests do (scripts/docker-up starts a daemon).

// testProgram is the one program of the test image: the main process
// sleeps; exec'd, it prints and exits as told.
const testProgram = `package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	switch os.Args[1] {
	case "sleep":
		time.Sleep(time.Hour)
	case "say":
		fmt.Println(os.Args[2])
		fmt.Fprintln(os.Stderr, os.Args[3])
		code, _ := strconv.Atoi(os.Args[4])
		os.Exit(code)
	case "nap":
		d, _ := time.ParseDuration(os.Args[2])
		fmt.Println("napping")
		time.Sleep(d)
	}
}
`

var (
	testImageOnce sync.Once
	testImageRef  string
	testImageErr  error
)

// daemonHost is the local daemon, with an image holding testProgram.
func daemonHost(t *testing.T) (*Host, *client.Client, string) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("runs against the local Docker daemon with TF_ACC=1, like the acceptance tests")
	}
	h := NewHost(Config{Name: DefaultHostName})
	cli, err := h.client(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	testImageOnce.Do(func() { testImageRef, testImageErr = buildTestImage(cli) })
	if testImageErr != nil {
		t.Fatal(testImageErr)
	}
	return h, cli, testImageRef
}

// buildTestImage compiles testProgram statically and imports it as an
// image: nothing is pulled.
func buildTestImage(cli *client.Client) (string, error) {
	dir, err := os.MkdirTemp("", "stateful-docker-test-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(testProgram), 0o600); err != nil {
		return "", err
	}
	build := exec.Command("go", "build", "-o", "program", "main.go")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	program, err := os.ReadFile(filepath.Join(dir, "program"))
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "program", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(program))})
	_, _ = tw.Write(program)
	_ = tw.Close()
	const ref = "stateful-docker-test:latest"
	rc, err := cli.ImageImport(context.Background(), image.ImportSource{Source: &buf, SourceName: "-"}, ref, image.ImportOptions{})
	if err != nil {
		return "", err
	}
	defer func() { _ = rc.Close() }()
	_, err = io.Copy(io.Discard, rc)
	return ref, err
}

func uniqueName(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// newVolume creates a volume that the test removes.
func newVolume(t *testing.T, cli *client.Client) string {
	t.Helper()
	name := uniqueName("stateful-test-vol")
	if _, err := cli.VolumeCreate(context.Background(), volume.CreateOptions{Name: name, Driver: "local"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.VolumeRemove(context.Background(), name, true) })
	return name
}

// withVolume runs fn in a created container that mounts vol at /v.
func withVolume(t *testing.T, cli *client.Client, img, vol string, fn func(id string) error) {
	t.Helper()
	ctx := context.Background()
	created, err := cli.ContainerCreate(ctx, &container.Config{Image: img, Entrypoint: []string{"/program"}},
		&container.HostConfig{Binds: []string{vol + ":/v"}, NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cli.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true}) }()
	if err := fn(created.ID); err != nil {
		t.Fatal(err)
	}
}

// entry is what a test compares of a file: type, mode, owner, content or
// link target.
type entry struct {
	typ      byte
	mode     int64
	uid, gid int
	content  string
	link     string
}

// snapshot reads everything in a volume, by path relative to its root.
func snapshot(t *testing.T, cli *client.Client, img, vol string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	withVolume(t, cli, img, vol, func(id string) error {
		rc, _, err := cli.CopyFromContainer(context.Background(), id, "/v")
		if err != nil {
			return err
		}
		defer func() { _ = rc.Close() }()
		tr := tar.NewReader(rc)
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			content, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			out[strings.TrimPrefix(hdr.Name, "v")] = entry{hdr.Typeflag, hdr.Mode, hdr.Uid, hdr.Gid, string(content), hdr.Linkname}
		}
	})
	return out
}

// fill writes known files into a volume: a subdirectory, a 0640 file of
// another owner, a symbolic link and a hard link.
func fill(t *testing.T, cli *client.Client, img, vol string) {
	t.Helper()
	now := time.Now()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	write := func(hdr *tar.Header, content string) {
		hdr.ModTime, hdr.Size = now, int64(len(content))
		_ = tw.WriteHeader(hdr)
		_, _ = tw.Write([]byte(content))
	}
	write(&tar.Header{Name: "a.txt", Typeflag: tar.TypeReg, Mode: 0o644}, "hello\n")
	write(&tar.Header{Name: "sub/", Typeflag: tar.TypeDir, Mode: 0o700, Uid: 1000, Gid: 1000}, "")
	write(&tar.Header{Name: "sub/secret", Typeflag: tar.TypeReg, Mode: 0o640, Uid: 1000, Gid: 1001}, strings.Repeat("s3cr3t", 5000))
	write(&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "sub/secret", Mode: 0o777}, "")
	write(&tar.Header{Name: "hard", Typeflag: tar.TypeLink, Linkname: "a.txt"}, "")
	_ = tw.Close()
	withVolume(t, cli, img, vol, func(id string) error {
		return cli.CopyToContainer(context.Background(), id, "/v", &buf, container.CopyToContainerOptions{})
	})
}

// A volume backed up into a host directory (created by the daemon) is
// restored, as documented, into a new volume with docker cp: the same
// files, modes, owners and links.
func TestDaemonBackupMountRestoresWithDockerCp(t *testing.T) {
	h, cli, img := daemonHost(t)
	ctx := context.Background()
	source := newVolume(t, cli)
	fill(t, cli, img, source)
	before := snapshot(t, cli, img, source)
	if e := before["/sub/secret"]; e.mode&0o7777 != 0o640 || e.uid != 1000 || e.gid != 1001 {
		t.Fatalf("the volume was not filled as expected: %+v", before)
	}

	dest := filepath.Join(t.TempDir(), "not", "yet")
	at := time.Date(2024, 5, 1, 12, 3, 4, 0, time.UTC)
	m := mountOf(source)
	file, err := h.BackupMount(ctx, img, "svc", "svc-0", m, backupTo(dest), at)
	if err != nil {
		t.Fatal(err)
	}
	if want := "svc.svc-0.data.20240501T120304Z.tar"; file != want {
		t.Errorf("file %q, want %q", file, want)
	}
	info, err := os.Stat(filepath.Join(dest, file))
	if err != nil {
		t.Fatal(err)
	}
	if owner := info.Sys().(*syscall.Stat_t); info.Mode() != 0o600 || owner.Uid != 0 || owner.Gid != 0 {
		t.Errorf("backup file mode %v owner %d:%d; want 0600 root:root", info.Mode(), owner.Uid, owner.Gid)
	}
	archive, err := os.ReadFile(filepath.Join(dest, file))
	if err != nil {
		t.Fatal(err)
	}
	if names := entryNames(t, archive); names[0] != "./" || strings.Contains(strings.Join(names, " "), "stateful-source") {
		t.Errorf("entries %v; want them relative to the volume's root", names)
	}

	// docker create --name restore -v <volume>:/restore <image>; docker cp - restore:/restore < FILE.tar
	restored := newVolume(t, cli)
	created, err := cli.ContainerCreate(ctx, &container.Config{Image: img, Entrypoint: []string{"/program"}},
		&container.HostConfig{Binds: []string{restored + ":/restore"}}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cli.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true}) }()
	if err := cli.CopyToContainer(ctx, created.ID, "/restore", bytes.NewReader(archive), container.CopyToContainerOptions{}); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, cli, img, restored)
	// docker cp applies no entry to the directory it copies into: the new
	// volume's root keeps its own mode and owner (tar -xf applies them).
	delete(after, "/")
	if want := withoutRoot(before); fmt.Sprint(after) != fmt.Sprint(want) {
		t.Errorf("restored:\n%v\nwant:\n%v", after, want)
	}
	if e := after["/link"]; e.typ != tar.TypeSymlink || e.link != "sub/secret" {
		t.Errorf("restored link %+v; want a symbolic link to sub/secret", e)
	}
	if e := after["/sub/secret"]; e.mode&0o7777 != 0o640 || e.uid != 1000 || e.gid != 1001 || e.content != before["/sub/secret"].content {
		t.Errorf("restored sub/secret %+v", e)
	}
	if got := snapshot(t, cli, img, source); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("the backed up volume changed")
	}
}

// A destination that is a file, not a directory, fails the backup with
// the mount, the host and the destination named, and touches nothing.
func TestDaemonBackupMountIntoAFileFails(t *testing.T) {
	h, cli, img := daemonHost(t)
	source := newVolume(t, cli)
	fill(t, cli, img, source)
	before := snapshot(t, cli, img, source)
	dest := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(dest, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := h.BackupMount(context.Background(), img, "svc", "svc-0", mountOf(source), backupTo(dest), time.Now())
	if err == nil {
		t.Fatal("no error")
	}
	t.Log(err)
	for _, want := range []string{`volume "data"`, source, dest, `docker host "default"`, "the destination is not a directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if content, err := os.ReadFile(dest); err != nil || string(content) != "keep" {
		t.Errorf("the destination file now holds %q (%v)", content, err)
	}
	if got := snapshot(t, cli, img, source); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("the backed up volume changed")
	}
}

// A volume destination is created, with no label of the provider, so
// that no retention deletes it; a missing volume has nothing to archive
// and is not created.
func TestDaemonBackupMountIntoAVolume(t *testing.T) {
	h, cli, img := daemonHost(t)
	ctx := context.Background()
	source := newVolume(t, cli)
	fill(t, cli, img, source)
	backups := uniqueName("stateful-test-backups")
	t.Cleanup(func() { _ = cli.VolumeRemove(context.Background(), backups, true) })
	file, err := h.BackupMount(ctx, img, "svc", "", mountOf(source), backupVolume(backups), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	v, err := cli.VolumeInspect(ctx, backups)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Labels) != 0 {
		t.Errorf("backup volume labels %v; want none", v.Labels)
	}
	got := snapshot(t, cli, img, backups)
	if e, ok := got["/"+file]; !ok || e.mode&0o7777 != 0o600 || e.uid != 0 || !strings.HasPrefix(file, "svc.shared.data.") {
		t.Errorf("backup volume holds %v; want %s, 0600, root", got, file)
	}

	missing := uniqueName("stateful-test-missing")
	file, err = h.BackupMount(ctx, img, "svc", "svc-0", mountOf(missing), backupVolume(backups), time.Now())
	if err != nil || file != "" {
		t.Errorf("backup of a missing volume: %q, %v; want nothing, no error", file, err)
	}
	if found, err := h.volumeExists(ctx, missing, "local"); found || err != nil {
		t.Errorf("the missing volume was created (%v)", err)
	}
}

// Exec reports the exit code and output of a failed command, a timeout,
// and a container that does not run.
func TestDaemonExec(t *testing.T) {
	h, cli, img := daemonHost(t)
	ctx := context.Background()
	created, err := cli.ContainerCreate(ctx, &container.Config{Image: img, Entrypoint: []string{"/program", "sleep"}},
		&container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	})
	if err := h.StartContainer(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.Exec(ctx, created.ID, []string{"/program", "say", "fine", "", "0"}, 10*time.Second); err != nil {
		t.Errorf("exit 0: %v", err)
	}
	err = h.Exec(ctx, created.ID, []string{"/program", "say", "to stdout", "to stderr", "3"}, 10*time.Second)
	if err == nil || !strings.HasPrefix(err.Error(), "exited 3: ") || !strings.Contains(err.Error(), "to stdout") || !strings.Contains(err.Error(), "to stderr") {
		t.Errorf("exit 3: %v", err)
	}
	began := time.Now()
	err = h.Exec(ctx, created.ID, []string{"/program", "nap", "30s"}, time.Second)
	if want := "did not finish within 1s; it may still be running in the container: napping"; err == nil || err.Error() != want {
		t.Errorf("timeout: %v; want %s", err, want)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("the timeout took %s", took)
	}
	err = h.Exec(ctx, created.ID, []string{"/no/such/program"}, 10*time.Second)
	if err == nil {
		t.Error("a missing program: no error")
	}
	if err := h.StopContainer(ctx, created.ID, 0); err != nil {
		t.Fatal(err)
	}
	err = h.Exec(ctx, created.ID, []string{"/program", "say", "x", "y", "0"}, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "is not running") {
		t.Errorf("stopped container: %v", err)
	}
}

func mountOf(vol string) spec.Mount {
	return spec.Mount{Volume: "data", Strategy: spec.StrategyPlugin, Source: vol, Target: "/data", Driver: "local"}
}

func backupTo(dir string) spec.Backup { return spec.Backup{HostPath: dir} }

func backupVolume(name string) spec.Backup { return spec.Backup{Volume: name} }

func entryNames(t *testing.T, archive []byte) []string {
	t.Helper()
	var names []string
	for _, hdr := range readHeaders(t, archive) {
		names = append(names, hdr.Name)
	}
	if len(names) == 0 {
		t.Fatal("an empty archive")
	}
	return names
}

func withoutRoot(s map[string]entry) map[string]entry {
	out := map[string]entry{}
	for name, e := range s {
		if name != "/" {
			out[name] = e
		}
	}
	return out
}

// Data that reads shorter the second time fails the copy (the daemon sees
// a truncated archive) with errDataChanged, and the partial file goes.
func TestDaemonBackupOfChangedDataLeavesNoFile(t *testing.T) {
	h, cli, img := daemonHost(t)
	ctx := context.Background()
	source := newVolume(t, cli)
	fill(t, cli, img, source)
	dest := t.TempDir()
	sourceMount, _, err := h.backupSourceMount(ctx, mountOf(source))
	if err != nil {
		t.Fatal(err)
	}
	_, reader, remove, err := h.newHelper(ctx, img, container.HostConfig{Mounts: []mount.Mount{sourceMount}})
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	_, writer, remove, err := h.newHelper(ctx, img, container.HostConfig{Binds: []string{backupBind(backupTo(dest))}})
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	size, err := readData(ctx, cli, reader, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	err = writeBackup(ctx, cli, reader, writer, "x.tar", size+512, time.Now())
	if !errors.Is(err, errDataChanged) {
		t.Fatalf("error %v; want errDataChanged", err)
	}
	if err := removePath(ctx, cli, writer, backupTarget, backupTarget+"/x.tar"); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(dest); err != nil || len(entries) != 0 {
		t.Errorf("the destination holds %v (%v); want nothing", entries, err)
	}
}
