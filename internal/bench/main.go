// Command bench measures the stateful_service provider against the Docker
// floor: the same work done directly through the Docker API.
//
//	go run ./internal/bench [-n 3,20,100] [-runs 3] [-out FILE]
//
// It needs a Docker daemon, Terraform on PATH and the workload image
// (go run ./internal/acctest/cmd/workload-image).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// image is the project's own test image: nothing is pulled.
const image = "stateful-workload:v1"

// The measured operations, in the order they run.
const (
	opCreate = iota
	opPlan
	opUpdate
	opDestroy
	opOrdered
	numOps
)

var opNames = [numOps]string{"create/apply", "refresh/plan", "rolling update", "destroy", "ordered create"}

// sample is one run at one N.
type sample struct {
	provider [numOps]float64 // seconds
	floor    [numOps]float64 // seconds
	calls    [numOps]int     // Docker API calls the provider logged
	peakKB   int64           // provider VmHWM
	logged   bool            // whether any "docker API calls" line was seen
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	ns, runs, out, err := parseFlags()
	if err != nil {
		return err
	}
	// Cancel on Ctrl-C so deferred cleanups still run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	d, err := connectDocker(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = d.cli.Close() }()
	tmp, err := os.MkdirTemp("", "stateful-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	tf, err := newTerraform(ctx, tmp, repoRoot())
	if err != nil {
		return err
	}

	// Runs go round the replica counts, so that a slow spell of the
	// machine falls on every N rather than on one.
	results := make(map[int][]sample, len(ns))
	for r := range runs {
		for _, n := range ns {
			fmt.Fprintf(os.Stderr, "bench: N=%d run %d/%d\n", n, r+1, runs)
			s, err := runOnce(ctx, tf, d, n)
			if err != nil {
				return fmt.Errorf("run %d at N=%d: %w", r+1, n, err)
			}
			results[n] = append(results[n], s)
		}
	}
	report := render(machine{cpus: runtime.NumCPU(), docker: d.version, terraform: tf.version, runs: runs, slow: d.volumeList}, ns, results)
	fmt.Print(report)
	if out != "" {
		return os.WriteFile(out, []byte(report), 0o644) //nolint:gosec // a report, meant to be shared
	}
	return nil
}

// runOnce measures the provider, then the floor, at one N.
func runOnce(ctx context.Context, tf *terraform, d *dockerEnv, n int) (sample, error) {
	var s sample
	if err := benchProvider(ctx, tf, d, n, &s); err != nil {
		return s, fmt.Errorf("provider: %w", err)
	}
	if err := benchFloor(ctx, d, n, &s); err != nil {
		return s, fmt.Errorf("floor: %w", err)
	}
	return s, nil
}

func parseFlags() (ns []int, runs int, out string, err error) {
	list := flag.String("n", "3,20,100", "comma-separated replica counts")
	flag.IntVar(&runs, "runs", 3, "runs per replica count (medians are reported)")
	flag.StringVar(&out, "out", "", "also write the Markdown report to this file")
	flag.Parse()
	if flag.NArg() > 0 {
		return nil, 0, "", fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if runs < 1 {
		return nil, 0, "", errors.New("-runs must be at least 1")
	}
	for _, f := range strings.Split(*list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, 0, "", fmt.Errorf("-n: %q is not a positive integer", f)
		}
		ns = append(ns, n)
	}
	return ns, runs, out, nil
}

// repoRoot is the module root, two levels above this file (like
// acctest.RepoRoot), so the tool works from any directory of a checkout.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}
