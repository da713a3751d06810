package resources_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

const healthCheck = `
  health {
    test     = ["CMD", "/workload", "probe", "http://127.0.0.1:8080/healthz"]
    interval = "250ms"
    retries  = 2
  }
`

// expectRollout checks the planned rollout lines, exactly and in order.
func expectRollout(lines ...string) plancheck.PlanCheck {
	return acctest.ExpectRollout(address, lines...)
}

// rolloutPlan expects an update whose rollout is exactly lines, and an
// empty plan after it.
func rolloutPlan(lines ...string) resource.ConfigPlanChecks {
	return resource.ConfigPlanChecks{
		PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate), expectRollout(lines...)},
		PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
	}
}

// membersConverge waits until every replica knows every member.
func membersConverge(service string, replicas int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		var want []string
		for i := range replicas {
			want = append(want, spec.ReplicaName(service, i)+":8080")
		}
		slices.Sort(want)
		deadline := time.Now().Add(20 * time.Second)
		for {
			var lagging []string
			for i := range replicas {
				address, err := acctest.Address(service, spec.ReplicaName(service, i))
				if err != nil {
					return err
				}
				var body struct {
					Members []string `json:"members"`
				}
				if err := acctest.GetJSON("http://"+address+":8080/cluster/members", &body); err != nil {
					return err
				}
				if !slices.Equal(body.Members, want) {
					lagging = append(lagging, fmt.Sprintf("%s knows %v", spec.ReplicaName(service, i), body.Members))
				}
			}
			if len(lagging) == 0 {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the cluster did not converge on %v: %s", want, strings.Join(lagging, "; "))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// lifecycle returns the create/start/healthy events since e.start as
// "action name" strings.
func (e *eventLog) lifecycle(string) ([]string, error) {
	var out []string
	for _, ev := range e.snapshot() {
		switch ev.Action {
		case "create", "start", "destroy", "health_status: healthy":
			out = append(out, strings.TrimPrefix(ev.Action, "health_status: ")+" "+ev.Name)
		}
	}
	return out, nil
}

// before checks that every event in first happened before any in then.
func (e *eventLog) before(service string, first, then []string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		events, err := e.lifecycle(service)
		if err != nil {
			return err
		}
		lastFirst, firstThen := -1, len(events)
		for i, ev := range events {
			if slices.Contains(first, ev) {
				lastFirst = max(lastFirst, i)
			}
			if slices.Contains(then, ev) {
				firstThen = min(firstThen, i)
			}
		}
		if lastFirst == -1 || firstThen == len(events) || lastFirst > firstThen {
			return fmt.Errorf("want %v all before %v; daemon events: %v", first, then, events)
		}
		return nil
	}
}

func TestAccServiceCluster_seedsAndOrderedBootstrap(t *testing.T) {
	name := acctest.Name(t, "clu")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	events := newEventLog(t, name)
	config := serviceConfig(name, acctest.WorkloadImageV1, 3, healthCheck+`
  cluster {
    seeds = 1
    port  = 8080
  }`)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{{
			PreConfig: events.start,
			Config:    config,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					// The seed list is known at plan time, for composition.
					plancheck.ExpectKnownValue(address, tfjsonpath.New("seeds"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(r(0) + ":8080")})),
					expectRollout(r(0)+": create", r(1)+": create", r(2)+": create"),
				},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				// Replica i+1 is created only once i is healthy, as the
				// daemon recorded it.
				events.expect(name,
					"create "+r(0), "start "+r(0), "create "+r(1), "start "+r(1), "create "+r(2), "start "+r(2)),
				events.before(name, []string{"healthy " + r(0)}, []string{"create " + r(1)}),
				events.before(name, []string{"healthy " + r(1)}, []string{"create " + r(2)}),
				membersConverge(name, 3),
			),
		}},
	})
}

func TestAccServiceCluster_parallelBootstrap(t *testing.T) {
	name := acctest.Name(t, "par")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	events := newEventLog(t, name)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{{
			PreConfig: events.start,
			Config:    serviceConfig(name, acctest.WorkloadImageV1, 3, strings.Replace(healthCheck, `"250ms"`, `"1s"`, 1)+`  bootstrap = "parallel"`),
			Check: resource.ComposeAggregateTestCheckFunc(
				// Every replica is created before any is healthy: nobody
				// waited for a predecessor (in ordered mode, replica 1 is
				// created only after replica 0 is healthy).
				events.before(name, []string{"create " + r(0), "create " + r(1), "create " + r(2)}, []string{"healthy " + r(0), "healthy " + r(1), "healthy " + r(2)}),
				checkReplicas(name, "v1", nil, r(0), r(1), r(2)),
			),
		}},
	})
}

