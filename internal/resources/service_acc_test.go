package resources_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

const address = "stateful_service.test"

func TestMain(m *testing.M) { acctest.Main(m, acctest.StartVolumePlugin) }

// serviceConfig renders a stateful_service named name with extra body lines.
func serviceConfig(name, image string, replicas int, body string) string {
	return fmt.Sprintf(`
resource "stateful_service" "test" {
  name              = %q
  image             = %q
  replicas          = %d
  stop_grace_period = "2s"
%s
}
`, name, image, replicas, body)
}

func emptyPlanAfterApply() resource.ConfigPlanChecks {
	return resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
}

func expectUpdate() resource.ConfigPlanChecks {
	return resource.ConfigPlanChecks{
		PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate)},
		PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
	}
}

func instanceNames(names ...string) statecheck.StateCheck {
	values := make([]knownvalue.Check, len(names))
	for i, n := range names {
		// An address on the service network is only there while it runs.
		values[i] = knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"name":    knownvalue.StringExact(n),
			"host":    knownvalue.StringExact("default"),
			"address": knownvalue.StringRegexp(regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)),
		})
	}
	return statecheck.ExpectKnownValue(address, tfjsonpath.New("instances"), knownvalue.ListExact(values))
}

// checkReplicas asks every replica, over the service network, who it is and
// what it was given.
func checkReplicas(service, version string, env map[string]string, names ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		byName, err := acctest.Replicas(service)
		if err != nil {
			return err
		}
		if len(byName) != len(names) {
			return fmt.Errorf("want %d containers %v, found %d", len(names), names, len(byName))
		}
		for _, name := range names {
			replica, ok := byName[name]
			if !ok {
				return fmt.Errorf("replica %s not found on the daemon", name)
			}
			id, err := acctest.IdentityOf(replica.Address)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if id.Hostname != name || id.Version != version {
				return fmt.Errorf("%s reports hostname %q version %q; want %q %q", name, id.Hostname, id.Version, name, version)
			}
			got, err := acctest.EnvOf(replica.Address)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			for k, v := range env {
				if got[k] != v {
					return fmt.Errorf("%s has %s=%q, want %q", name, k, got[k], v)
				}
			}
		}
		return nil
	}
}

// containerIDs remembers the container ID of each replica.
type containerIDs map[string]string

func (ids containerIDs) record(service string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		now, err := acctest.Replicas(service)
		clear(ids)
		for name, o := range now {
			ids[name] = o.ID
		}
		return err
	}
}

// unchanged verifies the named replicas still run in the same containers.
func (ids containerIDs) unchanged(service string, names ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		now, err := acctest.Replicas(service)
		if err != nil {
			return err
		}
		for _, n := range names {
			if now[n].ID != ids[n] {
				return fmt.Errorf("%s was replaced (%s -> %s); it should have been left alone", n, short(ids[n]), short(now[n].ID))
			}
		}
		return nil
	}
}

func (ids containerIDs) replaced(service string, names ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		now, err := acctest.Replicas(service)
		if err != nil {
			return err
		}
		for _, n := range names {
			if now[n].ID == ids[n] || now[n].ID == "" {
				return fmt.Errorf("%s still runs container %s; it should have been replaced", n, short(ids[n]))
			}
		}
		return nil
	}
}

// eventLog follows a service's daemon events live from the start of a
// step: a replay could lose them to the daemon's bounded event buffer when
// parallel tests emit many.
type eventLog struct {
	t       *testing.T
	service string
	mu      sync.Mutex
	events  []acctest.Event
	last    time.Time
	cancel  context.CancelFunc
}

func newEventLog(t *testing.T, service string) *eventLog {
	e := &eventLog{t: t, service: service}
	t.Cleanup(func() {
		if e.cancel != nil {
			e.cancel()
		}
	})
	return e
}

func (e *eventLog) start() {
	if e.cancel != nil {
		e.cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := acctest.Local().StreamContainerEvents(ctx, e.service)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.events, e.cancel = nil, cancel
	e.mu.Unlock()
	go func() {
		for ev := range stream {
			e.mu.Lock()
			e.events, e.last = append(e.events, ev), time.Now()
			e.mu.Unlock()
		}
	}()
}

// snapshot waits until events stop arriving (briefly), then copies them.
func (e *eventLog) snapshot() []acctest.Event {
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		e.mu.Lock()
		quiet := time.Since(e.last) > 500*time.Millisecond
		e.mu.Unlock()
		if quiet {
			break
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]acctest.Event(nil), e.events...)
}

