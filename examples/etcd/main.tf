terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}

# A three-member etcd cluster, bootstrapped statically: every member learns
# the full member list (ETCD_INITIAL_CLUSTER) at plan time.
#
#   terraform apply
#   docker exec etcd-0 etcdctl member list

variable "image" {
  type    = string
  default = "quay.io/coreos/etcd:v3.5.17"
}

variable "name" {
  type    = string
  default = "etcd"
}

resource "stateful_service" "etcd" {
  name     = var.name
  image    = var.image
  replicas = 3
  command  = ["etcd"]

  # The health check below needs quorum, which needs two members up: with
  # "ordered", etcd-0 could never become healthy alone.
  bootstrap = "parallel"

  env = {
    ETCD_NAME                        = "{{.Name}}"
    ETCD_DATA_DIR                    = "/var/lib/etcd/data"
    ETCD_LISTEN_PEER_URLS            = "http://0.0.0.0:2380"
    ETCD_LISTEN_CLIENT_URLS          = "http://0.0.0.0:2379"
    ETCD_INITIAL_ADVERTISE_PEER_URLS = "http://{{.Name}}:2380"
    ETCD_ADVERTISE_CLIENT_URLS       = "http://{{.Name}}:2379"
    ETCD_INITIAL_CLUSTER_STATE       = "new" # ignored once a member has data
    ETCD_INITIAL_CLUSTER_TOKEN       = "{{.Service}}"
  }

  cluster {
    seeds       = 3
    port        = 2380
    format      = "{{.Name}}=http://{{.Address}}:{{.Port}}"
    members_env = "ETCD_INITIAL_CLUSTER" # etcd-0=http://etcd-0:2380,etcd-1=...
  }

  # A replaced member must come back with its data to rejoin as itself.
  volume {
    name   = "data"
    target = "/var/lib/etcd"
    plugin {
      driver = "local"
    }
  }

  health {
    test     = ["CMD", "etcdctl", "endpoint", "health"]
    interval = "2s"
    timeout  = "5s"
    retries  = 15
  }

  update {
    max_unavailable = 1 # one member at a time: quorum holds during upgrades
  }

  stop_grace_period = "10s"
}

output "endpoints" {
  value = join(",", [for i in stateful_service.etcd.instances : "http://${i.address}:2379"])
}
