package resources_test

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// Scaling a cluster whose members know each other (members_env) replaces
// every member, and the plan says why: the replica count they see.
func TestAccServiceCluster_scalingNamesTheMembersChange(t *testing.T) {
	name := acctest.Name(t, "mem")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	config := func(replicas int) string {
		return serviceConfig(name, acctest.WorkloadImageV1, replicas, `
  bootstrap = "parallel"
  cluster {
    seeds       = 1
    port        = 8080
    members_env = "CLUSTER_MEMBERS"
  }`)
	}
	const reason = ": replace (replicas 2 → 3, seen by cluster.members_env)"
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{Config: config(2), ConfigPlanChecks: emptyPlanAfterApply()},
			{Config: config(3), ConfigPlanChecks: rolloutPlan(r(2)+": create", r(1)+reason, r(0)+reason)},
		},
	})
}