func TestAccServiceCluster_rollingUpdatesAndThePlanPerReplica(t *testing.T) {
	name := acctest.Name(t, "roll")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	ids := containerIDs{}
	events := newEventLog(t, name)
	// A slower health check keeps "down together" observable under load.
	slowHealth := strings.Replace(healthCheck, `"250ms"`, `"1s"`, 1)
	config := func(image string, replicas int, update string) string {
		return serviceConfig(name, image, replicas, slowHealth+update)
	}
	partition := func(p int) string { return fmt.Sprintf("  update {\n    partition = %d\n  }\n", p) }
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				Config: config(acctest.WorkloadImageV1, 4, partition(2)),
				Check:  ids.record(name),
			},
			{
				// The partition holds ordinals 0 and 1 back: only 3 then 2 roll.
				PreConfig:        events.start,
				Config:           config(acctest.WorkloadImageV2, 4, partition(2)),
				ConfigPlanChecks: rolloutPlan(r(3)+": replace (image)", r(2)+": replace (image)"),
				Check: resource.ComposeAggregateTestCheckFunc(
					ids.unchanged(name, r(0), r(1)),
					ids.replaced(name, r(2), r(3)),
					events.expect(name, "destroy "+r(3), "create "+r(3), "start "+r(3), "destroy "+r(2), "create "+r(2), "start "+r(2)),
					events.before(name, []string{"healthy " + r(3)}, []string{"destroy " + r(2)}),
					ids.record(name),
				),
			},
			{
				// Lowering the partition rolls the rest.
				Config:           config(acctest.WorkloadImageV2, 4, partition(0)),
				ConfigPlanChecks: rolloutPlan(r(1)+": replace (image)", r(0)+": replace (image)"),
				Check:            resource.ComposeAggregateTestCheckFunc(ids.unchanged(name, r(2), r(3)), ids.replaced(name, r(0), r(1))),
			},
			{
				// max_unavailable = 2: two at a time, highest first.
				PreConfig: events.start,
				Config:    config(acctest.WorkloadImageV2, 4, "  env = { WAVE = \"2\" }\n  update {\n    max_unavailable = 2\n  }\n"),
				ConfigPlanChecks: rolloutPlan(
					r(3)+": replace (env)", r(2)+": replace (env)", r(1)+": replace (env)", r(0)+": replace (env)"),
				Check: resource.ComposeAggregateTestCheckFunc(
					// 3 and 2 are down together; 1 and 0 wait until both are healthy.
					events.before(name, []string{"destroy " + r(3), "destroy " + r(2)}, []string{"healthy " + r(3), "healthy " + r(2)}),
					events.before(name, []string{"healthy " + r(3), "healthy " + r(2)}, []string{"destroy " + r(1), "destroy " + r(0)}),
					checkReplicas(name, "v2", map[string]string{"WAVE": "2"}, r(0), r(1), r(2), r(3)),
					ids.record(name),
				),
			},
			{
				// Drift and scaling, each with its reason.
				PreConfig: func() {
					ctx := context.Background()
					if err := acctest.Local().StopContainer(ctx, ids[r(1)], time.Second); err != nil {
						t.Fatal(err)
					}
					if err := acctest.Docker().RemoveContainer(ctx, ids[r(2)], time.Second); err != nil {
						t.Fatal(err)
					}
				},
				Config: config(acctest.WorkloadImageV2, 5, "  env = { WAVE = \"2\" }\n"),
				ConfigPlanChecks: rolloutPlan(
					r(1)+": start (stopped outside Terraform)", r(2)+": create (removed outside Terraform)", r(4)+": create"),
			},
			{
				Config:           config(acctest.WorkloadImageV2, 3, "  env = { WAVE = \"2\" }\n"),
				ConfigPlanChecks: rolloutPlan(r(4)+": remove (scale down)", r(3)+": remove (scale down)"),
			},
			{
				// Nothing to do: an empty plan, which keeps the last rollout.
				Config: config(acctest.WorkloadImageV2, 3, "  env = { WAVE = \"2\" }\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan(), expectRollout(r(4)+": remove (scale down)", r(3)+": remove (scale down)")},
				},
			},
		},
	})
}

func TestAccServiceCluster_brokenUpdateReverts(t *testing.T) {
	name := acctest.Name(t, "rev")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	ids := containerIDs{}
	config := func(env string) string {
		return serviceConfig(name, acctest.WorkloadImageV1, 3, healthCheck+env+"\n  update {\n    on_failure = \"revert\"\n  }\n")
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{Config: config(`  env = { GOOD = "1" }`), Check: ids.record(name)},
			{
				// The first replaced replica never gets healthy: it is put back
				// on its previous spec and the apply fails, saying so.
				Config:      config(`  env = { GOOD = "1", UNHEALTHY = "1" }`),
				ExpectError: wrapped(r(2) + " was reverted to its previous spec"),
			},
			{
				// The cluster keeps serving: every replica answers, with the
				// old environment, and 0 and 1 were never touched.
				Config:             config(`  env = { GOOD = "1", UNHEALTHY = "1" }`),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				Check: resource.ComposeAggregateTestCheckFunc(
					checkReplicas(name, "v1", map[string]string{"GOOD": "1", "UNHEALTHY": ""}, r(0), r(1), r(2)),
					ids.unchanged(name, r(0), r(1)),
					ids.replaced(name, r(2)),
				),
			},
		},
	})
}

func TestAccServiceCluster_crashLoopFailsFast(t *testing.T) {
	name := acctest.Name(t, "crash")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{Config: serviceConfig(name, acctest.WorkloadImageV1, 2, `  min_ready = "2s"`)},
			{
				// Without a health check, a replica that dies within min_ready
				// fails the apply with its log; the other keeps running.
				Config:      serviceConfig(name, acctest.WorkloadImageV1, 2, "  min_ready = \"2s\"\n  env = { EXIT_AFTER = \"300ms\" }"),
				ExpectError: regexp.MustCompile(spec.ReplicaName(name, 1) + `\s+(crashed\s+and\s+is\s+restarting|exited\s+with\s+code\s+3)(?s:.*)EXIT_AFTER=300ms\s+elapsed`),
			},
		},
	})
}