// expect verifies that the create/start/destroy events since start came in
// exactly this order, as "action name".
func (e *eventLog) expect(_ string, want ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		events := e.snapshot()
		var got []string
		for _, ev := range events {
			if slices.Contains([]string{"create", "start", "destroy"}, ev.Action) {
				got = append(got, ev.Action+" "+ev.Name)
			}
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("daemon events:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		return nil
	}
}

// wrapped matches a phrase however Terraform wraps its lines.
func wrapped(phrase string) *regexp.Regexp {
	words := strings.Fields(phrase)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(words, `\s+`))
}

func short(id string) string { return id[:min(12, len(id))] }

func TestAccService_lifecycle(t *testing.T) {
	name := acctest.Name(t, "life")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	ids := containerIDs{}
	events := newEventLog(t, name)
	env1 := `env = { MODE = "one" }`
	env2 := `env = { MODE = "two" }`

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				PreConfig:        events.start,
				Config:           serviceConfig(name, acctest.WorkloadImageV1, 3, env1),
				ConfigPlanChecks: emptyPlanAfterApply(),
				ConfigStateChecks: []statecheck.StateCheck{
					instanceNames(r(0), r(1), r(2)),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("network"), knownvalue.StringExact("stateful-"+name)),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("id"), knownvalue.StringExact(name)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkReplicas(name, "v1", map[string]string{"MODE": "one"}, r(0), r(1), r(2)),
					events.expect(name, "create "+r(0), "start "+r(0), "create "+r(1), "start "+r(1), "create "+r(2), "start "+r(2)),
					ids.record(name),
				),
			},
			{
				ResourceName:            address,
				ImportState:             true,
				ImportStateId:           name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "rollout"},
			},
			{
				// A new image replaces replicas one at a time, stop-first,
				// highest ordinal first.
				PreConfig:        events.start,
				Config:           serviceConfig(name, acctest.WorkloadImageV2, 3, env1),
				ConfigPlanChecks: expectUpdate(),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkReplicas(name, "v2", map[string]string{"MODE": "one"}, r(0), r(1), r(2)),
					ids.replaced(name, r(0), r(1), r(2)),
					events.expect(name,
						"destroy "+r(2), "create "+r(2), "start "+r(2),
						"destroy "+r(1), "create "+r(1), "start "+r(1),
						"destroy "+r(0), "create "+r(0), "start "+r(0)),
					ids.record(name),
				),
			},
			{
				Config:           serviceConfig(name, acctest.WorkloadImageV2, 3, env2),
				ConfigPlanChecks: expectUpdate(),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkReplicas(name, "v2", map[string]string{"MODE": "two"}, r(0), r(1), r(2)),
					ids.replaced(name, r(0), r(1), r(2)),
					ids.record(name),
				),
			},
			{
				// Scale up adds ordinals and leaves the others alone.
				Config:            serviceConfig(name, acctest.WorkloadImageV2, 5, env2),
				ConfigPlanChecks:  expectUpdate(),
				ConfigStateChecks: []statecheck.StateCheck{instanceNames(r(0), r(1), r(2), r(3), r(4))},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkReplicas(name, "v2", map[string]string{"MODE": "two"}, r(0), r(1), r(2), r(3), r(4)),
					ids.unchanged(name, r(0), r(1), r(2)),
				),
			},
			{
				// Scale down removes the highest ordinals, highest first.
				PreConfig:         events.start,
				Config:            serviceConfig(name, acctest.WorkloadImageV2, 2, env2),
				ConfigPlanChecks:  expectUpdate(),
				ConfigStateChecks: []statecheck.StateCheck{instanceNames(r(0), r(1))},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkReplicas(name, "v2", map[string]string{"MODE": "two"}, r(0), r(1)),
					ids.unchanged(name, r(0), r(1)),
					events.expect(name, "destroy "+r(4), "destroy "+r(3), "destroy "+r(2)),
				),
			},
			{
				Config:            serviceConfig(name, acctest.WorkloadImageV2, 0, env2),
				ConfigPlanChecks:  expectUpdate(),
				ConfigStateChecks: []statecheck.StateCheck{instanceNames()},
				Check:             checkReplicas(name, "v2", nil),
			},
		},
	})
}

