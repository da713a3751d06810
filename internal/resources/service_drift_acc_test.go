package resources_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// dataVolume gives each replica a Docker volume at /data, deleted with the
// service.
const dataVolume = `
  volume {
    name   = "data"
    target = "/data"
    plugin { driver = "local" }
  }
  retention { when_deleted = "delete" }
`

// writeEach stores key=<replica name> in each named replica's data.
func writeEach(t *testing.T, host *docker.Host, service, key string, names ...string) {
	t.Helper()
	for _, n := range names {
		address, err := addressOn(host, service, n)
		if err == nil {
			err = acctest.PutKV(address, key, n)
		}
		if err != nil {
			t.Fatalf("write %s to %s: %v", key, n, err)
		}
	}
}

// readEach checks that each named replica reads back what writeEach stored.
func readEach(host *docker.Host, service, key string, names ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, n := range names {
			address, err := addressOn(host, service, n)
			if err != nil {
				return err
			}
			got, found, err := acctest.GetKV(address, key)
			if err != nil {
				return fmt.Errorf("%s: read %s: %w", n, key, err)
			}
			if !found || got != n {
				return fmt.Errorf("%s reads %s=%q (found %v); want %q written before the fault", n, key, got, found, n)
			}
		}
		return nil
	}
}

func addressOn(host *docker.Host, service, replica string) (string, error) {
	observed, err := host.ListReplicas(context.Background(), service)
	if err != nil {
		return "", err
	}
	for _, o := range observed {
		if o.Name == replica && o.Address != "" {
			return o.Address, nil
		}
	}
	return "", fmt.Errorf("replica %s is not running", replica)
}

// Replicas stopped, then their network removed outside Terraform: Docker
// can never start them again, so the plan says they are recreated, on the
// network created anew, and their data is kept.
func TestAccServiceFaults_networkRemovedOutOfBand(t *testing.T) {
	name := acctest.Name(t, "netrm")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	config := serviceConfig(name, acctest.WorkloadImageV1, 2, dataVolume)
	reason := ": replace (network " + spec.NetworkName(name) + " removed outside Terraform)"
	ids := containerIDs{}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{Config: config, ConfigPlanChecks: emptyPlanAfterApply(), Check: ids.record(name)},
			{
				PreConfig: func() {
					ctx := context.Background()
					writeEach(t, acctest.Docker(), name, "before", r(0), r(1))
					for _, n := range []string{r(0), r(1)} {
						if err := acctest.Local().StopContainer(ctx, ids[n], time.Second); err != nil {
							t.Fatal(err)
						}
					}
					if err := acctest.Local().RemoveNetwork(ctx, spec.NetworkName(name)); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
						acctest.ExpectRollout(address, r(0)+reason, r(1)+reason),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					ids.replaced(name, r(0), r(1)),
					checkReplicas(name, "v1", nil, r(0), r(1)),
					readEach(acctest.Docker(), name, "before", r(0), r(1)),
				),
			},
		},
	})
}

// A restart policy changed with docker update is drift the plan shows, and
// apply puts it back in place, without restarting the replica.
func TestAccServiceFaults_restartPolicyChangedOutOfBand(t *testing.T) {
	name := acctest.Name(t, "restart")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	config := serviceConfig(name, acctest.WorkloadImageV1, 2, "")
	ids := containerIDs{}
	policyIs := func(want string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			info, err := acctest.Local().InspectContainer(context.Background(), ids[r(1)])
			if err != nil {
				return err
			}
			if got := string(info.HostConfig.RestartPolicy.Name); got != want {
				return fmt.Errorf("%s has restart policy %q, want %q", r(1), got, want)
			}
			return nil
		}
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{Config: config, ConfigPlanChecks: emptyPlanAfterApply(), Check: ids.record(name)},
			{
				PreConfig: func() {
					if err := acctest.Local().SetRestartPolicy(context.Background(), ids[r(1)], "always"); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
						acctest.ExpectRollout(address, r(1)+": update in place (restart policy changed outside Terraform to always; configured unless-stopped)"),
						acctest.ExpectRolloutShown(address),
						// It keeps running: its address stays known.
						plancheck.ExpectKnownValue(address, tfjsonpath.New("instances").AtSliceIndex(1).AtMapKey("address"), knownvalue.NotNull()),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(ids.unchanged(name, r(0), r(1)), policyIs("unless-stopped")),
			},
		},
	})
}

