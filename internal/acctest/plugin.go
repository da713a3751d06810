package acctest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// VolumePluginDriver is the driver name of the project's test volume plugin.
const VolumePluginDriver = "stateful-test"

// VolumePluginRoot is where the test plugin keeps its volumes, so tests can
// check that data is gone.
var VolumePluginRoot string

// StartVolumePlugin builds internal/testplugin and runs it as a legacy
// Docker volume plugin (a socket under /run/docker/plugins) until the
// returned stop is called.
func StartVolumePlugin(ctx context.Context) (stop func(), err error) {
	dir, err := os.MkdirTemp("", "stateful-testplugin-")
	if err != nil {
		return nil, err
	}
	binary := filepath.Join(dir, "testplugin")
	build := exec.CommandContext(ctx, "go", "build", "-o", binary, "./internal/testplugin")
	build.Dir = RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./internal/testplugin: %w\n%s", err, out)
	}
	VolumePluginRoot = filepath.Join(dir, "root")
	cmd := exec.Command(binary, "-name", VolumePluginDriver, "-root", VolumePluginRoot)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	socket := filepath.Join("/run/docker/plugins", VolumePluginDriver+".sock")
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(socket); err == nil {
			return func() {
				_ = cmd.Process.Signal(os.Interrupt)
				_ = cmd.Wait()
				_ = os.RemoveAll(dir)
			}, nil
		}
	}
	_ = cmd.Process.Kill()
	return nil, fmt.Errorf("test volume plugin did not create %s", socket)
}
