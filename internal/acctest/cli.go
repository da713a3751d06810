package acctest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BuildProvider builds the provider into a new directory and returns the
// directory: at commit, a commit of the project's history (to test what
// states written by an earlier release become), or from the working tree
// when commit is empty.
func BuildProvider(t *testing.T, commit string) string {
	t.Helper()
	src := RepoRoot()
	if commit != "" {
		src = t.TempDir()
		archive := exec.Command("git", "-C", RepoRoot(), "archive", "--format=tar", commit)
		extract := exec.Command("tar", "-x", "-C", src)
		pipe, err := archive.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		extract.Stdin = pipe
		var stderr strings.Builder
		archive.Stderr = &stderr
		if err := extract.Start(); err != nil {
			t.Fatal(err)
		}
		if err := archive.Run(); err != nil {
			t.Fatalf("commit %s is not in this clone's history (%v: %s); a shallow clone lacks it: git fetch --unshallow", commit, err, stderr.String())
		}
		if err := extract.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(bin, "terraform-provider-stateful"), ".")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build of the provider at %q: %v\n%s", commit, err, out)
	}
	return bin
}

// CLI runs the Terraform CLI in a directory of its own, with the provider
// from a directory (dev_overrides: no registry, no init), for tests that
// need more than terraform-plugin-testing offers, such as switching
// provider builds on one state.
type CLI struct {
	t      *testing.T
	Dir    string
	config string
}

// NewCLI prepares a working directory using the provider in providerDir.
func NewCLI(t *testing.T, providerDir string) *CLI {
	c := &CLI{t: t, Dir: t.TempDir()}
	c.UseProvider(providerDir)
	return c
}

// UseProvider switches the provider build later commands run.
func (c *CLI) UseProvider(providerDir string) {
	c.t.Helper()
	c.config = filepath.Join(c.Dir, ".terraformrc")
	rc := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    %q = %q\n  }\n  direct {}\n}\n", "statefulhq/stateful", providerDir)
	if err := os.WriteFile(c.config, []byte(rc), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

// Write puts a file into the working directory.
func (c *CLI) Write(name, content string) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join(c.Dir, name), []byte(content), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

// Command prepares terraform with args, for a test that runs it itself
// (to interrupt it).
func (c *CLI) Command(args ...string) *exec.Cmd {
	binary := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if binary == "" {
		binary = "terraform"
	}
	cmd := exec.Command(binary, append(args, "-no-color")...) //nolint:gosec // TF_ACC_TERRAFORM_PATH names the CLI under test, as terraform-plugin-testing reads it
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+c.config, "TF_IN_AUTOMATION=1")
	return cmd
}

// Run runs terraform with args and returns its output and exit code; it
// fails the test only when terraform cannot be run at all.
func (c *CLI) Run(args ...string) (output string, code int) {
	c.t.Helper()
	out, err := c.Command(args...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	case err != nil:
		c.t.Fatalf("terraform %s: %v", strings.Join(args, " "), err)
	}
	return string(out), 0
}

// MustRun runs terraform and fails the test unless it exits 0.
func (c *CLI) MustRun(args ...string) string {
	c.t.Helper()
	out, code := c.Run(args...)
	if code != 0 {
		c.t.Fatalf("terraform %s exited %d:\n%s", strings.Join(args, " "), code, out)
	}
	return out
}