func TestAccService_driftIsPlannedAndRepaired(t *testing.T) {
	name := acctest.Name(t, "drift")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	ids := containerIDs{}
	config := serviceConfig(name, acctest.WorkloadImageV1, 3, "")
	grace := 2 * time.Second

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				Config:           config,
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check:            ids.record(name),
			},
			{
				// Outside Terraform: rename one replica, stop another, remove a third.
				PreConfig: func() {
					ctx := context.Background()
					if err := acctest.Local().RenameContainer(ctx, ids[r(0)], r(0)+"-renamed"); err != nil {
						t.Fatal(err)
					}
					if err := acctest.Local().StopContainer(ctx, ids[r(1)], grace); err != nil {
						t.Fatal(err)
					}
					if err := acctest.Docker().RemoveContainer(ctx, ids[r(2)], grace); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
						// Every replica apply touches shows in instances, and rollout says how.
						plancheck.ExpectUnknownValue(address, tfjsonpath.New("instances").AtSliceIndex(0).AtMapKey("address")),
						plancheck.ExpectUnknownValue(address, tfjsonpath.New("instances").AtSliceIndex(1).AtMapKey("address")),
						plancheck.ExpectUnknownValue(address, tfjsonpath.New("instances").AtSliceIndex(2).AtMapKey("address")),
						acctest.ExpectRollout(address,
							r(1)+": start (stopped outside Terraform)",
							r(2)+": create (removed outside Terraform)",
							r(0)+": replace (renamed outside Terraform)",
						),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{instanceNames(r(0), r(1), r(2))},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkReplicas(name, "v1", nil, r(0), r(1), r(2)),
					ids.unchanged(name, r(1)), // the stopped one is started, not replaced
					ids.replaced(name, r(0), r(2)),
				),
			},
			{
				// Everything removed outside Terraform: the service is gone
				// and the next apply creates it again.
				PreConfig: func() {
					ctx := context.Background()
					replicas, err := acctest.Replicas(name)
					if err != nil {
						t.Fatal(err)
					}
					for _, o := range replicas {
						if err := acctest.Docker().RemoveContainer(ctx, o.ID, grace); err != nil {
							t.Fatal(err)
						}
					}
					if err := acctest.Docker().RemoveNetwork(ctx, name); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(address, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: checkReplicas(name, "v1", nil, r(0), r(1), r(2)),
			},
		},
	})
}

func TestAccService_portsHealthAndStableMAC(t *testing.T) {
	name := acctest.Name(t, "net")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	body := `
  ordinal_start      = 1
  stable_mac_address = true
  port {
    internal = 8080
    external = 28080
    host_ip  = "127.0.0.1"
  }
  health {
    test     = ["CMD", "/workload", "probe", "http://127.0.0.1:8080/healthz"]
    interval = "500ms"
    retries  = 3
  }
`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				Config:           serviceConfig(name, acctest.WorkloadImageV1, 2, body),
				ConfigPlanChecks: emptyPlanAfterApply(),
				ConfigStateChecks: []statecheck.StateCheck{
					instanceNames(r(1), r(2)),
					// Each replica's endpoint, so modules need not derive external + k.
					statecheck.ExpectKnownValue(address, tfjsonpath.New("instances").AtSliceIndex(0).AtMapKey("endpoints"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("127.0.0.1:28080")})),
					statecheck.ExpectKnownValue(address, tfjsonpath.New("instances").AtSliceIndex(1).AtMapKey("endpoints"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("127.0.0.1:28081")})),
				},
				Check: func(*terraform.State) error {
					// Apply waited for the health check to pass on each.
					replicas, err := acctest.Replicas(name)
					if err != nil {
						return err
					}
					for _, ordinal := range []int{1, 2} {
						if h := replicas[r(ordinal)].Health; h != "healthy" {
							return fmt.Errorf("%s is %q, want healthy", r(ordinal), h)
						}
					}
					// Replica k (from ordinal_start) publishes external + k, and
					// keeps a MAC derived from its identity.
					for k, ordinal := range []int{1, 2} {
						var id acctest.Identity
						if err := acctest.GetJSON(fmt.Sprintf("http://127.0.0.1:%d/identity", 28080+k), &id); err != nil {
							return err
						}
						if id.Hostname != r(ordinal) || id.Ordinal != ordinal {
							return fmt.Errorf("port %d answers as %s (ordinal %d), want %s", 28080+k, id.Hostname, id.Ordinal, r(ordinal))
						}
						if want := spec.StableMAC(name, ordinal); id.MAC != want {
							return fmt.Errorf("%s has MAC %s, want %s", id.Hostname, id.MAC, want)
						}
					}
					return nil
				},
			},
		},
	})
}

