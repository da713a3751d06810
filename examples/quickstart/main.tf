terraform {
  required_providers {
    stateful = {
      source = "statefulhq/stateful"
    }
  }
}

# No host block: the local Docker daemon, found the way the docker CLI finds it.
provider "stateful" {}

variable "image" {
  description = "The image to run. `make demo` builds the project's test workload as stateful-workload:v1."
  type        = string
  default     = "stateful-workload:v1"
}

resource "stateful_service" "kv" {
  name     = "kv"
  image    = var.image
  replicas = 3

  env = {
    DATA_DIR = "/data"
  }

  # Each replica keeps its data in a directory of its own on the Docker host:
  # kv-0's survives replacement, scale-down and destroy, and comes back.
  volume {
    name   = "data"
    target = "/data"
    host {
      path = "/tmp/stateful-demo/{{.Name}}"
    }
  }

  port {
    internal = 8080
    external = 18080 # kv-0 on 18080, kv-1 on 18081, kv-2 on 18082
    host_ip  = "127.0.0.1"
  }

  health {
    test     = ["CMD", "/workload", "probe", "http://127.0.0.1:8080/healthz"]
    interval = "1s"
    retries  = 5
  }

  # kv-0 is the seed: every replica gets CLUSTER_SEEDS=kv-0:8080 and joins
  # through it; the workload reports the members it knows on /cluster/members.
  cluster {
    seeds = 1
    port  = 8080
  }

  stop_grace_period = "5s"
}

output "replicas" {
  description = "Each replica: name, address on the service network, and its published URL."
  value = [for i in stateful_service.kv.instances : {
    name    = i.name
    address = i.address
    url     = "http://${i.endpoints[0]}"
  }]
}

output "network" {
  value = stateful_service.kv.network
}
