package acctest

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Tags of the workload image the tests and the demo build locally. v1 and
// v2 differ (WORKLOAD_VERSION), so an image change is observable.
const (
	WorkloadImageV1 = "stateful-workload:v1"
	WorkloadImageV2 = "stateful-workload:v2"
)

// RepoRoot is the project's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// BuildWorkloadImages compiles the workload program statically and builds
// its FROM scratch image under both tags on the daemon. Nothing is pulled.
func BuildWorkloadImages(ctx context.Context, daemon *Engine) error {
	dir, err := os.MkdirTemp("", "stateful-workload-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	binary := filepath.Join(dir, "workload")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", binary, "./internal/workload")
	build.Dir = RepoRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./internal/workload: %w\n%s", err, out)
	}
	dockerfile, err := os.ReadFile(filepath.Join(RepoRoot(), "internal", "workload", "Dockerfile"))
	if err != nil {
		return err
	}
	program, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	for tag, version := range map[string]string{WorkloadImageV1: "v1", WorkloadImageV2: "v2"} {
		buildContext, err := tarFiles(map[string]tarEntry{
			"Dockerfile": {data: dockerfile, mode: 0o644},
			"workload":   {data: program, mode: 0o755},
		})
		if err != nil {
			return err
		}
		if err := daemon.BuildImage(ctx, buildContext, []string{tag}, map[string]string{"VERSION": version}); err != nil {
			return err
		}
	}
	return nil
}

type tarEntry struct {
	data []byte
	mode int64
}

func tarFiles(files map[string]tarEntry) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}
