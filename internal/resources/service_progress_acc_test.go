package resources_test

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// progressLine is a progress line of the provider in Terraform's log:
// "... [INFO]  provider.terraform-provider-stateful: db-2: replaced, ready
// after 1.2s: <fields in any order>".
var progressLine = regexp.MustCompile(`\[INFO\]\s+provider\.terraform-provider-stateful: ([a-z0-9-]+): (created|replaced|started), (?:ready|healthy) after [0-9.]+s: |\[INFO\]\s+provider\.terraform-provider-stateful: ([a-z0-9-]+): (removed|updated in place): `)

// field reads a field of a log line: name=value or name="value".
func field(line, name string) string {
	m := regexp.MustCompile(`\s` + name + `=("[^"]*"|\S+)`).FindStringSubmatch(line)
	if m == nil {
		return ""
	}
	return strings.Trim(m[1], `"`)
}

// TestAccServiceProgress_oneInfoLinePerReplica runs the built provider
// through the Terraform CLI with TF_LOG_PROVIDER=INFO, as a person following
// a long rollout would, and reads the log: one line per replica action, in
// the order the rollout runs them.
func TestAccServiceProgress_oneInfoLinePerReplica(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: runs with TF_ACC=1, as make test sets it, like every resource.Test")
	}
	t.Parallel()
	name := acctest.Name(t, "prog")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	cli := acctest.NewCLI(t, acctest.BuildProvider(t, ""))
	write := func(image string, replicas int) {
		cli.Write("main.tf", `
terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}
`+serviceConfig(name, image, replicas, `  min_ready = "1s"`))
	}
	t.Cleanup(func() { cli.Run("destroy", "-auto-approve") })
	logged := func(args ...string) []string {
		t.Helper()
		logFile := filepath.Join(t.TempDir(), "terraform.log")
		cmd := cli.Command(args...)
		cmd.Env = append(cmd.Env, "TF_LOG_PROVIDER=INFO", "TF_LOG_PATH="+logFile)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		raw, err := os.ReadFile(logFile)
		if err != nil {
			t.Fatalf("TF_LOG_PATH was not written: %v", err)
		}
		var lines []string
		for _, line := range strings.Split(string(raw), "\n") {
			m := progressLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			replica, what := m[1]+m[3], m[2]+m[4]
			action := field(line, "action")
			if field(line, "replica") != replica || field(line, "service") != name || action == "" || field(line, "seconds") == "" {
				t.Errorf("progress line without its fields (service, replica, action, seconds): %s", line)
			}
			lines = append(lines, replica+": "+what+" ("+action+")")
		}
		return lines
	}
	expect := func(step string, got []string, want ...string) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: progress lines:\n  %s\nwant:\n  %s", step, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}

	write(acctest.WorkloadImageV1, 3)
	expect("create", logged("apply", "-auto-approve"),
		r(0)+": created (create)", r(1)+": created (create)", r(2)+": created (create)")

	write(acctest.WorkloadImageV2, 3)
	expect("rolling update", logged("apply", "-auto-approve"),
		r(2)+": replaced (replace)", r(1)+": replaced (replace)", r(0)+": replaced (replace)")

	write(acctest.WorkloadImageV2, 2)
	expect("scale down", logged("apply", "-auto-approve"), r(2)+": removed (remove)")

	// Destroy removes replicas at once: in any order.
	got := logged("destroy", "-auto-approve")
	slices.Sort(got)
	expect("destroy", got, r(0)+": removed (remove)", r(1)+": removed (remove)")
}
