package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestValidateRegistryAuth(t *testing.T) {
	s := types.StringValue
	null := types.StringNull()
	cases := map[string]struct {
		blocks []registryAuthModel
		want   string // a summary, or "" for valid
	}{
		"password":      {[]registryAuthModel{{Address: s("r.example.com"), Username: s("u"), Password: s("p"), ConfigJSON: null}}, ""},
		"config_json":   {[]registryAuthModel{{Address: s("docker.io"), Username: null, Password: null, ConfigJSON: s(`{"auths":{}}`)}}, ""},
		"unknown":       {[]registryAuthModel{{Address: s("r"), Username: s("u"), Password: types.StringUnknown(), ConfigJSON: null}}, ""},
		"no password":   {[]registryAuthModel{{Address: s("r.example.com"), Username: s("u"), Password: null, ConfigJSON: null}}, "Registry credentials incomplete"},
		"both":          {[]registryAuthModel{{Address: s("r"), Username: s("u"), Password: s("p"), ConfigJSON: s("{}")}}, "Two kinds of credentials"},
		"bad json":      {[]registryAuthModel{{Address: s("r"), Username: null, Password: null, ConfigJSON: s("{nope")}}, "config_json is not JSON"},
		"empty address": {[]registryAuthModel{{Address: s(""), Username: s("u"), Password: s("p"), ConfigJSON: null}}, "Registry address is empty"},
		"docker hub twice": {[]registryAuthModel{
			{Address: s("docker.io"), Username: s("u"), Password: s("p"), ConfigJSON: null},
			{Address: s("https://index.docker.io/v1/"), Username: s("u"), Password: s("p"), ConfigJSON: null},
		}, "Registry declared twice"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			diags := validateRegistryAuth(tc.blocks)
			if tc.want == "" {
				if diags.HasError() {
					t.Fatalf("want valid, got %v", diags)
				}
				return
			}
			if !diags.HasError() || !strings.Contains(diags.Errors()[0].Summary(), tc.want) {
				t.Fatalf("want %q, got %v", tc.want, diags)
			}
			for _, d := range diags {
				if strings.Contains(d.Detail(), "p\"") {
					t.Fatalf("a diagnostic quotes a password: %v", d)
				}
			}
		})
	}
}
