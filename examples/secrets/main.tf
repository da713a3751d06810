terraform {
  # value_wo (write-only) and an ephemeral variable: Terraform or OpenTofu 1.11+
  required_version = ">= 1.11"
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}

# The value of a write-only secret can come from an ephemeral variable:
# TF_VAR_db_password=... terraform apply
variable "db_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "stateful_service" "app" {
  name     = "app"
  image    = "ghcr.io/example/app:1.4"
  replicas = 2

  env = {
    NODE_NAME = "{{.Name}}" # app-0, app-1
  }

  secret {
    name             = "db_password"
    value_wo         = var.db_password
    value_wo_version = 1
  }

  secret {
    name     = "api_token"
    from_env = "APP_API_TOKEN" # read where Terraform runs
  }

  secret {
    name      = "tls.key"
    target    = "/etc/app/tls"
    from_file = "${path.module}/tls/app.key"
    mode      = "0440"
    uid       = 1000
    gid       = 1000
  }

  file {
    target  = "/etc/app/app.conf"
    content = <<-EOT
      node = {{.Name}}
      peers = {{.Replicas}}
    EOT
  }
}
