package resources

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// hookPoints are the hook blocks, in the order a replica's life meets them,
// with what each block's description says of when it runs.
var hookPoints = []struct{ name, when string }{
	{spec.HookBeforeCreate, "Runs before a new ordinal is created in a service that already runs (scale-up), always in a peer, since the " +
		"replica does not exist yet: etcd's `member add`, creating a replication slot on a primary. It does not run when the service is " +
		"first created (nothing runs yet), nor when a replica removed outside Terraform is created again with its data."},
	{spec.HookAfterReady, "Runs after apply created, replaced or started a replica and it is ready (healthy, with a health check): promote an etcd learner (`member promote`), register."},
	{spec.HookDecommission, "Runs before scale-down removes a replica: etcd's `member remove`, a drain, `nodetool decommission`. " +
		"When it fails, the apply stops and nothing is removed: the replica and its data stay. Destroy runs no hook."},
	{spec.HookBeforeStop, "Runs before a running replica is stopped to be replaced (rolling update): leadership hand-off, checkpoint."},
}

func hooksBlock() schema.SingleNestedBlock {
	blocks := map[string]schema.Block{}
	for _, p := range hookPoints {
		blocks[p.name] = hookBlock(p.name, p.when)
	}
	return schema.SingleNestedBlock{
		MarkdownDescription: "Lifecycle hooks: commands apply runs through Docker exec at points of a replica's life, so that a cluster " +
			"learns of members coming and going. Each plan names the hooks each replica action runs, as in " +
			"`etcd-3: create (hooks: before_create in a peer, after_ready)`. A hook that fails, or outlasts its `timeout`, stops the " +
			"rollout like a failed health check, with the hook's output in the error; replicas not reached yet are left as they are, and " +
			"the next apply runs what is left, hooks included. So write hooks that can run twice (check before you add or remove). " +
			"A hook in a peer is planned only when another replica runs at plan time. Hooks are not part of a replica's definition: " +
			"changing one replaces nothing. See the scaling guide.",
		Blocks: blocks,
	}
}

func hookBlock(point, when string) schema.SingleNestedBlock {
	attributes := map[string]schema.Attribute{
		"command": schema.ListAttribute{
			MarkdownDescription: "The command and its arguments, run without a shell (use `[\"sh\", \"-c\", \"...\"]` for one). Each element is a " +
				"template of the replica the hook is about, also when it runs in a peer: `{{.Service}}`, `{{.Name}}`, `{{.Ordinal}}`, " +
				"`{{.Replicas}}`, `{{.Host}}`, `{{.Address}}`, `{{.Port}}` (the `cluster` port) and `{{.Seed}}`. Required in the block.",
			ElementType: types.StringType,
			Optional:    true,
			Validators:  []validator.List{listvalidator.SizeAtLeast(1)},
		},
		"timeout": schema.StringAttribute{
			MarkdownDescription: "How long the hook may run, as a duration such as `30s`. Defaults to `" + spec.DefaultHookTimeout + "`.",
			CustomType:          timetypes.GoDurationType{},
			Optional:            true,
		},
	}
	if point != spec.HookBeforeCreate {
		attributes["run_in"] = schema.StringAttribute{
			MarkdownDescription: "Where the hook runs: `self` (default), in the replica it is about, skipped when that replica is not running; " +
				"or `peer`, in the running replica of the lowest ordinal other than it.",
			Optional:   true,
			Validators: []validator.String{stringvalidator.OneOf(spec.RunInSelf, spec.RunInPeer)},
		}
	}
	return schema.SingleNestedBlock{
		MarkdownDescription: when,
		Attributes:          attributes,
	}
}

func backupBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "Archive data before apply or destroy deletes or recreates it: before `retention.when_scaled = \"delete\"` on " +
			"scale-down, `retention.when_deleted = \"delete\"` on destroy, and `recreate_on_change` on a volume whose definition changed. " +
			"Each affected volume or host directory becomes one tar file, `<service>.<replica>.<volume>.<time>.tar` (`shared` for a volume " +
			"all replicas share; time in UTC, as `20261202T131500Z`), with entries relative to the volume's root, written by a helper " +
			"container that is never started, on the host the data is on, with the data at rest (its replica stopped). The plan says " +
			"which actions take a backup. When a backup fails, the apply fails and deletes nothing; the next apply tries again. " +
			"Backups are never deleted by the provider. See the backups guide for how to restore one.",
		Attributes: map[string]schema.Attribute{
			"host_path": schema.StringAttribute{
				MarkdownDescription: "A directory of the Docker host to write backups into, created if missing. Exactly one of `host_path` and `volume`.",
				Optional:            true,
			},
			"volume": schema.StringAttribute{
				MarkdownDescription: "A Docker volume to write backups into, created if missing; it carries no label of the service, so no retention ever deletes it.",
				Optional:            true,
			},
		},
	}
}

var hookAttrTypes = map[string]attr.Type{"command": types.ListType{ElemType: types.StringType}, "timeout": timetypes.GoDurationType{}, "run_in": types.StringType}

var beforeCreateAttrTypes = map[string]attr.Type{"command": types.ListType{ElemType: types.StringType}, "timeout": timetypes.GoDurationType{}}

