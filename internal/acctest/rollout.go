package acctest

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// ExpectRollout checks a planned rollout: exactly lines, in order, each
// after its rollout number ("#3 db-1: replace (image)").
func ExpectRollout(address string, lines ...string) plancheck.PlanCheck {
	checks := make([]knownvalue.Check, len(lines))
	for i, l := range lines {
		checks[i] = knownvalue.StringRegexp(regexp.MustCompile(`^#\d+ ` + regexp.QuoteMeta(l) + `$`))
	}
	return plancheck.ExpectKnownValue(address, tfjsonpath.New("rollout"), knownvalue.ListExact(checks))
}

// ExpectRolloutShown checks that the plan has a rollout and that none of
// its lines equals a line of the prior state's rollout: Terraform would
// hide such a line as unchanged, and with it a replica apply touches.
func ExpectRolloutShown(address string) plancheck.PlanCheck { return rolloutShown{address} }

type rolloutShown struct{ address string }

func (c rolloutShown) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != c.address || rc.Change == nil {
			continue
		}
		prior, planned := rolloutOf(rc.Change.Before), rolloutOf(rc.Change.After)
		if len(planned) == 0 {
			resp.Error = fmt.Errorf("%s: the plan has no rollout", c.address)
			return
		}
		for _, line := range planned {
			if slices.Contains(prior, line) {
				resp.Error = fmt.Errorf("%s: rollout line %q equals one of the prior rollout %q: terraform plan hides it", c.address, line, prior)
				return
			}
		}
		return
	}
	resp.Error = fmt.Errorf("%s is not in the plan", c.address)
}

func rolloutOf(values any) []string {
	object, _ := values.(map[string]any)
	list, _ := object["rollout"].([]any)
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
