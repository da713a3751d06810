package resources

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
	"github.com/statefulhq/terraform-provider-stateful/internal/validators"
)

func serviceSchema(ctx context.Context) schema.Schema {
	return schema.Schema{
		Version: 1,
		MarkdownDescription: "A stateful service: `replicas` containers with stable identities (`<name>-0`, `<name>-1`, ...) " +
			"on a user-defined network of their own, on one Docker host or spread over several with `placement`.\n\n" +
			"Changing the image, environment, command or any other container setting does not replace the resource: " +
			"apply replaces the affected replicas one at a time, stopping the old one first, highest ordinal first, and waits " +
			"for each new one to run (and be healthy, with a health check) before the next. Scaling up adds ordinals; scaling down " +
			"removes the highest. Replicas stopped, removed or changed outside Terraform show up in the next plan, and apply repairs them.",
		Attributes: settingsAttributes(serviceAttributes()),
		Blocks: settingsBlocks(map[string]schema.Block{
			"port":      portBlock(),
			"health":    healthBlock(),
			"volume":    volumeBlock(),
			"retention": retentionBlock(),
			"secret":    secretBlock(),
			"file":      fileBlock(),
			"cluster":   clusterBlock(),
			"placement": placementBlock(),
			"update":    updateBlock(),
			"hooks":     hooksBlock(),
			"backup":    backupBlock(),
			"timeouts":  timeoutsBlock(ctx),
		}),
	}
}

// timeoutsBlock bounds create, update and delete; the defaults are
// defaultCreateTimeout, defaultUpdateTimeout and defaultDeleteTimeout.
func timeoutsBlock(ctx context.Context) schema.Block {
	block := timeouts.Block(ctx, timeouts.Opts{
		Create: true, Update: true, Delete: true,
		CreateDescription: fmt.Sprintf("How long a create may take, as a duration such as `30m`. Defaults to `%s`. "+
			"It covers all of it: pulling the image, creating the network, and creating and starting every replica "+
			"(in order with `bootstrap = \"ordered\"`), each until it is ready. A create that runs out of time fails, and removes "+
			"the containers and network it made (never data).", durationText(defaultCreateTimeout)),
		UpdateDescription: fmt.Sprintf("How long an update may take, as a duration such as `2h`. Defaults to `%s`. "+
			"It covers the whole rolling update, not one replica: every replica the apply creates, starts, replaces or removes, "+
			"one batch after another, each until it is ready. Raise it for many replicas or slow starts. When it runs out, the "+
			"replica in flight fails, later ones are left untouched, state records each replica as it is, and the next apply "+
			"resumes; an `update.on_failure = \"revert\"` revert still runs, within 5 minutes of its own.", durationText(defaultUpdateTimeout)),
		DeleteDescription: fmt.Sprintf("How long a destroy may take, as a duration such as `30m`. Defaults to `%s`. "+
			"It covers stopping and removing every replica (at once, each within `stop_grace_period`), wiping staged secrets, "+
			"deleting data when `retention.when_deleted = \"delete\"`, and removing the network.", durationText(defaultDeleteTimeout)),
	})
	if b, ok := block.(schema.SingleNestedBlock); ok {
		b.MarkdownDescription = "How long create, update and delete may take. Progress shows in Terraform's log at the `INFO` level " +
			"(`TF_LOG=INFO`, or `TF_LOG_PROVIDER=INFO`): one line per replica action as it completes, such as " +
			"`db-2: replaced, healthy after 4.1s`."
		return b
	}
	return block
}