// A rollout that repeats the lines of the previous one (an image rolled
// back) still shows every replica it replaces, and a plan with nothing to
// do stays empty.
func TestAccServiceFaults_repeatedRolloutIsShown(t *testing.T) {
	name := acctest.Name(t, "again")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	v1 := serviceConfig(name, acctest.WorkloadImageV1, 2, `  env = { MODE = "a" }`)
	v2 := serviceConfig(name, acctest.WorkloadImageV1, 2, `  env = { MODE = "b" }`)
	shown := func() resource.ConfigPlanChecks {
		return resource.ConfigPlanChecks{
			PreApply: []plancheck.PlanCheck{
				acctest.ExpectRollout(address, r(1)+": replace (env)", r(0)+": replace (env)"),
				acctest.ExpectRolloutShown(address),
			},
			PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
		}
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{Config: v1, ConfigPlanChecks: emptyPlanAfterApply()},
			{Config: v2, ConfigPlanChecks: shown()},
			{Config: v1, ConfigPlanChecks: shown()},
			{Config: v2, ConfigPlanChecks: shown(), Check: checkReplicas(name, "v1", map[string]string{"MODE": "b"}, r(0), r(1))},
		},
	})
}

// After a rollout that failed and was reverted, state holds the new
// configuration while the replicas run the previous one: the next plan
// says, per replica, that it is replaced and why.
func TestAccServiceFaults_revertedRolloutIsPlannedAgain(t *testing.T) {
	name := acctest.Name(t, "revert")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	config := func(env string) string {
		return serviceConfig(name, acctest.WorkloadImageV1, 2, fmt.Sprintf(`
  env = { %s }
  health {
    test     = ["CMD", "/workload", "probe", "http://127.0.0.1:8080/healthz"]
    interval = "300ms"
    retries  = 2
  }
  update { on_failure = "revert" }
`, env))
	}
	good, bad := config(`MODE = "a"`), config(`MODE = "b", UNHEALTHY = "1"`)
	ids := containerIDs{}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{Config: good, ConfigPlanChecks: emptyPlanAfterApply(), Check: ids.record(name)},
			{Config: bad, ExpectError: regexp.MustCompile(`reverted to its previous spec`)},
			{
				// The same configuration again: state says env b, the
				// replicas run a; the plan shows what apply would do.
				Config:             bad,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
					acctest.ExpectRollout(address, r(1)+": replace (env)", r(0)+": replace (env)"),
					acctest.ExpectRolloutShown(address),
				}},
			},
			{
				// Back to the configuration that runs: nothing restarts.
				Config:           good,
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkReplicas(name, "v1", map[string]string{"MODE": "a"}, r(0), r(1)),
					ids.unchanged(name, r(0)),
				),
			},
		},
	})
}

// privateHost configures the provider with only a test daemon of the
// test's own.
func privateHost(d *acctest.Daemon) string {
	return "provider \"stateful\" {" + d.HostBlock("private", d.CAPEM, "") + "}\n"
}

// The daemon is killed (SIGKILL) the moment a replacement's container is
// created, before or while it starts. Docker 20.10 can leave that
// container "created" with a stale task that never starts again: the next
// apply recreates it, and the replica's data is read back.
func TestAccServiceFaults_daemonKilledWhileReplacementStarts(t *testing.T) {
	name := acctest.Name(t, "kill")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	d := acctest.NewDaemon(t)
	config := func(mode string) string {
		return privateHost(d) + serviceConfig(name, acctest.WorkloadImageV1, 1, dataVolume+fmt.Sprintf(`  env = { MODE = %q }`, mode))
	}
	killed := make(chan error, 1)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config("a"), ConfigPlanChecks: emptyPlanAfterApply()},
			{
				PreConfig: func() {
					writeEach(t, d.Host, name, "before", r(0))
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					events, err := d.Engine.StreamContainerEvents(ctx, name)
					if err != nil {
						cancel()
						t.Fatal(err)
					}
					go func() {
						defer cancel()
						for e := range events {
							if e.Action == "create" {
								d.Kill()
								killed <- nil
								return
							}
						}
						killed <- fmt.Errorf("no container of %s was created", name)
					}()
				},
				Config:      config("b"),
				ExpectError: regexp.MustCompile(`Could not update the service`),
			},
			{
				PreConfig: func() {
					if err := <-killed; err != nil {
						t.Fatal(err)
					}
					if err := d.Start(context.Background()); err != nil {
						t.Fatal(err)
					}
					observed, err := d.Host.ListReplicas(context.Background(), name)
					for _, o := range observed {
						t.Logf("after the restart: %s is %s", o.Name, o.State)
					}
					if err != nil || len(observed) > 1 {
						t.Fatalf("after the restart: %+v (%v); want at most the replacement", observed, err)
					}
				},
				Config: config("b"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					// The replacement left "created" is recreated; one the
					// daemon never got to create is created.
					PreApply: []plancheck.PlanCheck{plancheck.ExpectKnownValue(address, tfjsonpath.New("rollout"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringRegexp(regexp.MustCompile(`^#\d+ ` + r(0) + `: (replace \(created but never started\)|create)$`)),
					}))},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					readEach(d.Host, name, "before", r(0)),
					func(*terraform.State) error {
						observed, err := d.Host.ListReplicas(context.Background(), name)
						if err != nil {
							return err
						}
						if len(observed) != 1 || observed[0].State != "running" {
							return fmt.Errorf("after the fault, want one running replica, found %+v", observed)
						}
						return nil
					},
				),
			},
		},
	})
}
