package resources_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// Two Terraform states declare a service of the same name on the same
// host. The second never takes over the first one's replicas: its plan and
// apply fail with the way out (import), its destroy touches nothing, and an
// import makes it the owner. A service the first state scaled to zero can
// be created by the second, and then the first state's plan refuses to
// touch it. The first state's data survives all of it.
func TestAccServiceOwnership_anotherStateCannotTakeOver(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: runs with TF_ACC=1, as make test sets it, like every resource.Test")
	}
	t.Parallel()
	name := acctest.Name(t, "owner")
	r0 := spec.ReplicaName(name, 0)
	bin := acctest.BuildProvider(t, "")
	a, b := acctest.NewCLI(t, bin), acctest.NewCLI(t, bin)
	config := func(replicas int, body string) string {
		return `
terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}
` + serviceConfig(name, acctest.WorkloadImageV1, replicas, body)
	}
	withData := `
  volume {
    name   = "data"
    target = "/data"
    plugin { driver = "local" }
  }
`
	a.Write("main.tf", config(1, withData))
	a.MustRun("apply", "-auto-approve")
	t.Cleanup(func() {
		b.Run("destroy", "-auto-approve")
		a.Write("main.tf", config(1, withData+`  retention { when_deleted = "delete" }`))
		a.Run("apply", "-auto-approve")
		a.Run("destroy", "-auto-approve")
	})
	address, err := acctest.Address(name, r0)
	if err == nil {
		err = acctest.PutKV(address, "owner", "a")
	}
	if err != nil {
		t.Fatal(err)
	}
	ids := containerIDs{}
	if err := ids.record(name)(nil); err != nil {
		t.Fatal(err)
	}
	expectFailure := func(cli *acctest.CLI, wants []string, args ...string) {
		t.Helper()
		out, code := cli.Run(args...)
		flat := strings.Join(strings.Fields(out), " ")
		for _, want := range wants {
			if code == 0 || !strings.Contains(flat, want) {
				t.Fatalf("terraform %s exited %d; want a failure saying %q:\n%s", strings.Join(args, " "), code, want, out)
			}
		}
	}

	claimed := []string{"Service already exists on the host", fmt.Sprintf(`%s on host "default"`, r0), "terraform import <resource address> " + name}
	b.Write("main.tf", config(1, withData))
	expectFailure(b, claimed, "plan")
	expectFailure(b, claimed, "apply", "-auto-approve")
	b.MustRun("destroy", "-auto-approve")
	if err := ids.unchanged(name, r0)(nil); err != nil {
		t.Fatalf("after the second state's plan, apply and destroy: %v", err)
	}

	// The documented way to take a service over: import it.
	b.MustRun("import", "stateful_service.test", name)
	if out, code := b.Run("plan", "-detailed-exitcode"); code != 0 {
		t.Fatalf("plan after import exited %d, want 0 (no changes):\n%s", code, out)
	}
	b.MustRun("state", "rm", "stateful_service.test")

	// The first state scales to zero; the second creates the name anew.
	a.Write("main.tf", config(0, withData))
	a.MustRun("apply", "-auto-approve")
	b.Write("main.tf", config(1, ""))
	b.MustRun("apply", "-auto-approve")
	a.Write("main.tf", config(1, withData))
	expectFailure(a, []string{"Containers of another Terraform state", fmt.Sprintf(`%s on host "default"`, r0)}, "plan")
	b.MustRun("destroy", "-auto-approve")

	a.MustRun("apply", "-auto-approve")
	if address, err = acctest.Address(name, r0); err != nil {
		t.Fatal(err)
	}
	if value, found, err := acctest.GetKV(address, "owner"); err != nil || !found || value != "a" {
		t.Fatalf("the first state's data: owner = %q (found %v, %v); want %q", value, found, err, "a")
	}
	if out, code := a.Run("plan", "-detailed-exitcode"); code != 0 {
		t.Fatalf("plan after it all exited %d, want 0:\n%s", code, out)
	}
}

// Terraform interrupted (SIGINT, as Ctrl-C) while a first create waits for
// its replicas: the create undoes itself, keeping data, and records
// nothing; the next apply creates the service.
func TestAccServiceFaults_interruptedCreateUndoesItself(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: runs with TF_ACC=1, as make test sets it, like every resource.Test")
	}
	t.Parallel()
	name := acctest.Name(t, "intr")
	cli := acctest.NewCLI(t, acctest.BuildProvider(t, ""))
	cli.Write("main.tf", `
terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}
`+serviceConfig(name, acctest.WorkloadImageV1, 2, dataVolume+`  min_ready = "10m"`))
	t.Cleanup(func() { cli.Run("destroy", "-auto-approve") })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	events, err := acctest.Local().StreamContainerEvents(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	apply := cli.Command("apply", "-auto-approve")
	var out strings.Builder
	apply.Stdout, apply.Stderr = &out, &out
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	for e := range events {
		if e.Action == "start" {
			break // the first replica runs, and waits out min_ready
		}
	}
	if err := apply.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := apply.Wait(); err == nil {
		t.Fatalf("the interrupted apply succeeded:\n%s", out.String())
	}
	if err := acctest.CheckGone(name)(nil); err != nil {
		t.Fatalf("the interrupted create left debris: %v\n%s", err, out.String())
	}
	if _, err := acctest.Local().VolumeOptions(ctx, spec.VolumeName(name, "data", 0, true)); err != nil {
		t.Fatalf("the interrupted create lost the first replica's volume: %v", err)
	}
	if state, _ := cli.Run("state", "list"); strings.TrimSpace(state) != "" {
		t.Fatalf("the interrupted create recorded state: %s", state)
	}
	cli.Write("main.tf", strings.Replace(readFile(t, cli, "main.tf"), `min_ready = "10m"`, `min_ready = "1s"`, 1))
	cli.MustRun("apply", "-auto-approve")
	if out, code := cli.Run("plan", "-detailed-exitcode"); code != 0 {
		t.Fatalf("plan after the create exited %d, want 0:\n%s", code, out)
	}
}

func readFile(t *testing.T, cli *acctest.CLI, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cli.Dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
