package acctest

import (
	"context"
	"os"
	"sync"
	"testing"
)

var (
	realImageBuildOnce sync.Once
	realImageBuildErr  error
)

// NeedRealImage returns the tag of the real-software image (RealImage),
// building it first when the daemon does not have it yet. Packages whose
// TestMain does not run BuildRealImages call it from the tests that need
// the image (one with a shell and coreutils), so that other tests do not
// wait for a build: the build runs once per test binary, and not at all
// when the daemon has the image (it is cached by tag). Without TF_ACC it
// builds nothing: the acceptance tests skip.
func NeedRealImage(t *testing.T) string {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		return RealImage()
	}
	realImageBuildOnce.Do(func() {
		_, realImageBuildErr = BuildRealImages(context.Background())
	})
	if realImageBuildErr != nil {
		t.Fatalf("the real-software image: %v", realImageBuildErr)
	}
	return RealImage()
}
