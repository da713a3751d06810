terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}

# Three Docker hosts: the local one, one over TLS, one over SSH. Each says
# at which address the containers of the other hosts reach its published
# ports.
provider "stateful" {
  host {
    name              = "a"
    endpoint          = "unix:///var/run/docker.sock"
    advertise_address = "10.0.0.1"
  }
  host {
    name     = "b"
    endpoint = "tcp://10.0.0.2:2376" # advertises 10.0.0.2, from the endpoint
    tls {
      ca_pem   = var.docker_ca_pem
      cert_pem = var.docker_cert_pem
      key_pem  = var.docker_key_pem
    }
  }
  host {
    name     = "c"
    endpoint = "ssh://deploy@10.0.0.3" # advertises 10.0.0.3
    ssh {
      private_key = var.deploy_key
      known_hosts = var.known_hosts
    }
  }
}

# An etcd cluster with one member per host. Members reach each other at
# their host's address and published peer port: etcd-0 at 10.0.0.1:2380,
# etcd-1 at 10.0.0.2:2381, etcd-2 at 10.0.0.3:2382.
resource "stateful_service" "etcd" {
  name     = "etcd"
  image    = "quay.io/coreos/etcd:v3.5.17"
  replicas = 3

  env = {
    ETCD_NAME                        = "{{.Name}}"
    ETCD_DATA_DIR                    = "/var/lib/etcd"
    ETCD_LISTEN_PEER_URLS            = "http://0.0.0.0:2380"
    ETCD_LISTEN_CLIENT_URLS          = "http://0.0.0.0:2379"
    ETCD_INITIAL_ADVERTISE_PEER_URLS = "http://{{.Address}}:{{.Port}}"
    ETCD_ADVERTISE_CLIENT_URLS       = "http://{{.Name}}:2379" # for clients on the same host's service network
    ETCD_INITIAL_CLUSTER_STATE       = "new"
  }

  port {
    internal = 2380
    external = 2380 # etcd-k publishes 2380 + k
  }

  cluster {
    port        = 2380
    format      = "{{.Name}}=http://{{.Address}}:{{.Port}}"
    members_env = "ETCD_INITIAL_CLUSTER"
  }

  volume {
    name   = "data"
    target = "/var/lib/etcd"
    host {
      path = "/srv/etcd/{{.Ordinal}}"
    }
  }

  # One member per host. Placement is sticky: a member stays on its host
  # (and its data) across updates; moving one is refused at plan time
  # unless allow_local_data_move = true.
  placement {
    hosts    = ["a", "b", "c"]
    strategy = "spread"
  }
}

output "etcd_members" {
  value = { for i in stateful_service.etcd.instances : i.name => i.host }
}

variable "docker_ca_pem" {
  type      = string
  sensitive = true
}

variable "docker_cert_pem" {
  type      = string
  sensitive = true
}

variable "docker_key_pem" {
  type      = string
  sensitive = true
}

variable "deploy_key" {
  type      = string
  sensitive = true
}

variable "known_hosts" {
  type = string
}
