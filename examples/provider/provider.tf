# Zero configuration: one host named "default", found the way the docker CLI
# finds it (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, else the local socket).
provider "stateful" {}

# Or name the hosts explicitly. A service runs on the first host declared,
# unless its placement block names others.
provider "stateful" {
  alias = "remote"

  host {
    name     = "db1"
    endpoint = "tcp://10.0.0.2:2376"

    # PEM contents, not paths: works in Terraform Cloud, where there are no
    # local files. Pass them as sensitive variables.
    tls {
      ca_pem   = var.docker_ca_pem
      cert_pem = var.docker_cert_pem
      key_pem  = var.docker_key_pem
    }
  }
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
