terraform {
  # credentials_wo (write-only) and an ephemeral variable: Terraform or OpenTofu 1.11+
  required_version = ">= 1.11"
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}

# A CIFS share with credentials that never reach Terraform state or plan:
# credentials_wo is write-only, and an ephemeral value can feed it.
variable "cifs_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "stateful_service" "files" {
  name     = "files"
  image    = "nginx:1.27"
  replicas = 1

  volume {
    name               = "share"
    target             = "/usr/share/nginx/html"
    read_only          = true
    per_replica        = false # one share for every replica
    recreate_on_change = true  # new credentials need a new volume definition
    shared {
      type                   = "cifs"
      address                = "10.0.0.10"
      device                 = "//10.0.0.10/www"
      options                = "vers=3.0,uid=101,gid=101"
      credentials_wo         = "username=www,password=${var.cifs_password}"
      credentials_wo_version = 1 # bump when the password changes
    }
  }
}
