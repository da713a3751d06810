package provider

import (
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
)

// registryAuthModel is one registry_auth block. The provider's
// configuration never reaches state or plan, so the password is a plain
// sensitive attribute (providers cannot declare write-only attributes).
type registryAuthModel struct {
	Address    types.String `tfsdk:"address"`
	Username   types.String `tfsdk:"username"`
	Password   types.String `tfsdk:"password"`
	ConfigJSON types.String `tfsdk:"config_json"`
}

func registryAuthBlock() schema.ListNestedBlock {
	return schema.ListNestedBlock{
		MarkdownDescription: "Credentials for a private registry, used by every pull on every host (the provider sends them to the " +
			"daemon that pulls, as `docker pull` does). An image's registry is matched by host[:port]; with no matching block the " +
			"provider falls back to the docker CLI's `config.json` (`DOCKER_CONFIG`, else `~/.docker`): its `auths` entries, " +
			"`credHelpers` and `credsStore` (running `docker-credential-<name> get`). Credentials never reach state, plan, logs, " +
			"labels or errors.",
		NestedObject: schema.NestedBlockObject{
			Attributes: map[string]schema.Attribute{
				"address": schema.StringAttribute{
					MarkdownDescription: "The registry, as image references name it: `registry.example.com`, `127.0.0.1:5000`, or `docker.io` for " +
						"Docker Hub (a URL such as `https://index.docker.io/v1/` is accepted too).",
					Required: true,
				},
				"username": schema.StringAttribute{
					MarkdownDescription: "The user to log in as; requires `password`.",
					Optional:            true,
				},
				"password": schema.StringAttribute{
					MarkdownDescription: "The password or access token, from a sensitive variable. Provider configuration is never stored in state.",
					Optional:            true,
					Sensitive:           true,
				},
				"config_json": schema.StringAttribute{
					MarkdownDescription: "Instead of `username` and `password`: the contents of a Docker `config.json` (for example " +
						"`file(\"~/.docker/config.json\")` or a CI secret), whose entry for `address` is used.",
					Optional:  true,
					Sensitive: true,
				},
			},
		},
	}
}

func validateRegistryAuth(blocks []registryAuthModel) diag.Diagnostics {
	var diags diag.Diagnostics
	seen := map[string]bool{}
	for i, b := range blocks {
		at := path.Root("registry_auth").AtListIndex(i)
		if b.Address.IsUnknown() || b.Username.IsUnknown() || b.Password.IsUnknown() || b.ConfigJSON.IsUnknown() {
			continue
		}
		address := docker.NormalizeRegistry(b.Address.ValueString())
		if address == "" {
			diags.AddAttributeError(at.AtName("address"), "Registry address is empty", "Write the registry's host[:port], such as registry.example.com or 127.0.0.1:5000.")
			continue
		}
		if seen[address] {
			diags.AddAttributeError(at.AtName("address"), "Registry declared twice", fmt.Sprintf("Another registry_auth block is for %s already: keep one.", address))
		}
		seen[address] = true
		hasPassword := !b.Username.IsNull() || !b.Password.IsNull()
		switch {
		case hasPassword && !b.ConfigJSON.IsNull():
			diags.AddAttributeError(at.AtName("config_json"), "Two kinds of credentials", "Give either username and password, or config_json, not both.")
		case !b.ConfigJSON.IsNull():
			var v map[string]any
			if json.Unmarshal([]byte(b.ConfigJSON.ValueString()), &v) != nil {
				diags.AddAttributeError(at.AtName("config_json"), "config_json is not JSON", "Give the contents of a Docker config.json, such as file(\"~/.docker/config.json\").")
			}
		case b.Username.ValueString() == "" || b.Password.ValueString() == "":
			diags.AddAttributeError(at, "Registry credentials incomplete",
				fmt.Sprintf("registry_auth for %s needs username and password (or config_json).", address))
		}
	}
	return diags
}

func registryAuths(blocks []registryAuthModel) []docker.RegistryAuth {
	out := make([]docker.RegistryAuth, 0, len(blocks))
	for _, b := range blocks {
		out = append(out, docker.RegistryAuth{
			Address: b.Address.ValueString(), Username: b.Username.ValueString(),
			Password: b.Password.ValueString(), ConfigJSON: b.ConfigJSON.ValueString(),
		})
	}
	return out
}
