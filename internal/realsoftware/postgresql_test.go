package realsoftware_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// postgresConfig runs PostgreSQL 15 from Debian's packages: ordinal 0 is
// the primary, the others are streaming standbys that clone it with
// pg_basebackup on first start. The entrypoint is a templated file, so each
// replica's script knows its role; the replication password is a secret
// file. roll changes only an environment variable, to force a rolling
// replacement.
func postgresConfig(name, password string, roll int) string {
	return fmt.Sprintf(`
resource "stateful_service" "test" {
  name              = %q
  image             = %q
  replicas          = 3
  user              = "postgres"
  entrypoint        = ["/usr/local/bin/start-postgres"]
  stop_signal       = "SIGINT" # fast shutdown
  stop_grace_period = "10s"

  env = {
    PGDATA = "/var/lib/postgresql/data/pgdata"
    PGHOST = "/tmp" # the server's socket directory, for psql and pg_isready
    PGUSER = "postgres"
    ROLL   = "%d"
  }

  file {
    target  = "/usr/local/bin/start-postgres"
    mode    = "0755"
    content = <<-EOT
      #!/bin/sh
      # {{.Name}}: ordinal 0 is the primary, the others stream from it.
      set -eu
      if [ ! -s "$PGDATA/PG_VERSION" ]; then
        password=$(cat /run/secrets/replication_password)
        if [ {{.Ordinal}} -eq 0 ]; then
          initdb --username=postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
          echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
          echo "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '$password';" |
            postgres --single -D "$PGDATA" postgres >/dev/null
        else
          rm -rf "$PGDATA.clone"
          until PGPASSWORD=$password pg_basebackup --host={{.Service}}-0 --username=replicator \
              --pgdata="$PGDATA.clone" --wal-method=stream --write-recovery-conf --checkpoint=fast; do
            rm -rf "$PGDATA.clone"
            sleep 1
          done
          mv "$PGDATA.clone" "$PGDATA"
        fi
      fi
      exec postgres -c listen_addresses='*' -c unix_socket_directories=/tmp \
        -c max_parallel_workers_per_gather=0
    EOT
  }

  secret {
    name             = "replication_password"
    value_wo         = %q
    value_wo_version = 1
    owner            = "postgres" # 102 in Debian's package, resolved from the image
  }

  volume {
    name   = "data"
    target = "/var/lib/postgresql/data"
    plugin {
      driver = "local"
    }
  }

  health {
    test     = ["CMD", "pg_isready"]
    interval = "500ms"
    retries  = 60
  }
}
`, name, acctest.RealImage(), roll, password)
}

// psql runs one statement on a replica and returns its unaligned output.
func psql(replica, sql string) (string, error) {
	out, err := run(replica, "", "psql", "-X", "-v", "ON_ERROR_STOP=1", "-tAc", sql)
	return strings.TrimSpace(out), err
}

// insertRow adds a row on the primary.
func insertRow(name, value string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		_, err := psql(spec.ReplicaName(name, 0), "CREATE TABLE IF NOT EXISTS notes (v text); INSERT INTO notes VALUES ('"+value+"')")
		return err
	}
}

// checkReplicated checks that the primary streams to both standbys and
// that every replica has exactly the rows want.
func checkReplicated(name string, want ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		primary := spec.ReplicaName(name, 0)
		err := eventually(30*time.Second, func() error {
			out, err := psql(primary, "SELECT application_name || ' ' || state FROM pg_stat_replication ORDER BY 1")
			if err != nil {
				return err
			}
			if n := strings.Count(out, " streaming"); n != 2 {
				return fmt.Errorf("pg_stat_replication on the primary %s: %q, want 2 streaming standbys", primary, out)
			}
			return nil
		})
		if err != nil {
			return err
		}
		slices.Sort(want)
		for i := range 3 {
			replica := spec.ReplicaName(name, i)
			recovery, err := psql(replica, "SELECT pg_is_in_recovery()")
			if err != nil {
				return err
			}
			if wantRecovery := map[bool]string{true: "f", false: "t"}[i == 0]; recovery != wantRecovery {
				return fmt.Errorf("pg_is_in_recovery() on %s is %s, want %s", replica, recovery, wantRecovery)
			}
			err = eventually(15*time.Second, func() error {
				out, err := psql(replica, "SELECT string_agg(v, ',' ORDER BY v) FROM notes")
				if err != nil {
					return err
				}
				if out != strings.Join(want, ",") {
					return fmt.Errorf("rows on %s: %q, want %q", replica, out, strings.Join(want, ","))
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// TestAccRealPostgreSQL_streamingReplicas runs a primary and two streaming
// standbys, and checks that rows inserted on the primary are read on every
// standby, after a rolling update of every replica (the primary last) and
// after a destroy and a re-apply on the retained volumes.
func TestAccRealPostgreSQL_streamingReplicas(t *testing.T) {
	name := acctest.Name(t, "pg")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	password := strings.ReplaceAll(acctest.Name(t, "pw")+acctest.Name(t, "pw"), "-", "")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{{
			Config: postgresConfig(name, password, 1),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				insertRow(name, "before"),
				checkReplicated(name, "before"),
			),
		}, {
			Config: postgresConfig(name, password, 2),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					acctest.ExpectRollout(address, r(2)+": replace (env)", r(1)+": replace (env)", r(0)+": replace (env)"),
				},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkReplicated(name, "before"),
				insertRow(name, "after-rollout"),
				checkReplicated(name, "before", "after-rollout"),
			),
		}, {
			Config:  postgresConfig(name, password, 2),
			Destroy: true,
			Check:   acctest.CheckGone(name),
		}, {
			Config: postgresConfig(name, password, 2),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkReplicated(name, "before", "after-rollout"),
				insertRow(name, "after-reapply"),
				checkReplicated(name, "before", "after-rollout", "after-reapply"),
			),
		}},
	})
}
