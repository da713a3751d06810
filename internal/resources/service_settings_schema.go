package resources

import (
	"maps"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// The container settings (limits, kernel, security, name resolution,
// logging, extra networks) are built here, apart from the core schema.
// Checks that need more than one value live in spec (validateSettings)
// and run at plan through ValidateConfig, reported at these attributes.

const sizeHelp = "A size with a binary unit: `512m`, `2g`, `1.5g`, `64k` (`b`, `k`, `m`, `g`, `t`; `MiB`-style suffixes work too). A bare number is refused."

const rolloutHelp = " Changing it replaces the replicas one at a time (a rolling replacement)."

// settingsAttributes adds the container settings to the service's
// attributes.
func settingsAttributes(attributes map[string]schema.Attribute) map[string]schema.Attribute {
	settings := map[string]schema.Attribute{
		"memory":             sizeAttribute("The memory limit of each replica (`--memory`), such as `512m`. Docker's minimum is `6m`. Defaults to no limit. "),
		"memory_reservation": sizeAttribute("A soft memory limit (`--memory-reservation`) the kernel reclaims toward under memory pressure; at most `memory`. "),
		"memory_swap": schema.StringAttribute{
			MarkdownDescription: "The limit of memory plus swap (`--memory-swap`): at least `memory` (equal to it: no swap), or `-1` for unlimited swap. " +
				"Needs `memory`. Defaults to twice `memory`, Docker's default. " + sizeHelp + rolloutHelp,
			Optional: true,
		},
		"cpus": schema.StringAttribute{
			MarkdownDescription: "How many CPUs each replica may use (`--cpus`), as a decimal string such as `\"0.5\"` or `\"1.5\"`: more than 0, " +
				"at most 9 decimal places, and at most the host's CPUs (checked by Docker at apply). Defaults to no limit." + rolloutHelp,
			Optional: true,
		},
		"cpu_shares": schema.Int64Attribute{
			MarkdownDescription: "The relative CPU weight under contention (`--cpu-shares`), from 2 to 262144; Docker's default is 1024." + rolloutHelp,
			Optional:            true,
		},
		"pids_limit": schema.Int64Attribute{
			MarkdownDescription: "The most processes and threads a replica may run (`--pids-limit`), or `-1` for no limit. Defaults to the daemon's default." + rolloutHelp,
			Optional:            true,
		},
		"shm_size": sizeAttribute("The size of `/dev/shm` (`--shm-size`), such as `256m`; databases such as PostgreSQL need more than Docker's default `64m`. "),
		"sysctls": schema.MapAttribute{
			MarkdownDescription: "Kernel settings of the replica's namespaces (`--sysctl`), such as `{ \"net.core.somaxconn\" = \"1024\" }`. " +
				"Only namespaced settings can be set per container: `net.*`, `fs.mqueue.*`, `kernel.msg*`, `kernel.sem` and `kernel.shm*`; " +
				"others (`vm.*`) belong to the host and fail at plan." + rolloutHelp,
			ElementType: types.StringType,
			Optional:    true,
		},
		"tmpfs": schema.MapAttribute{
			MarkdownDescription: "In-memory file systems (`--tmpfs`): absolute target path to mount options, such as `{ \"/tmp\" = \"size=64m,mode=1777\" }` " +
				"(`\"\"` for the defaults). Their content is lost when a replica stops; a target may not be a volume's." + rolloutHelp,
			ElementType: types.StringType,
			Optional:    true,
		},
		"init": schema.BoolAttribute{
			MarkdownDescription: "Run Docker's init (`--init`) as the replica's first process, so that zombie processes are reaped and signals forwarded. Defaults to `false`." + rolloutHelp,
			Optional:            true,
		},
		"cap_add": schema.SetAttribute{
			MarkdownDescription: "Linux capabilities to add (`--cap-add`), with or without the `CAP_` prefix: `NET_ADMIN`, `CAP_SYS_NICE`, or `ALL`." + rolloutHelp,
			ElementType:         types.StringType,
			Optional:            true,
		},
		"cap_drop": schema.SetAttribute{
			MarkdownDescription: "Linux capabilities to drop (`--cap-drop`), with or without the `CAP_` prefix, or `ALL` (then add back what the process needs with `cap_add`)." + rolloutHelp,
			ElementType:         types.StringType,
			Optional:            true,
		},
		"security_opt": schema.SetAttribute{
			MarkdownDescription: "Security options (`--security-opt`): `no-new-privileges`, `apparmor=<profile>`, `label=<option>`, `systempaths=unconfined`, " +
				"and `seccomp=unconfined` or `seccomp=<the profile's JSON>` (for example `\"seccomp=${file(\"profile.json\")}\"`: the daemon takes the profile itself, not a path)." + rolloutHelp,
			ElementType: types.StringType,
			Optional:    true,
		},
		"read_only": schema.BoolAttribute{
			MarkdownDescription: "Mount the container's root file system read-only (`--read-only`). The process can still write to volumes, `tmpfs` mounts and secrets; " +
				"`file` blocks must then be placed in a writable volume (checked at plan). Defaults to `false`." + rolloutHelp,
			Optional: true,
		},
		"working_dir": schema.StringAttribute{
			MarkdownDescription: "The absolute working directory of the process (`--workdir`). Defaults to the image's `WORKDIR`." + rolloutHelp,
			Optional:            true,
		},
		"extra_hosts": schema.MapAttribute{
			MarkdownDescription: "Extra `/etc/hosts` entries (`--add-host`): host name to IP address, such as `{ \"db.internal\" = \"10.0.0.5\" }`; " +
				"`host-gateway` stands for the Docker host's address." + rolloutHelp,
			ElementType: types.StringType,
			Optional:    true,
		},
		"dns": schema.ListAttribute{
			MarkdownDescription: "Name servers (`--dns`), by IP address, in the order to ask them. Defaults to the daemon's. Names on the service's network resolve as before." + rolloutHelp,
			ElementType:         types.StringType,
			Optional:            true,
		},
		"dns_search": schema.ListAttribute{
			MarkdownDescription: "DNS search domains (`--dns-search`), such as `[\"db.internal\"]`. Defaults to the daemon's." + rolloutHelp,
			ElementType:         types.StringType,
			Optional:            true,
		},
		"dns_options": schema.ListAttribute{
			MarkdownDescription: "Resolver options (`--dns-option`), one per entry, such as `[\"ndots:1\", \"timeout:2\"]`." + rolloutHelp,
			ElementType:         types.StringType,
			Optional:            true,
		},
		"group_add": schema.SetAttribute{
			MarkdownDescription: "Extra groups, by name or number, the process belongs to (`--group-add`)." + rolloutHelp,
			ElementType:         types.StringType,
			Optional:            true,
		},
	}
	out := maps.Clone(attributes)
	maps.Copy(out, settings)
	return out
}

func sizeAttribute(description string) schema.StringAttribute {
	return schema.StringAttribute{MarkdownDescription: description + sizeHelp + rolloutHelp, Optional: true}
}

// settingsBlocks adds the container settings' blocks to the service's.
func settingsBlocks(blocks map[string]schema.Block) map[string]schema.Block {
	out := maps.Clone(blocks)
	out["ulimit"] = ulimitBlock()
	out["log"] = logBlock()
	out["extra_network"] = extraNetworkBlock()
	return out
}

func ulimitBlock() schema.ListNestedBlock {
	return schema.ListNestedBlock{
		MarkdownDescription: "A process resource limit (`--ulimit`), such as open files for a database. One block per limit." + rolloutHelp,
		NestedObject: schema.NestedBlockObject{
			Attributes: map[string]schema.Attribute{
				"name": schema.StringAttribute{
					MarkdownDescription: "The limit: " + codeList(spec.UlimitNames) + ".",
					Required:            true,
				},
				"soft": schema.Int64Attribute{
					MarkdownDescription: "The soft limit, which the process may raise up to `hard`; `-1` for unlimited.",
					Required:            true,
				},
				"hard": schema.Int64Attribute{
					MarkdownDescription: "The hard limit; at least `soft`, `-1` for unlimited.",
					Required:            true,
				},
			},
		},
	}
}

func logBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "The logging driver of the replicas (`--log-driver`, `--log-opt`). Defaults to the daemon's." + rolloutHelp,
		Attributes: map[string]schema.Attribute{
			"driver": schema.StringAttribute{
				MarkdownDescription: "The driver, such as `json-file`, `local`, `journald`, `syslog` or `none`; required in the block. It must be installed on the host.",
				Optional:            true,
			},
			"options": schema.MapAttribute{
				MarkdownDescription: "The driver's options, such as `{ max-size = \"10m\", max-file = \"3\" }` for `json-file`.",
				ElementType:         types.StringType,
				Optional:            true,
			},
		},
	}
}

