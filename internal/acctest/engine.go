package acctest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// pingTimeout bounds one Ping, so that a daemon which accepts connections
// but does not answer counts as down instead of blocking the caller.
const pingTimeout = 15 * time.Second

// Engine is a plain Docker API client for what the tests do behind the
// provider's back: following events, stopping, renaming and inspecting
// containers, reading volume options, building images. The provider never
// does these, so internal/docker does not offer them.
type Engine struct {
	cli *client.Client
	// err is the client's configuration error, returned by every method,
	// so that Local can be called inline like Docker.
	err error
}

var (
	localEngine     *Engine
	localEngineOnce sync.Once
)

// Local is the local daemon, configured from the environment as the
// provider's default host (and Docker) reaches it.
func Local() *Engine {
	localEngineOnce.Do(func() {
		localEngine = newEngine(client.FromEnv, client.WithAPIVersionNegotiation())
	})
	return localEngine
}

// newTLSEngine reaches a tcp:// endpoint that requires TLS with a client
// certificate, from PEM contents (as a test daemon's TLS fields hold them).
func newTLSEngine(endpoint, caPEM, certPEM, keyPEM string) *Engine {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caPEM)) {
		return &Engine{err: fmt.Errorf("docker at %s: the CA PEM holds no certificate", endpoint)}
	}
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return &Engine{err: fmt.Errorf("docker at %s: client key pair: %w", endpoint, err)}
	}
	transport := &http.Transport{TLSClientConfig: &tls.Config{
		MinVersion: tls.VersionTLS12, RootCAs: pool, Certificates: []tls.Certificate{pair},
	}}
	return newEngine(
		client.WithHTTPClient(&http.Client{Transport: transport}),
		client.WithHost(endpoint),
		client.WithScheme("https"),
		client.WithAPIVersionNegotiation(),
	)
}

func newEngine(opts ...client.Opt) *Engine {
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return &Engine{err: fmt.Errorf("configure Docker client: %w", err)}
	}
	return &Engine{cli: cli}
}

// errorf prefixes errors with the daemon's address, as tests use several.
func (e *Engine) errorf(format string, args ...any) error {
	return fmt.Errorf("docker at %s: %w", e.cli.DaemonHost(), fmt.Errorf(format, args...))
}

// Ping reports whether the daemon answers. Unlike a provider host, an
// Engine keeps no connection error: a starting daemon can be pinged again.
func (e *Engine) Ping(ctx context.Context) error {
	if e.err != nil {
		return e.err
	}
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := e.cli.Ping(ctx); err != nil {
		return e.errorf("cannot reach the Docker daemon: %w", err)
	}
	return nil
}

// Event is one container lifecycle event, as the daemon recorded it.
type Event struct {
	Time   time.Time
	Action string
	Name   string
}

// StreamContainerEvents follows the service's container events live from
// now until ctx ends. A replay (since/until) could lose events to the
// daemon's bounded event buffer when many are emitted. Tests use it to
// observe the order of a rollout rather than assume it.
func (e *Engine) StreamContainerEvents(ctx context.Context, service string) (<-chan Event, error) {
	if e.err != nil {
		return nil, e.err
	}
	// Since now: events the daemon records before the subscription is
	// established are replayed, so none falls in between.
	now := time.Now()
	msgs, errs := e.cli.Events(ctx, events.ListOptions{Since: fmt.Sprintf("%d.%09d", now.Unix(), now.Nanosecond()), Filters: filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("label", spec.LabelService+"="+service),
	)})
	out := make(chan Event, 256)
	go func() {
		defer close(out)
		for {
			select {
			case m := <-msgs:
				out <- Event{Time: time.Unix(0, m.TimeNano), Action: string(m.Action), Name: m.Actor.Attributes["name"]}
			case err := <-errs:
				_ = err // the stream ended (or ctx did): the closed channel tells the reader
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// StopContainer stops a container within grace, keeping it, as a crash or
// an operator would.
func (e *Engine) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	if e.err != nil {
		return e.err
	}
	seconds := int((grace + time.Second - 1) / time.Second)
	if err := e.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &seconds}); err != nil {
		return e.errorf("stop container %s: %w", shortID(id), err)
	}
	return nil
}

// RenameContainer renames a container, as drift the provider must notice.
func (e *Engine) RenameContainer(ctx context.Context, id, name string) error {
	if e.err != nil {
		return e.err
	}
	if err := e.cli.ContainerRename(ctx, id, name); err != nil {
		return e.errorf("rename container %s: %w", shortID(id), err)
	}
	return nil
}

// SetRestartPolicy changes a container's restart policy in place, as
// docker update does behind the provider's back.
func (e *Engine) SetRestartPolicy(ctx context.Context, id, policy string) error {
	if e.err != nil {
		return e.err
	}
	update := container.UpdateConfig{RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyMode(policy)}}
	if _, err := e.cli.ContainerUpdate(ctx, id, update); err != nil {
		return e.errorf("update container %s: %w", shortID(id), err)
	}
	return nil
}

