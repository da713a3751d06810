package realsoftware_test

import (
	"context"
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

// postgresScalingConfig is the scaling guide's PostgreSQL standbys
// walkthrough: the PostgreSQL guide's configuration (examples/postgresql)
// with each standby cloned through a physical replication slot on the
// primary, standby_<ordinal>, that the hooks create (after_ready in the
// primary for the standbys of the first apply, before_create in a peer on
// scale-up) and drop (decommission in a peer on scale-down). Only the image,
// the name, the replicas and the passwords are filled in.
func postgresScalingConfig(name string, replicas int, postgresPassword, replicationPassword string) string {
	return fmt.Sprintf(`
resource "stateful_service" "test" {
  name     = %q
  image    = %q
  replicas = %d
  user     = "postgres"

  entrypoint = ["/usr/local/bin/start-postgres"]

  env = {
    PGDATA = "/var/lib/postgresql/data/pgdata"
    PGHOST = "/tmp" # the server's socket directory, for psql and pg_isready
    PGUSER = "postgres"
  }

  file {
    target  = "/usr/local/bin/start-postgres"
    mode    = "0755"
    content = <<-EOT
      #!/bin/sh
      # {{.Name}}: ordinal 0 is the primary, the others stream from it.
      set -eu
      if [ ! -s "$PGDATA/PG_VERSION" ]; then
        if [ {{.Ordinal}} -eq 0 ]; then
          initdb --username=postgres --pwfile=/run/secrets/postgres_password \
            --auth-local=trust --auth-host=scram-sha-256 >/dev/null
          echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
          echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
          echo "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '$(cat /run/secrets/replication_password)';" |
            postgres --single -D "$PGDATA" postgres >/dev/null
        else
          rm -rf "$PGDATA.clone"
          until PGPASSWORD=$(cat /run/secrets/replication_password) pg_basebackup \
              --host={{.Service}}-0 --username=replicator --pgdata="$PGDATA.clone" \
              --wal-method=stream --write-recovery-conf --checkpoint=fast \
              --slot=standby_{{.Ordinal}}; do
            rm -rf "$PGDATA.clone"
            sleep 2
          done
          mv "$PGDATA.clone" "$PGDATA"
        fi
      fi
      exec postgres -c listen_addresses='*' -c unix_socket_directories=/tmp \
        -c max_parallel_workers_per_gather=0
    EOT
  }

  secret {
    name             = "postgres_password"
    value_wo         = %q
    value_wo_version = 1
    owner            = "postgres"
  }

  secret {
    name             = "replication_password"
    value_wo         = %q
    value_wo_version = 1
    owner            = "postgres"
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
    interval = "2s"
    retries  = 30
  }

  stop_signal       = "SIGINT" # fast shutdown
  stop_grace_period = "60s"

  hooks {
    # When pg-0 is created, replaced or started: the primary makes sure every
    # standby ordinal has a slot. This covers the standbys of the first apply,
    # for which before_create does not run. In a standby, it does nothing.
    after_ready {
      command = ["psql", "-v", "ON_ERROR_STOP=1", "-c", <<-EOT
        SELECT pg_create_physical_replication_slot(slot)
        FROM (SELECT 'standby_' || i AS slot FROM generate_series(1, {{.Replicas}} - 1) AS i) AS wanted
        WHERE NOT pg_is_in_recovery()
          AND slot NOT IN (SELECT slot_name::text FROM pg_replication_slots)
      EOT
      ]
    }

    # Scale-up: the slot of the new standby, made in a peer before it is
    # created. The peer is the lowest running ordinal: pg-0 when it runs.
    before_create {
      command = ["sh", "-c", <<-EOT
        set -eu
        if [ "$(psql -tAc 'SELECT pg_is_in_recovery()')" != f ]; then
          echo "$(hostname) is a standby; start {{.Service}}-0, the primary" >&2
          exit 1
        fi
        psql -v ON_ERROR_STOP=1 -c "SELECT pg_create_physical_replication_slot('standby_{{.Ordinal}}')
          WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = 'standby_{{.Ordinal}}')"
      EOT
      ]
    }

    # Scale-down: drop the slot of the standby that goes, in the primary.
    decommission {
      run_in = "peer"
      command = ["sh", "-c", <<-EOT
        set -u
        if [ "$(psql -tAc 'SELECT pg_is_in_recovery()')" != f ]; then
          echo "$(hostname) is a standby; start {{.Service}}-0, the primary" >&2
          exit 1
        fi
        # The standby still streams through its slot: end its WAL sender and
        # drop the slot in the moment before the standby reconnects.
        psql -v ON_ERROR_STOP=1 -q <<'SQL'
        DO $do$
        BEGIN
          FOR i IN 1..3000 LOOP
            PERFORM pg_terminate_backend(active_pid) FROM pg_replication_slots
              WHERE slot_name = 'standby_{{.Ordinal}}' AND active_pid IS NOT NULL;
            BEGIN
              PERFORM pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                WHERE slot_name = 'standby_{{.Ordinal}}' AND NOT active;
            EXCEPTION WHEN object_in_use THEN NULL;
            END;
            IF NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = 'standby_{{.Ordinal}}') THEN
              RETURN;
            END IF;
            PERFORM pg_sleep(0.01);
          END LOOP;
          RAISE EXCEPTION 'replication slot standby_{{.Ordinal}} is still in use';
        END
        $do$;
        SQL
      EOT
      ]
    }
  }

  # A removed standby's data is of no use later: a new one clones afresh
  # (the start script clones only into an empty data directory).
  retention {
    when_scaled = "delete"
  }
}
`, name, acctest.RealImage(), replicas, postgresPassword, replicationPassword)
}

// checkStandbys checks, within 30 seconds, that the primary (ordinal 0)
// has exactly the slots standby_1 .. standby_<replicas-1>, each active and
// held by a WAL sender that streams, and that each standby is in recovery
// and streams through its own slot (primary_slot_name).
func checkStandbys(t *testing.T, step, name string, replicas int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		primary := spec.ReplicaName(name, 0)
		var want []string
		for i := 1; i < replicas; i++ {
			want = append(want, fmt.Sprintf("standby_%d active streaming", i))
		}
		var slots, streaming string
		err := eventually(30*time.Second, func() error {
			var err error
			slots, err = psql(primary, `SELECT string_agg(s.slot_name || ' ' || CASE WHEN s.active THEN 'active' ELSE 'inactive' END
			  || ' ' || coalesce(r.state, 'no-sender'), ',' ORDER BY s.slot_name)
			  FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid`)
			if err != nil {
				return err
			}
			if slots != strings.Join(want, ",") {
				return fmt.Errorf("replication slots on the primary %s: %q, want %q", primary, slots, strings.Join(want, ","))
			}
			streaming, err = psql(primary, "SELECT count(*) FILTER (WHERE state = 'streaming') || ' of ' || count(*) FROM pg_stat_replication")
			if err != nil {
				return err
			}
			if wantStreaming := fmt.Sprintf("%d of %d", replicas-1, replicas-1); streaming != wantStreaming {
				return fmt.Errorf("pg_stat_replication on the primary %s: %s streaming, want %s", primary, streaming, wantStreaming)
			}
			return nil
		})
		if err != nil {
			return err
		}
		t.Logf("%s: slots on %s: %q; pg_stat_replication: %s streaming", step, primary, slots, streaming)
		for i := range replicas {
			replica := spec.ReplicaName(name, i)
			recovery, err := psql(replica, "SELECT pg_is_in_recovery()")
			if err != nil {
				return err
			}
			if wantRecovery := map[bool]string{true: "f", false: "t"}[i == 0]; recovery != wantRecovery {
				return fmt.Errorf("pg_is_in_recovery() on %s is %s, want %s", replica, recovery, wantRecovery)
			}
			if i == 0 {
				continue
			}
			slot, err := psql(replica, "SHOW primary_slot_name")
			if err != nil {
				return err
			}
			if want := fmt.Sprintf("standby_%d", i); slot != want {
				return fmt.Errorf("primary_slot_name on %s is %q, want %q", replica, slot, want)
			}
		}
		return nil
	}
}

