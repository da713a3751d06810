terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}

# An NFS export per replica, mounted by Docker's local driver: the data
# outlives the host, so a replica could move to another host.
resource "stateful_service" "kafka" {
  name     = "kafka"
  image    = "apache/kafka:3.9.0"
  replicas = 3

  volume {
    name   = "logs"
    target = "/var/lib/kafka/data"
    shared {
      type    = "nfs"
      address = "10.0.0.9"
      device  = ":/exports/kafka/{{.Name}}" # kafka-0, kafka-1, kafka-2
      options = "nfsvers=4,hard"
    }
  }
}
