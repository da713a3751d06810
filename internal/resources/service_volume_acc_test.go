package resources_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// strategy is one volume strategy under test: its volume block, and how to
// look at its data from outside the replicas.
type strategy struct {
	name string
	// block renders the volume block; base is a scratch directory.
	block func(base string) string
	// prepare runs before the first apply (for example to create NFS-like
	// export directories).
	prepare func(t *testing.T, base string)
	// dataGone reports whether the data of one ordinal was deleted.
	dataGone func(service, base string, ordinal int) (bool, error)
	// deletesData is false where the data lives outside the provider's
	// reach (a shared file system keeps its files; only the volume goes).
	deletesData bool
}

var strategies = []strategy{
	{
		name: spec.StrategyHost,
		block: func(base string) string {
			return fmt.Sprintf(`
  volume {
    name   = "data"
    target = "/data"
    host {
      path  = "%s/{{.Name}}"
      owner = "1000:1001"
      mode  = "0750"
    }
  }`, base)
		},
		dataGone: func(service, base string, ordinal int) (bool, error) {
			entries, err := os.ReadDir(filepath.Join(base, spec.ReplicaName(service, ordinal)))
			return len(entries) == 0, ignoreMissing(err)
		},
		deletesData: true,
	},
	{
		name: spec.StrategyShared,
		block: func(base string) string {
			// The local driver mounts a bind here, the way it mounts NFS or
			// CIFS elsewhere: the exported directory must exist.
			return fmt.Sprintf(`
  volume {
    name   = "data"
    target = "/data"
    shared {
      type    = "none"
      device  = "%s/export-{{.Ordinal}}"
      options = "bind"
    }
  }`, base)
		},
		prepare: func(t *testing.T, base string) {
			for i := range 3 {
				if err := os.MkdirAll(filepath.Join(base, fmt.Sprintf("export-%d", i)), 0o755); err != nil {
					t.Fatal(err)
				}
			}
		},
		dataGone: func(service, _ string, ordinal int) (bool, error) {
			return volumeGone(service, spec.VolumeName(service, "data", ordinal, true))
		},
	},
	{
		name: spec.StrategyPlugin,
		block: func(string) string {
			return fmt.Sprintf(`
  volume {
    name   = "data"
    target = "/data"
    plugin {
      driver  = %q
      options = { size = "1" }
    }
  }`, acctest.VolumePluginDriver)
		},
		dataGone: func(service, _ string, ordinal int) (bool, error) {
			_, err := os.Stat(filepath.Join(acctest.VolumePluginRoot, "volumes", spec.VolumeName(service, "data", ordinal, true)))
			if os.IsNotExist(err) {
				return volumeGone(service, spec.VolumeName(service, "data", ordinal, true))
			}
			return false, err
		},
		deletesData: true,
	},
}

func volumeGone(service, name string) (bool, error) {
	volumes, err := acctest.Docker().ListVolumes(context.Background(), service)
	for _, v := range volumes {
		if v.Name == name {
			return false, err
		}
	}
	return true, err
}

func ignoreMissing(err error) error {
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

// scratch returns a directory for host paths and exports, removed at the end.
func scratch(t *testing.T) string {
	base, err := os.MkdirTemp("", "stateful-acc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	return base
}

// putKey writes a key into a replica's volume through the replica.
func putKey(service string, ordinal int, key, value string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		address, err := acctest.Address(service, spec.ReplicaName(service, ordinal))
		if err != nil {
			return err
		}
		return acctest.PutKV(address, key, value)
	}
}

// expectKey reads a key back through a replica; want "" means absent.
func expectKey(service string, ordinal int, key, want string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		address, err := acctest.Address(service, spec.ReplicaName(service, ordinal))
		if err != nil {
			return err
		}
		got, found, err := acctest.GetKV(address, key)
		switch {
		case err != nil:
			return err
		case want == "" && found:
			return fmt.Errorf("%s still has %s=%q; its data should be gone", spec.ReplicaName(service, ordinal), key, got)
		case want != "" && (!found || got != want):
			return fmt.Errorf("%s has %s=%q (found %v), want %q: the data was lost", spec.ReplicaName(service, ordinal), key, got, found, want)
		}
		return nil
	}
}

