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
  env      = { PGDATA = "/var/lib/postgresql/data/pgdata" }

  volume {
    name   = "data"
    target = "/var/lib/postgresql/data"
    host {
      path  = "/srv/pg/{{.Ordinal}}" # /srv/pg/0, /srv/pg/1
      owner = "999:999"              # the postgres user of the image
      mode  = "0700"
    }
  }

  retention {
    when_scaled  = "retain" # default: a later scale-up re-adopts /srv/pg/1
    when_deleted = "retain"
  }
}
