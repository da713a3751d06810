// Package provider is the stateful provider: its configuration (the Docker
// hosts it reaches) and the registry of its resources.
package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
	"github.com/statefulhq/terraform-provider-stateful/internal/resources"
)

var (
	_ provider.Provider                   = &statefulProvider{}
	_ provider.ProviderWithValidateConfig = &statefulProvider{}
)

// New returns a constructor for the provider at the given version.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &statefulProvider{version: version}
	}
}

type statefulProvider struct {
	version string
}

func (p *statefulProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "stateful"
	resp.Version = p.version
}

func (p *statefulProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = providerSchema()
}

func (p *statefulProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var config providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(validateHosts(config.Hosts)...)
	resp.Diagnostics.Append(validateRegistryAuth(config.RegistryAuth)...)
}

func (p *statefulProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var config providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	configs := hostConfigs(config.Hosts)
	registries := docker.NewRegistries(registryAuths(config.RegistryAuth))
	for i := range configs {
		configs[i].Registries = registries
	}
	hosts := docker.NewHosts(configs)
	resp.ResourceData = hosts
	resp.DataSourceData = hosts
}

func (p *statefulProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		resources.NewServiceResource,
	}
}

func (p *statefulProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		resources.NewHostDataSource,
	}
}

// hostConfigs turns host blocks into Docker host configurations; no block
// means one host named "default" configured like the docker CLI.
func hostConfigs(hosts []hostModel) []docker.Config {
	if len(hosts) == 0 {
		return []docker.Config{{Name: docker.DefaultHostName}}
	}
	out := make([]docker.Config, 0, len(hosts))
	for _, h := range hosts {
		c := docker.Config{Name: h.Name.ValueString(), Endpoint: h.Endpoint.ValueString(), SSH: h.SSH.config(), AdvertiseAddress: h.AdvertiseAddress.ValueString()}
		if c.SSH == nil && strings.HasPrefix(c.Endpoint, "ssh://") {
			// No ssh block: the agent and ~/.ssh/known_hosts, as docker -H ssh:// does.
			c.SSH = &docker.SSHConfig{}
		}
		if h.TLS != nil {
			c.TLS = &docker.TLSConfig{
				CAPEM:              h.TLS.CAPEM.ValueString(),
				CertPEM:            h.TLS.CertPEM.ValueString(),
				KeyPEM:             h.TLS.KeyPEM.ValueString(),
				CertPath:           h.TLS.CertPath.ValueString(),
				InsecureSkipVerify: h.TLS.InsecureSkipVerify.ValueBool(),
			}
		}
		out = append(out, c)
	}
	return out
}

type providerModel struct {
	Hosts        []hostModel         `tfsdk:"host"`
	RegistryAuth []registryAuthModel `tfsdk:"registry_auth"`
}

type hostModel struct {
	Name             types.String `tfsdk:"name"`
	Endpoint         types.String `tfsdk:"endpoint"`
	AdvertiseAddress types.String `tfsdk:"advertise_address"`
	TLS              *tlsModel    `tfsdk:"tls"`
	SSH              *sshModel    `tfsdk:"ssh"`
}

type sshModel struct {
	PrivateKey            types.String  `tfsdk:"private_key"`
	Passphrase            types.String  `tfsdk:"passphrase"`
	KnownHosts            types.String  `tfsdk:"known_hosts"`
	HostKey               types.String  `tfsdk:"host_key"`
	InsecureIgnoreHostKey types.Bool    `tfsdk:"insecure_ignore_host_key"`
	Socket                types.String  `tfsdk:"socket"`
	User                  types.String  `tfsdk:"user"`
	Port                  types.Int64   `tfsdk:"port"`
	Jump                  *sshJumpModel `tfsdk:"jump"`
}

type sshJumpModel struct {
	Address    types.String `tfsdk:"address"`
	Port       types.Int64  `tfsdk:"port"`
	User       types.String `tfsdk:"user"`
	PrivateKey types.String `tfsdk:"private_key"`
	Passphrase types.String `tfsdk:"passphrase"`
	KnownHosts types.String `tfsdk:"known_hosts"`
	HostKey    types.String `tfsdk:"host_key"`
}

func (s *sshModel) config() *docker.SSHConfig {
	if s == nil {
		return nil
	}
	return &docker.SSHConfig{
		PrivateKey: s.PrivateKey.ValueString(), Passphrase: s.Passphrase.ValueString(),
		KnownHosts: s.KnownHosts.ValueString(), HostKey: s.HostKey.ValueString(),
		InsecureIgnoreHostKey: s.InsecureIgnoreHostKey.ValueBool(), Socket: s.Socket.ValueString(),
		User: s.User.ValueString(), Port: int(s.Port.ValueInt64()),
		Jump: s.Jump.config(),
	}
}

func (j *sshJumpModel) config() *docker.SSHJump {
	if j == nil {
		return nil
	}
	return &docker.SSHJump{
		Address: j.Address.ValueString(), Port: int(j.Port.ValueInt64()), User: j.User.ValueString(),
		PrivateKey: j.PrivateKey.ValueString(), Passphrase: j.Passphrase.ValueString(),
		KnownHosts: j.KnownHosts.ValueString(), HostKey: j.HostKey.ValueString(),
	}
}

type tlsModel struct {
	CAPEM              types.String `tfsdk:"ca_pem"`
	CertPEM            types.String `tfsdk:"cert_pem"`
	KeyPEM             types.String `tfsdk:"key_pem"`
	CertPath           types.String `tfsdk:"cert_path"`
	InsecureSkipVerify types.Bool   `tfsdk:"insecure_skip_verify"`
}
