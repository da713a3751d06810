package resources_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// Issue 15: a backup before the provider deletes or recreates data, and a
// restore, byte for byte, the way the backups guide says.

// dockerCLI runs the docker CLI, as the guide's commands do, with stdin
// when given, and returns its standard output.
func dockerCLI(stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.Command("docker", args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// removeAtCleanup removes, when the test ends, a Docker volume it creates
// outside the service (a backup volume, a restored volume) and the helper
// containers named.
func removeAtCleanup(t *testing.T, volume string, containers ...string) {
	t.Cleanup(func() {
		for _, c := range containers {
			_, _ = dockerCLI(nil, "rm", "-f", c)
		}
		_, _ = dockerCLI(nil, "volume", "rm", "-f", volume)
	})
}

// treeEntry is one file or directory of a data tree, below its root.
type treeEntry struct {
	dir  bool
	mode fs.FileMode
	data string
}

func (e treeEntry) String() string {
	if e.dir {
		return fmt.Sprintf("dir %04o", e.mode)
	}
	return fmt.Sprintf("file %04o, %d bytes", e.mode, len(e.data))
}

// allBytes is binary content: every byte value, 16 times over.
var allBytes = func() string {
	b := make([]byte, 0, 16*256)
	for range 16 {
		for i := range 256 {
			b = append(b, byte(i))
		}
	}
	return string(b)
}()

// knownTree is what writeKnownTree writes.
func knownTree(replica string) map[string]treeEntry {
	return map[string]treeEntry{
		"hello.txt":          {mode: 0o644, data: "hello from " + replica + "\n"},
		"secret.conf":        {mode: 0o640, data: "password = not-really\n"},
		"sub":                {dir: true, mode: 0o750},
		"sub/deeper":         {dir: true, mode: 0o755},
		"sub/deeper/bin.dat": {mode: 0o600, data: allBytes},
		"sub/empty":          {mode: 0o644, data: ""},
	}
}

// writeKnownTree writes knownTree into dir of a running replica, through
// the replica.
func writeKnownTree(replica, dir string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		var format strings.Builder
		for i := range 256 {
			fmt.Fprintf(&format, `\%03o`, i)
		}
		script := `set -e
cd "$1"
printf 'hello from %s\n' "$(cat /etc/hostname)" > hello.txt
printf 'password = not-really\n' > secret.conf
chmod 0640 secret.conf
mkdir -p sub/deeper
chmod 0750 sub
chmod 0755 sub/deeper
: > sub/deeper/bin.dat
i=0
while [ $i -lt 16 ]; do printf "$2" >> sub/deeper/bin.dat; i=$((i + 1)); done
chmod 0600 sub/deeper/bin.dat
: > sub/empty
chmod 0644 hello.txt sub/empty`
		_, err := execIn(replica, "sh", "-c", script, "sh", dir, format.String())
		return err
	}
}

// readTree reads a data tree from the host, below root.
func readTree(root string) (map[string]treeEntry, error) {
	out := map[string]treeEntry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := treeEntry{dir: d.IsDir(), mode: info.Mode().Perm()}
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.data = string(b)
		} else if !d.IsDir() {
			return fmt.Errorf("%s is a %s", p, info.Mode().Type())
		}
		out[rel] = e
		return nil
	})
	return out, err
}

// sameTree compares two data trees: names, kinds, modes and bytes.
func sameTree(what string, got, want map[string]treeEntry) error {
	var diffs []string
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			diffs = append(diffs, name+": missing")
		case g.dir != w.dir || g.mode != w.mode:
			diffs = append(diffs, fmt.Sprintf("%s: %s, want %s", name, g, w))
		case g.data != w.data:
			diffs = append(diffs, fmt.Sprintf("%s: other bytes (%d, want %d)", name, len(g.data), len(w.data)))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			diffs = append(diffs, name+": unexpected")
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		return fmt.Errorf("%s differs:\n  %s", what, strings.Join(diffs, "\n  "))
	}
	return nil
}

// volumeMountpoint is where the local daemon keeps a local volume's data.
func volumeMountpoint(volume string) (string, error) {
	out, err := dockerCLI(nil, "volume", "inspect", "--format", "{{.Mountpoint}}", volume)
	return strings.TrimSpace(string(out)), err
}

