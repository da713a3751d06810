package resources

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

func clusterBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "Cluster membership, known at plan time: ordinals `[ordinal_start, ordinal_start + seeds)` are the seeds, and every " +
			"replica gets the seed list (and optionally the full member list), each member rendered by `format`.",
		Attributes: map[string]schema.Attribute{
			"seeds": schema.Int64Attribute{
				MarkdownDescription: "How many replicas, from the first ordinal, are seeds. Defaults to `1`.",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"port": schema.Int64Attribute{
				MarkdownDescription: "The members' cluster port, `{{.Port}}` in `format`. Across hosts it must be published with a `port` block " +
					"that sets `external`, and `{{.Port}}` is the replica's published port.",
				Optional:   true,
				Validators: []validator.Int64{int64validator.Between(1, 65535)},
			},
			"env": schema.StringAttribute{
				MarkdownDescription: "The environment variable receiving the comma-separated seed list. Defaults to `" + spec.DefaultSeedsEnv + "` unless `file` is set.",
				Optional:            true,
			},
			"file": schema.StringAttribute{
				MarkdownDescription: "A file in the container receiving the seed list, one per line.",
				Optional:            true,
			},
			"format": schema.StringAttribute{
				MarkdownDescription: "How one member is written: a template of `{{.Name}}`, `{{.Ordinal}}`, `{{.Service}}`, `{{.Address}}` and `{{.Port}}`. " +
					"`{{.Address}}` and `{{.Port}}` are where the other replicas reach the member: its name and `port` on one host; across hosts " +
					"(`placement` with several hosts), its host's `advertise_address` and the host port that publishes `port`. " +
					"So `{{.Address}}` is a name or a host's address, never the container IP that `instances[*].address` reports. " +
					"Defaults to `" + spec.DefaultSeedFormat + "`; etcd's style is `{{.Name}}=http://{{.Address}}:{{.Port}}`.",
				Optional: true,
			},
			"members_env": schema.StringAttribute{
				MarkdownDescription: "An environment variable receiving the members, comma-separated (etcd's `ETCD_INITIAL_CLUSTER`): every " +
					"desired member, so that scaling rolls through all replicas; with `scaling = \"join\"`, those that exist when the replica joins.",
				Optional: true,
			},
			"scaling": schema.StringAttribute{
				MarkdownDescription: "How a change of `replicas` reaches the members. `restart` (default): every replica gets the full member list, " +
					"so scaling replaces every replica, one at a time, to give it the new one. `join`: for software that reads the member list " +
					"only when a member first starts (etcd): replica `k` gets the seeds and the ordinals up to `k`, the members that exist when it " +
					"joins, so scaling replaces no running replica; replicas are added and removed one at a time, in ordinal order, even with " +
					"`bootstrap = \"parallel\"`, and the `hooks` tell the running cluster (`before_create`: member add, `after_ready`: promote a learner, `decommission`: member remove). " +
					"`{{.Seed}}` in templates tells a seed, which bootstraps the cluster, from a member that joins it.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.OneOf(spec.ScalingRestart, spec.ScalingJoin)},
			},
		},
	}
}

func updateBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "How spec changes roll out: highest ordinal first, each replacement ready before the next batch.",
		Attributes: map[string]schema.Attribute{
			"max_unavailable": schema.Int64Attribute{
				MarkdownDescription: "How many replicas may be replaced at once. Defaults to `1`.",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"partition": schema.Int64Attribute{
				MarkdownDescription: "Only ordinals at or above this are updated; lower ones keep their spec (a canary). The plan warns about what it holds back. Defaults to `0`.",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(0)},
			},
			"on_failure": schema.StringAttribute{
				MarkdownDescription: "When a replaced replica fails to become ready: `stop` (default) leaves it and stops the rollout; `revert` puts it back " +
					"on its previous spec (read from its container's labels, with the current secret values), then stops. Either way the apply " +
					"fails with the replica's last log lines, and state describes what runs.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.OneOf(spec.OnFailureStop, spec.OnFailureRevert)},
			},
		},
	}
}

var clusterAttrTypes = map[string]attr.Type{
	"seeds": types.Int64Type, "port": types.Int64Type, "env": types.StringType,
	"file": types.StringType, "format": types.StringType, "members_env": types.StringType, "scaling": types.StringType,
}

var updateAttrTypes = map[string]attr.Type{
	"max_unavailable": types.Int64Type, "partition": types.Int64Type, "on_failure": types.StringType,
}

type clusterModel struct {
	Seeds      types.Int64  `tfsdk:"seeds"`
	Port       types.Int64  `tfsdk:"port"`
	Env        types.String `tfsdk:"env"`
	File       types.String `tfsdk:"file"`
	Format     types.String `tfsdk:"format"`
	MembersEnv types.String `tfsdk:"members_env"`
	Scaling    types.String `tfsdk:"scaling"`
}

type updateModel struct {
	MaxUnavailable types.Int64  `tfsdk:"max_unavailable"`
	Partition      types.Int64  `tfsdk:"partition"`
	OnFailure      types.String `tfsdk:"on_failure"`
}
