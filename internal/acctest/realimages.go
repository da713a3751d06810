package acctest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// realImagesScript builds the image of real stateful software: PostgreSQL,
// etcd and Redis from Debian bookworm packages (debootstrap, docker import).
const realImagesScript = "scripts/real-images"

// realImageBuildTimeout bounds a cold build: about 3.5 minutes here, more
// on a slow mirror.
const realImageBuildTimeout = 20 * time.Minute

var (
	realImageTag     string
	realImageTagErr  error
	realImageTagOnce sync.Once
)

// RealImage is the tag of the image of real stateful software:
// stateful-real:bookworm-<digest of its recipe>, so that a changed recipe
// builds a new image and an unchanged one is built once per machine.
func RealImage() string {
	realImageTagOnce.Do(func() {
		script, err := os.ReadFile(filepath.Join(RepoRoot(), realImagesScript))
		if err != nil {
			realImageTagErr = err
			return
		}
		sum := sha256.Sum256(script)
		realImageTag = "stateful-real:bookworm-" + hex.EncodeToString(sum[:])[:12]
	})
	if realImageTagErr != nil {
		panic(fmt.Sprintf("the real-software image recipe: %v", realImageTagErr))
	}
	return realImageTag
}

// RealImageB is the same image under a second tag, so that a test can
// change a service's image without changing the software.
func RealImageB() string { return RealImage() + "-b" }

// BuildRealImages is a Setup: it builds RealImage with scripts/real-images
// unless the daemon has it (a cold build takes minutes and needs root and
// the machine's Debian mirror), and tags it RealImageB.
func BuildRealImages(ctx context.Context) (func(), error) {
	// A cold build outlasts the harness's setup deadline; it gets its own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), realImageBuildTimeout)
	defer cancel()
	daemon := Local()
	tag := RealImage()
	exists, err := daemon.ImageExists(ctx, tag)
	if err != nil {
		return func() {}, err
	}
	if !exists {
		start := time.Now()
		fmt.Fprintf(os.Stderr, "building %s from Debian packages (once per machine; about 3.5 minutes)\n", tag)
		build := exec.CommandContext(ctx, filepath.Join(RepoRoot(), realImagesScript), tag)
		build.Dir = RepoRoot()
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return func() {}, fmt.Errorf("%s %s: %w", realImagesScript, tag, err)
		}
		fmt.Fprintf(os.Stderr, "built %s in %s\n", tag, time.Since(start).Round(time.Second))
	}
	if err := daemon.TagImage(ctx, tag, RealImageB()); err != nil {
		return func() {}, err
	}
	return func() {}, nil
}
