data "stateful_host" "default" {}

# Fail the plan early when the host lacks what the service needs.
check "host_has_the_volume_driver" {
  assert {
    condition     = contains(data.stateful_host.default.volume_drivers, "local")
    error_message = "The Docker host has no local volume driver."
  }
}

output "docker_engine" {
  value = "${data.stateful_host.default.engine_version} (${data.stateful_host.default.os}/${data.stateful_host.default.arch})"
}
