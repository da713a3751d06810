package resources_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// secretsConfig is a 2-replica service with a write-only secret fed by an
// ephemeral variable (TF_VAR_db_password), one from the environment, one
// from a file into another directory, a templated config file and
// templated env.
func secretsConfig(name string, woVersion int, secretFile string) string {
	return `
variable "db_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
` + serviceConfig(name, acctest.WorkloadImageV1, 2, fmt.Sprintf(`
  env = {
    SELF  = "{{.Name}}"
    PEERS = "{{.Replicas}} replicas of {{.Service}}"
  }

  secret {
    name             = "db_password"
    value_wo         = var.db_password
    value_wo_version = %d
  }
  secret {
    name     = "api_key"
    from_env = "STATEFUL_ACC_API_KEY"
  }
  secret {
    name      = "tls.key"
    target    = "/etc/certs"
    from_file = %q
    mode      = "0440"
    uid       = 1000
    gid       = 1001
  }

  file {
    target  = "/etc/app/app.conf"
    content = "member={{.Name}} ordinal={{.Ordinal}}\n"
  }
`, woVersion, secretFile))
}

// checkSecrets verifies what each replica sees: secret files with the
// expected bytes (by digest), modes and owners; the config file and env
// rendered for that replica.
func checkSecrets(service string, want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		replicas, err := acctest.Replicas(service)
		if err != nil {
			return err
		}
		for ordinal := range 2 {
			name := spec.ReplicaName(service, ordinal)
			address := replicas[name].Address
			secrets, err := acctest.FilesOf(address, "")
			if err != nil {
				return err
			}
			certs, err := acctest.FilesOf(address, "/etc/certs")
			if err != nil {
				return err
			}
			checks := []struct {
				what      string
				got, want any
			}{
				{"db_password sha256", secrets["db_password"].SHA256, sha(want["db_password"])},
				{"db_password mode", secrets["db_password"].Mode, "0400"},
				{"api_key sha256", secrets["api_key"].SHA256, sha(want["api_key"])},
				{"tls.key sha256", certs["tls.key"].SHA256, sha(want["tls.key"])},
				{"tls.key mode", certs["tls.key"].Mode, "0440"},
				{"tls.key owner", fmt.Sprint(certs["tls.key"].UID, ":", certs["tls.key"].GID), "1000:1001"},
				{"secret files", len(secrets), 2},
			}
			conf, err := acctest.FilesOf(address, "/etc/app")
			if err != nil {
				return err
			}
			got := ""
			if c := conf["app.conf"].Content; c != nil {
				got = *c
			}
			checks = append(checks, struct {
				what      string
				got, want any
			}{"app.conf", got, fmt.Sprintf("member=%s ordinal=%d\n", name, ordinal)})
			env, err := acctest.EnvOf(address)
			if err != nil {
				return err
			}
			checks = append(checks,
				struct {
					what      string
					got, want any
				}{"env SELF", env["SELF"], name},
				struct {
					what      string
					got, want any
				}{"env PEERS", env["PEERS"], "2 replicas of " + service},
			)
			for _, c := range checks {
				if c.got != c.want {
					return fmt.Errorf("%s %s: got %v, want %v", name, c.what, c.got, c.want)
				}
			}
		}
		return nil
	}
}

// leakFree fails if any of the secret values shows up in the container's
// docker inspect (configuration, env, labels, mounts).
func leakFree(service string, secrets ...string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		replicas, err := acctest.Replicas(service)
		if err != nil {
			return err
		}
		for name, r := range replicas {
			info, err := acctest.Local().InspectContainer(context.Background(), r.ID)
			if err != nil {
				return err
			}
			raw, _ := json.Marshal(info)
			for _, secret := range secrets {
				if strings.Contains(string(raw), secret) {
					return fmt.Errorf("docker inspect of %s contains a secret value", name)
				}
			}
		}
		for _, m := range s.Modules {
			for addr, res := range m.Resources {
				for k, v := range res.Primary.Attributes {
					for _, secret := range secrets {
						if strings.Contains(v, secret) {
							return fmt.Errorf("state %s.%s contains a secret value", addr, k)
						}
					}
				}
			}
		}
		return nil
	}
}

// planLeakFree fails if the plan (as terraform show -json renders it)
// contains any of the secret values.
type planLeakFree []string

func (p planLeakFree) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	raw, err := json.Marshal(req.Plan)
	if err != nil {
		resp.Error = err
		return
	}
	var sections map[string]json.RawMessage
	_ = json.Unmarshal(raw, &sections)
	for i, secret := range p {
		for section, body := range sections {
			if strings.Contains(string(body), secret) {
				resp.Error = fmt.Errorf("the plan JSON (%s) contains secret value #%d", section, i)
			}
		}
	}
}

