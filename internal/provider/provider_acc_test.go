package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
)

func TestMain(m *testing.M) { acctest.Main(m, acctest.StartSSHServer, acctest.StartTLSDaemon) }

func withProvider(provider, service string) string {
	return withService(provider, service, acctest.WorkloadImageV1, 1)
}

// withService is a provider configuration followed by a service using it.
func withService(provider, service, image string, replicas int) string {
	return provider + fmt.Sprintf(`
resource "stateful_service" "test" {
  name              = %q
  image             = %q
  replicas          = %d
  stop_grace_period = "1s"
}
`, service, image, replicas)
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
				// An address on the service network: it runs.
				statecheck.ExpectKnownValue("stateful_service.test", tfjsonpath.New("instances").AtSliceIndex(0).AtMapKey("address"), knownvalue.StringRegexp(regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`))),
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
}`, `the scheme must be unix://, tcp:// or ssh://`},
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

func sshProvider(knownHosts string) string {
	return fmt.Sprintf(`
provider "stateful" {
  host {
    name     = "viassh"
    endpoint = %q
    ssh {
      private_key = <<-EOT
%s
EOT
      known_hosts = %q
    }
  }
}
`, acctest.SSH.Endpoint, strings.TrimSpace(acctest.SSH.PrivateKey), knownHosts)
}

// The provider reaches the daemon's socket through its own SSH connection:
// a full create, update and destroy, with no ssh or docker binary involved.
func TestAccProvider_sshTransport(t *testing.T) {
	name := acctest.Name(t, "ssh")
	config := func(image string) string {
		return withService(sshProvider(acctest.SSH.KnownHosts), name, image, 2)
	}
	version := func(want string) func(*terraform.State) error {
		return func(*terraform.State) error {
			replicas, err := acctest.Replicas(name)
			if err != nil {
				return err
			}
			if len(replicas) != 2 {
				return fmt.Errorf("%d replicas, want 2", len(replicas))
			}
			for n, r := range replicas {
				id, err := acctest.IdentityOf(r.Address)
				if err != nil {
					return err
				}
				if id.Version != want || id.Hostname != n {
					return fmt.Errorf("%s (at %s) reports itself as %s running %s, want %s", n, r.Address, id.Hostname, id.Version, want)
				}
			}
			return nil
		}
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				Config: config(acctest.WorkloadImageV1),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("stateful_service.test", tfjsonpath.New("instances").AtSliceIndex(1).AtMapKey("host"), knownvalue.StringExact("viassh")),
				},
				Check: version("v1"),
			},
			{Config: config(acctest.WorkloadImageV2), Check: version("v2")},
		},
	})
}

func TestAccProvider_sshWrongHostKeyIsRefused(t *testing.T) {
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{{
			Config: sshProvider(acctest.SSH.WrongKnownHosts) + `
data "stateful_host" "this" {}
`,
			ExpectError: phrase(`host key is not the one expected`),
		}},
	})
}

func tlsProvider(ca string) string {
	return "provider \"stateful\" {" + acctest.TLS.HostBlock("secure", ca, "") + "}\n"
}

// A second daemon that requires TLS client certificates: a full create,
// update and destroy with PEM contents only, checked through that daemon.
func TestAccProvider_tlsTransport(t *testing.T) {
	name := acctest.Name(t, "tls")
	config := func(image string) string {
		return withService(tlsProvider(acctest.TLS.CAPEM), name, image, 2)
	}
	onSecondDaemon := func(want string, count int) func(*terraform.State) error {
		return func(*terraform.State) error {
			observed, err := acctest.TLS.Host.ListReplicas(context.Background(), name)
			if err != nil {
				return err
			}
			if len(observed) != count {
				return fmt.Errorf("%d replicas on the TLS daemon, want %d", len(observed), count)
			}
			for _, o := range observed {
				id, err := acctest.IdentityOf(o.Address)
				if err != nil {
					return err
				}
				if id.Version != want || id.Hostname != o.Name {
					return fmt.Errorf("%s reports %s %s, want version %s", o.Name, id.Hostname, id.Version, want)
				}
			}
			local, err := acctest.Replicas(name)
			if err != nil {
				return err
			}
			if len(local) != 0 {
				return fmt.Errorf("the local daemon has %d replicas of %s; want none", len(local), name)
			}
			return nil
		}
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             onSecondDaemon("", 0),
		Steps: []resource.TestStep{
			{
				Config:           config(acctest.WorkloadImageV1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            onSecondDaemon("v1", 2),
			},
			{Config: config(acctest.WorkloadImageV2), Check: onSecondDaemon("v2", 2)},
		},
	})
}

func TestAccProvider_tlsUnknownCAIsRefused(t *testing.T) {
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      tlsProvider(acctest.TLS.OtherCAPEM) + `data "stateful_host" "this" {}`,
			ExpectError: phrase(`TLS failed: check the CA`),
		}},
	})
}