// durationText writes a timeout as configured: "20m", "1h".
func durationText(d time.Duration) string {
	s := d.String() // "20m0s", "1h0m0s"
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func serviceAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"id": schema.StringAttribute{
			MarkdownDescription: "The service name.",
			Computed:            true,
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"name": schema.StringAttribute{
			MarkdownDescription: "The service name. Replica `i` is named `<name>-<i>`: its container name, hostname and DNS alias " +
				"on the service network. Lower-case letters, digits and `-`, at most 50 characters. Changing it replaces the service.",
			Required:      true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			Validators:    []validator.String{validators.String("a valid service name", spec.ValidateName)},
		},
		"image": schema.StringAttribute{
			MarkdownDescription: "The image every replica runs, as `repository:tag` or `repository@digest`.",
			Required:            true,
			Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
		},
		"replicas": schema.Int64Attribute{
			MarkdownDescription: "How many replicas to run. `0` keeps the service (and its network) with no replicas. Defaults to `1`.",
			Optional:            true,
			Computed:            true,
			Default:             int64default.StaticInt64(1),
			Validators:          []validator.Int64{int64validator.Between(0, 1000)},
		},
		"ordinal_start": schema.Int64Attribute{
			MarkdownDescription: "The ordinal of the first replica. Defaults to `0`. Changing it renames, and so replaces, every replica.",
			Optional:            true,
			Computed:            true,
			Default:             int64default.StaticInt64(0),
			Validators:          []validator.Int64{int64validator.Between(0, 100000)},
		},
		"command": schema.ListAttribute{
			MarkdownDescription: "The command (arguments to the entrypoint). Defaults to the image's `CMD`.",
			ElementType:         types.StringType,
			Optional:            true,
		},
		"entrypoint": schema.ListAttribute{
			MarkdownDescription: "The entrypoint. Defaults to the image's `ENTRYPOINT`.",
			ElementType:         types.StringType,
			Optional:            true,
		},
		"env": schema.MapAttribute{
			MarkdownDescription: "Environment variables for every replica. Values are templated per replica: `{{.Service}}`, `{{.Name}}`, " +
				"`{{.Ordinal}}`, `{{.Replicas}}`, `{{.Host}}` (the host it is placed on), and `{{.Address}}` and `{{.Port}}` (where the other replicas reach it, " +
				"as in `cluster`: a name or a host's address, not the container IP of `instances[*].address`) (write `{{\"{{\"}}` for a literal `{{`). Visible in `docker inspect`: never put secrets here; use `secret`.",
			ElementType: types.StringType,
			Optional:    true,
		},
		"labels": schema.MapAttribute{
			MarkdownDescription: "Extra container labels. Keys starting with `" + spec.LabelPrefix + "` are reserved for the provider.",
			ElementType:         types.StringType,
			Optional:            true,
		},
		"user": schema.StringAttribute{
			MarkdownDescription: "The user (and optionally `:group`) the process runs as. Defaults to the image's `USER`.",
			Optional:            true,
		},
		"restart": schema.StringAttribute{
			MarkdownDescription: "Docker restart policy: `no`, `always`, `unless-stopped`, `on-failure` or `on-failure:N`. Defaults to `unless-stopped`.",
			Optional:            true,
			Computed:            true,
			Default:             stringdefault.StaticString(spec.DefaultRestart),
			Validators: []validator.String{validators.String("a Docker restart policy", func(v string) error {
				_, err := spec.ParseRestart(v)
				return err
			})},
		},
		"stop_signal": schema.StringAttribute{
			MarkdownDescription: "The signal that asks a replica to stop, such as `SIGINT`. Defaults to the image's `STOPSIGNAL`, else `SIGTERM`.",
			Optional:            true,
			Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
		},
		"stop_grace_period": schema.StringAttribute{
			MarkdownDescription: "How long a replica may take to stop after the stop signal before it is killed, as a duration (`30s`, `2m`). " +
				"Used on replacement, scale-down and destroy, and by the daemon itself. Defaults to `10s`.",
			Optional:   true,
			Computed:   true,
			CustomType: timetypes.GoDurationType{},
			Default:    stringdefault.StaticString(spec.DefaultStopGracePeriod),
			Validators: []validator.String{duration("stop_grace_period")},
		},
		"pull_policy": schema.StringAttribute{
			MarkdownDescription: "When to pull the image: `missing` (only when it is not on the host; default), `always` (before every rollout), " +
				"or `never` (it must already be on the host; checked at plan time). With `always` and a tag, each plan also asks the registry " +
				"(with the provider's `registry_auth` credentials; nothing is pulled) which digest the tag names now, and replicas running " +
				"another image roll out with the reason `image digest changed`; when the registry cannot be asked, only the image the tag names on the host counts. " +
				"A digest reference (`repo@sha256:...`) pins the image: changing it rolls the replicas out under any policy.",
			Optional:   true,
			Computed:   true,
			Default:    stringdefault.StaticString(spec.PullMissing),
			Validators: []validator.String{stringvalidator.OneOf(spec.PullMissing, spec.PullAlways, spec.PullNever)},
		},
		"stable_mac_address": schema.BoolAttribute{
			MarkdownDescription: "Give each replica a MAC address derived from the service name and its ordinal, kept across replacements, " +
				"for software that identifies itself by MAC (licence servers, some clustered stores). Defaults to `false`.",
			Optional: true,
			Computed: true,
			Default:  booldefault.StaticBool(false),
		},
		"bootstrap": schema.StringAttribute{
			MarkdownDescription: "`ordered` (default): replica `i+1` is created only once `i` is ready. `parallel`: all at once. " +
				"Once the service runs, replicas that join or leave a cluster (`cluster.scaling = \"join\"`, or a `before_create` or " +
				"`decommission` hook) are added and removed one at a time either way.",
			Optional:   true,
			Computed:   true,
			Default:    stringdefault.StaticString(spec.BootstrapOrdered),
			Validators: []validator.String{stringvalidator.OneOf(spec.BootstrapOrdered, spec.BootstrapParallel)},
		},
		"min_ready": schema.StringAttribute{
			MarkdownDescription: "Without a health check, how long a replica must run without restarting to count as ready. Defaults to `" + spec.DefaultMinReady + "`.",
			Optional:            true,
			Computed:            true,
			CustomType:          timetypes.GoDurationType{},
			Default:             stringdefault.StaticString(spec.DefaultMinReady),
			Validators:          []validator.String{duration("min_ready")},
		},
		"seeds": schema.ListAttribute{
			MarkdownDescription: "The cluster's seed list, as `cluster.format` renders it; known at plan time, for other services and modules.",
			ElementType:         types.StringType,
			Computed:            true,
		},
		"rollout": schema.ListAttribute{
			MarkdownDescription: "In a plan, the ordered actions apply will take, each with its reason, after the rollout's number: `#4 db-2: replace (image)`, " +
				"`#4 db-1: start (stopped outside Terraform)`, `#4 db-3: create`, `#4 db-4: remove (scale down)`, " +
				"`#4 db-0: replace (network stateful-db removed outside Terraform)`, `#4 db-0: update in place (restart policy changed outside Terraform to always; configured unless-stopped)`. " +
				"Across hosts each launch names its host: `#4 db-3: create on b`, `#4 db-1: replace on a (moved from host b)`. " +
				"The number counts the service's rollouts, so that no line equals one of the last rollout and `terraform plan` shows every replica apply touches. " +
				"When there is nothing to do it keeps the rollout last applied, so such a plan is empty.",
			ElementType: types.StringType,
			Computed:    true,
		},
		"network": schema.StringAttribute{
			MarkdownDescription: "The user-defined bridge network the provider creates for the service (`stateful-<name>`). " +
				"Other containers attached to it reach replica `i` as `<name>-<i>`, and all replicas as `<name>`.",
			Computed:      true,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		// A list of objects, not nested attributes: the framework walks
		// nested attributes value by value, with a schema lookup at each.
		"instances": schema.ListAttribute{
			MarkdownDescription: "The replicas, one entry per container, in ordinal order: what a module needs to reach each one. " +
				"In a plan, entries of replicas that apply will create, start or replace show what only the daemon can tell as " +
				"`(known after apply)`, so every replica apply touches is visible. Each entry has:\n" +
				"  - `ordinal` (Number): the replica's ordinal;\n" +
				"  - `name` (String): container name, hostname and DNS alias on the service network;\n" +
				"  - `host` (String): the provider host the replica runs on;\n" +
				"  - `address` (String): the replica's IP address on the service network, for containers on that network " +
				"(empty while it is stopped; it may change when the replica is replaced). This is not the `{{.Address}}` of templates " +
				"(`env`, `cluster.format`), which is the replica's name on one host and its host's `advertise_address` across hosts, " +
				"known at plan time. Across hosts, replicas reach each other through published ports instead: see `cluster`;\n" +
				"  - `endpoints` (List of String): where each `port` block is published for this replica, in block order, as " +
				"`host_ip:host_port` (`127.0.0.1:15433`; `0.0.0.0` when bound to all addresses, IPv6 in brackets): `external + k` for " +
				"replica `k`, or the port Docker chose (null while a replica with a port Docker chooses is stopped).\n\n" +
				"Container IDs, states, health and volume names are not kept here: `docker ps --filter label=" + spec.LabelService +
				"=<name>` shows them, and volume names are deterministic (see `volume`).",
			Computed:    true,
			ElementType: instanceType,
		},
	}
}

func portBlock() schema.ListNestedBlock {
	portNumber := []validator.Int64{int64validator.Between(1, 65535)}
	return schema.ListNestedBlock{
		MarkdownDescription: "Publishes a container port on the host. Each replica gets its own host port: replica `k` " +
			"(counting from `ordinal_start`) publishes `external + k`, so `db-0` is on `external`, `db-1` on `external + 1`, and so on.",
		NestedObject: schema.NestedBlockObject{
			Attributes: map[string]schema.Attribute{
				"internal": schema.Int64Attribute{
					MarkdownDescription: "The port inside the container.",
					Required:            true,
					Validators:          portNumber,
				},
				"external": schema.Int64Attribute{
					MarkdownDescription: "The host port of the first replica. Omit it to let Docker choose a free port for each replica (it may change when a replica is replaced).",
					Optional:            true,
					Validators:          portNumber,
				},
				"protocol": schema.StringAttribute{
					MarkdownDescription: "`tcp` (default), `udp` or `sctp`.",
					Optional:            true,
					Computed:            true,
					Default:             stringdefault.StaticString(spec.DefaultProtocol),
					Validators:          []validator.String{stringvalidator.OneOf("tcp", "udp", "sctp")},
				},
				"host_ip": schema.StringAttribute{
					MarkdownDescription: "The host address to bind, such as `127.0.0.1`. Defaults to all addresses.",
					Optional:            true,
					Validators:          []validator.String{validators.String("an IP address", validIP)},
				},
			},
		},
	}
}

func healthBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "A Docker health check. With one, apply waits for each new replica to be healthy before it moves on, " +
			"and an unhealthy replica fails the apply with its last check output and log lines.",
		Attributes: map[string]schema.Attribute{
			"test": schema.ListAttribute{
				MarkdownDescription: "The check, as Docker takes it: `[\"CMD\", \"pg_isready\"]`, `[\"CMD-SHELL\", \"curl -f http://localhost/\"]` or `[\"NONE\"]`.",
				ElementType:         types.StringType,
				Optional:            true,
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1),
					listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1)),
				},
			},
			"interval":     durationAttribute("Time between checks, such as `2s`. Docker's default is `30s`."),
			"timeout":      durationAttribute("How long one check may take. Docker's default is `30s`."),
			"start_period": durationAttribute("Grace period after start during which failures do not count. Docker's default is `0s`."),
			"retries": schema.Int64Attribute{
				MarkdownDescription: "Consecutive failures before the replica is unhealthy. Docker's default is `3`.",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.AtLeast(0)},
			},
		},
	}
}

func durationAttribute(description string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: description,
		Optional:            true,
		CustomType:          timetypes.GoDurationType{},
		Validators:          []validator.String{duration("duration")},
	}
}

func duration(attribute string) validator.String {
	return validators.String("a duration such as 10s", func(v string) error {
		_, err := spec.ParseDuration(attribute, v)
		return err
	})
}

var portAttrTypes = map[string]attr.Type{
	"internal": types.Int64Type,
	"external": types.Int64Type,
	"protocol": types.StringType,
	"host_ip":  types.StringType,
}

var healthAttrTypes = map[string]attr.Type{
	"test":         types.ListType{ElemType: types.StringType},
	"interval":     timetypes.GoDurationType{},
	"timeout":      timetypes.GoDurationType{},
	"start_period": timetypes.GoDurationType{},
	"retries":      types.Int64Type,
}

func validIP(v string) error {
	if net.ParseIP(v) == nil {
		return fmt.Errorf("%q is not an IP address", v)
	}
	return nil
}