func TestAccService_failedRolloutStopsAndResumes(t *testing.T) {
	name := acctest.Name(t, "fail")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	ids := containerIDs{}
	health := `
  health {
    test     = ["CMD", "/workload", "probe", "http://127.0.0.1:8080/healthz"]
    interval = "300ms"
    retries  = 2
  }
`
	healthy := serviceConfig(name, acctest.WorkloadImageV1, 3, health)
	broken := serviceConfig(name, acctest.WorkloadImageV1, 3, health+`  env = { UNHEALTHY = "1" }`)

	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{Config: healthy, Check: ids.record(name)},
			{
				// The highest replica turns unhealthy: the rollout stops there,
				// with the replica's log in the error, and the others keep
				// running untouched.
				Config:      broken,
				ExpectError: regexp.MustCompile(`(?s)` + regexp.QuoteMeta(r(2)) + `.*unhealthy.*last log lines`),
			},
			{
				// State recorded the truth, so the plan still wants to roll out.
				Config:             broken,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// Reverting the configuration converges from wherever it stopped.
				Config:           healthy,
				ConfigPlanChecks: expectUpdate(),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkReplicas(name, "v1", nil, r(0), r(1), r(2)),
					ids.unchanged(name, r(0), r(1)),
					ids.replaced(name, r(2)),
				),
			},
		},
	})
}

func TestAccService_pullPolicy(t *testing.T) {
	name := acctest.Name(t, "pull")
	missing := "stateful-workload:does-not-exist"
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				// never: caught at plan time.
				Config:      serviceConfig(name, missing, 1, `pull_policy = "never"`),
				PlanOnly:    true,
				ExpectError: wrapped(`Image not on the host`),
			},
			{
				// missing: the pull fails (no registry here) with a clear error.
				Config:      serviceConfig(name, missing, 1, ""),
				ExpectError: wrapped(`is not on the host and could not be pulled`),
			},
			{
				// A local image with pull_policy never works.
				Config:           serviceConfig(name, acctest.WorkloadImageV1, 1, `pull_policy = "never"`),
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check:            checkReplicas(name, "v1", nil, spec.ReplicaName(name, 0)),
			},
		},
	})
}

