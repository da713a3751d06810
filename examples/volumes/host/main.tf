terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}

# Host directories: fastest, simplest; the data lives and dies with the host.
# A good fit for a database that replicates by itself (each replica keeps a
# full copy), or for a single host.
resource "stateful_service" "pg" {
  name     = "pg"
  image    = "postgres:17"
  replicas = 2
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
      path  = "/srv/pg/{{.Ordinal}}" # /srv/pg/0, /srv/pg/1
      owner = "postgres:postgres"    # the postgres user of the image, by name
      mode  = "0700"
    }
  }

  retention {
    when_scaled  = "retain" # default: a later scale-up re-adopts /srv/pg/1
    when_deleted = "retain"
  }
}