// backupPattern matches the name of a backup file of one mount.
func backupPattern(service, replica, volume string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(service+"."+replica+"."+volume+".") + `\d{8}T\d{6}Z\.tar$`)
}

// matchBackups checks that names are exactly one backup file per pattern
// and returns them by pattern index.
func matchBackups(names []string, patterns ...*regexp.Regexp) ([]string, error) {
	out := make([]string, len(patterns))
	for i, p := range patterns {
		for _, n := range names {
			if p.MatchString(n) {
				if out[i] != "" {
					return nil, fmt.Errorf("two backups match %s: %s and %s", p, out[i], n)
				}
				out[i] = n
			}
		}
		if out[i] == "" {
			return nil, fmt.Errorf("no backup matches %s among %q", p, names)
		}
	}
	if len(names) != len(patterns) {
		return nil, fmt.Errorf("backups %q; want one each of %v", names, patterns)
	}
	return out, nil
}

func listDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, err
}

// tarTree reads a backup archive into a data tree, checking that its
// entries are relative to the volume's root.
func tarTree(archive []byte) (map[string]treeEntry, error) {
	out := map[string]treeEntry{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(h.Name, "/") || strings.Contains(h.Name, "..") {
			return nil, fmt.Errorf("archive entry %q is not relative to the volume's root", h.Name)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		if name == "" || name == "." {
			continue
		}
		e := treeEntry{dir: h.Typeflag == tar.TypeDir, mode: fs.FileMode(h.Mode).Perm()}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			e.data = string(b)
		}
		out[name] = e
	}
}

// volumeHolds reads a file back from a Docker volume through a helper
// container that mounts it read-only.
func volumeHolds(image, volume, file, want string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		out, err := dockerCLI(nil, "run", "--rm", "--network", "none", "-v", volume+":/d:ro", image, "cat", "/d/"+file)
		if err != nil {
			return fmt.Errorf("the data of volume %s is not intact: %w", volume, err)
		}
		if string(out) != want {
			return fmt.Errorf("volume %s holds %s = %q, want %q", volume, file, out, want)
		}
		return nil
	}
}

func volumeExists(volume string, want bool) resource.TestCheckFunc {
	return func(*terraform.State) error {
		_, err := dockerCLI(nil, "volume", "inspect", volume)
		if (err == nil) != want {
			return fmt.Errorf("volume %s: exists = %v, want %v", volume, err == nil, want)
		}
		return nil
	}
}