func expectDataGone(s strategy, service, base string, ordinal int, gone bool) resource.TestCheckFunc {
	return func(*terraform.State) error {
		isGone, err := s.dataGone(service, base, ordinal)
		if err != nil {
			return err
		}
		if isGone != gone {
			return fmt.Errorf("data of ordinal %d: gone = %v, want %v", ordinal, isGone, gone)
		}
		return nil
	}
}

// mountedAt checks, on the daemon, that a replica has its own volume at
// /data: its Docker volume by its deterministic name, or a bind of a
// directory below base.
func mountedAt(s strategy, service, base string, ordinal int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		info, err := acctest.Local().InspectContainer(context.Background(), spec.ReplicaName(service, ordinal))
		if err != nil {
			return err
		}
		for _, m := range info.Mounts {
			if m.Destination != "/data" {
				continue
			}
			if s.name == spec.StrategyHost && m.Type == "bind" && strings.HasPrefix(m.Source, base+"/") {
				return nil
			}
			if s.name != spec.StrategyHost && m.Type == "volume" && m.Name == spec.VolumeName(service, "data", ordinal, true) {
				return nil
			}
			return fmt.Errorf("%s mounts %s %s (%s) at /data", spec.ReplicaName(service, ordinal), m.Type, m.Name, m.Source)
		}
		return fmt.Errorf("%s has no mount at /data", spec.ReplicaName(service, ordinal))
	}
}

const noResources = `# the service is destroyed; its data stays`

func TestAccServiceVolumes_dataSurvivesEverything(t *testing.T) {
	for _, s := range strategies {
		t.Run(s.name, func(t *testing.T) {
			name := acctest.Name(t, "vol"+s.name[:1])
			base := scratch(t)
			if s.prepare != nil {
				s.prepare(t, base)
			}
			config := func(image string, replicas int) string {
				return serviceConfig(name, image, replicas, s.block(base))
			}
			ids := containerIDs{}
			const key, value = "answer", "forty-two"
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.ProviderFactories,
				CheckDestroy:             acctest.CheckGone(name),
				Steps: []resource.TestStep{
					{
						Config:           config(acctest.WorkloadImageV1, 3),
						ConfigPlanChecks: emptyPlanAfterApply(),
						Check:            resource.ComposeAggregateTestCheckFunc(mountedAt(s, name, base, 1), putKey(name, 1, key, value), ids.record(name)),
					},
					{
						ResourceName:            address,
						ImportState:             true,
						ImportStateId:           name,
						ImportStateVerify:       true,
						ImportStateVerifyIgnore: []string{"timeouts", "rollout"},
					},
					{
						// (a) an image change replaces the replica; its data stays.
						Config:           config(acctest.WorkloadImageV2, 3),
						ConfigPlanChecks: expectUpdate(),
						Check:            resource.ComposeAggregateTestCheckFunc(ids.replaced(name, spec.ReplicaName(name, 1)), expectKey(name, 1, key, value)),
					},
					{
						// (b) scale to 1 and back to 3: ordinal 1 re-adopts its data.
						Config: config(acctest.WorkloadImageV2, 1),
						Check:  expectDataGone(s, name, base, 1, false),
					},
					{
						Config: config(acctest.WorkloadImageV2, 3),
						Check:  expectKey(name, 1, key, value),
					},
					{
						// (d) the container removed outside Terraform, repaired by apply.
						PreConfig: func() {
							address, err := acctest.Replicas(name)
							if err != nil {
								t.Fatal(err)
							}
							if err := acctest.Docker().RemoveContainer(context.Background(), address[spec.ReplicaName(name, 1)].ID, 0); err != nil {
								t.Fatal(err)
							}
						},
						Config:           config(acctest.WorkloadImageV2, 3),
						ConfigPlanChecks: expectUpdate(),
						Check:            expectKey(name, 1, key, value),
					},
					{
						// (c) destroy, with the default retain...
						Config: noResources,
						Check:  resource.ComposeAggregateTestCheckFunc(acctest.CheckGone(name), expectDataGone(s, name, base, 1, false)),
					},
					{
						// ...and re-apply: every replica re-adopts its data.
						Config: config(acctest.WorkloadImageV1, 3),
						Check:  expectKey(name, 1, key, value),
					},
				},
			})
		})
	}
}

