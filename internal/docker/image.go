package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// ImageExists reports whether ref is present on the host.
func (h *Host) ImageExists(ctx context.Context, ref string) (bool, error) {
	cli, err := h.client(ctx)
	if err != nil {
		return false, err
	}
	_, err = cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, h.errorf("inspect image %q: %w", ref, err)
	}
	return true, nil
}

// EnsureImage makes ref available on the host according to the pull policy.
func (h *Host) EnsureImage(ctx context.Context, ref, policy string) error {
	if policy != spec.PullAlways {
		present, err := h.ImageExists(ctx, ref)
		if err != nil || present {
			return err
		}
		if policy == spec.PullNever {
			return h.errorf("image %q is not on the host and pull_policy is %q: build or load it there, or set pull_policy = %q", ref, spec.PullNever, spec.PullMissing)
		}
	}
	if err := h.pull(ctx, ref); err != nil {
		return h.errorf("image %q is not on the host and could not be pulled: %w; load or build it on the host, or check the name and the registry", ref, err)
	}
	return nil
}

func (h *Host) pull(ctx context.Context, ref string) error {
	cli, err := h.client(ctx)
	if err != nil {
		return err
	}
	auth, err := h.cfg.Registries.authFor(ctx, ref)
	if err != nil {
		return err
	}
	opts := image.PullOptions{}
	registryName, _ := RegistryOf(ref)
	if auth != nil {
		if opts.RegistryAuth, err = registry.EncodeAuthConfig(*auth); err != nil {
			return fmt.Errorf("encode the credentials for registry %s: %w", registryName, redactAuth(err, auth))
		}
	}
	rc, err := cli.ImagePull(ctx, ref, opts)
	if err == nil {
		defer func() { _ = rc.Close() }()
		err = drainProgress(rc)
	}
	if err != nil && auth != nil {
		return fmt.Errorf("pull from registry %s as %q: %w", registryName, auth.Username, redactAuth(err, auth))
	}
	return err
}

// drainProgress reads a JSON progress stream to its end and returns the
// first error it reports.
func drainProgress(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read progress: %w", err)
		}
		if msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}