// checkRowsOn checks, within 15 seconds, that each of the replicas has
// exactly the rows want in the table insertRow writes.
func checkRowsOn(name string, ordinals []int, want ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		want = slices.Sorted(slices.Values(want))
		for _, i := range ordinals {
			replica := spec.ReplicaName(name, i)
			err := eventually(15*time.Second, func() error {
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

// rolloutLogged logs the planned rollout lines, checking nothing.
type rolloutLogged struct {
	t    *testing.T
	step string
}

func (c rolloutLogged) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, _ *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != address || rc.Change == nil {
			continue
		}
		object, _ := rc.Change.After.(map[string]any)
		list, _ := object["rollout"].([]any)
		for _, v := range list {
			c.t.Logf("%s: planned rollout line %q", c.step, v)
		}
	}
}

// TestAccRealPostgreSQL_standbyAddRemove runs the scaling guide's
// PostgreSQL standbys walkthrough on PostgreSQL 15 from Debian's packages:
// a primary and a standby cloned through its replication slot; a second
// standby added (before_create makes its slot in the primary first), which
// streams through its own slot while the primary and the first standby run
// on; then removed (decommission drops its slot in the primary first), its
// data deleted, and the slot gone from the primary.
func TestAccRealPostgreSQL_standbyAddRemove(t *testing.T) {
	name := acctest.Name(t, "pgscale")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	postgresPassword := strings.ReplaceAll(acctest.Name(t, "pw")+acctest.Name(t, "pw"), "-", "")
	replicationPassword := strings.ReplaceAll(acctest.Name(t, "rp")+acctest.Name(t, "rp"), "-", "")
	config := func(replicas int) string {
		return postgresScalingConfig(name, replicas, postgresPassword, replicationPassword)
	}
	timer := &applyTimer{t: t}
	var lives map[string]containerLife
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{{
			Config:           config(2),
			ConfigPlanChecks: timer.checks(rolloutLogged{t: t, step: "create 2"}),
			Check: resource.ComposeTestCheckFunc(
				timer.stop("create 2"),
				checkStandbys(t, "create 2", name, 2),
				insertRow(name, "before-scaling"),
				checkRowsOn(name, []int{0, 1}, "before-scaling"),
				recordLives(name, 2, &lives),
			),
		}, {
			Config: config(3),
			ConfigPlanChecks: timer.checks(
				plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
				rolloutIs{t: t, step: "scale 2 → 3", lines: []string{
					r(2) + ": create (hooks: before_create in a peer, after_ready)",
				}},
			),
			Check: resource.ComposeTestCheckFunc(
				timer.stop("scale 2 → 3"),
				checkStandbys(t, "scale 2 → 3", name, 3),
				checkRowsOn(name, []int{0, 1, 2}, "before-scaling"),
				insertRow(name, "with-3"),
				checkRowsOn(name, []int{0, 1, 2}, "before-scaling", "with-3"),
				recordLives(name, 2, &lives),
			),
		}, {
			Config: config(2),
			ConfigPlanChecks: timer.checks(
				plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
				rolloutIs{t: t, step: "scale 3 → 2", lines: []string{
					r(2) + ": remove (scale down; hooks: decommission in a peer)",
				}},
			),
			Check: resource.ComposeTestCheckFunc(
				timer.stop("scale 3 → 2"),
				checkStandbys(t, "scale 3 → 2", name, 2),
				recordLives(name, 2, &lives),
				checkVolumesGone(name, 2, 2),
				insertRow(name, "after-scaling"),
				checkRowsOn(name, []int{0, 1}, "before-scaling", "with-3", "after-scaling"),
			),
		}},
	})
	t.Logf("applies: %s", strings.Join(timer.took, "; "))
}
