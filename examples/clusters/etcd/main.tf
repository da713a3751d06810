terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}

# A three-member etcd cluster bootstrapped statically: every member learns
# the full member list at plan time, in etcd's name=peer-url format.
resource "stateful_service" "etcd" {
  name     = "etcd"
  image    = "quay.io/coreos/etcd:v3.5.17"
  replicas = 3

  bootstrap = "parallel" # etcd members wait for each other to form quorum

  env = {
    ETCD_NAME                        = "{{.Name}}"
    ETCD_DATA_DIR                    = "/var/lib/etcd"
    ETCD_LISTEN_PEER_URLS            = "http://0.0.0.0:2380"
    ETCD_LISTEN_CLIENT_URLS          = "http://0.0.0.0:2379"
    ETCD_INITIAL_ADVERTISE_PEER_URLS = "http://{{.Name}}:2380"
    ETCD_ADVERTISE_CLIENT_URLS       = "http://{{.Name}}:2379"
    ETCD_INITIAL_CLUSTER_STATE       = "new"
    ETCD_INITIAL_CLUSTER_TOKEN       = "etcd-cluster"
  }

  cluster {
    seeds       = 3
    format      = "{{.Name}}=http://{{.Name}}:2380"
    env         = "ETCD_SEEDS"
    members_env = "ETCD_INITIAL_CLUSTER" # etcd-0=http://etcd-0:2380,etcd-1=...
  }

  volume {
    name   = "data"
    target = "/var/lib/etcd"
    host {
      path = "/srv/etcd/{{.Name}}"
    }
  }

  health {
    test     = ["CMD", "etcdctl", "endpoint", "health"]
    interval = "2s"
    retries  = 15
  }

  update {
    max_unavailable = 1 # never lose quorum during upgrades
    on_failure      = "revert"
  }
}

output "etcd_endpoints" {
  value = [for i in stateful_service.etcd.instances : "http://${i.address}:2379"]
}
