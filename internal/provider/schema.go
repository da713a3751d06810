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
			"With no `host` block the provider uses one host named `default`, found the way the docker CLI finds its daemon, in this order:\n\n" +
			"1. `DOCKER_HOST` (`unix://`, `tcp://` or `ssh://[user@]host[:port]`), with `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` for TLS;\n" +
			"2. else the docker context named by `DOCKER_CONTEXT` (`default` skips the next step: the local socket);\n" +
			"3. else the `currentContext` of `$DOCKER_CONFIG/config.json` (`~/.docker/config.json` by default), as `docker context use` sets it;\n" +
			"4. else the local socket, `unix:///var/run/docker.sock`.\n\n" +
			"Contexts are read from the docker CLI's context store (`contexts/` beside `config.json`): the endpoint, `SkipTLSVerify` and the " +
			"context's TLS files. An unknown context is an error. Remote runs with no local files (Terraform Cloud: workspace environment " +
			"variables, marked sensitive) configure the default host with these environment variables:\n\n" +
			"- `STATEFUL_DOCKER_CA_PEM`, `STATEFUL_DOCKER_CERT_PEM`, `STATEFUL_DOCKER_KEY_PEM`: TLS contents for a `tcp://` `DOCKER_HOST`, " +
			"in place of `DOCKER_CERT_PATH` (certificate and key go together). The daemon's certificate is then always verified, against the CA " +
			"given or else the system's CAs. Set with a context or a local socket, they are an error.\n" +
			"- `STATEFUL_SSH_PRIVATE_KEY` (and `STATEFUL_SSH_PASSPHRASE` if it is encrypted): the key for an `ssh://` endpoint, from " +
			"`DOCKER_HOST` or a context; without it, the ssh-agent at `SSH_AUTH_SOCK`.\n" +
			"- `STATEFUL_SSH_KNOWN_HOSTS`: `known_hosts` lines that verify the SSH server; without it, `~/.ssh/known_hosts`.\n\n" +
			"The provider speaks SSH itself, as for a `host` block with an `ssh` block: no `ssh` binary, and `~/.ssh/config` is not read. " +
			"The SSH user defaults to the local user.",
		Blocks: map[string]schema.Block{
			"registry_auth": registryAuthBlock(),
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
			"remote daemon's socket through the connection, like `docker -H ssh://`. The user needs access to that socket. " +
			"It authenticates with `private_key`, else with the ssh-agent at `SSH_AUTH_SOCK`. The server's host key is always verified: " +
			"against `host_key` or `known_hosts`, else against the user's `~/.ssh/known_hosts`. Without the block, an `ssh://` endpoint " +
			"uses the agent and `~/.ssh/known_hosts`, as `docker -H ssh://` does.",
		Attributes: map[string]schema.Attribute{
			"private_key": schema.StringAttribute{
				MarkdownDescription: "The private key (PEM or OpenSSH format contents), from a sensitive variable. Without it, the provider " +
					"authenticates with the keys of the ssh-agent at `SSH_AUTH_SOCK`; with neither, the plan fails.",
				Optional:  true,
				Sensitive: true,
			},
			"passphrase": schema.StringAttribute{
				MarkdownDescription: "The private key's passphrase, if it is encrypted.",
				Optional:            true,
				Sensitive:           true,
			},
			"known_hosts": schema.StringAttribute{
				MarkdownDescription: "`known_hosts` lines that must contain the server's key (as `ssh-keyscan -p PORT HOST` prints them). " +
					"With neither `known_hosts` nor `host_key`, the user's `~/.ssh/known_hosts` must hold the server's key; without that file the plan fails.",
				Optional: true,
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
		Blocks: map[string]schema.Block{
			"jump": sshJumpBlock(),
		},
	}
}

func sshJumpBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "A jump host (bastion) to reach the host through, as `ssh -J` does: the provider connects to the bastion, " +
			"then through it to the endpoint's address, which need only be reachable from the bastion. The bastion's host key is verified " +
			"as the host's is, from its own `known_hosts` or `host_key`, else from `~/.ssh/known_hosts`.",
		Attributes: map[string]schema.Attribute{
			"address": schema.StringAttribute{
				MarkdownDescription: "Required in a `jump` block. The bastion's host name or IP address, optionally with `:port`.",
				Optional:            true,
			},
			"port": schema.Int64Attribute{
				MarkdownDescription: "The bastion's SSH port, unless `address` has one (default `22`).",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(1, 65535)},
			},
			"user": schema.StringAttribute{
				MarkdownDescription: "The user on the bastion. Defaults to the host's SSH user.",
				Optional:            true,
			},
			"private_key": schema.StringAttribute{
				MarkdownDescription: "The private key for the bastion (PEM or OpenSSH format contents). Without it, the ssh-agent at " +
					"`SSH_AUTH_SOCK` authenticates; the host's `private_key` is not used for the bastion.",
				Optional:  true,
				Sensitive: true,
			},
			"passphrase": schema.StringAttribute{
				MarkdownDescription: "The passphrase of the bastion's private key, if it is encrypted.",
				Optional:            true,
				Sensitive:           true,
			},
			"known_hosts": schema.StringAttribute{
				MarkdownDescription: "`known_hosts` lines that must contain the bastion's key. With neither this nor `host_key`, the user's " +
					"`~/.ssh/known_hosts` must hold it.",
				Optional: true,
			},
			"host_key": schema.StringAttribute{
				MarkdownDescription: "The bastion's public host key, such as `ssh-ed25519 AAAA...`, instead of `known_hosts`.",
				Optional:            true,
			},
		},
	}
}
