terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}

# A three-member etcd cluster, bootstrapped statically from the seeds
# (ETCD_INITIAL_CLUSTER), that scales without restarting anyone: change
# replicas and apply. A new member is added to the cluster as a learner
# (member add --learner, in a running member) before it starts and joins,
# and promoted to a voting member once it has caught up; a removed member
# leaves the cluster (member remove) before its container goes, and its
# data is archived into backup.host_path before it is deleted.
#
#   terraform apply
#   docker exec etcd-0 etcdctl member list
#   terraform apply -var replicas=5   # then back to 3

# The hooks and the health check run sh, grep, cut and seq: the image
# needs a shell. etcd's own images have none since v3.5.7 (distroless); use
# one that has (the tests use etcd from Debian's packages), or replace the
# hooks with plain etcdctl commands and give up their retries.
variable "image" {
  type    = string
  default = "quay.io/coreos/etcd:v3.5.17"
}

variable "name" {
  type    = string
  default = "etcd"
}

variable "replicas" {
  type    = number
  default = 3
}

resource "stateful_service" "etcd" {
  name     = var.name
  image    = var.image
  replicas = var.replicas
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
    # The seeds form the cluster; later members join it. Ignored once a
    # member has data.
    ETCD_INITIAL_CLUSTER_STATE = "{{if .Seed}}new{{else}}existing{{end}}"
    ETCD_INITIAL_CLUSTER_TOKEN = "{{.Service}}"
  }

  cluster {
    seeds       = 3
    port        = 2380
    format      = "{{.Name}}=http://{{.Address}}:{{.Port}}"
    members_env = "ETCD_INITIAL_CLUSTER" # etcd-0=http://etcd-0:2380,etcd-1=...
    # Each member gets the members that exist when it joins: scaling
    # replaces no running member.
    scaling = "join"
  }

  # Hooks run with etcdctl in a running member, and can run twice (a failed
  # apply runs them again): they look the member up by its peer URL first,
  # since a member added but not started has no name yet. etcd refuses
  # member add ("unhealthy cluster") until the member asked has been
  # connected to every member for 5s, as right after the previous member
  # joined, and refuses to promote a learner that has not caught up: they
  # retry.
  hooks {
    # A new member joins as a learner: it votes in no quorum until it is
    # promoted, so adding it never leaves the cluster one stalled member
    # away from losing quorum.
    before_create {
      command = ["sh", "-c", <<-EOT
        for i in $(seq 30); do
          etcdctl member list | grep -qF 'http://{{.Address}}:{{.Port}},' && exit 0
          etcdctl member add {{.Name}} --learner --peer-urls=http://{{.Address}}:{{.Port}} && exit 0
          sleep 1
        done
        exit 1
      EOT
      ]
    }
    # Promote the learner once it runs and has caught up. A member that
    # votes already (a seed, a replaced member) is left alone.
    after_ready {
      command = ["sh", "-c", <<-EOT
        for i in $(seq 100); do
          line=$(etcdctl member list | grep -F 'http://{{.Address}}:{{.Port}},')
          case "$line" in
            "") ;;
            *", true") etcdctl member promote "$(echo "$line" | cut -d, -f1)" && exit 0 ;;
            *) exit 0 ;;
          esac
          sleep 1
        done
        exit 1
      EOT
      ]
      run_in  = "peer" # a learner answers no member commands
      timeout = "2m"
    }
    decommission {
      command = ["sh", "-c", <<-EOT
        for i in $(seq 30); do
          id=$(etcdctl member list | grep -F 'http://{{.Address}}:{{.Port}},' | cut -d, -f1)
          [ -z "$id" ] && exit 0
          etcdctl member remove "$id" && exit 0
          sleep 1
        done
        exit 1
      EOT
      ]
      run_in = "peer"
    }
  }

  # A replaced member must come back with its data to rejoin as itself.
  volume {
    name   = "data"
    target = "/var/lib/etcd"
    plugin {
      driver = "local"
    }
  }

  # A member removed by scale-down does not come back with its data: delete
  # it, after archiving it.
  retention {
    when_scaled = "delete"
  }

  backup {
    host_path = "/var/backups/stateful"
  }

  # A learner serves no reads, so endpoint health fails on it until it is
  # promoted: a learner is ready once it runs, and after_ready promotes it.
  health {
    test     = ["CMD-SHELL", "etcdctl endpoint health || etcdctl endpoint status -w fields | grep -qF '\"IsLearner\" : true'"]
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