// A scale-down that deletes data archives each of the removed replica's
// mounts first; the archives restore, with the documented commands, to
// exactly the data the replica had.
func TestAccServiceBackup_scaleDownAndRestore(t *testing.T) {
	image := acctest.NeedRealImage(t)
	name := acctest.Name(t, "bkup")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	base := scratch(t)
	backups := filepath.Join(base, "backups", "nested") // created by the backup
	hostDirs := filepath.Join(base, "dirs")
	dataVolume := spec.VolumeName(name, "data", 1, true)
	hostDir := filepath.Join(hostDirs, r(1))
	restoredVolume, restorer := name+"-restored", name+"-restore"
	removeAtCleanup(t, restoredVolume, restorer)
	config := func(replicas int) string {
		return realService(name, image, replicas, fmt.Sprintf(`
  volume {
    name   = "data"
    target = "/data"
    plugin { driver = "local" }
  }
  volume {
    name   = "hdata"
    target = "/hdata"
    host { path = "%s/{{.Name}}" }
  }
  retention { when_scaled = "delete" }
  backup { host_path = %q }`, hostDirs, backups))
	}
	var original map[string]map[string]treeEntry // by mount, as on the host before the scale-down
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				Config: config(2),
				Check: resource.ComposeTestCheckFunc(
					writeKnownTree(r(1), "/data"),
					writeKnownTree(r(1), "/hdata"),
					writeKnownTree(r(0), "/data"),
					func(*terraform.State) error {
						mountpoint, err := volumeMountpoint(dataVolume)
						if err != nil {
							return err
						}
						original = map[string]map[string]treeEntry{}
						for mount, dir := range map[string]string{"data": mountpoint, "hdata": hostDir} {
							tree, err := readTree(dir)
							if err != nil {
								return err
							}
							if err := sameTree(mount+" of "+r(1)+" as written", tree, knownTree(r(1))); err != nil {
								return err
							}
							original[mount] = tree
						}
						return nil
					}),
			},
			{
				Config: config(1),
				ConfigPlanChecks: rolloutThen(
					r(1) + ": remove (scale down; backup of " + dataVolume + ", " + hostDir + " to " + backups + " first)"),
				Check: resource.ComposeTestCheckFunc(
					volumeExists(dataVolume, false),
					func(*terraform.State) error {
						entries, err := os.ReadDir(hostDir)
						if err != nil && !os.IsNotExist(err) {
							return err
						}
						if len(entries) != 0 {
							return fmt.Errorf("host directory %s was not emptied: %d entries", hostDir, len(entries))
						}
						return nil
					},
					// The kept replica's data is not touched.
					volumeHolds(image, spec.VolumeName(name, "data", 0, true), "hello.txt", "hello from "+r(0)+"\n"),
					func(*terraform.State) error {
						names, err := listDir(backups)
						if err != nil {
							return err
						}
						files, err := matchBackups(names, backupPattern(name, r(1), "data"), backupPattern(name, r(1), "hdata"))
						if err != nil {
							return err
						}
						for i, mount := range []string{"data", "hdata"} {
							archive, err := os.ReadFile(filepath.Join(backups, files[i]))
							if err != nil {
								return err
							}
							tree, err := tarTree(archive)
							if err != nil {
								return fmt.Errorf("%s: %w", files[i], err)
							}
							if err := sameTree("archive "+files[i], tree, original[mount]); err != nil {
								return err
							}
						}

						// Restore the volume as the guide says.
						volumeTar := filepath.Join(backups, files[0])
						if _, err := dockerCLI(nil, "create", "--name", restorer, "-v", restoredVolume+":/restore", image); err != nil {
							return err
						}
						f, err := os.Open(volumeTar)
						if err != nil {
							return err
						}
						defer func() { _ = f.Close() }()
						if _, err := dockerCLI(f, "cp", "-", restorer+":/restore"); err != nil {
							return err
						}
						if _, err := dockerCLI(nil, "rm", restorer); err != nil {
							return err
						}
						mountpoint, err := volumeMountpoint(restoredVolume)
						if err != nil {
							return err
						}
						restored, err := readTree(mountpoint)
						if err != nil {
							return err
						}
						if err := sameTree("volume restored from "+files[0], restored, original["data"]); err != nil {
							return err
						}

						// And the host directory.
						into := filepath.Join(base, "restored-hdata")
						if err := os.Mkdir(into, 0o755); err != nil {
							return err
						}
						if out, err := exec.Command("tar", "-xf", filepath.Join(backups, files[1]), "-C", into).CombinedOutput(); err != nil {
							return fmt.Errorf("tar -xf %s: %w: %s", files[1], err, out)
						}
						restored, err = readTree(into)
						if err != nil {
							return err
						}
						return sameTree("host directory restored from "+files[1], restored, original["hdata"])
					}),
			},
		},
	})
}

