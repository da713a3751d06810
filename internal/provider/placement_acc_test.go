package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

const service = "stateful_service.test"

// twoHosts is a provider with the local daemon as host "a" and another
// daemon, reached over TLS, as host named second; both advertise the
// machine's address that every daemon's containers reach.
func twoHosts(second string, d *acctest.Daemon) string {
	return fmt.Sprintf(`
provider "stateful" {
  host {
    name              = "a"
    endpoint          = "unix:///var/run/docker.sock"
    advertise_address = %q
  }
%s}
`, acctest.HostAddress, d.HostBlock(second, d.CAPEM, acctest.HostAddress))
}

// hostsOf lists where the service's replicas run, per daemon, with each
// replica's reported version, as "name version" sorted.
func hostsOf(name string, daemons map[string]*docker.Host) (map[string][]string, error) {
	out := map[string][]string{}
	for hostName, host := range daemons {
		observed, err := host.ListReplicas(context.Background(), name)
		if err != nil {
			return nil, err
		}
		for _, o := range observed {
			if o.State != "running" {
				return nil, fmt.Errorf("%s on %s is %s", o.Name, hostName, o.State)
			}
			id, err := acctest.IdentityOf(o.Address)
			if err != nil {
				return nil, err
			}
			if id.Hostname != o.Name {
				return nil, fmt.Errorf("%s on %s reports hostname %s", o.Name, hostName, id.Hostname)
			}
			out[hostName] = append(out[hostName], o.Name+" "+id.Version)
		}
		slices.Sort(out[hostName])
	}
	return out, nil
}

// placedAs checks, through each daemon, which replicas (by ordinal) run
// where, and at which version.
func placedAs(name, version string, daemons map[string]*docker.Host, want map[string][]int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		got, err := hostsOf(name, daemons)
		if err != nil {
			return err
		}
		for host, ordinals := range want {
			var names []string
			for _, o := range ordinals {
				names = append(names, spec.ReplicaName(name, o)+" "+version)
			}
			slices.Sort(names)
			if !slices.Equal(got[host], names) {
				return fmt.Errorf("host %s runs %v, want %v (all hosts: %v)", host, got[host], names, got)
			}
		}
		return nil
	}
}

// seedKnowsEveryone waits until the seed (ordinal 0, on the local daemon)
// lists every member: those on the other daemon joined through the
// advertised address and published port.
func seedKnowsEveryone(name string, replicas int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		var want []string
		for o := range replicas {
			want = append(want, spec.ReplicaName(name, o)+":8080")
		}
		slices.Sort(want)
		address, err := acctest.Address(name, spec.ReplicaName(name, 0))
		if err != nil {
			return err
		}
		var body struct {
			Members []string `json:"members"`
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			if err := acctest.GetJSON("http://"+address+":8080/cluster/members", &body); err != nil {
				return err
			}
			if slices.Equal(body.Members, want) {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the seed knows %v, want %v", body.Members, want)
			}
		}
	}
}

// envOnSecondHost checks a replica's environment, as it reports it, on the
// TLS daemon.
func envOnSecondHost(name string, ordinal int, want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		observed, err := acctest.TLS.Host.ListReplicas(context.Background(), name)
		if err != nil {
			return err
		}
		for _, o := range observed {
			if o.Ordinal != ordinal {
				continue
			}
			env, err := acctest.EnvOf(o.Address)
			if err != nil {
				return err
			}
			for k, v := range want {
				if env[k] != v {
					return fmt.Errorf("%s has %s=%q, want %q", o.Name, k, env[k], v)
				}
			}
			return nil
		}
		return fmt.Errorf("ordinal %d is not on the second host", ordinal)
	}
}

// goneFrom checks that nothing of the service is left on any daemon.
func goneFrom(name string, daemons ...*docker.Host) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, d := range daemons {
			observed, err := d.ListReplicas(context.Background(), name)
			if err != nil {
				return err
			}
			exists, err := d.NetworkExists(context.Background(), name)
			if err != nil {
				return err
			}
			if len(observed) > 0 || exists {
				return fmt.Errorf("%s left %d containers (network: %v) on host %s", name, len(observed), exists, d.Name())
			}
		}
		return nil
	}
}

func expectRolloutLines(lines ...string) plancheck.PlanCheck {
	return acctest.ExpectRollout(service, lines...)
}

