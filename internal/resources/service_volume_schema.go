package resources

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
	"github.com/statefulhq/terraform-provider-stateful/internal/validators"
)

const templateHelp = "Templated per replica: `{{.Service}}`, `{{.Name}}` (the replica name), `{{.Ordinal}}` and `{{.Host}}` (the host it is placed on)."

func volumeBlock() schema.ListNestedBlock {
	return schema.ListNestedBlock{
		MarkdownDescription: "A volume: where a replica's data lives outside its container. Give exactly one of `host`, `shared` or `plugin`. " +
			"Docker volumes the provider creates are named `<service>-<volume>-<ordinal>` (or `<service>-<volume>` when shared by all replicas) " +
			"and labeled, so a replacement, a scale-up or a re-apply after destroy re-adopts the same data. Data is deleted only as `retention` says.",
		NestedObject: schema.NestedBlockObject{
			Attributes: map[string]schema.Attribute{
				"name": schema.StringAttribute{
					MarkdownDescription: "The volume's name, unique in the service: lower-case letters, digits, `_`, `.` and `-`. Part of Docker volume names.",
					Required:            true,
				},
				"target": schema.StringAttribute{
					MarkdownDescription: "The absolute path where the replica sees the volume.",
					Required:            true,
				},
				"read_only": schema.BoolAttribute{
					MarkdownDescription: "Mount the volume read-only. Defaults to `false`.",
					Optional:            true,
				},
				"per_replica": schema.BoolAttribute{
					MarkdownDescription: "Give each replica its own volume (default `true`). `false` mounts one volume in every replica.",
					Optional:            true,
				},
				"recreate_on_change": schema.BoolAttribute{
					MarkdownDescription: "Docker cannot change a volume's driver or options in place. When they change, the plan fails and explains the choices, " +
						"unless this is `true`: then apply removes each replica's volume, **deleting its data**, and creates it with the new definition. Defaults to `false`.",
					Optional: true,
				},
			},
			Blocks: map[string]schema.Block{
				"host":   hostVolumeBlock(),
				"shared": sharedVolumeBlock(),
				"plugin": pluginVolumeBlock(),
			},
		},
	}
}

// requiredInBlock says why an attribute that a block needs is optional in
// the schema: Terraform sends a single nested block that is not written as
// an object of nulls, so the framework would demand a Required attribute of
// it even in volumes without the block (issue
// hashicorp/terraform-plugin-framework#740). The plan checks it instead
// (spec.Service.Validate).
const requiredInBlock = "The plan fails without it; the schema lists it as optional only because the block itself is optional."

func hostVolumeBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "Bind a directory of the Docker host. A missing directory is created by the daemon itself (through a helper container " +
			"that is never started), so this works on remote hosts with nothing but the Docker API; an existing directory is never changed. " +
			"The data lives and dies with that host.",
		Attributes: map[string]schema.Attribute{
			"path": schema.StringAttribute{
				MarkdownDescription: "Required in a `host` block. The absolute directory on the host, such as `/srv/db/{{.Ordinal}}`. " + templateHelp + " " + requiredInBlock,
				Optional:            true,
			},
			"owner": schema.StringAttribute{
				MarkdownDescription: "Owner of a directory the provider creates, as `user` or `user:group`, by name or number: the database's user, " +
					"such as `postgres`, `postgres:postgres`, `999` or `999:999`. " + ownerNamesHelp + " Defaults to root.",
				Optional:   true,
				Validators: []validator.String{ownerValidator()},
			},
			"mode": schema.StringAttribute{
				MarkdownDescription: "Octal permissions for a directory the provider creates, such as `0700`. Defaults to `0755`.",
				Optional:            true,
				Validators:          []validator.String{validators.String("an octal mode", func(v string) error { _, err := spec.ParseMode(v); return err })},
			},
		},
	}
}

func sharedVolumeBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "A networked file system (NFS, CIFS, ...) mounted by Docker's `local` driver on the host where the replica runs. " +
			"The data outlives the host.",
		Attributes: map[string]schema.Attribute{
			"type": schema.StringAttribute{
				MarkdownDescription: "Required in a `shared` block. The file system type, as `mount -t` takes it: `nfs`, `nfs4`, `cifs`, ... " + requiredInBlock,
				Optional:            true,
			},
			"address": schema.StringAttribute{
				MarkdownDescription: "The server's address; sent as the `addr=` mount option.",
				Optional:            true,
			},
			"device": schema.StringAttribute{
				MarkdownDescription: "What to mount: `:/exports/db-{{.Ordinal}}` for NFS, `//server/share` for CIFS. " + templateHelp,
				Optional:            true,
			},
			"options": schema.StringAttribute{
				MarkdownDescription: "Comma-separated mount options, such as `nfsvers=4,soft`. " + templateHelp + " Put credentials in `credentials_wo`, never here.",
				Optional:            true,
			},
			"credentials_wo": schema.StringAttribute{
				MarkdownDescription: "Mount options that carry credentials, such as `username=svc,password=...` for CIFS. Write-only (Terraform 1.11+): " +
					"never stored in state or plan. They reach the daemon when the volume is created; Docker keeps volume options in its own " +
					"metadata, readable with `docker volume inspect` by whoever controls the daemon. Bump `credentials_wo_version` to apply new ones.",
				Optional:  true,
				Sensitive: true,
				WriteOnly: true,
			},
			"credentials_wo_version": schema.Int64Attribute{
				MarkdownDescription: "Stands for `credentials_wo` in change detection: change it when the credentials change. Since Docker cannot change a " +
					"volume's options in place, this needs `recreate_on_change`.",
				Optional:   true,
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
		},
	}
}

func pluginVolumeBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "A volume of a Docker volume plugin (cloud block storage, distributed file systems). The driver must be installed " +
			"on the host: checked at plan time when the host answers.",
		Attributes: map[string]schema.Attribute{
			"driver": schema.StringAttribute{
				MarkdownDescription: "Required in a `plugin` block. The volume driver, such as `rexray/ebs`. " + requiredInBlock,
				Optional:            true,
			},
			"options": schema.MapAttribute{
				MarkdownDescription: "Driver options, passed as given.",
				ElementType:         types.StringType,
				Optional:            true,
			},
		},
	}
}

func retentionBlock() schema.SingleNestedBlock {
	policy := []validator.String{stringvalidator.OneOf(spec.Retain, spec.Delete)}
	return schema.SingleNestedBlock{
		MarkdownDescription: "What happens to data when replicas go away. By default it is kept: a later scale-up or re-apply re-adopts it.",
		Attributes: map[string]schema.Attribute{
			"when_scaled": schema.StringAttribute{
				MarkdownDescription: "On scale-down: `retain` (default) keeps the removed replicas' volumes; `delete` deletes them (Docker volumes removed, host directories emptied).",
				Optional:            true,
				Validators:          policy,
			},
			"when_deleted": schema.StringAttribute{
				MarkdownDescription: "On destroy: `retain` (default) keeps every volume; `delete` deletes them.",
				Optional:            true,
				Validators:          policy,
			},
		},
	}
}

var volumeAttrTypes = map[string]attr.Type{
	"name":               types.StringType,
	"target":             types.StringType,
	"read_only":          types.BoolType,
	"per_replica":        types.BoolType,
	"recreate_on_change": types.BoolType,
	"host":               types.ObjectType{AttrTypes: hostVolumeAttrTypes},
	"shared":             types.ObjectType{AttrTypes: sharedVolumeAttrTypes},
	"plugin":             types.ObjectType{AttrTypes: pluginVolumeAttrTypes},
}

var hostVolumeAttrTypes = map[string]attr.Type{"path": types.StringType, "owner": types.StringType, "mode": types.StringType}

var sharedVolumeAttrTypes = map[string]attr.Type{
	"type": types.StringType, "address": types.StringType, "device": types.StringType, "options": types.StringType,
	"credentials_wo": types.StringType, "credentials_wo_version": types.Int64Type,
}

var pluginVolumeAttrTypes = map[string]attr.Type{"driver": types.StringType, "options": types.MapType{ElemType: types.StringType}}

var retentionAttrTypes = map[string]attr.Type{"when_scaled": types.StringType, "when_deleted": types.StringType}