func TestAccServiceVolumes_deleteRetention(t *testing.T) {
	for _, s := range strategies {
		t.Run(s.name, func(t *testing.T) {
			name := acctest.Name(t, "del"+s.name[:1])
			base := scratch(t)
			if s.prepare != nil {
				s.prepare(t, base)
			}
			config := func(replicas int) string {
				return serviceConfig(name, acctest.WorkloadImageV1, replicas, s.block(base)+`
  retention {
    when_scaled  = "delete"
    when_deleted = "delete"
  }`)
			}
			// Scaling up again gives ordinal 1 fresh, empty data (a shared
			// file system keeps its files: only the Docker volume went).
			ordinalOneFresh := expectKey(name, 1, "k", "")
			if !s.deletesData {
				ordinalOneFresh = expectKey(name, 1, "k", "one")
			}
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.ProviderFactories,
				CheckDestroy: resource.ComposeAggregateTestCheckFunc(
					acctest.CheckGone(name),
					expectDataGone(s, name, base, 0, true),
					expectDataGone(s, name, base, 1, true),
				),
				Steps: []resource.TestStep{
					{
						Config: config(2),
						Check:  resource.ComposeAggregateTestCheckFunc(putKey(name, 0, "k", "zero"), putKey(name, 1, "k", "one")),
					},
					{
						// Scale-down deletes the removed replica's data, and only it.
						Config: config(1),
						Check: resource.ComposeAggregateTestCheckFunc(
							expectDataGone(s, name, base, 1, true),
							expectDataGone(s, name, base, 0, false),
							expectKey(name, 0, "k", "zero"),
						),
					},
					{
						Config: config(2),
						Check:  resource.ComposeAggregateTestCheckFunc(ordinalOneFresh, expectKey(name, 0, "k", "zero")),
					},
				},
			})
		})
	}
}

func TestAccServiceVolumes_hostDirectoryOwnerAndMode(t *testing.T) {
	name := acctest.Name(t, "own")
	base := scratch(t)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{{
			Config: serviceConfig(name, acctest.WorkloadImageV1, 1, strategies[0].block(base+"/nested/dirs")),
			Check: func(*terraform.State) error {
				info, err := os.Stat(filepath.Join(base, "nested", "dirs", spec.ReplicaName(name, 0)))
				if err != nil {
					return err
				}
				st := info.Sys().(*syscall.Stat_t)
				if !info.IsDir() || info.Mode().Perm() != 0o750 || st.Uid != 1000 || st.Gid != 1001 {
					return fmt.Errorf("host directory: dir %v, mode %o, owner %d:%d; want a 0750 directory owned by 1000:1001", info.IsDir(), info.Mode().Perm(), st.Uid, st.Gid)
				}
				return nil
			},
		}},
	})
}

