package provider

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// frameworkServerPkg is the package of the server providerserver builds.
// The provider was once served through a wrapper of its own around it
// (internal/carry); it is served unwrapped now, and these tests, with
// TestMainServesTheFrameworkServerUnwrapped in package main, keep it so.
const frameworkServerPkg = "github.com/hashicorp/terraform-plugin-framework/internal/proto6server"

func protocolServer(t *testing.T, p func() provider.Provider) tfprotov6.ProviderServer {
	t.Helper()
	server, err := providerserver.NewProtocol6WithError(p())()
	if err != nil {
		t.Fatal(err)
	}
	return server
}

func TestTheProtocolServerIsTheFrameworks(t *testing.T) {
	server := protocolServer(t, New("test"))
	typ := reflect.TypeOf(server)
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ.PkgPath() != frameworkServerPkg {
		t.Fatalf("the protocol server is a %s.%s, want the framework's own (%s)", typ.PkgPath(), typ.Name(), frameworkServerPkg)
	}
}

// bareProvider is a framework provider with nothing of its own: what the
// framework answers for it is the framework's.
type bareProvider struct{}

func (bareProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "bare"
}
func (bareProvider) Schema(context.Context, provider.SchemaRequest, *provider.SchemaResponse) {}
func (bareProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}
func (bareProvider) Resources(context.Context) []func() resource.Resource       { return nil }
func (bareProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }

func TestTheProtocolServerAnswersWithTheFrameworksCapabilitiesAndEveryType(t *testing.T) {
	ctx := context.Background()
	server := protocolServer(t, New("test"))
	bare := protocolServer(t, func() provider.Provider { return bareProvider{} })

	meta, err := server.GetMetadata(ctx, &tfprotov6.GetMetadataRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.Diagnostics) > 0 {
		t.Fatalf("GetMetadata diagnostics: %v", meta.Diagnostics)
	}
	var resources, dataSources []string
	for _, r := range meta.Resources {
		resources = append(resources, r.TypeName)
	}
	for _, d := range meta.DataSources {
		dataSources = append(dataSources, d.TypeName)
	}
	if !slices.Contains(resources, "stateful_service") || !slices.Contains(dataSources, "stateful_host") {
		t.Fatalf("GetMetadata lists resources %q and data sources %q, want stateful_service and stateful_host", resources, dataSources)
	}

	schema, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(schema.Diagnostics) > 0 {
		t.Fatalf("GetProviderSchema diagnostics: %v", schema.Diagnostics)
	}
	service, ok := schema.ResourceSchemas["stateful_service"]
	if !ok || schema.DataSourceSchemas["stateful_host"] == nil || schema.Provider == nil {
		t.Fatalf("GetProviderSchema has resources %v, data sources %v, want stateful_service and stateful_host and a provider schema",
			keys(schema.ResourceSchemas), keys(schema.DataSourceSchemas))
	}
	// What the wrapper once carried around the framework is in the
	// framework's schema again.
	for _, attr := range []string{"instances", "rollout"} {
		if !slices.ContainsFunc(service.Block.Attributes, func(a *tfprotov6.SchemaAttribute) bool { return a.Name == attr }) {
			t.Errorf("stateful_service schema has no %q attribute", attr)
		}
	}

	bareMeta, err := bare.GetMetadata(ctx, &tfprotov6.GetMetadataRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(meta.ServerCapabilities, bareMeta.ServerCapabilities) {
		t.Errorf("GetMetadata server capabilities = %+v, want the framework's %+v", meta.ServerCapabilities, bareMeta.ServerCapabilities)
	}
	if !reflect.DeepEqual(schema.ServerCapabilities, bareMeta.ServerCapabilities) {
		t.Errorf("GetProviderSchema server capabilities = %+v, want the framework's %+v", schema.ServerCapabilities, bareMeta.ServerCapabilities)
	}
	if c := meta.ServerCapabilities; c == nil || !c.GetProviderSchemaOptional || !c.PlanDestroy {
		t.Errorf("server capabilities = %+v, want GetProviderSchemaOptional and PlanDestroy, as the framework serves them", c)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