// Destroy with when_deleted = "delete" archives every volume, the shared
// one included, into a backup volume first, then deletes them.
func TestAccServiceBackup_destroyIntoVolume(t *testing.T) {
	image := acctest.NeedRealImage(t)
	name := acctest.Name(t, "bkdel")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	backupVolume, reader := name+"-backups", name+"-reader"
	removeAtCleanup(t, backupVolume, reader)
	config := realService(name, image, 2, fmt.Sprintf(`
  volume {
    name   = "data"
    target = "/data"
    plugin { driver = "local" }
  }
  volume {
    name        = "common"
    target      = "/common"
    per_replica = false
    plugin { driver = "local" }
  }
  retention { when_deleted = "delete" }
  backup { volume = %q }`, backupVolume))
	write := func(replica, file, content string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			_, err := execIn(replica, "sh", "-c", `printf '%s' "$2" > "$1"`, "sh", file, content)
			return err
		}
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: resource.ComposeTestCheckFunc(
					write(r(0), "/data/who", "zero"),
					write(r(1), "/data/who", "one"),
					write(r(0), "/common/shared.txt", "everyone's")),
			},
			{
				Config: noResources,
				Check: resource.ComposeTestCheckFunc(
					acctest.CheckGone(name),
					func(*terraform.State) error {
						volumes, err := acctest.Docker().ListVolumes(context.Background(), name)
						if err != nil {
							return err
						}
						if len(volumes) != 0 {
							return fmt.Errorf("after destroy, %d volumes of %s remain", len(volumes), name)
						}
						return nil
					},
					func(*terraform.State) error {
						// Read the backups through a helper container.
						if _, err := dockerCLI(nil, "create", "--name", reader, "-v", backupVolume+":/backups", image); err != nil {
							return err
						}
						defer func() { _, _ = dockerCLI(nil, "rm", reader) }()
						out, err := dockerCLI(nil, "cp", reader+":/backups", "-")
						if err != nil {
							return err
						}
						archives := map[string][]byte{}
						tr := tar.NewReader(bytes.NewReader(out))
						for {
							h, err := tr.Next()
							if err == io.EOF {
								break
							}
							if err != nil {
								return err
							}
							if h.Typeflag == tar.TypeReg {
								b, err := io.ReadAll(tr)
								if err != nil {
									return err
								}
								archives[strings.TrimPrefix(h.Name, "backups/")] = b
							}
						}
						names := slices.Sorted(maps.Keys(archives))
						files, err := matchBackups(names,
							backupPattern(name, r(0), "data"), backupPattern(name, r(1), "data"), backupPattern(name, "shared", "common"))
						if err != nil {
							return err
						}
						for i, want := range []map[string]string{{"who": "zero"}, {"who": "one"}, {"shared.txt": "everyone's"}} {
							tree, err := tarTree(archives[files[i]])
							if err != nil {
								return fmt.Errorf("%s: %w", files[i], err)
							}
							for file, content := range want {
								if tree[file].data != content {
									return fmt.Errorf("%s holds %s = %q, want %q (entries %v)", files[i], file, tree[file].data, content, tree)
								}
							}
						}
						return nil
					}),
			},
		},
	})
}

// A backup that fails deletes nothing: the apply fails, saying so, and the
// removed replica's volume keeps its data. Pointed at a directory, the
// next apply takes the backup and deletes the volume.
func TestAccServiceBackup_failedBackupDeletesNothing(t *testing.T) {
	image := acctest.NeedRealImage(t)
	name := acctest.Name(t, "bkfail")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	base := scratch(t)
	notADirectory := filepath.Join(base, "not-a-directory")
	if err := os.WriteFile(notADirectory, []byte("a regular file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	backups := filepath.Join(base, "backups")
	dataVolume := spec.VolumeName(name, "data", 1, true)
	config := func(replicas int, backupTo string) string {
		return realService(name, image, replicas, fmt.Sprintf(`
  volume {
    name   = "data"
    target = "/data"
    plugin { driver = "local" }
  }
  retention { when_scaled = "delete" }
  backup { host_path = %q }`, backupTo))
	}
	const marker = "data of replica one\n"
	intact := resource.ComposeTestCheckFunc(
		volumeExists(dataVolume, true),
		volumeHolds(image, dataVolume, "marker", marker),
		func(*terraform.State) error {
			b, err := os.ReadFile(notADirectory)
			if err != nil || string(b) != "a regular file\n" {
				return fmt.Errorf("the file at the backup path was changed: %q, %w", b, err)
			}
			return nil
		})
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				Config: config(2, notADirectory),
				Check: func(*terraform.State) error {
					_, err := execIn(r(1), "sh", "-c", `printf '%s' "$1" > /data/marker`, "sh", marker)
					return err
				},
			},
			{
				Config: config(1, notADirectory),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					acctest.ExpectRollout(address, r(1)+": remove (scale down; backup of "+dataVolume+" to "+notADirectory+" first)"),
				}},
				ExpectError: wrappedAll("backup of " + dataVolume + " failed, nothing was deleted"),
			},
			{
				PreConfig: func() {
					if err := intact(nil); err != nil {
						t.Error(err)
					}
				},
				Config: config(1, backups),
				ConfigPlanChecks: rolloutThen(
					r(1) + ": remove (scale down; backup of " + dataVolume + " to " + backups + " first)"),
				Check: resource.ComposeTestCheckFunc(
					volumeExists(dataVolume, false),
					func(*terraform.State) error {
						if _, err := acctest.Local().InspectContainer(context.Background(), r(1)); err == nil {
							return fmt.Errorf("%s still exists", r(1))
						}
						names, err := listDir(backups)
						if err != nil {
							return err
						}
						files, err := matchBackups(names, backupPattern(name, r(1), "data"))
						if err != nil {
							return err
						}
						archive, err := os.ReadFile(filepath.Join(backups, files[0]))
						if err != nil {
							return err
						}
						tree, err := tarTree(archive)
						if err != nil {
							return err
						}
						if tree["marker"].data != marker {
							return fmt.Errorf("%s holds marker = %q, want %q", files[0], tree["marker"].data, marker)
						}
						return nil
					}),
			},
		},
	})
}