func TestAccServiceVolumes_definitionChangeNeedsOptIn(t *testing.T) {
	name := acctest.Name(t, "chg")
	volume := func(size string, recreate bool) string {
		return fmt.Sprintf(`
  volume {
    name               = "data"
    target             = "/data"
    recreate_on_change = %v
    plugin {
      driver  = %q
      options = { size = %q }
    }
  }`, recreate, acctest.VolumePluginDriver, size)
	}
	optionsOf := func(ordinal int) (map[string]string, error) {
		b, err := os.ReadFile(filepath.Join(acctest.VolumePluginRoot, "volumes", spec.VolumeName(name, "data", ordinal, true), "options.json"))
		var opts map[string]string
		if err == nil {
			err = json.Unmarshal(b, &opts)
		}
		return opts, err
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				Config: serviceConfig(name, acctest.WorkloadImageV1, 2, volume("1", false)),
				Check:  putKey(name, 1, "k", "v"),
			},
			{
				// Without the opt-in the plan stops and explains the choices.
				Config:      serviceConfig(name, acctest.WorkloadImageV1, 2, volume("2", false)),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Volume definition changed.*recreate_on_change`),
			},
			{
				// With it, each replica's volume is recreated: new options, no data.
				Config: serviceConfig(name, acctest.WorkloadImageV1, 2, volume("2", true)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					expectKey(name, 1, "k", ""),
					func(*terraform.State) error {
						for ordinal := range 2 {
							opts, err := optionsOf(ordinal)
							if err != nil {
								return err
							}
							if opts["size"] != "2" {
								return fmt.Errorf("volume of ordinal %d has options %v, want size=2", ordinal, opts)
							}
						}
						return nil
					},
				),
			},
		},
	})
}

func TestAccServiceVolumes_invalidConfiguration(t *testing.T) {
	hostVolume := func(target, path string) string {
		return fmt.Sprintf(`
  volume {
    name   = "data"
    target = %q
    host { path = %q }
  }`, target, path)
	}
	cases := map[string]struct {
		body string
		err  string
	}{
		"relative host path":      {hostVolume("/data", "srv/{{.Ordinal}}"), `is not absolute`},
		"broken template":         {hostVolume("/data", "/srv/{{.Ordnal}}"), `cannot be rendered`},
		"unparsable template":     {hostVolume("/data", "/srv/{{.Ordinal"), `is not a valid template`},
		"replicas share one path": {hostVolume("/data", "/srv/db"), `would share /srv/db`},
		"two volumes, one target": {hostVolume("/data", "/srv/a/{{.Ordinal}}") + strings.Replace(hostVolume("/data/", "/srv/b/{{.Ordinal}}"), `"data"`, `"logs"`, 1), `both mount at`},
		"no strategy": {`  volume {
    name   = "data"
    target = "/data"
  }`, `exactly one of the host, shared or plugin`},
		"two strategies": {`  volume {
    name   = "data"
    target = "/data"
    host { path = "/srv/{{.Ordinal}}" }
    plugin { driver = "local" }
  }`, `exactly one of the host, shared or plugin`},
		"unknown strategy option": {`  volume {
    name   = "data"
    target = "/data"
    host {
      path = "/srv/{{.Ordinal}}"
      size = "10G"
    }
  }`, `Unsupported argument`},
		"owner by name": {`  volume {
    name   = "data"
    target = "/data"
    host {
      path  = "/srv/{{.Ordinal}}"
      owner = "postgres"
    }
  }`, `user "postgres" cannot be resolved: the image has no /etc/passwd`},
		"driver not installed": {`  volume {
    name   = "data"
    target = "/data"
    plugin { driver = "no-such-driver" }
  }`, `Volume driver not installed`},
		"bad retention": {`  retention { when_deleted = "sometimes" }`, `when_deleted`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			planFails(t, serviceConfig("badvol", acctest.WorkloadImageV1, 2, tc.body), wrapped(tc.err))
		})
	}
}

func TestAccServiceVolumes_sharedCredentialsAreWriteOnly(t *testing.T) {
	name := acctest.Name(t, "cred")
	base := scratch(t)
	const secret = "password=Zq7-never-in-state"
	if err := os.MkdirAll(filepath.Join(base, "export-0"), 0o755); err != nil {
		t.Fatal(err)
	}
	config := func(version int) string {
		return serviceConfig(name, acctest.WorkloadImageV1, 1, fmt.Sprintf(`
  volume {
    name               = "data"
    target             = "/data"
    recreate_on_change = true
    shared {
      type                   = "none"
      device                 = "%s/export-{{.Ordinal}}"
      options                = "bind"
      credentials_wo         = %q
      credentials_wo_version = %d
    }
  }`, base, secret, version))
	}
	notInState := func(s *terraform.State) error {
		for _, m := range s.Modules {
			for addr, r := range m.Resources {
				for k, v := range r.Primary.Attributes {
					if strings.Contains(v, "never-in-state") {
						return fmt.Errorf("%s.%s holds the credentials", addr, k)
					}
				}
			}
		}
		return nil
	}
	// The credentials reach the volume's mount options (where Docker keeps
	// them), and not the replica's container.
	reachedTheVolumeOnly := func(*terraform.State) error {
		ctx := context.Background()
		opts, err := acctest.Local().VolumeOptions(ctx, spec.VolumeName(name, "data", 0, true))
		if err != nil {
			return err
		}
		if !strings.HasSuffix(opts["o"], ","+secret) {
			return fmt.Errorf("volume mount options %q lack the credentials", opts["o"])
		}
		info, err := acctest.Local().InspectContainer(ctx, spec.ReplicaName(name, 0))
		if err != nil {
			return err
		}
		if b, _ := json.Marshal(info); strings.Contains(string(b), "never-in-state") {
			return fmt.Errorf("docker inspect of the replica shows the credentials")
		}
		return nil
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				Config:           config(1),
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check:            resource.ComposeAggregateTestCheckFunc(notInState, reachedTheVolumeOnly, putKey(name, 0, "k", "v")),
			},
			{
				// A new version recreates the volume with the new credentials;
				// the files on the shared file system stay.
				Config:           config(2),
				ConfigPlanChecks: expectUpdate(),
				Check:            resource.ComposeAggregateTestCheckFunc(notInState, expectKey(name, 0, "k", "v")),
			},
		},
	})
}
