package resources

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
)

// hostsFrom reads the provider's hosts out of the data handed to resources
// and data sources; nil before the provider is configured.
func hostsFrom(providerData any, diags *diag.Diagnostics) *docker.Hosts {
	if providerData == nil {
		return nil
	}
	hosts, ok := providerData.(*docker.Hosts)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("expected *docker.Hosts, got %T; this is a bug in the provider", providerData))
	}
	return hosts
}
