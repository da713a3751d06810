# Three Postgres replicas: db-0, db-1, db-2, each with its own hostname, DNS
# alias on the service network, published port and MAC address.
resource "stateful_service" "db" {
  name     = "db"
  image    = "postgres:17"
  replicas = 3

  env = {
    PGDATA                 = "/var/lib/postgresql/data/pgdata"
    POSTGRES_PASSWORD_FILE = "/run/secrets/postgres_password"
  }

  # The official image refuses to start without a password: give it one as
  # a file, never in the environment or in state.
  secret {
    name     = "postgres_password"
    from_env = "POSTGRES_PASSWORD" # read where Terraform runs
    owner    = "postgres"          # the image's postgres user, by name
  }

  volume {
    name   = "data"
    target = "/var/lib/postgresql/data"
    host {
      path  = "/srv/db/{{.Ordinal}}"
      owner = "postgres:postgres"
      mode  = "0700"
    }
  }

  port {
    internal = 5432
    external = 15432 # db-0 on 15432, db-1 on 15433, db-2 on 15434
    host_ip  = "127.0.0.1"
  }

  health {
    test     = ["CMD", "pg_isready", "-U", "postgres"]
    interval = "2s"
    retries  = 10
  }

  stable_mac_address = true
  stop_signal        = "SIGINT" # Postgres' fast shutdown
  stop_grace_period  = "60s"

  timeouts {
    create = "10m"
    update = "30m"
  }
}

# db-0 = "127.0.0.1:15432", ...: where each replica is published.
output "db_endpoints" {
  value = { for i in stateful_service.db.instances : i.name => i.endpoints[0] }
}
