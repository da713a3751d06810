package resources_test

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
)

func TestAccHostDataSource(t *testing.T) {
	const ds = "data.stateful_host.this"
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: `data "stateful_host" "this" {}`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("name"), knownvalue.StringExact("default")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("os"), knownvalue.StringExact("linux")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("engine_version"), knownvalue.StringRegexp(regexp.MustCompile(`^\d+\.\d+\.\d+`))),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("api_version"), knownvalue.StringRegexp(regexp.MustCompile(`^1\.\d+$`))),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("volume_drivers"), knownvalue.ListPartial(map[int]knownvalue.Check{0: knownvalue.StringExact("local")})),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("network_drivers"), knownvalue.NotNull()),
				},
			},
			{
				Config:      `data "stateful_host" "this" { name = "elsewhere" }`,
				ExpectError: wrapped(`no host named "elsewhere" is configured`),
			},
		},
	})
}