var hooksAttrTypes = map[string]attr.Type{
	spec.HookBeforeCreate: types.ObjectType{AttrTypes: beforeCreateAttrTypes},
	spec.HookAfterReady:   types.ObjectType{AttrTypes: hookAttrTypes},
	spec.HookDecommission: types.ObjectType{AttrTypes: hookAttrTypes},
	spec.HookBeforeStop:   types.ObjectType{AttrTypes: hookAttrTypes},
}

var backupAttrTypes = map[string]attr.Type{"host_path": types.StringType, "volume": types.StringType}

type hooksModel struct {
	BeforeCreate types.Object `tfsdk:"before_create"`
	AfterReady   types.Object `tfsdk:"after_ready"`
	Decommission types.Object `tfsdk:"decommission"`
	BeforeStop   types.Object `tfsdk:"before_stop"`
}

type hookModel struct {
	Command types.List           `tfsdk:"command"`
	Timeout timetypes.GoDuration `tfsdk:"timeout"`
	RunIn   types.String         `tfsdk:"run_in"`
}

type beforeCreateModel struct {
	Command types.List           `tfsdk:"command"`
	Timeout timetypes.GoDuration `tfsdk:"timeout"`
}

type backupModel struct {
	HostPath types.String `tfsdk:"host_path"`
	Volume   types.String `tfsdk:"volume"`
}

// hooksToSpec reads the hooks and backup blocks into the service.
func hooksToSpec(ctx context.Context, hooks, backup types.Object, svc *spec.Service) diag.Diagnostics {
	var diags diag.Diagnostics
	if !hooks.IsNull() {
		var h hooksModel
		if diags.Append(hooks.As(ctx, &h, objectAsOptions)...); diags.HasError() {
			return diags
		}
		svc.Hooks = &spec.Hooks{
			AfterReady:   hookToSpec(ctx, h.AfterReady, &diags),
			Decommission: hookToSpec(ctx, h.Decommission, &diags),
			BeforeStop:   hookToSpec(ctx, h.BeforeStop, &diags),
		}
		if !h.BeforeCreate.IsNull() {
			var m beforeCreateModel
			if d := h.BeforeCreate.As(ctx, &m, objectAsOptions); d.HasError() {
				diags.Append(d...)
				return diags
			}
			svc.Hooks.BeforeCreate = &spec.Hook{Timeout: m.Timeout.ValueString()}
			diags.Append(m.Command.ElementsAs(ctx, &svc.Hooks.BeforeCreate.Command, true)...)
		}
		if *svc.Hooks == (spec.Hooks{}) {
			svc.Hooks = nil
		}
	}
	if !backup.IsNull() {
		var b backupModel
		diags.Append(backup.As(ctx, &b, objectAsOptions)...)
		svc.Backup = &spec.Backup{HostPath: b.HostPath.ValueString(), Volume: b.Volume.ValueString()}
	}
	return diags
}

func hookToSpec(ctx context.Context, o types.Object, diags *diag.Diagnostics) *spec.Hook {
	if o.IsNull() {
		return nil
	}
	var m hookModel
	if d := o.As(ctx, &m, objectAsOptions); d.HasError() {
		diags.Append(d...)
		return nil
	}
	h := &spec.Hook{RunIn: m.RunIn.ValueString(), Timeout: m.Timeout.ValueString()}
	diags.Append(m.Command.ElementsAs(ctx, &h.Command, true)...)
	return h
}

// hooksFromSpec writes the service's hooks and backup into the model, for
// import.
func (m *serviceModel) hooksFromSpec(ctx context.Context, svc spec.Service) diag.Diagnostics {
	var diags, d diag.Diagnostics
	m.Hooks, m.Backup = types.ObjectNull(hooksAttrTypes), types.ObjectNull(backupAttrTypes)
	if h := svc.Hooks; h != nil {
		beforeCreate := types.ObjectNull(beforeCreateAttrTypes)
		if h.BeforeCreate != nil {
			beforeCreate, d = types.ObjectValueFrom(ctx, beforeCreateAttrTypes, beforeCreateModel{
				Command: optionalList(ctx, h.BeforeCreate.Command, &diags), Timeout: optionalDuration(h.BeforeCreate.Timeout),
			})
			diags.Append(d...)
		}
		m.Hooks, d = types.ObjectValueFrom(ctx, hooksAttrTypes, hooksModel{
			BeforeCreate: beforeCreate,
			AfterReady:   hookFromSpec(ctx, h.AfterReady, &diags),
			Decommission: hookFromSpec(ctx, h.Decommission, &diags),
			BeforeStop:   hookFromSpec(ctx, h.BeforeStop, &diags),
		})
		diags.Append(d...)
	}
	if b := svc.Backup; b != nil {
		m.Backup, d = types.ObjectValueFrom(ctx, backupAttrTypes, backupModel{HostPath: optionalString(b.HostPath), Volume: optionalString(b.Volume)})
		diags.Append(d...)
	}
	return diags
}

func hookFromSpec(ctx context.Context, h *spec.Hook, diags *diag.Diagnostics) types.Object {
	if h == nil {
		return types.ObjectNull(hookAttrTypes)
	}
	o, d := types.ObjectValueFrom(ctx, hookAttrTypes, hookModel{
		Command: optionalList(ctx, h.Command, diags), Timeout: optionalDuration(h.Timeout), RunIn: optionalString(h.RunIn),
	})
	diags.Append(d...)
	return o
}