// recreate_on_change archives the volume's old data before it recreates
// the volume with its new definition.
func TestAccServiceBackup_recreateOnChange(t *testing.T) {
	image := acctest.NeedRealImage(t)
	name := acctest.Name(t, "bkrec")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	backups := filepath.Join(scratch(t), "backups")
	dataVolume := spec.VolumeName(name, "data", 0, true)
	config := func(size string) string {
		return realService(name, image, 1, fmt.Sprintf(`
  volume {
    name               = "data"
    target             = "/data"
    recreate_on_change = true
    plugin {
      driver  = %q
      options = { size = %q }
    }
  }
  backup { host_path = %q }`, acctest.VolumePluginDriver, size, backups))
	}
	const marker = "written on the size 1 volume\n"
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				Config: config("1"),
				Check: func(*terraform.State) error {
					_, err := execIn(r(0), "sh", "-c", `printf '%s' "$1" > /data/marker`, "sh", marker)
					return err
				},
			},
			{
				Config: config("2"),
				ConfigPlanChecks: rolloutThen(
					r(0) + ": replace (volume definition changed: " + dataVolume + " recreated; backup of " + dataVolume + " to " + backups + " first)"),
				Check: resource.ComposeTestCheckFunc(
					func(*terraform.State) error {
						// The volume is new: the old data is not in it.
						if out, err := execIn(r(0), "ls", "-A", "/data"); err != nil || strings.TrimSpace(out) != "" {
							return fmt.Errorf("the recreated volume holds %q (%w); want it empty", out, err)
						}
						return nil
					},
					func(*terraform.State) error {
						names, err := listDir(backups)
						if err != nil {
							return err
						}
						files, err := matchBackups(names, backupPattern(name, r(0), "data"))
						if err != nil {
							return err
						}
						archive, err := os.ReadFile(filepath.Join(backups, files[0]))
						if err != nil {
							return err
						}
						tree, err := tarTree(archive)
						if err != nil {
							return err
						}
						if tree["marker"].data != marker {
							return fmt.Errorf("%s holds marker = %q, want the old data %q", files[0], tree["marker"].data, marker)
						}
						return nil
					}),
			},
		},
	})
}

func TestAccServiceBackup_invalidConfiguration(t *testing.T) {
	volume := `
  volume {
    name   = "data"
    target = "/data"
    plugin { driver = "local" }
  }`
	cases := map[string]struct {
		body string
		err  string
	}{
		"both destinations":   {volume + "\n  backup {\n    host_path = \"/var/backups\"\n    volume = \"bk\"\n  }", `set exactly one of host_path`},
		"no destination":      {volume + "\n  backup {}", `set exactly one of host_path`},
		"relative host path":  {volume + "\n  backup { host_path = \"var/backups\" }", `must be a clean absolute directory path`},
		"a volume of its own": {volume + "\n  backup { volume = \"badbk-data-1\" }", `is named like a volume of the service itself`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			planFails(t, serviceConfig("badbk", acctest.WorkloadImageV1, 2, tc.body), wrapped(tc.err))
		})
	}
}
