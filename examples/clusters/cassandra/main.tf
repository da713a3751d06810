terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}

# A Cassandra ring: the first two nodes are seeds, nodes join one at a time
# (ordered bootstrap), and upgrades roll one node at a time from the top.
resource "stateful_service" "cassandra" {
  name     = "cassandra"
  image    = "cassandra:5.0"
  replicas = 4

  env = {
    CASSANDRA_CLUSTER_NAME      = "ring"
    CASSANDRA_BROADCAST_ADDRESS = "{{.Name}}"
    MAX_HEAP_SIZE               = "1G"
    HEAP_NEWSIZE                = "200M"
  }

  cluster {
    seeds  = 2
    port   = 7000
    format = "{{.Name}}" # cassandra-0,cassandra-1
    env    = "CASSANDRA_SEEDS"
  }

  volume {
    name   = "data"
    target = "/var/lib/cassandra"
    host {
      path  = "/srv/cassandra/{{.Ordinal}}"
      owner = "999:999"
    }
  }

  health {
    test         = ["CMD-SHELL", "nodetool status | grep -q \"^UN.*$(hostname -i)\""]
    interval     = "10s"
    start_period = "60s"
    retries      = 30
  }

  stop_grace_period = "2m" # let a node drain

  update {
    partition = 0 # raise it to canary an upgrade on the top nodes first
  }

  timeouts {
    create = "30m"
    update = "60m"
  }
}

output "cassandra_seeds" {
  value = stateful_service.cassandra.seeds
}
