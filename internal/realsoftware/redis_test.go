package realsoftware_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// redisConfig runs two independent Redis servers with the append-only
// file on a per-replica volume.
func redisConfig(name, image string) string {
	return fmt.Sprintf(`
resource "stateful_service" "test" {
  name              = %q
  image             = %q
  replicas          = 2
  user              = "redis"
  command           = ["redis-server", "--appendonly", "yes", "--dir", "/var/lib/redis", "--bind", "0.0.0.0", "--protected-mode", "no"]
  stop_grace_period = "5s"

  volume {
    name   = "data"
    target = "/var/lib/redis"
    plugin {
      driver = "local"
    }
  }

  health {
    test     = ["CMD-SHELL", "redis-cli ping | grep -q PONG"]
    interval = "500ms"
    retries  = 20
  }
}
`, name, image)
}

func redisCLI(replica string, args ...string) (string, error) {
	out, err := run(replica, "", append([]string{"redis-cli"}, args...)...)
	return strings.TrimSpace(out), err
}

// setOwnName stores, in each replica, its own name under "owner".
func setOwnName(name string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for i := range 2 {
			replica := spec.ReplicaName(name, i)
			if out, err := redisCLI(replica, "SET", "owner", replica); err != nil {
				return err
			} else if out != "OK" {
				return fmt.Errorf("SET on %s: %q", replica, out)
			}
			if out, err := redisCLI(replica, "CONFIG", "GET", "appendonly"); err != nil {
				return err
			} else if !strings.HasSuffix(out, "yes") {
				return fmt.Errorf("CONFIG GET appendonly on %s: %q", replica, out)
			}
		}
		return nil
	}
}

// checkOwnName checks that each replica still has its own data.
func checkOwnName(name string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for i := range 2 {
			replica := spec.ReplicaName(name, i)
			out, err := redisCLI(replica, "GET", "owner")
			if err != nil {
				return err
			}
			if out != replica {
				return fmt.Errorf("GET owner on %s: %q, want %q", replica, out, replica)
			}
		}
		return nil
	}
}

// TestAccRealRedis_appendOnlyFileSurvives writes a key into each of two
// Redis replicas and reads it back after an image change replaced them and
// after a destroy and a re-apply: the append-only file lives on each
// replica's volume, which retention keeps.
func TestAccRealRedis_appendOnlyFileSurvives(t *testing.T) {
	name := acctest.Name(t, "redis")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{{
			Config: redisConfig(name, acctest.RealImage()),
			Check:  setOwnName(name),
		}, {
			Config: redisConfig(name, acctest.RealImageB()),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					acctest.ExpectRollout(address, r(1)+": replace (image)", r(0)+": replace (image)"),
				},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: checkOwnName(name),
		}, {
			Config:  redisConfig(name, acctest.RealImageB()),
			Destroy: true,
			Check:   acctest.CheckGone(name),
		}, {
			Config: redisConfig(name, acctest.RealImageB()),
			Check:  checkOwnName(name),
		}},
	})
}
