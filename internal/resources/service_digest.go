package resources

import (
	"context"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// staleImages finds, for pull_policy "always", the replicas whose image is
// no longer the one the image reference names: the registry's digest for
// it is not one the replica's image was pulled at, or, when the registry
// cannot be asked, the tag on the host names another image (someone
// pulled). Nothing is pulled. A registry that cannot be asked
// (unreachable, an image never pushed) only logs a warning: the plan
// then goes by the host's tag. A digest reference (repo@sha256:...) is in
// the fingerprint: changing it replaces the replicas anyway.
func (r *serviceResource) staleImages(ctx context.Context, svc spec.Service, observed []reconcile.Observed) map[string]bool {
	if svc.PullPolicy != spec.PullAlways || docker.IsDigestReference(svc.Image) {
		return nil
	}
	byHost := map[string][]reconcile.Observed{}
	for _, o := range observed {
		if o.ImageID != "" {
			byHost[o.Host] = append(byHost[o.Host], o)
		}
	}
	stale := map[string]bool{}
	for name, replicas := range byHost {
		host, err := r.hosts.Lookup(name)
		if err != nil {
			continue
		}
		localID, found, err := host.ImageID(ctx, svc.Image)
		if err != nil {
			tflog.Warn(ctx, "cannot tell whether the image changed", map[string]any{"host": name, "image": svc.Image, "error": err.Error()})
			continue
		}
		digest, err := host.RegistryDigest(ctx, svc.Image)
		if err != nil {
			tflog.Warn(ctx, "cannot ask the registry for the image's digest; comparing with the image the tag names on the host", map[string]any{"host": name, "image": svc.Image, "error": err.Error()})
		}
		pulledAt := map[string]bool{}
		for _, o := range replicas {
			// The registry's answer is what apply's pull will run; the
			// host's tag speaks only when the registry cannot be asked.
			if digest == "" {
				if found && localID != o.ImageID {
					stale[o.ID] = true
				}
				continue
			}
			has, seen := pulledAt[o.ImageID]
			if !seen {
				if has, err = host.ImageHasDigest(ctx, o.ImageID, svc.Image, digest); err != nil {
					tflog.Warn(ctx, "cannot read the replica's image", map[string]any{"host": name, "image": o.ImageID, "error": err.Error()})
					has = true
				}
				pulledAt[o.ImageID] = has
			}
			if !has {
				stale[o.ID] = true
			}
		}
	}
	return stale
}
