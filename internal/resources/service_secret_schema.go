package resources

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
	"github.com/statefulhq/terraform-provider-stateful/internal/validators"
)

func secretBlock() schema.ListNestedBlock {
	oneSource := stringvalidator.ExactlyOneOf(
		path.MatchRelative().AtParent().AtName("value_wo"),
		path.MatchRelative().AtParent().AtName("from_env"),
		path.MatchRelative().AtParent().AtName("from_file"),
	)
	return schema.ListNestedBlock{
		MarkdownDescription: "A secret delivered to every replica as a file, before its process starts. Give exactly one source: " +
			"`value_wo`, `from_env` or `from_file`. The value never reaches Terraform state or plan, logs, labels, the environment or " +
			"`docker inspect`: it is staged on the Docker host under `" + spec.SecretsRoot + "` (tmpfs, so in memory) by a helper " +
			"container that is never started, and bound read-only into the replica. A changed value replaces the replicas that use it, " +
			"one at a time, highest ordinal first.",
		NestedObject: schema.NestedBlockObject{
			Attributes: map[string]schema.Attribute{
				"name": schema.StringAttribute{
					MarkdownDescription: "The file name, such as `db_password`.",
					Required:            true,
				},
				"target": schema.StringAttribute{
					MarkdownDescription: "The directory the file appears in. Defaults to `" + spec.DefaultSecretTarget + "`. The directory is a read-only mount holding only secrets.",
					Optional:            true,
				},
				"mode": schema.StringAttribute{
					MarkdownDescription: "Octal permissions of the file. Defaults to `" + spec.DefaultSecretMode + "`.",
					Optional:            true,
					Validators:          []validator.String{validators.String("an octal mode", func(v string) error { _, err := spec.ParseMode(v); return err })},
				},
				"owner": schema.StringAttribute{
					MarkdownDescription: "Owner of the file, as `user` or `user:group`, by name or number: `postgres`, `postgres:postgres`, `999`, `999:999`. " +
						"Give the user the replica's process runs as, so that mode `0400` lets it read. " + ownerNamesHelp + " Conflicts with `uid` and `gid`.",
					Optional: true,
					Validators: []validator.String{
						ownerValidator(),
						stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("uid"), path.MatchRelative().AtParent().AtName("gid")),
					},
				},
				"uid": schema.Int64Attribute{
					MarkdownDescription: "Numeric owner of the file: the user the replica's process runs as, so that mode `0400` lets it read. Defaults to `0`. `owner` also takes names.",
					Optional:            true,
					Validators:          []validator.Int64{int64validator.Between(0, 1<<32-1)},
				},
				"gid": schema.Int64Attribute{
					MarkdownDescription: "Numeric group of the file. Defaults to `0`.",
					Optional:            true,
					Validators:          []validator.Int64{int64validator.Between(0, 1<<32-1)},
				},
				"value_wo": schema.StringAttribute{
					MarkdownDescription: "The value, write-only (Terraform 1.11+): it may come from an ephemeral resource and is never stored. " +
						"Terraform cannot see it change: bump `value_wo_version` to roll it out.",
					Optional:   true,
					Sensitive:  true,
					WriteOnly:  true,
					Validators: []validator.String{oneSource},
				},
				"value_wo_version": schema.Int64Attribute{
					MarkdownDescription: "Stands for `value_wo` in change detection: change it to rotate the secret (an ordered rolling replacement).",
					Optional:            true,
				},
				"from_env": schema.StringAttribute{
					MarkdownDescription: "Read the value from this environment variable of the machine running Terraform, at plan and apply. " +
						"A change of value is detected through a keyed hash (HMAC-SHA256 under a random per-resource key kept in private state).",
					Optional: true,
				},
				"from_file": schema.StringAttribute{
					MarkdownDescription: "Read the value from this file on the machine running Terraform, at plan and apply. Changes are detected like `from_env`'s.",
					Optional:            true,
				},
			},
		},
	}
}

func fileBlock() schema.ListNestedBlock {
	return schema.ListNestedBlock{
		MarkdownDescription: "A non-secret configuration file written into each replica's container before it starts. " +
			"A change rolls through the replicas like any other. Never put secrets here: the content is in state.",
		NestedObject: schema.NestedBlockObject{
			Attributes: map[string]schema.Attribute{
				"target": schema.StringAttribute{
					MarkdownDescription: "The absolute path of the file in the container; missing directories are created.",
					Required:            true,
				},
				"content": schema.StringAttribute{
					MarkdownDescription: "The content. " + templateHelp + " `{{.Replicas}}` is the desired replica count.",
					Required:            true,
				},
				"mode": schema.StringAttribute{
					MarkdownDescription: "Octal permissions. Defaults to `" + spec.DefaultFileMode + "`.",
					Optional:            true,
					Validators:          []validator.String{validators.String("an octal mode", func(v string) error { _, err := spec.ParseMode(v); return err })},
				},
				"owner": schema.StringAttribute{
					MarkdownDescription: "Owner of the file, as `user` or `user:group`, by name or number: `postgres`, `postgres:postgres`, `999:999`. " +
						ownerNamesHelp + " Defaults to root.",
					Optional:   true,
					Validators: []validator.String{ownerValidator()},
				},
			},
		},
	}
}

var secretAttrTypes = map[string]attr.Type{
	"name": types.StringType, "target": types.StringType, "mode": types.StringType,
	"uid": types.Int64Type, "gid": types.Int64Type, "owner": types.StringType,
	"value_wo": types.StringType, "value_wo_version": types.Int64Type,
	"from_env": types.StringType, "from_file": types.StringType,
}

var fileAttrTypes = map[string]attr.Type{"target": types.StringType, "content": types.StringType, "mode": types.StringType, "owner": types.StringType}

// ownerNamesHelp tells how owners written as names are resolved.
const ownerNamesHelp = "Names are looked up in the image's `/etc/passwd` and `/etc/group` on the host a replica runs on (the same name can be " +
	"another number in another build: Debian's postgres is 102, the official image's 999), through a container that is created and never started; " +
	"a user alone gives its primary group, a number alone is also the group. They are resolved at plan time when the image is on the host, " +
	"and a name the image lacks fails the plan at this attribute; otherwise (the image is pulled at apply, or `pull_policy = \"always\"`) " +
	"at apply, before any container is created."

// ownerValidator checks the syntax of an owner; names are checked against
// the image at plan.
func ownerValidator() validator.String {
	return validators.String("a user or user:group, by name or number", func(v string) error { _, err := spec.ParseOwnerRef(v); return err })
}
