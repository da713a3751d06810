package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// commandTimeout bounds one terraform command, so a hung provider fails
// the benchmark instead of stalling it.
const commandTimeout = 30 * time.Minute

// providerName is the binary's name; /proc/<pid>/comm holds only its first
// 15 bytes, so matching uses the exe link first.
const providerName = "terraform-provider-stateful"

// terraform runs the Terraform CLI against a freshly built provider.
type terraform struct {
	bin       string
	cliConfig string
	version   string
	tmp       string
}

// newTerraform builds the provider and writes a CLI config whose
// dev_overrides point at it, so no `terraform init` (and no registry) is
// needed.
func newTerraform(ctx context.Context, tmp, root string) (*terraform, error) {
	// TF_ACC_TERRAFORM_PATH names the CLI under test, as it does for the
	// acceptance tests; otherwise terraform from PATH.
	bin := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("terraform"); err != nil {
			return nil, errors.New("terraform not found on PATH: install it or set TF_ACC_TERRAFORM_PATH (see Compatibility in README.md)")
		}
	}
	version, err := exec.CommandContext(ctx, bin, "version").Output() //nolint:gosec // TF_ACC_TERRAFORM_PATH names the CLI under test, as terraform-plugin-testing reads it
	if err != nil {
		return nil, fmt.Errorf("terraform version: %w", err)
	}
	binDir := filepath.Join(tmp, "bin")
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(binDir, providerName), ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build the provider in %s: %w\n%s", root, err, out)
	}
	cfg := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    %q = %q\n  }\n  direct {}\n}\n", "statefulhq/stateful", binDir)
	cliConfig := filepath.Join(tmp, "terraformrc")
	if err := os.WriteFile(cliConfig, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	first, _, _ := strings.Cut(string(version), "\n")
	return &terraform{bin: bin, cliConfig: cliConfig, version: strings.TrimSpace(first), tmp: tmp}, nil
}

// measured is what one terraform command cost.
type measured struct {
	seconds float64
	calls   int
	logged  bool
	peakKB  int64
}

// planRepeats is how many no-op plans each run times: a plan takes a
// fraction of a second, so one alone moves with whatever else the machine
// does; their median does not.
const planRepeats = 5

func repeats(op int) int {
	if op == opPlan {
		return planRepeats
	}
	return 1
}

// repeat runs one terraform command n times and reports the median time,
// the last call count and the highest peak memory.
func (tf *terraform) repeat(ctx context.Context, dir string, n int, args ...string) (measured, error) {
	var out measured
	times := make([]float64, 0, n)
	for range n {
		m, err := tf.run(ctx, dir, args...)
		if err != nil {
			return measured{}, err
		}
		times = append(times, m.seconds)
		out = measured{calls: m.calls, logged: out.logged || m.logged, peakKB: max(out.peakKB, m.peakKB)}
	}
	out.seconds = median(times)
	return out, nil
}

// benchProvider runs create, no-op plan, rolling update and destroy at N
// replicas in a fresh directory.
func benchProvider(ctx context.Context, tf *terraform, d *dockerEnv, n int, s *sample) error {
	service := fmt.Sprintf("bench-%d", n)
	selector := "statefulhq.service=" + service
	// Leftovers of an interrupted earlier run would be adopted: remove them.
	if err := d.removeLabeled(ctx, selector); err != nil {
		return err
	}
	// The provider keeps volumes on destroy by design; remove them after
	// the measurement, and everything else too if a step failed.
	defer func() { _ = d.removeLabeled(context.WithoutCancel(ctx), selector) }()
	dir, err := os.MkdirTemp(tf.tmp, service+"-")
	if err != nil {
		return err
	}
	// The ordered create runs last, one replica after the other, and its
	// destroy is not measured (op -1).
	steps := []struct {
		op        int
		wave      string
		bootstrap string
		args      []string
	}{
		{opCreate, "1", "parallel", []string{"apply", "-auto-approve"}},
		{opPlan, "1", "parallel", []string{"plan", "-detailed-exitcode"}},
		{opUpdate, "2", "parallel", []string{"apply", "-auto-approve"}},
		{opDestroy, "2", "parallel", []string{"destroy", "-auto-approve"}},
		{opOrdered, "1", "ordered", []string{"apply", "-auto-approve"}},
		{-1, "1", "ordered", []string{"destroy", "-auto-approve"}},
	}
	for _, st := range steps {
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(serviceConfig(service, n, st.wave, st.bootstrap)), 0o600); err != nil {
			return err
		}
		m, err := tf.repeat(ctx, dir, repeats(st.op), st.args...)
		if err != nil {
			return err
		}
		s.peakKB, s.logged = max(s.peakKB, m.peakKB), s.logged || m.logged
		if st.op < 0 {
			continue
		}
		s.provider[st.op], s.calls[st.op] = m.seconds, m.calls
		if st.op == opCreate || st.op == opOrdered {
			// A benchmark of an apply that did nothing would be meaningless.
			if err := d.expectRunning(ctx, selector, n); err != nil {
				return err
			}
		}
	}
	return nil
}