func TestAccServiceSecrets_deliveredRotatedAndNeverLeaked(t *testing.T) {
	name := acctest.Name(t, "sec")
	dir := scratch(t)
	const (
		wo1    = "wo-first-Hq8PlT3w"
		wo2    = "wo-second-Vb61Kx0m"
		env1   = "env-first-Jr52NcQa"
		env2   = "env-second-Tz09WpLe"
		tlsKey = "-----BEGIN KEY----- file-Yd44MfGs"
	)
	secretFile := filepath.Join(dir, "tls.key")
	if err := os.WriteFile(secretFile, []byte(tlsKey), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "terraform.log")
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_ACC_LOG_PATH", logFile)
	t.Setenv("STATEFUL_ACC_API_KEY", env1)
	t.Setenv("TF_VAR_db_password", wo1)
	all := []string{wo1, wo2, env1, env2, "file-Yd44MfGs"}
	ids := containerIDs{}
	events := newEventLog(t, name)
	noLeaks := resource.ConfigPlanChecks{
		PreApply:             []plancheck.PlanCheck{planLeakFree(all)},
		PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan(), planLeakFree(all)},
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(acctest.CheckGone(name), func(*terraform.State) error {
			// Nothing staged is left: the service's directory was wiped.
			if info, err := os.Stat(filepath.Join(spec.SecretsRoot, name)); err == nil && info.IsDir() {
				return fmt.Errorf("staged secrets of %s remain under %s", name, spec.SecretsRoot)
			}
			return nil
		}),
		Steps: []resource.TestStep{
			{
				Config:           secretsConfig(name, 1, secretFile),
				ConfigPlanChecks: noLeaks,
				Check: resource.ComposeAggregateTestCheckFunc(
					checkSecrets(name, map[string]string{"db_password": wo1, "api_key": env1, "tls.key": tlsKey}),
					leakFree(name, all...),
					ids.record(name),
				),
			},
			{
				ResourceName:            address,
				ImportState:             true,
				ImportStateId:           name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "rollout", "secret.0.value_wo"},
			},
			{
				// Rotation: a new write-only value and version replace the
				// replicas in order, highest first.
				PreConfig: func() {
					events.start()
					_ = os.Setenv("TF_VAR_db_password", wo2)
				},
				Config: secretsConfig(name, 2, secretFile),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate), planLeakFree(all)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkSecrets(name, map[string]string{"db_password": wo2, "api_key": env1, "tls.key": tlsKey}),
					leakFree(name, all...),
					ids.replaced(name, spec.ReplicaName(name, 0), spec.ReplicaName(name, 1)),
					events.expect(name,
						"destroy "+spec.ReplicaName(name, 1), "create "+spec.ReplicaName(name, 1), "start "+spec.ReplicaName(name, 1),
						"destroy "+spec.ReplicaName(name, 0), "create "+spec.ReplicaName(name, 0), "start "+spec.ReplicaName(name, 0)),
				),
			},
			{
				// A value read at plan time changes: detected through its keyed
				// digest, and rolled out.
				PreConfig:        func() { _ = os.Setenv("STATEFUL_ACC_API_KEY", env2) },
				Config:           secretsConfig(name, 2, secretFile),
				ConfigPlanChecks: expectUpdate(),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkSecrets(name, map[string]string{"db_password": wo2, "api_key": env2, "tls.key": tlsKey}),
					leakFree(name, all...),
				),
			},
		},
	})
	raw, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("the TF_LOG=trace log was not written: %v", err)
	}
	if !strings.Contains(string(raw), "stateful_service") {
		t.Fatalf("the trace log (%d bytes) does not mention the resource: the leak check would prove nothing", len(raw))
	}
	for _, secret := range all {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the TF_LOG=trace log contains a secret value")
		}
	}
}

func TestAccServiceSecrets_invalidConfiguration(t *testing.T) {
	dir := scratch(t)
	secret := func(body string) string {
		return fmt.Sprintf("  secret {\n    name = \"s\"\n%s\n  }\n", body)
	}
	cases := map[string]struct {
		body string
		err  string
	}{
		"two secrets, one path": {secret(`    from_env = "HOME"`) + secret(`    from_env = "PATH"`), `both write /run/secrets/s`},
		"secret over a file":    {secret(`    from_env = "HOME"`) + "  file {\n    target  = \"/run/secrets/s\"\n    content = \"x\"\n  }\n", `both write /run/secrets/s`},
		"mode not octal":        {secret("    from_env = \"HOME\"\n    mode = \"0999\""), `not an octal permission`},
		"unreadable from_file":  {secret(`    from_file = "` + filepath.Join(dir, "missing") + `"`), `Secret source unreadable`},
		"unset from_env":        {secret(`    from_env = "STATEFUL_ACC_SURELY_UNSET"`), `STATEFUL_ACC_SURELY_UNSET, which is not set`},
		"two sources":           {secret("    from_env = \"HOME\"\n    value_wo = \"x\""), `Invalid Attribute Combination`},
		"no source":             {secret(""), `Invalid Attribute Combination`},
		"name with a slash":     {"  secret {\n    name     = \"a/b\"\n    from_env = \"HOME\"\n  }\n", `must be a plain file name`},
		"relative file target":  {"  file {\n    target  = \"etc/x\"\n    content = \"x\"\n  }\n", `clean absolute file path`},
		"broken env template":   {`  env = { A = "{{.Nme}}" }`, `cannot be rendered`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			planFails(t, serviceConfig("badsec", acctest.WorkloadImageV1, 1, tc.body), wrapped(tc.err))
		})
	}
}
