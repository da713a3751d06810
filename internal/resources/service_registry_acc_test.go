package resources_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
)

// registryProvider configures the provider with credentials for reg; the
// password comes from a sensitive variable (TF_VAR_registry_password), as
// it would in real use, so that the configuration text holds none.
func registryProvider(reg *acctest.Registry) string {
	return fmt.Sprintf(`
variable "registry_password" {
  type      = string
  sensitive = true
}

provider "stateful" {
  registry_auth {
    address  = %q
    username = %q
    password = var.registry_password
  }
}
`, reg.Address, reg.Username)
}

// noCredentials fails when a credential appears in a plan.
type noCredentials struct{ secrets []string }

func (c noCredentials) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	// What the provider plans; the plan's configuration and variables
	// sections are Terraform's copy of what the user wrote.
	raw, err := json.Marshal([]any{req.Plan.PlannedValues, req.Plan.ResourceChanges, req.Plan.PriorState, req.Plan.OutputChanges})
	if err != nil {
		resp.Error = err
		return
	}
	resp.Error = c.find("plan JSON", string(raw))
}

func (c noCredentials) find(where, text string) error {
	for _, s := range c.secrets {
		if i := strings.Index(text, s); i >= 0 {
			around := strings.ReplaceAll(text[max(i-300, 0):min(i+len(s)+100, len(text))], s, "<CREDENTIAL>")
			return fmt.Errorf("a credential is in the %s, here: %s", where, around)
		}
	}
	return nil
}

// TestAccServiceRegistryAuth pulls from a private registry with the
// provider's credentials, fails clearly with wrong ones, rolls out when
// the tag moves (pull_policy "always"), and keeps the password out of
// state, plan, logs and the containers.
func TestAccServiceRegistryAuth(t *testing.T) {
	name := acctest.Name(t, "reg")
	ctx := context.Background()
	reg := acctest.StartRegistry(t)
	ref := reg.Address + "/workload:v1"
	var v1Digest string
	if os.Getenv("TF_ACC") != "" {
		var err error
		if v1Digest, err = reg.Push(ctx, acctest.WorkloadImageV1, ref); err != nil {
			t.Fatal(err)
		}
		// Untag locally so that the service must pull.
		if err := acctest.Local().RemoveImageTag(ctx, ref); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = acctest.Local().RemoveImageTag(context.Background(), ref) })
	}
	logFile := filepath.Join(t.TempDir(), "terraform.log")
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_ACC_LOG_PATH", logFile)
	secrets := noCredentials{secrets: []string{reg.Password}}
	service := serviceConfig(name, ref, 1, `pull_policy = "always"`)
	replica := name + "-0"
	noSecretsAnywhere := func(s *terraform.State) error {
		raw, err := json.Marshal(s)
		if err != nil {
			return err
		}
		if err := secrets.find("state", string(raw)); err != nil {
			return err
		}
		byName, err := acctest.Replicas(name)
		if err != nil {
			return err
		}
		inspected, err := acctest.Local().InspectContainer(ctx, byName[replica].ID)
		if err != nil {
			return err
		}
		raw, err = json.Marshal(inspected)
		if err != nil {
			return err
		}
		return secrets.find("docker inspect", string(raw))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{
				// Wrong credentials fail at apply, naming the registry.
				PreConfig:   func() { t.Setenv("TF_VAR_registry_password", "wrong-password") },
				Config:      registryProvider(reg) + service,
				ExpectError: regexp.MustCompile(`(?s)pull from registry\s+` + regexp.QuoteMeta(reg.Address) + `\s+as\s+"tester"`),
			},
			{
				PreConfig: func() { t.Setenv("TF_VAR_registry_password", reg.Password) },
				Config:    registryProvider(reg) + service,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{secrets},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan(), secrets},
				},
				Check: resource.ComposeTestCheckFunc(checkReplicas(name, "v1", nil, replica), noSecretsAnywhere),
			},
			{
				// The tag moves to v2 in the registry: the plan asks the
				// registry and rolls the replica out.
				PreConfig: func() {
					if _, err := reg.Push(ctx, acctest.WorkloadImageV2, ref); err != nil {
						t.Fatal(err)
					}
					if err := acctest.Local().RemoveImageTag(ctx, ref); err != nil {
						t.Fatal(err)
					}
				},
				Config: registryProvider(reg) + service,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
						acctest.ExpectRollout(address, replica+": replace (image digest changed)"),
						secrets,
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeTestCheckFunc(checkReplicas(name, "v2", nil, replica), noSecretsAnywhere),
			},
			{
				// The registry cannot be asked: the plan says nothing (and
				// stays empty) rather than guess.
				PreConfig: reg.Stop,
				Config:    registryProvider(reg) + service,
				PlanOnly:  true,
			},
			{
				// A digest pins v1 again, though the tag names v2: a pull
				// by digest, with the credentials.
				PreConfig: func() {
					if err := reg.Start(); err != nil {
						t.Fatal(err)
					}
				},
				Config: registryProvider(reg) + serviceConfig(name, reg.Address+"/workload@"+v1Digest, 1, `pull_policy = "always"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						acctest.ExpectRollout(address, replica+": replace (image)"),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeTestCheckFunc(checkReplicas(name, "v1", nil, replica), noSecretsAnywhere),
			},
		},
	})
	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("read the trace log: %v", err)
	}
	// The provider's own progress line proves its logs are in the file.
	if !strings.Contains(string(logs), replica+": replaced") {
		t.Fatalf("the trace log holds no provider lines about %s", replica)
	}
	if err := secrets.find("TF_LOG=trace log", string(logs)); err != nil {
		t.Fatal(err)
	}
}
