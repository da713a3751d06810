package provider_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
)

// The default host (no host block) is found as the docker CLI finds its
// daemon. These tests pass DOCKER_* and STATEFUL_* to a Terraform CLI
// subprocess only, so that the other tests' default host, in this
// process, is never redirected.

// defaultHostConfig is a service on the default host, and the endpoint the
// provider reached it at.
func defaultHostConfig(name string) string {
	return fmt.Sprintf(`
terraform {
  required_providers {
    stateful = { source = "statefulhq/stateful" }
  }
}

provider "stateful" {}

resource "stateful_service" "test" {
  name              = %q
  image             = %q
  replicas          = 1
  stop_grace_period = "1s"
}

data "stateful_host" "this" {}

output "endpoint" {
  value = data.stateful_host.this.endpoint
}
`, name, acctest.WorkloadImageV1)
}

// runWithEnv runs terraform with env on top of an environment that has no
// Docker, provider or agent settings of its own.
func runWithEnv(t *testing.T, cli *acctest.CLI, env []string, args ...string) string {
	t.Helper()
	cmd := cli.Command(args...)
	clean := make([]string, 0, len(cmd.Env)+len(env))
	for _, kv := range cmd.Env {
		if strings.HasPrefix(kv, "DOCKER_") || strings.HasPrefix(kv, "STATEFUL_") || strings.HasPrefix(kv, "SSH_AUTH_SOCK=") {
			continue
		}
		clean = append(clean, kv)
	}
	clean = append(clean, env...)
	cmd.Env = clean
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("terraform %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func skipUnlessAcc(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: runs with TF_ACC=1, as make test sets it, like every resource.Test")
	}
}

// A context made by `docker context create` in a DOCKER_CONFIG of its own,
// named by DOCKER_CONTEXT, sends the default host to the TLS daemon, with
// the context's TLS material.
func TestAccProvider_defaultHostDockerContext(t *testing.T) {
	skipUnlessAcc(t)
	t.Parallel()
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatal("the docker CLI is needed to create a context as users do: install it (scripts/test-deps)")
	}
	name := acctest.Name(t, "dctx")
	configDir, pemDir := t.TempDir(), t.TempDir()
	for file, content := range map[string]string{"ca.pem": acctest.TLS.CAPEM, "cert.pem": acctest.TLS.CertPEM, "key.pem": acctest.TLS.KeyPEM} {
		if err := os.WriteFile(filepath.Join(pemDir, file), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	create := exec.Command(docker, "context", "create", "stateful-tls", "--docker", fmt.Sprintf("host=%s,ca=%s,cert=%s,key=%s",
		acctest.TLS.Endpoint, filepath.Join(pemDir, "ca.pem"), filepath.Join(pemDir, "cert.pem"), filepath.Join(pemDir, "key.pem")))
	create.Env = append(os.Environ(), "DOCKER_CONFIG="+configDir)
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("docker context create: %v\n%s", err, out)
	}
	// The PEM files are gone: the provider reads the context store's copies.
	if err := os.RemoveAll(pemDir); err != nil {
		t.Fatal(err)
	}

	cli := acctest.NewCLI(t, acctest.BuildProvider(t, ""))
	env := []string{"DOCKER_CONFIG=" + configDir, "DOCKER_CONTEXT=stateful-tls"}
	cli.Write("main.tf", defaultHostConfig(name))
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			runWithEnv(t, cli, env, "destroy", "-auto-approve")
		}
	})
	runWithEnv(t, cli, env, "apply", "-auto-approve")

	observed, err := acctest.TLS.Host.ListReplicas(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if len(observed) != 1 {
		t.Fatalf("%d replicas of %s on the TLS daemon, want 1", len(observed), name)
	}
	if local, err := acctest.Replicas(name); err != nil || len(local) != 0 {
		t.Fatalf("the local daemon has %d replicas of %s (%v); want none", len(local), name, err)
	}
	endpoint := runWithEnv(t, cli, env, "output", "-raw", "endpoint")
	if want := acctest.TLS.Endpoint + ` (docker context "stateful-tls", from DOCKER_CONTEXT)`; endpoint != want {
		t.Fatalf("the default host's endpoint is %q, want %q", endpoint, want)
	}

	runWithEnv(t, cli, env, "destroy", "-auto-approve")
	destroyed = true
	if observed, err := acctest.TLS.Host.ListReplicas(context.Background(), name); err != nil || len(observed) != 0 {
		t.Fatalf("after destroy, %d replicas on the TLS daemon (%v), want none", len(observed), err)
	}

	// A context that does not exist is an error naming it, never the
	// local socket instead.
	cmd := cli.Command("plan")
	cmd.Env = append(cmd.Env, "DOCKER_CONFIG="+configDir, "DOCKER_CONTEXT=nope")
	out, err := cmd.CombinedOutput()
	if want := phrase(`docker context "nope" (from DOCKER_CONTEXT): no such context`); err == nil || !want.Match(out) {
		t.Fatalf("plan with an unknown context: %v; want a failure matching %s:\n%s", err, want, out)
	}
}

// DOCKER_HOST=ssh://user@host:port reaches the daemon through the
// provider's own SSH transport, with the key and known_hosts from
// STATEFUL_SSH_PRIVATE_KEY and STATEFUL_SSH_KNOWN_HOSTS.
func TestAccProvider_defaultHostSSHFromEnv(t *testing.T) {
	skipUnlessAcc(t)
	t.Parallel()
	name := acctest.Name(t, "dssh")
	cli := acctest.NewCLI(t, acctest.BuildProvider(t, ""))
	env := []string{
		"DOCKER_HOST=" + acctest.SSH.Endpoint,
		"STATEFUL_SSH_PRIVATE_KEY=" + acctest.SSH.PrivateKey,
		"STATEFUL_SSH_KNOWN_HOSTS=" + acctest.SSH.KnownHosts,
	}
	cli.Write("main.tf", defaultHostConfig(name))
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			runWithEnv(t, cli, env, "destroy", "-auto-approve")
		}
	})
	runWithEnv(t, cli, env, "apply", "-auto-approve")

	replicas, err := acctest.Replicas(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(replicas) != 1 {
		t.Fatalf("%d replicas of %s, want 1", len(replicas), name)
	}
	endpoint := runWithEnv(t, cli, env, "output", "-raw", "endpoint")
	if want := acctest.SSH.Endpoint + " (from DOCKER_HOST)"; endpoint != want {
		t.Fatalf("the default host's endpoint is %q, want %q", endpoint, want)
	}

	runWithEnv(t, cli, env, "destroy", "-auto-approve")
	destroyed = true
	if replicas, err := acctest.Replicas(name); err != nil || len(replicas) != 0 {
		t.Fatalf("after destroy, %d replicas (%v), want none", len(replicas), err)
	}
}
