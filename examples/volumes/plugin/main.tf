terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}

# A Docker volume plugin: network block storage or a distributed file system.
# The driver must be installed on the host; the plan fails if it is not.
resource "stateful_service" "etcd" {
  name     = "etcd"
  image    = "quay.io/coreos/etcd:v3.5.17"
  replicas = 3

  volume {
    name   = "data"
    target = "/var/lib/etcd"
    plugin {
      driver  = "rexray/ebs"
      options = { size = "20", volumetype = "gp3" }
    }
  }

  retention {
    when_scaled  = "delete" # a removed member's data is stale: drop it
    when_deleted = "retain"
  }
}