func serviceConfig(service string, n int, wave, bootstrap string) string {
	return fmt.Sprintf(`terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}

provider "stateful" {}

resource "stateful_service" "bench" {
  name              = %q
  image             = %q
  replicas          = %d
  bootstrap         = %q
  min_ready         = "0s"
  stop_grace_period = "5s"
  env               = { WAVE = %q }

  update {
    max_unavailable = %d
  }

  volume {
    name   = "data"
    target = "/data"
    plugin {
      driver = "local"
    }
  }
}
`, service, image, n, bootstrap, wave, n)
}

// run times one terraform command in dir, with the provider's log in a file
// of its own, while polling the provider's peak memory.
func (tf *terraform) run(ctx context.Context, dir string, args ...string) (measured, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	logPath := filepath.Join(dir, args[0]+".log")
	_ = os.Remove(logPath)
	cmd := exec.CommandContext(ctx, tf.bin, append(args, "-input=false", "-no-color")...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), "TF_CLI_CONFIG_FILE="+tf.cliConfig, "TF_LOG_PROVIDER=INFO",
		"TF_LOG_PATH="+logPath, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
	// Interrupt rather than kill, so Terraform stops its provider cleanly.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = time.Minute
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return measured{}, fmt.Errorf("terraform %s: %w", args[0], err)
	}
	done := make(chan struct{})
	peak := watchPeak(cmd.Process.Pid, done)
	err := cmd.Wait()
	elapsed := time.Since(start)
	close(done)
	m := measured{seconds: elapsed.Seconds(), peakKB: <-peak}
	if err != nil {
		return m, fmt.Errorf("terraform %s in %s: %w\n%s", strings.Join(args, " "), dir, err, output.Bytes())
	}
	m.calls, m.logged, err = countCalls(logPath)
	return m, err
}

// cleanEnv drops the caller's Terraform logging and CLI settings, which
// would redirect the log or the provider.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TF_LOG") && !strings.HasPrefix(kv, "TF_CLI_CONFIG_FILE=") {
			env = append(env, kv)
		}
	}
	return env
}

var (
	callsRe     = regexp.MustCompile(`calls=(\d+)`)
	operationRe = regexp.MustCompile(`operation=(\w+)`)
)

// countCalls sums the calls of every "docker API calls" line (one per
// provider operation: read, plan, create, update, delete). A log without
// such lines counts 0, so the tool works with providers that don't log them.
func countCalls(logPath string) (calls int, logged bool, err error) {
	f, err := os.Open(logPath)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "docker API calls") || !operationRe.MatchString(line) {
			continue
		}
		if m := callsRe.FindStringSubmatch(line); m != nil {
			c, _ := strconv.Atoi(m[1])
			calls, logged = calls+c, true
		}
	}
	return calls, logged, sc.Err()
}

// watchPeak polls /proc every 20 ms for provider processes descending from
// parent and sends the highest VmHWM (kB) seen once done is closed.
// VmHWM is the process's own high-water mark, so polling misses at most the
// growth of its last 20 ms.
func watchPeak(parent int, done <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, scanProviders(parent))
			select {
			case <-done:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// scanProviders returns the largest VmHWM of the provider processes under
// parent. Only descendants count: other sessions may run the provider too.
func scanProviders(parent int) int64 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var peak int64
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !isProvider(pid) || !descends(pid, parent) {
			continue
		}
		st := readStatus(pid)
		peak = max(peak, st["VmHWM"])
	}
	return peak
}

func isProvider(pid int) bool {
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil {
		return filepath.Base(exe) == providerName
	}
	// Without access to the exe link, compare the kernel's 15-byte comm.
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.TrimSpace(string(comm)) == providerName[:15]
}

func descends(pid, parent int) bool {
	for range 64 { // bounded: the chain is short, and pids may be reused
		ppid := int(readStatus(pid)["PPid"])
		switch {
		case ppid == parent:
			return true
		case ppid <= 1:
			return false
		}
		pid = ppid
	}
	return false
}

// readStatus returns the numeric fields of /proc/<pid>/status (VmHWM in kB).
func readStatus(pid int) map[string]int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	fields := map[string]int64{}
	for line := range strings.Lines(string(data)) {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if f := strings.Fields(value); len(f) > 0 {
			if v, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				fields[key] = v
			}
		}
	}
	return fields
}
