package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

func providerSchema() schema.Schema {
	return schema.Schema{
		MarkdownDescription: "Runs stateful containerized workloads (databases, brokers, clustered stores) on plain Docker hosts, " +
			"with stable replica identities, per-replica configuration and data that is never deleted implicitly.\n\n" +
			"With no `host` block the provider uses one host named `default`, configured the way the docker CLI is: " +
			"`DOCKER_HOST`, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`, else the local socket.",
		Blocks: map[string]schema.Block{
			"host": schema.ListNestedBlock{
				MarkdownDescription: "A Docker daemon the provider may run replicas on. A service runs on the first host declared unless its " +
					"`placement` block names others. " +
					"Hosts are contacted only when a resource needs them; an unreachable daemon is an error naming the host and its endpoint.",
				NestedObject: schema.NestedBlockObject{
					Attributes: map[string]schema.Attribute{
						"name": schema.StringAttribute{
							MarkdownDescription: "A name for the host, unique in this provider; it appears in `instances[*].host`.",
							Required:            true,
						},
						"endpoint": schema.StringAttribute{
							MarkdownDescription: "How to reach the daemon: `unix:///path/to/docker.sock`, `tcp://address:port`, or `ssh://user@address[:port]` " +
								"(with an `ssh` block).",
							Required: true,
						},
						"advertise_address": schema.StringAttribute{
							MarkdownDescription: "The address at which containers on the other hosts reach the ports this host publishes; it goes " +
								"into the seed lists of services placed across hosts. Defaults to the host part of a `tcp://` or `ssh://` endpoint; " +
								"a `unix://` host used by such a service needs it.",
							Optional: true,
						},
					},
					Blocks: map[string]schema.Block{
						"ssh": sshBlock(),
						"tls": schema.SingleNestedBlock{
							MarkdownDescription: "TLS for a `tcp://` endpoint, given as PEM contents so that it works where there are no local files " +
								"(Terraform Cloud: pass them as sensitive variables). The server certificate is verified unless `insecure_skip_verify` is set.",
							Attributes: map[string]schema.Attribute{
								"ca_pem": schema.StringAttribute{
									MarkdownDescription: "PEM of the CA that signed the daemon's certificate. Omit it to use the system's trusted CAs.",
									Optional:            true,
									Sensitive:           true,
								},
								"cert_pem": schema.StringAttribute{
									MarkdownDescription: "PEM of the client certificate; requires `key_pem`.",
									Optional:            true,
									Sensitive:           true,
								},
								"key_pem": schema.StringAttribute{
									MarkdownDescription: "PEM of the client certificate's private key; requires `cert_pem`.",
									Optional:            true,
									Sensitive:           true,
								},
								"cert_path": schema.StringAttribute{
									MarkdownDescription: "A directory in the docker CLI's layout (`ca.pem`, `cert.pem`, `key.pem`), instead of the `*_pem` contents. " +
										"Needs local files: prefer the contents in Terraform Cloud.",
									Optional: true,
								},
								"insecure_skip_verify": schema.BoolAttribute{
									MarkdownDescription: "Skip verification of the daemon's certificate. Anyone on the path can then impersonate the daemon; use only for throw-away test hosts.",
									Optional:            true,
								},
							},
						},
					},
				},
			},
		},
	}
}

func sshBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "SSH for an `ssh://` endpoint. The provider speaks SSH itself (no local `ssh` or `docker` binary) and reaches the " +
			"remote daemon's socket through the connection, like `docker -H ssh://`. The user needs access to that socket. The server's " +
			"host key is verified against `known_hosts` or `host_key`.",
		Attributes: map[string]schema.Attribute{
			"private_key": schema.StringAttribute{
				MarkdownDescription: "Required in an `ssh` block. The private key (PEM or OpenSSH format contents), from a sensitive variable. " +
					"The plan fails without it; the schema lists it as optional only because the `ssh` block itself is optional " +
					"(Terraform sends an absent single block as an object of nulls, so a required attribute would be demanded of every host).",
				Optional:  true,
				Sensitive: true,
			},
			"passphrase": schema.StringAttribute{
				MarkdownDescription: "The private key's passphrase, if it is encrypted.",
				Optional:            true,
				Sensitive:           true,
			},
			"known_hosts": schema.StringAttribute{
				MarkdownDescription: "`known_hosts` lines that must contain the server's key (as `ssh-keyscan -p PORT HOST` prints them).",
				Optional:            true,
			},
			"host_key": schema.StringAttribute{
				MarkdownDescription: "The server's public host key, such as `ssh-ed25519 AAAA...`, instead of `known_hosts`.",
				Optional:            true,
			},
			"insecure_ignore_host_key": schema.BoolAttribute{
				MarkdownDescription: "Accept any host key. Anyone on the path can then impersonate the host and receive the Docker API calls; " +
					"use only for throw-away test hosts.",
				Optional: true,
			},
			"user": schema.StringAttribute{
				MarkdownDescription: "The SSH user, instead of the one in the endpoint (`ssh://user@host`).",
				Optional:            true,
			},
			"port": schema.Int64Attribute{
				MarkdownDescription: "The SSH port, instead of the endpoint's (default `22`).",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(1, 65535)},
			},
			"socket": schema.StringAttribute{
				MarkdownDescription: "The Docker socket on the remote host. Defaults to `/var/run/docker.sock`.",
				Optional:            true,
			},
		},
	}
}