func extraNetworkBlock() schema.ListNestedBlock {
	return schema.ListNestedBlock{
		MarkdownDescription: "An existing Docker network every replica joins besides the service's own (`network`), for example a proxy's. " +
			"The provider neither creates nor removes it: it must exist on every host the service runs on." + rolloutHelp,
		NestedObject: schema.NestedBlockObject{
			Attributes: map[string]schema.Attribute{
				"name": schema.StringAttribute{
					MarkdownDescription: "The network's name.",
					Required:            true,
				},
				"aliases": schema.SetAttribute{
					MarkdownDescription: "Extra DNS names of every replica on that network (each replica is also reachable by its container name).",
					ElementType:         types.StringType,
					Optional:            true,
				},
			},
		},
	}
}

func codeList(values []string) string {
	return "`" + strings.Join(values, "`, `") + "`"
}

var ulimitAttrTypes = map[string]attr.Type{
	"name": types.StringType,
	"soft": types.Int64Type,
	"hard": types.Int64Type,
}

var logAttrTypes = map[string]attr.Type{
	"driver":  types.StringType,
	"options": types.MapType{ElemType: types.StringType},
}

var extraNetworkAttrTypes = map[string]attr.Type{
	"name":    types.StringType,
	"aliases": types.SetType{ElemType: types.StringType},
}
