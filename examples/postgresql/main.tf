terraform {
  # value_wo (write-only) and ephemeral variables: Terraform or OpenTofu 1.11+
  required_version = ">= 1.11"
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}

# PostgreSQL with streaming replication: pg-0 is the primary, pg-1 and pg-2
# are hot standbys cloned from it with pg_basebackup on their first start.
# Both passwords are secrets: files in /run/secrets, never in state or env.
#
#   terraform apply -var postgres_password=... -var replication_password=...
#   docker exec pg-0 psql -U postgres -c 'select * from pg_stat_replication'

variable "image" {
  type    = string
  default = "postgres:17"
}

variable "name" {
  type    = string
  default = "pg"
}

variable "replicas" {
  type    = number
  default = 3
}

variable "postgres_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

variable "replication_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "stateful_service" "pg" {
  name     = var.name
  image    = var.image
  replicas = var.replicas
  user     = "postgres"

  # The start script below decides each replica's role by its ordinal, so it
  # replaces the image's entrypoint (it needs only the PostgreSQL binaries on
  # PATH: the official image and Debian's packages both work).
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
              --wal-method=stream --write-recovery-conf --checkpoint=fast; do
            rm -rf "$PGDATA.clone"
            sleep 2
          done
          mv "$PGDATA.clone" "$PGDATA"
        fi
      fi
      # Docker gives containers a 64 MiB /dev/shm: too small for parallel
      # query workers on large tables.
      exec postgres -c listen_addresses='*' -c unix_socket_directories=/tmp \
        -c max_parallel_workers_per_gather=0
    EOT
  }

  secret {
    name             = "postgres_password"
    value_wo         = var.postgres_password
    value_wo_version = 1          # bump to roll out a new value (initdb only reads it once)
    owner            = "postgres" # resolved from the image: 999 officially, 102 in Debian
  }

  secret {
    name             = "replication_password"
    value_wo         = var.replication_password
    value_wo_version = 1
    owner            = "postgres"
  }

  volume {
    name   = "data" # Docker volumes pg-data-0, pg-data-1, ...
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

  # Ordered bootstrap (the default) starts a standby only once the primary
  # is healthy; a rolling update replaces the standbys first, the primary last.
  stop_signal       = "SIGINT" # fast shutdown
  stop_grace_period = "60s"
}

output "primary" {
  value = "${stateful_service.pg.instances[0].name}:5432"
}