// Four replicas spread over two hosts land two and two, join one cluster
// across the hosts, stay where they are through an image update, refuse a
// move away from their host data without the opt-in, and honour pins.
func TestAccPlacement_spreadStickyPinned(t *testing.T) {
	name := acctest.Name(t, "spread")
	daemons := map[string]*docker.Host{"a": acctest.Docker(), "b": acctest.TLS.Host}
	config := func(image, placement string) string {
		return twoHosts("b", &acctest.TLS) + fmt.Sprintf(`
resource "stateful_service" "test" {
  name              = %[1]q
  image             = %[2]q
  replicas          = 4
  stop_grace_period = "1s"
  env = {
    ADVERTISE = "{{.Address}}:{{.Port}}"
    PLACED_ON = "{{.Host}}"
  }
  port {
    internal = 8080
    external = 24100
  }
  cluster {
    port = 8080
  }
  volume {
    name   = "data"
    target = "/data"
    host {
      path = "/tmp/stateful-acc/%[1]s/{{.Ordinal}}"
    }
  }
  placement {
    %[3]s
  }
}
`, name, image, placement)
	}
	spread := `hosts = ["a", "b"]`
	pinned := `hosts = ["a", "b"]
    strategy = "pinned"
    pinned = { "0" = "a", "1" = "a", "2" = "a", "3" = "b" }`
	r := func(o int) string { return spec.ReplicaName(name, o) }
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             goneFrom(name, acctest.Docker(), acctest.TLS.Host),
		Steps: []resource.TestStep{
			{
				Config: config(acctest.WorkloadImageV1, spread),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					expectRolloutLines(r(0)+": create on a", r(1)+": create on b", r(2)+": create on a", r(3)+": create on b"),
					plancheck.ExpectKnownValue(service, tfjsonpath.New("instances").AtSliceIndex(3).AtMapKey("host"), knownvalue.StringExact("b")),
					plancheck.ExpectKnownValue(service, tfjsonpath.New("seeds"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(acctest.HostAddress + ":24100")})),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(service, tfjsonpath.New("instances").AtSliceIndex(1).AtMapKey("host"), knownvalue.StringExact("b")),
				},
				Check: resource.ComposeTestCheckFunc(
					placedAs(name, "v1", daemons, map[string][]int{"a": {0, 2}, "b": {1, 3}}),
					seedKnowsEveryone(name, 4),
					envOnSecondHost(name, 3, map[string]string{"ADVERTISE": acctest.HostAddress + ":24103", "PLACED_ON": "b"}),
				),
			},
			{
				Config: config(acctest.WorkloadImageV2, spread),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					expectRolloutLines(r(3)+": replace on b (image)", r(2)+": replace on a (image)", r(1)+": replace on b (image)", r(0)+": replace on a (image)"),
				}},
				Check: placedAs(name, "v2", daemons, map[string][]int{"a": {0, 2}, "b": {1, 3}}),
			},
			{
				// Import finds the replicas on every host and lists those
				// hosts as the placement.
				ResourceName:            service,
				ImportState:             true,
				ImportStateId:           name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "rollout"},
			},
			{
				Config:      config(acctest.WorkloadImageV2, pinned),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Placement would move replicas away from their data.*` + r(1) + `: from host "b" to host "a".*allow_local_data_move = true`),
			},
			{
				Config: config(acctest.WorkloadImageV2, pinned+"\n    allow_local_data_move = true"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					expectRolloutLines(r(1) + ": replace on a (moved from host b)"),
				}},
				Check: resource.ComposeTestCheckFunc(
					placedAs(name, "v2", daemons, map[string][]int{"a": {0, 1, 2}, "b": {3}}),
					seedKnowsEveryone(name, 4),
				),
			},
			{
				// Host b leaves the placement: its replica moves to a, and b
				// loses the service's network.
				Config: config(acctest.WorkloadImageV2, `hosts = ["a"]
    allow_local_data_move = true`),
				Check: resource.ComposeTestCheckFunc(
					placedAs(name, "v2", daemons, map[string][]int{"a": {0, 1, 2, 3}, "b": nil}),
					goneFrom(name, acctest.TLS.Host),
				),
			},
		},
	})
}

// A host that does not answer fails the refresh with its name, and changes
// nothing: when it is back, its replicas are found as they were.
func TestAccPlacement_unreachableHostChangesNothing(t *testing.T) {
	name := acctest.Name(t, "down")
	down := acctest.NewDaemon(t)
	config := twoHosts("c", down) + fmt.Sprintf(`
resource "stateful_service" "test" {
  name              = %q
  image             = %q
  replicas          = 2
  stop_grace_period = "1s"
  placement {
    hosts = ["a", "c"]
  }
}
`, name, acctest.WorkloadImageV1)
	var ids []string
	containerIDs := func(*terraform.State) ([]string, error) {
		var out []string
		for _, h := range []*docker.Host{acctest.Docker(), down.Host} {
			observed, err := h.ListReplicas(context.Background(), name)
			if err != nil {
				return nil, err
			}
			for _, o := range observed {
				if o.State != "running" {
					return nil, fmt.Errorf("%s is %s", o.Name, o.State)
				}
				out = append(out, o.Name+"@"+h.Name()+"="+o.ID)
			}
		}
		slices.Sort(out)
		return out, nil
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             func(s *terraform.State) error { return goneFrom(name, acctest.Docker(), down.Host)(s) },
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(s *terraform.State) (err error) {
					ids, err = containerIDs(s)
					if err == nil && len(ids) != 2 {
						err = fmt.Errorf("replicas %v, want one per host", ids)
					}
					return err
				},
			},
			{
				PreConfig:   down.Stop,
				Config:      config,
				ExpectError: phrase(fmt.Sprintf(`docker host "c" at %s: cannot reach the Docker daemon`, down.Endpoint)),
			},
			{
				PreConfig: func() {
					if err := down.Start(context.Background()); err != nil {
						t.Fatal(err)
					}
					waitRunning(t, down.Host, name, 1)
				},
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: func(s *terraform.State) error {
					now, err := containerIDs(s)
					if err == nil && !slices.Equal(now, ids) {
						err = fmt.Errorf("replicas now %v, before the host went down %v: nothing should have moved", now, ids)
					}
					return err
				},
			},
		},
	})
}

// waitRunning waits until a restarted daemon has restarted the service's
// containers.
func waitRunning(t *testing.T, host *docker.Host, name string, want int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		observed, err := host.ListReplicas(context.Background(), name)
		running := 0
		for _, o := range observed {
			if o.State == "running" {
				running++
			}
		}
		if err == nil && running == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d replicas running on the restarted daemon (%v)", running, want, err)
		}
	}
}
