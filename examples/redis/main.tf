terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}

# Redis with the append-only file on a per-replica volume: each replica's
# data survives image upgrades, replacement and destroy plus re-apply.
# (Two independent servers; Redis replication or Cluster is configured on
# top, like any other cluster: see the clusters guide.)
#
#   terraform apply
#   docker exec redis-0 redis-cli set greeting hello

variable "image" {
  type    = string
  default = "redis:7.4"
}

variable "name" {
  type    = string
  default = "redis"
}

resource "stateful_service" "redis" {
  name     = var.name
  image    = var.image
  replicas = 2
  command = [
    "redis-server",
    "--appendonly", "yes",
    "--dir", "/data",
    "--protected-mode", "no", # reachable from the service network, which only its members and your containers join
  ]

  volume {
    name   = "data" # Docker volumes redis-data-0, redis-data-1
    target = "/data"
    plugin {
      driver = "local"
    }
  }

  health {
    test     = ["CMD-SHELL", "redis-cli ping | grep -q PONG"]
    interval = "2s"
    retries  = 15
  }

  # SIGTERM makes Redis flush the append-only file before it exits.
  stop_grace_period = "30s"
}

output "addresses" {
  value = { for i in stateful_service.redis.instances : i.name => "${i.address}:6379" }
}