func TestAccService_invalidConfiguration(t *testing.T) {
	cases := map[string]struct {
		config string
		err    string
	}{
		"bad name":    {serviceConfig("Bad_Name", acctest.WorkloadImageV1, 1, ""), `not a valid service name`},
		"bad restart": {serviceConfig("ok", acctest.WorkloadImageV1, 1, `restart = "sometimes"`), `"sometimes" is not one of`},
		"bad duration": {serviceConfig("ok", acctest.WorkloadImageV1, 1, `health {
    test     = ["NONE"]
    interval = "ten"
  }`), `(?s)\d+:\s+interval = "ten"\n.*not a valid Go Time Duration`},
		"negative duration": {serviceConfig("ok", acctest.WorkloadImageV1, 1, `health {
    test     = ["NONE"]
    timeout  = "-5s"
  }`), `(?s)\d+:\s+timeout  = "-5s"\n.*"-5s" is negative`},
		"reserved label":    {serviceConfig("ok", acctest.WorkloadImageV1, 1, `labels = { "statefulhq.service" = "x" }`), `reserved prefix`},
		"negative replicas": {serviceConfig("ok", acctest.WorkloadImageV1, -1, ""), `replicas`},
		"bad pull policy":   {serviceConfig("ok", acctest.WorkloadImageV1, 1, `pull_policy = "sometimes"`), `pull_policy`},
		"port published twice": {serviceConfig("ok", acctest.WorkloadImageV1, 2, `
  port {
    internal = 80
    external = 8000
  }
  port {
    internal = 80
    external = 9000
  }`), `published twice`},
		"overlapping port ranges": {serviceConfig("ok", acctest.WorkloadImageV1, 3, `
  port {
    internal = 80
    external = 8000
  }
  port {
    internal = 81
    external = 8001
  }`), `ranges overlap`},
		"bad host ip": {serviceConfig("ok", acctest.WorkloadImageV1, 1, `
  port {
    internal = 80
    host_ip  = "localhost"
  }`), `not an IP address`},
		// Errors across attributes underline the attribute at fault: its
		// line is quoted before the message.
		"more seeds than replicas": {serviceConfig("ok", acctest.WorkloadImageV1, 2, `
  cluster {
    seeds = 3
  }`), `(?s)\d+:\s+seeds = 3\n.*3 seeds need at least 3 replicas`},
		"cluster seeds without a port": {serviceConfig("ok", acctest.WorkloadImageV1, 1, `
  cluster {
    seeds = 1
  }`), `(?s)\d+:\s+cluster \{\n.*uses \{\{\.Port\}\},\s+and\s+no\s+port\s+is\s+set`},
		"unknown stop signal": {serviceConfig("ok", acctest.WorkloadImageV1, 1, `stop_signal = "SIGNOPE"`),
			`(?s)\d+:\s+stop_signal = "SIGNOPE"\n.*is not a signal`},
		"image Docker rejects": {serviceConfig("ok", "Stateful-Workload:v1", 1, ""),
			`(?s)\d+:\s+image\s+= "Stateful-Workload:v1"\n.*not an image reference Docker accepts`},
		"env name with =": {serviceConfig("ok", acctest.WorkloadImageV1, 1, `env = { "A=B" = "1" }`),
			`(?s)\d+:\s+env = \{ "A=B" = "1" \}\n.*cannot be an environment variable name`},
		"volume at the root": {serviceConfig("ok", acctest.WorkloadImageV1, 1, `
  volume {
    name   = "data"
    target = "/"
    plugin {
      driver = "local"
    }
  }`), `(?s)\d+:\s+target = "/"\n.*the container's root file system`},
		"replicas sharing a host directory": {serviceConfig("ok", acctest.WorkloadImageV1, 2, `
  volume {
    name   = "data"
    target = "/data"
    host {
      path = "/srv/shared"
    }
  }`), `(?s)\d+:\s+path = "/srv/shared"\n.*replicas 0 and 1 would share`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) { planFails(t, tc.config, regexp.MustCompile(tc.err)) })
	}
}

// planFails expects the plan of config to fail with err.
func planFails(t *testing.T, config string, err *regexp.Regexp) {
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps:                    []resource.TestStep{{Config: config, PlanOnly: true, ExpectError: err}},
	})
}

func TestAccService_containerSettings(t *testing.T) {
	name := acctest.Name(t, "cfg")
	body := `
  entrypoint  = ["/workload"]
  command     = ["serve"]
  user        = "65534:65534"
  env         = { DATA_DIR = "/dev/shm" } # writable by any user in a scratch image
  labels      = { team = "storage" }
  restart     = "on-failure:4"
  stop_signal = "SIGINT"
`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{{
			Config:           serviceConfig(name, acctest.WorkloadImageV1, 1, body),
			ConfigPlanChecks: emptyPlanAfterApply(),
			Check: func(*terraform.State) error {
				info, err := acctest.Local().InspectContainer(context.Background(), spec.ReplicaName(name, 0))
				if err != nil {
					return err
				}
				c, h := info.Config, info.HostConfig
				checks := []struct {
					what      string
					got, want any
				}{
					{"entrypoint", strings.Join(c.Entrypoint, " "), "/workload"},
					{"command", strings.Join(c.Cmd, " "), "serve"},
					{"user", c.User, "65534:65534"},
					{"label team", c.Labels["team"], "storage"},
					{"label service", c.Labels[spec.LabelService], name},
					{"label ordinal", c.Labels[spec.LabelOrdinal], "0"},
					{"stop signal", c.StopSignal, "SIGINT"},
					{"stop timeout", *c.StopTimeout, 2},
					{"restart policy", string(h.RestartPolicy.Name), "on-failure"},
					{"restart retries", h.RestartPolicy.MaximumRetryCount, 4},
					{"hostname", c.Hostname, spec.ReplicaName(name, 0)},
					{"network", string(h.NetworkMode), spec.NetworkName(name)},
				}
				for _, ch := range checks {
					if ch.got != ch.want {
						return fmt.Errorf("%s: got %v, want %v", ch.what, ch.got, ch.want)
					}
				}
				if aliases := info.NetworkSettings.Networks[spec.NetworkName(name)].Aliases; !slices.Contains(aliases, name) || !slices.Contains(aliases, spec.ReplicaName(name, 0)) {
					return fmt.Errorf("aliases %v lack %s or %s", aliases, name, spec.ReplicaName(name, 0))
				}
				return nil
			},
		}},
	})
}

