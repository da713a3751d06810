package resources_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// noEntry checks that nothing at all (no directory, no file) is at a path
// below the secrets root: the daemon runs on this machine.
func noEntry(rel ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		p := filepath.Join(append([]string{spec.SecretsRoot}, rel...)...)
		info, err := os.Lstat(p)
		switch {
		case err == nil:
			return fmt.Errorf("%s is left behind (%s)", p, info.Mode())
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
		return nil
	}
}

// secretDelivered checks, through the replica, the secret file it sees.
func secretDelivered(service string, ordinal int, secret, value string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		address, err := acctest.Address(service, spec.ReplicaName(service, ordinal))
		if err != nil {
			return err
		}
		files, err := acctest.FilesOf(address, "")
		if err != nil {
			return err
		}
		f, ok := files[secret]
		switch {
		case !ok:
			return fmt.Errorf("%s has no secret %s (it has %v)", spec.ReplicaName(service, ordinal), secret, files)
		case f.SHA256 != sha(value) || f.Mode != "0400":
			return fmt.Errorf("%s sees %s with mode %s and other bytes than delivered", spec.ReplicaName(service, ordinal), secret, f.Mode)
		}
		return nil
	}
}

// Issue 13, item 1: staging secrets leaves nothing behind, and a service
// re-created under its name (also over the empty file an earlier release
// left where its directory was) gets its secrets.
func TestAccServiceFaults_secretsLeaveNothingBehind(t *testing.T) {
	name := acctest.Name(t, "sfault")
	dir := scratch(t)
	const value = "faults-secret-Pw81xQ"
	secretFile := filepath.Join(dir, "password")
	if err := os.WriteFile(secretFile, []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
	config := func(replicas int) string {
		return serviceConfig(name, acctest.WorkloadImageV1, replicas, fmt.Sprintf(`
  secret {
    name      = "password"
    from_file = %q
  }`, secretFile))
	}
	r := func(i int) string { return spec.ReplicaName(name, i) }
	delivered := func(ordinals ...int) resource.TestCheckFunc {
		var checks []resource.TestCheckFunc
		for _, o := range ordinals {
			checks = append(checks, secretDelivered(name, o, "password", value))
		}
		return resource.ComposeAggregateTestCheckFunc(checks...)
	}
	staged := func(rel ...string) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			if noEntry(rel...)(s) == nil {
				return fmt.Errorf("%s is not staged under %s", filepath.Join(rel...), spec.SecretsRoot)
			}
			return nil
		}
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             resource.ComposeAggregateTestCheckFunc(acctest.CheckGone(name), noEntry(name)),
		Steps: []resource.TestStep{
			{
				Config: config(2),
				Check:  resource.ComposeAggregateTestCheckFunc(delivered(0, 1), staged(name, r(1))),
			},
			{
				// Scale-down wipes the removed replica's staging directory.
				Config:           config(1),
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check:            resource.ComposeAggregateTestCheckFunc(noEntry(name, r(1)), staged(name, r(0)), delivered(0)),
			},
			{
				// Destroy leaves no entry of the service.
				Config: noResources,
				Check:  resource.ComposeAggregateTestCheckFunc(acctest.CheckGone(name), noEntry(name)),
			},
			{
				// The same service again, under the same name.
				Config:           config(2),
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check:            delivered(0, 1),
			},
			{
				Config: noResources,
				Check:  noEntry(name),
			},
			{
				// What the previous release left at destroy: an empty file
				// where the service's directory was.
				PreConfig: func() {
					if err := os.WriteFile(filepath.Join(spec.SecretsRoot, name), nil, 0o600); err != nil {
						t.Fatal(err)
					}
				},
				Config: config(2),
				Check:  delivered(0, 1),
			},
		},
	})
}

// expectRolloutLine checks that the planned rollout is exactly one line
// (after its rollout number, when the rollout has one).
func expectRolloutLine(line string) plancheck.PlanCheck {
	return plancheck.ExpectKnownValue(address, tfjsonpath.New("rollout"), knownvalue.ListExact([]knownvalue.Check{
		knownvalue.StringRegexp(regexp.MustCompile(`^(#\d+ )?` + regexp.QuoteMeta(line) + `$`)),
	}))
}

// Issue 13, item 4: a stopped replica whose host directory was removed
// outside Terraform starts again on a new, empty directory, and the plan
// says so.
func TestAccServiceFaults_missingHostDirectoryOfStoppedReplica(t *testing.T) {
	name := acctest.Name(t, "dfault")
	base := scratch(t)
	config := serviceConfig(name, acctest.WorkloadImageV1, 2, strategies[0].block(base))
	r := func(i int) string { return spec.ReplicaName(name, i) }
	removed := filepath.Join(base, r(1))
	ids := containerIDs{}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				Config:           config,
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check:            resource.ComposeAggregateTestCheckFunc(putKey(name, 0, "k", "zero"), putKey(name, 1, "k", "one"), ids.record(name)),
			},
			{
				// Outside Terraform: replica 1 stops and its directory goes.
				PreConfig: func() {
					if err := acctest.Local().StopContainer(context.Background(), ids[r(1)], 2*time.Second); err != nil {
						t.Fatal(err)
					}
					if err := os.RemoveAll(removed); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
						expectRolloutLine(r(1) + ": start (stopped outside Terraform; host directory " + removed + " is missing: starts on an empty directory)"),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					ids.unchanged(name, r(0), r(1)), // started again, not replaced
					expectKey(name, 1, "k", ""),     // on an empty directory
					expectKey(name, 0, "k", "zero"),
					func(*terraform.State) error {
						info, err := os.Stat(removed)
						if err != nil {
							return err
						}
						if !info.IsDir() || info.Mode().Perm() != 0o750 {
							return fmt.Errorf("%s re-created as %s, want a 0750 directory", removed, info.Mode())
						}
						return nil
					},
				),
			},
			{
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            resource.ComposeAggregateTestCheckFunc(expectKey(name, 0, "k", "zero"), putKey(name, 1, "k", "new"), expectKey(name, 1, "k", "new")),
			},
		},
	})
}
