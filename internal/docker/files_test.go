package docker

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// tarEntry is what a test checks of one archive member.
type tarEntry struct {
	Name     string
	Type     byte
	Mode     int64
	UID, GID int
	Size     int64
	Content  string
}

func readTar(t *testing.T, buf *bytes.Buffer) []tarEntry {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	var out []tarEntry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read archive: %v", err)
		}
		if h.ModTime.IsZero() {
			t.Errorf("%s: no modification time", h.Name)
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read %s: %v", h.Name, err)
		}
		out = append(out, tarEntry{Name: h.Name, Type: h.Typeflag, Mode: h.Mode, UID: h.Uid, GID: h.Gid, Size: h.Size, Content: string(content)})
	}
}

func dirEntryOf(name string, mode int64) tarEntry {
	return tarEntry{Name: name, Type: tar.TypeDir, Mode: mode}
}

func TestSecretsArchive(t *testing.T) {
	dirs := []spec.SecretDir{
		{Source: spec.SecretStage("db", "db-2", 0), Target: "/etc/tls"},
		{Source: spec.SecretStage("db", "db-2", 1), Target: "/run/secrets"},
	}
	cases := map[string]struct {
		files []spec.SecretFile
		dirs  []spec.SecretDir
		want  []tarEntry
	}{
		"two targets, owners and modes": {
			files: []spec.SecretFile{
				{Name: "password", Dir: "/run/secrets", Mode: 0o400, Token: "v3", Value: []byte("hunter2")},
				{Name: "tls.key", Dir: "/etc/tls", Mode: 0o440, UID: 999, GID: 998, Token: "habc", Value: []byte("-----BEGIN KEY-----\n\x00\xff\n")},
				{Name: "empty", Dir: "/run/secrets", Mode: 0o600, UID: 1000, GID: 1000, Token: "v1"},
			},
			dirs: dirs,
			want: []tarEntry{
				dirEntryOf("db/", 0o700),
				dirEntryOf("db/db-2/", 0o700),
				dirEntryOf("db/db-2/0/", 0o755),
				dirEntryOf("db/db-2/1/", 0o755),
				{Name: "db/db-2/1/password", Type: tar.TypeReg, Mode: 0o400, Size: 7, Content: "hunter2"},
				{Name: "db/db-2/0/tls.key", Type: tar.TypeReg, Mode: 0o440, UID: 999, GID: 998, Size: 23, Content: "-----BEGIN KEY-----\n\x00\xff\n"},
				{Name: "db/db-2/1/empty", Type: tar.TypeReg, Mode: 0o600, UID: 1000, GID: 1000, Size: 0, Content: ""},
			},
		},
		"one target": {
			files: []spec.SecretFile{
				{Name: "a", Dir: "/run/secrets", Mode: 0o444, Value: []byte("1")},
				{Name: "b", Dir: "/run/secrets", Mode: 0o4400, UID: 5, GID: 6, Value: []byte("22")},
			},
			dirs: []spec.SecretDir{{Source: spec.SecretStage("db", "db-2", 0), Target: "/run/secrets"}},
			want: []tarEntry{
				dirEntryOf("db/", 0o700),
				dirEntryOf("db/db-2/", 0o700),
				dirEntryOf("db/db-2/0/", 0o755),
				{Name: "db/db-2/0/a", Type: tar.TypeReg, Mode: 0o444, Size: 1, Content: "1"},
				{Name: "db/db-2/0/b", Type: tar.TypeReg, Mode: 0o4400, UID: 5, GID: 6, Size: 2, Content: "22"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := readTar(t, secretsArchive("db", "db-2", tc.files, tc.dirs))
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("archive\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestSecretsArchiveDirectoriesComeFirst(t *testing.T) {
	files := []spec.SecretFile{{Name: "z", Dir: "/b", Mode: 0o400, Value: []byte("z")}, {Name: "a", Dir: "/a", Mode: 0o400, Value: []byte("a")}}
	dirs := []spec.SecretDir{{Source: spec.SecretStage("s", "s-0", 0), Target: "/a"}, {Source: spec.SecretStage("s", "s-0", 1), Target: "/b"}}
	entries := readTar(t, secretsArchive("s", "s-0", files, dirs))
	seenFile := false
	for _, e := range entries {
		switch e.Type {
		case tar.TypeDir:
			if seenFile {
				t.Errorf("directory %s after a file: the daemon would create it with default permissions", e.Name)
			}
			if !strings.HasSuffix(e.Name, "/") {
				t.Errorf("directory %s lacks a trailing slash", e.Name)
			}
		case tar.TypeReg:
			seenFile = true
		default:
			t.Errorf("%s: unexpected type %q", e.Name, e.Type)
		}
	}
	if len(entries) != 6 {
		t.Fatalf("%d entries %+v, want 4 directories and 2 files", len(entries), entries)
	}
}

// TestSecretsArchiveMatchesRenderedStages checks that every secret lands in
// the staging directory the replica binds at the secret's target: the
// archive is extracted into spec.SecretsRoot.
func TestSecretsArchiveMatchesRenderedStages(t *testing.T) {
	svc := spec.Service{Name: "db", Image: "postgres:16", Replicas: 2, OrdinalStart: 3, Secrets: []spec.Secret{
		{Name: "password", Version: 1, Value: []byte("pw")},
		{Name: "tls.key", Target: "/etc/tls", Mode: "0440", UID: 999, GID: 999, FromFile: "/k", Digest: "ab", Value: []byte("key")},
		{Name: "ca.pem", Target: "/etc/tls", FromEnv: "CA", Digest: "cd", Value: []byte("ca")},
		{Name: "zz", Target: "/a", Version: 2, Value: []byte("zz")},
	}}.WithDefaults()
	replicas, err := svc.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range replicas {
		c := r.Container
		sources := map[string]string{}
		for _, d := range c.SecretDirs {
			sources[d.Target] = d.Source
		}
		want := map[string]string{}
		for _, f := range c.Secrets {
			want[path.Join(sources[f.Dir], f.Name)] = string(f.Value)
		}
		got := map[string]string{}
		for _, e := range readTar(t, secretsArchive("db", r.Name, c.Secrets, c.SecretDirs)) {
			full := path.Join(spec.SecretsRoot, e.Name)
			if e.Type == tar.TypeReg {
				got[full] = e.Content
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: archive extracts to %v, want %v", r.Name, got, want)
		}
		if len(got) != 4 {
			t.Errorf("%s: %d files, want 4", r.Name, len(got))
		}
	}
}
