package docker

import (
	"context"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/registry"
)

// ImageID is the ID of the image ref names on the host; found is false
// when the host has no such image.
func (h *Host) ImageID(ctx context.Context, ref string) (id string, found bool, err error) {
	cli, err := h.client(ctx)
	if err != nil {
		return "", false, err
	}
	inspected, err := cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, h.errorf("inspect image %q: %w", ref, err)
	}
	return inspected.ID, true, nil
}

// registryTimeout bounds one question to a registry at plan time: an
// unreachable registry must not stall every plan.
const registryTimeout = 20 * time.Second

// RegistryDigest asks the registry, through the host's daemon and with the
// provider's credentials for it, which manifest digest ref names now.
// Nothing is pulled.
func (h *Host) RegistryDigest(ctx context.Context, ref string) (string, error) {
	cli, err := h.client(ctx)
	if err != nil {
		return "", err
	}
	auth, err := h.cfg.Registries.authFor(ctx, ref)
	if err != nil {
		return "", err
	}
	encoded := ""
	if auth != nil {
		if encoded, err = registry.EncodeAuthConfig(*auth); err != nil {
			return "", redactAuth(err, auth)
		}
	}
	askCtx, cancel := context.WithTimeout(ctx, registryTimeout)
	defer cancel()
	inspected, err := cli.DistributionInspect(askCtx, ref, encoded)
	if err != nil {
		registryName, _ := RegistryOf(ref)
		return "", h.errorf("ask registry %s for %q: %w", registryName, ref, redactAuth(err, auth))
	}
	return inspected.Descriptor.Digest.String(), nil
}

// ImageHasDigest reports whether the image with the given ID was pulled
// from ref's repository at digest (its RepoDigests say so).
func (h *Host) ImageHasDigest(ctx context.Context, imageID, ref, digest string) (bool, error) {
	cli, err := h.client(ctx)
	if err != nil {
		return false, err
	}
	inspected, err := cli.ImageInspect(ctx, imageID)
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, h.errorf("inspect image %s: %w", imageID, err)
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return false, nil //nolint:nilerr // not a reference a registry knows
	}
	want := named.Name() + "@" + digest
	for _, rd := range inspected.RepoDigests {
		if n, err := reference.ParseNormalizedNamed(rd); err == nil && n.String() == want {
			return true, nil
		}
		if strings.HasSuffix(rd, "@"+digest) && strings.TrimSuffix(rd, "@"+digest) == reference.FamiliarName(named) {
			return true, nil
		}
	}
	return false, nil
}

// IsDigestReference reports whether ref pins a digest (repo@sha256:...).
func IsDigestReference(ref string) bool {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return false
	}
	_, ok := named.(reference.Canonical)
	return ok
}