// A failed create undoes itself: it records no state (nothing tainted) and
// leaves no container or network that no state knows of, and its data is
// kept; the next apply creates the service anew.
func TestAccService_failedCreateLeavesNothing(t *testing.T) {
	name := acctest.Name(t, "undo")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	body := `
  health {
    test     = ["CMD", "/workload", "probe", "http://127.0.0.1:8080/healthz"]
    interval = "300ms"
    retries  = 2
  }
  volume {
    name   = "data"
    target = "/data"
    plugin { driver = "local" }
  }
  retention { when_deleted = "delete" }
`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				// The second replica never gets healthy: the create fails.
				Config:      serviceConfig(name, acctest.WorkloadImageV1, 2, body+`  env = { UNHEALTHY = "{{if eq .Ordinal 1}}1{{end}}" }`),
				ExpectError: wrapped(r(1) + " is unhealthy"),
			},
			{
				PreConfig: func() {
					if err := acctest.CheckGone(name)(nil); err != nil {
						t.Fatalf("the failed create left debris: %v", err)
					}
					if _, err := acctest.Local().VolumeOptions(context.Background(), spec.VolumeName(name, "data", 0, true)); err != nil {
						t.Fatalf("the failed create lost the first replica's volume: %v", err)
					}
				},
				Config: serviceConfig(name, acctest.WorkloadImageV1, 2, body),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(address, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: checkReplicas(name, "v1", nil, r(0), r(1)),
			},
		},
	})
}

// A configuration known only at apply (the image comes from another
// resource): the plan leaves instances, rollout and seeds unknown, and
// apply records them.
func TestAccService_configurationKnownOnlyAtApply(t *testing.T) {
	name := acctest.Name(t, "late")
	config := fmt.Sprintf(`
resource "terraform_data" "image" {
  input = %q
}

resource "stateful_service" "test" {
  name              = %q
  image             = terraform_data.image.output
  replicas          = 2
  stop_grace_period = "1s"
  cluster {
    port = 8080
  }
}
`, acctest.WorkloadImageV1, name)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{{
			Config: config,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(address, tfjsonpath.New("instances")),
					plancheck.ExpectUnknownValue(address, tfjsonpath.New("seeds")),
				},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				instanceNames(spec.ReplicaName(name, 0), spec.ReplicaName(name, 1)),
				statecheck.ExpectKnownValue(address, tfjsonpath.New("seeds"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(spec.ReplicaName(name, 0) + ":8080")})),
			},
			Check: checkReplicas(name, "v1", nil, spec.ReplicaName(name, 0), spec.ReplicaName(name, 1)),
		}},
	})
}

// Durations compare by value: writing 1s as 1000ms, or 500ms as 0.5s,
// changes how state spells them and restarts nothing. (Terraform requires
// a plan to keep a configured value as written, so the plan shows the new
// spelling.)
func TestAccService_durationsCompareByValue(t *testing.T) {
	name := acctest.Name(t, "dur")
	ids := containerIDs{}
	config := func(minReady, interval string) string {
		return serviceConfig(name, acctest.WorkloadImageV1, 1, fmt.Sprintf(`
  min_ready = %q
  health {
    test     = ["CMD", "/workload", "probe", "http://127.0.0.1:8080/healthz"]
    interval = %q
  }`, minReady, interval))
	}
	rollout := func(lines ...string) plancheck.PlanCheck { return acctest.ExpectRollout(address, lines...) }
	first := spec.ReplicaName(name, 0) + ": create"
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{Config: config("1s", "500ms"), ConfigPlanChecks: emptyPlanAfterApply(), Check: ids.record(name)},
			{
				Config: config("1000ms", "0.5s"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{rollout(first)}, // nothing new to do
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: ids.unchanged(name, spec.ReplicaName(name, 0)),
			},
			{
				Config: config("1000ms", "1s"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{rollout(spec.ReplicaName(name, 0) + ": replace (health)")},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: ids.replaced(name, spec.ReplicaName(name, 0)),
			},
		},
	})
}
