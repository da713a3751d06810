package provider_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
)

// The SSH tests below that need an agent or a home directory run the
// provider through the Terraform CLI with an environment of their own:
// SSH_AUTH_SOCK and HOME are process-wide, and the in-process provider
// shares the test binary's.

const requireStateful = `
terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}
`

// sshCLI is a Terraform working directory whose runs see env.
type sshCLI struct {
	t   *testing.T
	cli *acctest.CLI
	env []string
}

// requireAcc skips t without TF_ACC, before it needs the test sshd.
func requireAcc(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: runs with TF_ACC=1, as make test sets it, like every resource.Test")
	}
}

func newSSHCLI(t *testing.T, env ...string) *sshCLI {
	t.Helper()
	return &sshCLI{t: t, cli: acctest.NewCLI(t, acctest.BuildProvider(t, "")), env: env}
}

func (c *sshCLI) run(env []string, args ...string) (string, int) {
	c.t.Helper()
	cmd := c.cli.Command(args...)
	cmd.Env = append(append(cmd.Env, c.env...), env...)
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		c.t.Fatalf("terraform %s: %v", strings.Join(args, " "), err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// mustFail runs terraform and fails the test unless it fails saying want.
func (c *sshCLI) mustFail(want *regexp.Regexp, env []string, args ...string) {
	c.t.Helper()
	out, code := c.run(env, args...)
	if code == 0 || !want.MatchString(out) {
		c.t.Fatalf("terraform %s exited %d; want a failure matching %q:\n%s", strings.Join(args, " "), code, want, out)
	}
}

func sshAddress() string { return strings.TrimPrefix(acctest.SSH.Endpoint, "ssh://root@") }

// With no ssh block, as with docker -H ssh://, the key comes from the
// ssh-agent at SSH_AUTH_SOCK and the host key is verified against
// ~/.ssh/known_hosts: a full create and destroy.
func TestAccProvider_sshAgentAndUsersKnownHosts(t *testing.T) {
	requireAcc(t)
	c := newSSHCLI(t,
		"SSH_AUTH_SOCK="+acctest.StartSSHAgent(t, acctest.SSH.PrivateKey),
		"HOME="+acctest.SSHHome(t, acctest.SSH.KnownHosts))
	t.Parallel()
	name := acctest.Name(t, "agent")
	c.cli.Write("main.tf", requireStateful+withProvider(fmt.Sprintf(`
provider "stateful" {
  host {
    name     = "viaagent"
    endpoint = %q
  }
}
`, acctest.SSH.Endpoint), name))

	// Neither a key nor an agent: the plan says how to give one.
	c.mustFail(phrase("give ssh.private_key, or run an ssh-agent holding the key and set SSH_AUTH_SOCK"), []string{"SSH_AUTH_SOCK="}, "plan")

	if out, code := c.run(nil, "apply", "-auto-approve"); code != 0 {
		t.Fatalf("terraform apply with the agent exited %d:\n%s", code, out)
	}
	t.Cleanup(func() {
		if out, code := c.run(nil, "destroy", "-auto-approve"); code != 0 {
			t.Errorf("terraform destroy exited %d:\n%s", code, out)
		}
	})
	replicas, err := acctest.Replicas(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(replicas) != 1 {
		t.Fatalf("%d replicas of %s run, want 1", len(replicas), name)
	}
}

// A key in the ssh block and no host key in it: ~/.ssh/known_hosts decides,
// and a wrong key there is refused; without that file the plan fails.
func TestAccProvider_sshWrongKeyInUsersKnownHostsIsRefused(t *testing.T) {
	requireAcc(t)
	c := newSSHCLI(t, "SSH_AUTH_SOCK=", "HOME="+acctest.SSHHome(t, acctest.SSH.WrongKnownHosts))
	t.Parallel()
	c.cli.Write("main.tf", requireStateful+fmt.Sprintf(`
provider "stateful" {
  host {
    name     = "viassh"
    endpoint = %q
    ssh {
      private_key = <<-EOT
%s
EOT
    }
  }
}

data "stateful_host" "this" {}
`, acctest.SSH.Endpoint, strings.TrimSpace(acctest.SSH.PrivateKey)))

	c.mustFail(phrase("host key is not the one expected"), nil, "plan")
	c.mustFail(phrase("no way to verify the host key of "+sshAddress()+": give ssh.known_hosts or ssh.host_key"), []string{"HOME=" + t.TempDir()}, "plan")
}

func jumpProvider(jumpKnownHosts string) string {
	key := strings.TrimSpace(acctest.SSH.PrivateKey)
	return fmt.Sprintf(`
provider "stateful" {
  host {
    name     = "viajump"
    endpoint = %q
    ssh {
      private_key = <<-EOT
%s
EOT
      known_hosts = %q
      jump {
        address     = %q
        private_key = <<-EOT
%s
EOT
        known_hosts = %q
      }
    }
  }
}

data "stateful_host" "this" {}
`, acctest.SSH.Endpoint, key, acctest.SSH.KnownHosts, sshAddress(), key, jumpKnownHosts)
}

// The test sshd is both the bastion and the host: the provider connects to
// it, and through it (direct-tcpip) to itself, verifying both host keys.
func TestAccProvider_sshJumpHost(t *testing.T) {
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{{
			Config: jumpProvider(acctest.SSH.KnownHosts),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("data.stateful_host.this", "name", "viajump"),
				resource.TestMatchResourceAttr("data.stateful_host.this", "engine_version", regexp.MustCompile(`^\d+\.`)),
			),
		}},
	})
}

func TestAccProvider_sshJumpHostWrongHostKeyIsRefused(t *testing.T) {
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      jumpProvider(acctest.SSH.WrongKnownHosts),
			ExpectError: regexp.MustCompile(`(?s)ssh\s+jump\s+host\s+.*key\s+mismatch.*host\s+key\s+is\s+not\s+the\s+one\s+expected`),
		}},
	})
}
