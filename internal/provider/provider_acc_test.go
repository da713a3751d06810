package provider_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
)

func TestMain(m *testing.M) { acctest.Main(m) }

func withProvider(provider, service string) string {
	return provider + fmt.Sprintf(`
resource "stateful_service" "test" {
  name              = %q
  image             = %q
  replicas          = 1
  stop_grace_period = "1s"
}
`, service, acctest.WorkloadImageV1)
}

// phrase matches words however Terraform wraps its lines.
func phrase(s string) *regexp.Regexp {
	words := strings.Fields(s)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(words, `\s+`))
}

func TestAccProvider_namedHostBlock(t *testing.T) {
	name := acctest.Name(t, "host")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{{
			Config: withProvider(`
provider "stateful" {
  host {
    name     = "local"
    endpoint = "unix:///var/run/docker.sock"
  }
}
`, name),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("stateful_service.test", tfjsonpath.New("instances").AtSliceIndex(0).AtMapKey("host"), knownvalue.StringExact("local")),
				statecheck.ExpectKnownValue("stateful_service.test", tfjsonpath.New("instances").AtSliceIndex(0).AtMapKey("state"), knownvalue.StringExact("running")),
			},
		}},
	})
}

func TestAccProvider_unreachableHostIsNamed(t *testing.T) {
	cases := map[string]struct {
		endpoint string
		want     string
	}{
		"missing socket":     {"unix:///nonexistent/docker.sock", `docker host "ghost" at unix:///nonexistent/docker.sock: cannot reach the Docker daemon`},
		"connection refused": {"tcp://127.0.0.1:1", `docker host "ghost" at tcp://127.0.0.1:1: cannot reach the Docker daemon`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.ProviderFactories,
				Steps: []resource.TestStep{{
					Config: withProvider(fmt.Sprintf(`
provider "stateful" {
  host {
    name     = "ghost"
    endpoint = %q
  }
}
`, tc.endpoint), acctest.Name(t, "ghost")),
					ExpectError: phrase(tc.want),
				}},
			})
		})
	}
}

func TestAccProvider_invalidConfiguration(t *testing.T) {
	cases := map[string]struct {
		provider string
		want     string
	}{
		"duplicate names": {`
provider "stateful" {
  host {
    name     = "a"
    endpoint = "unix:///var/run/docker.sock"
  }
  host {
    name     = "a"
    endpoint = "tcp://127.0.0.1:2376"
  }
}`, `Duplicate host name`},
		"bad scheme": {`
provider "stateful" {
  host {
    name     = "a"
    endpoint = "http://127.0.0.1:2375"
  }
}`, `the scheme must be unix:// or tcp://`},
		"tcp without port": {`
provider "stateful" {
  host {
    name     = "a"
    endpoint = "tcp://10.0.0.2"
  }
}`, `needs a host and a port`},
		"half a client certificate": {`
provider "stateful" {
  host {
    name     = "a"
    endpoint = "tcp://127.0.0.1:2376"
    tls {
      cert_pem = "x"
    }
  }
}`, `Incomplete TLS client certificate`},
		"tls on a unix socket": {`
provider "stateful" {
  host {
    name     = "a"
    endpoint = "unix:///var/run/docker.sock"
    tls {}
  }
}`, `TLS on a unix socket`},
		"ca that is not PEM": {`
provider "stateful" {
  host {
    name     = "a"
    endpoint = "tcp://127.0.0.1:2376"
    tls {
      ca_pem = "not a certificate"
    }
  }
}`, `tls.ca_pem holds no PEM certificate`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      withProvider(tc.provider, "never-created"),
					PlanOnly:    true,
					ExpectError: phrase(tc.want),
				}},
			})
		})
	}
}