// CreateNetwork creates a bridge network, as an operator would for
// containers of several services to share.
func (e *Engine) CreateNetwork(ctx context.Context, name string) error {
	if e.err != nil {
		return e.err
	}
	if _, err := e.cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge"}); err != nil {
		return e.errorf("create network %q: %w", name, err)
	}
	return nil
}

// RemoveNetwork removes a network by name, as an operator would.
func (e *Engine) RemoveNetwork(ctx context.Context, name string) error {
	if e.err != nil {
		return e.err
	}
	if err := e.cli.NetworkRemove(ctx, name); err != nil {
		return e.errorf("remove network %q: %w", name, err)
	}
	return nil
}

// InspectContainer returns the daemon's full view of a container, for
// checks on what the provider configured.
func (e *Engine) InspectContainer(ctx context.Context, id string) (container.InspectResponse, error) {
	if e.err != nil {
		return container.InspectResponse{}, e.err
	}
	info, err := e.cli.ContainerInspect(ctx, id)
	if err != nil {
		return container.InspectResponse{}, e.errorf("inspect container %s: %w", shortID(id), err)
	}
	return info, nil
}

// VolumeOptions returns the driver options a Docker volume was created with.
func (e *Engine) VolumeOptions(ctx context.Context, name string) (map[string]string, error) {
	if e.err != nil {
		return nil, e.err
	}
	v, err := e.cli.VolumeInspect(ctx, name)
	if err != nil {
		return nil, e.errorf("inspect volume %q: %w", name, err)
	}
	return v.Options, nil
}

// BuildImage builds an image from a tar build context with the classic
// builder (no network needed for FROM scratch).
func (e *Engine) BuildImage(ctx context.Context, buildContext io.Reader, tags []string, args map[string]string) error {
	if e.err != nil {
		return e.err
	}
	buildArgs := map[string]*string{}
	for k, v := range args {
		buildArgs[k] = &v
	}
	resp, err := e.cli.ImageBuild(ctx, buildContext, build.ImageBuildOptions{
		Tags: tags, BuildArgs: buildArgs, Remove: true, ForceRemove: true, Version: build.BuilderV1,
	})
	if err != nil {
		return e.errorf("build image %v: %w", tags, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if err := drainProgress(resp.Body); err != nil {
		return e.errorf("build image %v: %w", tags, err)
	}
	return nil
}

// ExecResult is what a command run in a container printed, and its exit
// code.
type ExecResult struct {
	Stdout, Stderr string
	ExitCode       int
}

// Exec runs cmd in a running container (by name or ID), as docker exec
// does, as user (the container's user when empty), and waits for it. A
// command that runs and fails is not an error: its exit code says so.
func (e *Engine) Exec(ctx context.Context, containerName, user string, cmd ...string) (ExecResult, error) {
	if e.err != nil {
		return ExecResult{}, e.err
	}
	created, err := e.cli.ContainerExecCreate(ctx, containerName, container.ExecOptions{
		User: user, Cmd: cmd, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return ExecResult{}, e.errorf("exec in %s: %w", shortID(containerName), err)
	}
	attached, err := e.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return ExecResult{}, e.errorf("exec in %s: attach: %w", shortID(containerName), err)
	}
	defer attached.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, attached.Reader); err != nil {
		return ExecResult{}, e.errorf("exec in %s: read output: %w", shortID(containerName), err)
	}
	inspected, err := e.cli.ContainerExecInspect(ctx, created.ID)
	if err != nil {
		return ExecResult{}, e.errorf("exec in %s: inspect: %w", shortID(containerName), err)
	}
	return ExecResult{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: inspected.ExitCode}, nil
}

// TagImage gives an existing image another tag.
func (e *Engine) TagImage(ctx context.Context, source, target string) error {
	if e.err != nil {
		return e.err
	}
	if err := e.cli.ImageTag(ctx, source, target); err != nil {
		return e.errorf("tag %s as %s: %w", source, target, err)
	}
	return nil
}

// ImageExists reports whether the daemon has an image by that reference.
func (e *Engine) ImageExists(ctx context.Context, ref string) (bool, error) {
	if e.err != nil {
		return false, e.err
	}
	if _, err := e.cli.ImageInspect(ctx, ref); err != nil {
		if cerrdefs.IsNotFound(err) {
			return false, nil
		}
		return false, e.errorf("inspect image %s: %w", ref, err)
	}
	return true, nil
}

// shortID shortens container IDs in errors as the docker CLI does; names
// pass unchanged.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// drainProgress reads a JSON progress stream to its end and returns the
// error it reports: a failed build still answers 200.
func drainProgress(r io.Reader) error {
	return jsonmessage.DisplayJSONMessagesStream(r, io.Discard, 0, false, nil)
}
