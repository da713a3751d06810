package resources_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// previousRelease is the last commit whose stateful_service wrote states
// of schema version 0 (container IDs, states, fingerprints and volumes in
// instances).
const previousRelease = "a5387b739526742dba1abc549818a435b7b78a10"

// The previous release applies a service; this build then plans on its
// state, with and without a refresh first (without, private state has no
// record of the replicas yet), and must plan nothing, then records the
// state as version 1 and rolls out a change from it.
func TestAccService_upgradesStateOfThePreviousRelease(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: runs with TF_ACC=1, as make test sets it, like every resource.Test")
	}
	t.Parallel()
	name := acctest.Name(t, "upg")
	old, current := acctest.BuildProvider(t, previousRelease), acctest.BuildProvider(t, "")
	cli := acctest.NewCLI(t, old)
	config := func(env string) string {
		return fmt.Sprintf(`
terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}

resource "stateful_service" "test" {
  name              = %q
  image             = %q
  replicas          = 2
  stop_grace_period = "2s"
  env               = { WAVE = %q }
  port {
    internal = 8080
    external = 28380
    host_ip  = "127.0.0.1"
  }
  port {
    internal = 9090
  }
  volume {
    name   = "data"
    target = "/data"
    plugin { driver = "local" }
  }
  retention { when_deleted = "delete" }
}
`, name, acctest.WorkloadImageV1, env)
	}
	cli.Write("main.tf", config("1"))
	cli.MustRun("apply", "-auto-approve")
	t.Cleanup(func() { cli.Run("destroy", "-auto-approve") })
	version, state := readState(t, cli)
	if version != 0 || !strings.Contains(string(state["instances"]), `"container_id"`) {
		t.Fatalf("the previous release wrote schema version %d with instances %s; want version 0 with container IDs", version, state["instances"])
	}
	address, err := acctest.Address(name, spec.ReplicaName(name, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := acctest.PutKV(address, "kept", "across the upgrade"); err != nil {
		t.Fatal(err)
	}

	cli.UseProvider(current)
	for _, args := range [][]string{{"plan", "-refresh=false", "-detailed-exitcode"}, {"plan", "-detailed-exitcode"}} {
		if out, code := cli.Run(args...); code != 0 {
			t.Fatalf("terraform %s on the upgraded state exited %d, want 0 (no changes):\n%s", strings.Join(args, " "), code, out)
		}
	}
	cli.MustRun("apply", "-auto-approve")
	version, state = readState(t, cli)
	var instances []map[string]any
	if err := json.Unmarshal(state["instances"], &instances); err != nil {
		t.Fatal(err)
	}
	if version != 1 || len(instances) != 2 {
		t.Fatalf("after an apply with this build: schema version %d, %d instances; want version 1, 2 instances", version, len(instances))
	}
	for k, i := range instances {
		endpoints, _ := json.Marshal(i["endpoints"])
		fixed := fmt.Sprintf(`["127.0.0.1:%d","0.0.0.0:`, 28380+k)
		if _, stale := i["container_id"]; stale || !strings.HasPrefix(string(endpoints), fixed) {
			t.Fatalf("instance %d = %v; want no container_id, and both endpoints known", k, i)
		}
	}

	// A change rolls out from the upgraded state, and data stays.
	cli.Write("main.tf", config("2"))
	cli.MustRun("apply", "-auto-approve")
	if out, code := cli.Run("plan", "-detailed-exitcode"); code != 0 {
		t.Fatalf("plan after the rollout exited %d, want 0:\n%s", code, out)
	}
	if err := checkReplicas(name, "v1", map[string]string{"WAVE": "2"}, spec.ReplicaName(name, 0), spec.ReplicaName(name, 1))(nil); err != nil {
		t.Fatal(err)
	}
	if address, err = acctest.Address(name, spec.ReplicaName(name, 1)); err != nil {
		t.Fatal(err)
	}
	if value, found, err := acctest.GetKV(address, "kept"); err != nil || !found || value != "across the upgrade" {
		t.Fatalf("after the rollout, key kept = %q (found %v, %v)", value, found, err)
	}
	cli.MustRun("destroy", "-auto-approve")
	if err := acctest.CheckGone(name)(nil); err != nil {
		t.Fatal(err)
	}
}

// readState returns the schema version and attributes of the one resource
// in the working directory's state.
func readState(t *testing.T, cli *acctest.CLI) (int, map[string]json.RawMessage) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(cli.Dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Resources []struct {
			Instances []struct {
				SchemaVersion int                        `json:"schema_version"`
				Attributes    map[string]json.RawMessage `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &state); err != nil {
		t.Fatal(err)
	}
	if len(state.Resources) != 1 || len(state.Resources[0].Instances) != 1 {
		t.Fatalf("state holds %d resources, want 1", len(state.Resources))
	}
	i := state.Resources[0].Instances[0]
	return i.SchemaVersion, i.Attributes
}
