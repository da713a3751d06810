package resources

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
)

var _ datasource.DataSourceWithConfigure = &hostDataSource{}

var hostNamePath = path.Root("name")

// NewHostDataSource is the stateful_host data source.
func NewHostDataSource() datasource.DataSource {
	return &hostDataSource{}
}

type hostDataSource struct {
	hosts *docker.Hosts
}

func (d *hostDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_host"
}

func (d *hostDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(description string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: description}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads what a configured Docker host is — engine and API versions, OS and architecture, resources, and installed " +
			"volume and network drivers — so that modules can validate before they place services there.",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{
				MarkdownDescription: "The provider host to read. Defaults to the first host (`default` without host blocks).",
				Optional:            true,
				Computed:            true,
			},
			"endpoint":       computed("The endpoint the provider reaches the daemon at."),
			"hostname":       computed("The daemon's host name."),
			"engine_version": computed("The Docker Engine version, such as `20.10.24`."),
			"api_version":    computed("The Docker API version the provider negotiated with the daemon."),
			"os":             computed("The operating system, such as `linux`."),
			"arch":           computed("The architecture, such as `amd64`."),
			"kernel_version": computed("The kernel version."),
			"cpus":           schema.Int64Attribute{Computed: true, MarkdownDescription: "The number of CPUs."},
			"memory_bytes":   schema.Int64Attribute{Computed: true, MarkdownDescription: "Total memory, in bytes."},
			"volume_drivers": schema.ListAttribute{
				Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Volume drivers the daemon knows, sorted (`local` and plugins; a legacy plugin appears once the daemon has used it).",
			},
			"network_drivers": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Network drivers, sorted."},
		},
	}
}

func (d *hostDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.hosts = hostsFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *hostDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var data hostModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	host := d.hosts.Default()
	if !data.Name.IsNull() {
		var err error
		if host, err = d.hosts.Get(data.Name.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(hostNamePath, "Unknown host", err.Error())
			return
		}
	}
	info, err := host.Describe(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Could not read the host", err.Error())
		return
	}
	data = hostModel{
		Name: types.StringValue(host.Name()), Endpoint: types.StringValue(host.Endpoint()),
		Hostname: types.StringValue(info.Hostname), EngineVersion: types.StringValue(info.EngineVersion),
		APIVersion: types.StringValue(info.APIVersion), OS: types.StringValue(info.OS), Arch: types.StringValue(info.Arch),
		KernelVersion: types.StringValue(info.KernelVersion), CPUs: types.Int64Value(int64(info.CPUs)),
		MemoryBytes: types.Int64Value(info.MemoryBytes), VolumeDrivers: stringsValue(orEmpty(info.VolumeDrivers)),
		NetworkDrivers: stringsValue(orEmpty(info.NetworkDrivers)),
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, data)...)
}

type hostModel struct {
	Name           types.String `tfsdk:"name"`
	Endpoint       types.String `tfsdk:"endpoint"`
	Hostname       types.String `tfsdk:"hostname"`
	EngineVersion  types.String `tfsdk:"engine_version"`
	APIVersion     types.String `tfsdk:"api_version"`
	OS             types.String `tfsdk:"os"`
	Arch           types.String `tfsdk:"arch"`
	KernelVersion  types.String `tfsdk:"kernel_version"`
	CPUs           types.Int64  `tfsdk:"cpus"`
	MemoryBytes    types.Int64  `tfsdk:"memory_bytes"`
	VolumeDrivers  types.List   `tfsdk:"volume_drivers"`
	NetworkDrivers types.List   `tfsdk:"network_drivers"`
}
