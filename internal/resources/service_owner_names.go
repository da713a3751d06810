package resources

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// planOwnerNames checks, at plan, the owners the service writes as names
// (host directories, secrets, config files) against its image on each host
// that launches replicas: a name the image lacks fails the plan at its
// attribute. A host without the image yet (pulled at apply) is left to
// apply, and so is every host when pull_policy is "always": the image there
// now may not be the one apply runs.
func planOwnerNames(ctx context.Context, hosts []*docker.Host, svc spec.Service) diag.Diagnostics {
	var diags diag.Diagnostics
	if svc.PullPolicy == spec.PullAlways {
		return diags
	}
	for _, err := range ownerNameErrors(ctx, hosts, svc, false) {
		if p, ok := attributePath(ctx, serviceSchema(ctx), err.Error()); ok {
			diags.AddAttributeError(p, "Owner not in the image", err.Error())
		} else {
			diags.AddError("Could not resolve owners", err.Error())
		}
	}
	return diags
}

// applyOwnerNames checks the owners written as names on each host that
// launches replicas, at apply, once the image is there and before any
// container is created.
func applyOwnerNames(ctx context.Context, hosts []*docker.Host, svc spec.Service) error {
	return errors.Join(ownerNameErrors(ctx, hosts, svc, true)...)
}

// ownerNameErrors resolves each owner written as a name on each host
// (reading the image's accounts once per host) and returns what fails,
// each starting with its attribute. Without the image, a host is skipped,
// or is an error when required.
func ownerNameErrors(ctx context.Context, hosts []*docker.Host, svc spec.Service, required bool) []error {
	uses := svc.NamedOwners()
	if len(uses) == 0 {
		return nil
	}
	var errs []error
	failed := map[string]bool{}
	for _, host := range hosts {
		accounts, found, err := host.Accounts(ctx, svc.Image)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("read the users and groups of image %q: %w", svc.Image, err))
			continue
		case !found && required:
			errs = append(errs, fmt.Errorf("image %q is not on host %q: its users and groups cannot be read", svc.Image, host.Name()))
			continue
		case !found:
			continue
		}
		for _, use := range uses {
			if failed[use.Attribute] {
				continue // one error per attribute
			}
			if _, err := accounts.Resolve(use.Value); err != nil {
				failed[use.Attribute] = true
				errs = append(errs, fmt.Errorf("%s = %q: %w (image %q on host %q)", use.Attribute, use.Value, err, svc.Image, host.Name()))
			}
		}
	}
	return errs
}
