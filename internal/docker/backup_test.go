package docker

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// daemonArchive is a tar shaped like the daemon's archive of a container
// directory named base: names prefixed by base, PAX records, access times.
func daemonArchive(t *testing.T, base string, entries ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, hdr := range entries {
		hdr.Name = strings.ReplaceAll(hdr.Name, "BASE", base)
		hdr.Linkname = strings.ReplaceAll(hdr.Linkname, "BASE", base)
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(bytes.Repeat([]byte("x"), int(hdr.Size))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readHeaders(t *testing.T, archive []byte) []*tar.Header {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	var out []*tar.Header
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, hdr)
	}
}

func TestRebaseArchiveNamesEntriesRelativeToTheRoot(t *testing.T) {
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	atime := mtime.Add(time.Hour)
	in := daemonArchive(t, "stateful-source",
		&tar.Header{Name: "BASE/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 999, Gid: 999, ModTime: mtime, Format: tar.FormatPAX, AccessTime: atime},
		&tar.Header{Name: "BASE/a.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: 5, ModTime: mtime},
		&tar.Header{Name: "BASE/sub/", Typeflag: tar.TypeDir, Mode: 0o700, ModTime: mtime},
		&tar.Header{Name: "BASE/sub/secret", Typeflag: tar.TypeReg, Mode: 0o640, Uid: 1000, Gid: 1001, Size: 3, ModTime: mtime,
			PAXRecords: map[string]string{"SCHILY.xattr.user.note": "kept", "GOLANG.other": "dropped"}},
		&tar.Header{Name: "BASE/link", Typeflag: tar.TypeSymlink, Linkname: "BASE/sub/secret", Mode: 0o777, ModTime: mtime},
		&tar.Header{Name: "BASE/hard", Typeflag: tar.TypeLink, Linkname: "BASE/a.txt", Mode: 0o644, ModTime: mtime},
	)
	var out bytes.Buffer
	if err := rebaseArchive(&out, bytes.NewReader(in), "stateful-source"); err != nil {
		t.Fatal(err)
	}
	got := readHeaders(t, out.Bytes())
	want := []struct {
		name, link string
		mode       int64
		uid, gid   int
	}{
		{"./", "", 0o750, 999, 999},
		{"a.txt", "", 0o644, 0, 0},
		{"sub/", "", 0o700, 0, 0},
		{"sub/secret", "", 0o640, 1000, 1001},
		{"link", "stateful-source/sub/secret", 0o777, 0, 0}, // a symbolic link's target is a path, left as it is
		{"hard", "a.txt", 0o644, 0, 0},                      // a hard link's target is an entry, rebased
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.Linkname != w.link || g.Mode != w.mode || g.Uid != w.uid || g.Gid != w.gid || !g.ModTime.Equal(mtime) {
			t.Errorf("entry %d: got %q -> %q mode %o owner %d:%d at %v; want %q -> %q mode %o owner %d:%d at %v",
				i, g.Name, g.Linkname, g.Mode, g.Uid, g.Gid, g.ModTime, w.name, w.link, w.mode, w.uid, w.gid, mtime)
		}
		if !g.AccessTime.IsZero() {
			t.Errorf("entry %q keeps its access time", g.Name)
		}
	}
	if got[3].PAXRecords["SCHILY.xattr.user.note"] != "kept" || got[3].PAXRecords["GOLANG.other"] != "" {
		t.Errorf("records of sub/secret: %v; want the extended attribute only", got[3].PAXRecords)
	}
}

func TestRebaseArchiveIsTheSameSizeEveryTime(t *testing.T) {
	in := daemonArchive(t, "d",
		&tar.Header{Name: "BASE/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "BASE/f", Typeflag: tar.TypeReg, Mode: 0o600, Size: 1000},
	)
	var first, second counter
	first.next, second.next = io.Discard, io.Discard
	if err := rebaseArchive(&first, bytes.NewReader(in), "d"); err != nil {
		t.Fatal(err)
	}
	if err := rebaseArchive(&second, bytes.NewReader(in), "d"); err != nil {
		t.Fatal(err)
	}
	if first.n != second.n || first.n%512 != 0 || first.n == 0 {
		t.Errorf("sizes %d and %d; want the same, in whole tar blocks", first.n, second.n)
	}
}

func TestRebaseArchiveRefusesWhatIsNotTheDirectory(t *testing.T) {
	cases := map[string][]*tar.Header{
		"a file, not a directory": {{Name: "BASE", Typeflag: tar.TypeReg, Mode: 0o600}},
		"an entry of another directory": {
			{Name: "BASE/", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "other/f", Typeflag: tar.TypeReg, Mode: 0o600},
		},
		"an entry above the directory": {
			{Name: "BASE/", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "BASE/../f", Typeflag: tar.TypeReg, Mode: 0o600},
		},
		"a hard link out of the directory": {
			{Name: "BASE/", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "BASE/h", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"},
		},
		"contents before the directory": {{Name: "BASE/f", Typeflag: tar.TypeReg, Mode: 0o600}},
		"nothing":                       {},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			err := rebaseArchive(io.Discard, bytes.NewReader(daemonArchive(t, "d", entries...)), "d")
			if err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestExactlyTellsDataThatChanged(t *testing.T) {
	e := &exactly{next: io.Discard, left: 10}
	if _, err := e.Write(make([]byte, 6)); err != nil {
		t.Fatal(err)
	}
	if err := e.done(); !errors.Is(err, errDataChanged) {
		t.Errorf("4 bytes short: %v; want errDataChanged", err)
	}
	if _, err := e.Write(make([]byte, 5)); !errors.Is(err, errDataChanged) {
		t.Errorf("1 byte over: %v; want errDataChanged", err)
	}
	if _, err := e.Write(make([]byte, 4)); err != nil || e.done() != nil {
		t.Errorf("exactly the size: %v, %v; want no error", err, e.done())
	}
}

func TestBackupHeaderIsAPrivateFileOfRoot(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	hdr := backupHeader("x.tar", 2048, at)
	if hdr.Mode != 0o600 || hdr.Uid != 0 || hdr.Gid != 0 || hdr.Typeflag != tar.TypeReg || hdr.Size != 2048 || !hdr.ModTime.Equal(at) {
		t.Errorf("header %+v", hdr)
	}
}

func TestBackupFileName(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 3, 4, 0, time.FixedZone("CEST", 2*3600))
	cases := []struct {
		replica string
		m       spec.Mount
		want    string
	}{
		{"etcd-2", spec.Mount{Volume: "data", Source: "etcd-data-2", Strategy: spec.StrategyPlugin}, "etcd.etcd-2.data.20240501T100304Z.tar"},
		{"", spec.Mount{Volume: "conf", Source: "etcd-conf", Shared: true}, "etcd.shared.conf.20240501T100304Z.tar"},
		{"etcd-0", spec.Mount{Volume: "logs", Source: "/srv/etcd/0/logs", Strategy: spec.StrategyHost}, "etcd.etcd-0.logs.20240501T100304Z.tar"},
		// A mount known only by its data (no volume block) is named by it.
		{"etcd-1", spec.Mount{Source: "etcd-data-1"}, "etcd.etcd-1.etcd-data-1.20240501T100304Z.tar"},
	}
	for _, tc := range cases {
		if got := backupFileName("etcd", tc.replica, tc.m, at); got != tc.want {
			t.Errorf("backupFileName(%q, %+v) = %q, want %q", tc.replica, tc.m, got, tc.want)
		}
	}
}

func TestBackupBindAndDescription(t *testing.T) {
	if got := backupBind(spec.Backup{HostPath: "/var/backups/stateful"}); got != "/var/backups/stateful:"+backupTarget {
		t.Errorf("host path bind %q", got)
	}
	if got := backupBind(spec.Backup{Volume: "etcd-backups"}); got != "etcd-backups:"+backupTarget {
		t.Errorf("volume bind %q", got)
	}
	if got := describeMount(spec.Mount{Volume: "data", Source: "/srv/d", Strategy: spec.StrategyHost}); got != `volume "data" (host directory /srv/d)` {
		t.Errorf("describeMount = %q", got)
	}
}
