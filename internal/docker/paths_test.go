package docker

import (
	"archive/tar"
	"errors"
	"fmt"
	"os"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
)

// fakeTree answers stats the way the daemon does: a missing path is a 404
// (not found), a path below a file a bare 500 (internal).
type fakeTree map[string]os.FileMode

func (f fakeTree) stat(asked *[]string) func(string) (container.PathStat, error) {
	return func(p string) (container.PathStat, error) {
		*asked = append(*asked, p)
		if mode, ok := f[p]; ok {
			return container.PathStat{Name: p, Mode: mode}, nil
		}
		for dir := p; dir != "/"; {
			dir = dirOf(dir)
			if mode, ok := f[dir]; ok && !mode.IsDir() {
				return container.PathStat{}, fmt.Errorf("request returned 500 Internal Server Error: %w", cerrdefs.ErrInternal)
			}
		}
		return container.PathStat{}, fmt.Errorf("request returned 404 Not Found: %w", cerrdefs.ErrNotFound)
	}
}

func dirOf(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "/"
}

func TestStatBelow(t *testing.T) {
	tree := fakeTree{
		"/root":               os.ModeDir | 0o755,
		"/root/svc":           os.ModeDir | 0o700,
		"/root/svc/svc-0":     os.ModeDir | 0o700,
		"/root/svc/svc-0/0/a": 0o400,
		"/root/old":           0o600, // an empty file an earlier release left
		"/root/link":          os.ModeSymlink | 0o777,
	}
	cases := map[string]struct {
		path  string
		found bool
		asked int
	}{
		"a directory":               {"/root/svc/svc-0", true, 1},
		"a file":                    {"/root/svc/svc-0/0/a", true, 1},
		"missing":                   {"/root/svc/svc-1", false, 1},
		"missing below missing":     {"/root/none/svc-1", false, 1},
		"just below a file":         {"/root/old/svc-1", false, 2},
		"deep below a file":         {"/root/old/svc-1/0/x", false, 4},
		"below a file in a subtree": {"/root/svc/svc-0/0/a/b", false, 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var asked []string
			_, found, err := statBelow("/root", tc.path, tree.stat(&asked))
			if err != nil || found != tc.found {
				t.Fatalf("found %v, err %v; want found %v, no error", found, err, tc.found)
			}
			if len(asked) != tc.asked {
				t.Errorf("asked %v, want %d stats", asked, tc.asked)
			}
		})
	}
}

func TestStatBelowReportsRealFailures(t *testing.T) {
	failing := func(status error, parents fakeTree) func(string) (container.PathStat, error) {
		return func(p string) (container.PathStat, error) {
			if mode, ok := parents[p]; ok {
				return container.PathStat{Mode: mode}, nil
			}
			return container.PathStat{}, status
		}
	}
	internal := fmt.Errorf("request returned 500 Internal Server Error: %w", cerrdefs.ErrInternal)
	cases := map[string]struct {
		stat func(string) (container.PathStat, error)
		want error
	}{
		"unreachable daemon":      {failing(errors.New("connection refused"), nil), nil},
		"500, parent a directory": {failing(internal, fakeTree{"/root/svc": os.ModeDir}), internal},
		"500, parent a symlink":   {failing(internal, fakeTree{"/root/svc": os.ModeSymlink}), internal},
		"500 all the way up":      {failing(internal, nil), internal},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, found, err := statBelow("/root", "/root/svc/svc-0", tc.stat)
			if err == nil || found {
				t.Fatalf("found %v, err %v; want the failure reported", found, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	// A message that says so is read as absent without asking further.
	notDir := func(string) (container.PathStat, error) {
		return container.PathStat{}, errors.New("Error response from daemon: lstat /x/y: not a directory")
	}
	if _, found, err := statBelow("/root", "/root/a/b", notDir); err != nil || found {
		t.Fatalf("not a directory: found %v, err %v; want absent", found, err)
	}
}

func TestRemovalEntry(t *testing.T) {
	entries := readTar(t, tarOf(removalEntry("svc")))
	if len(entries) != 1 || entries[0].Name != "svc" || entries[0].Type != removalType {
		t.Fatalf("archive %+v, want one entry svc of type %q", entries, rune(removalType))
	}
	switch entries[0].Type {
	case tar.TypeReg, tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeDir, tar.TypeFifo,
		tar.TypeCont, tar.TypeXHeader, tar.TypeXGlobalHeader, tar.TypeGNUSparse, tar.TypeGNULongName, tar.TypeGNULongLink:
		t.Fatalf("type %q is one a daemon extracts", rune(entries[0].Type))
	}
}

func TestIsRemovalRefusal(t *testing.T) {
	cases := map[string]struct {
		err  error
		want bool
	}{
		"no error": {nil, false},
		"the refusal (Docker 20.10)": {
			errors.New("Error response from daemon: Error processing tar file(exit status 1): unhandled tar header type 90"), true,
		},
		"another type": {errors.New("unhandled tar header type 83"), false},
		"overwrite refused": {
			errors.New(`Error processing tar file(exit status 1): cannot overwrite directory "/p/d" with non-directory "/p"`), false,
		},
		"connection": {errors.New("connection refused"), false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := isRemovalRefusal(tc.err); got != tc.want {
				t.Fatalf("isRemovalRefusal(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
