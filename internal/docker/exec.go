package docker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// execOutputLimit is how much of a command's output (the end of it) an
// error carries.
const execOutputLimit = 2 << 10

// Exec runs command in a running container, as docker exec does, and
// waits for it to exit. It fails when the command exits non-zero, with its
// exit code and the end of its output (stdout and stderr together), and
// when it does not finish within timeout: the command may then still be
// running in the container, since Docker cannot stop an exec.
func (h *Host) Exec(ctx context.Context, id string, command []string, timeout time.Duration) error {
	cli, err := h.client(ctx)
	if err != nil {
		return err
	}
	created, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: command, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return h.execFailed(id, err)
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	attached, err := cli.ContainerExecAttach(runCtx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return h.execFailed(id, err)
	}
	out := &tail{limit: execOutputLimit}
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(out, out, attached.Reader)
		copied <- err
	}()
	select {
	case err = <-copied:
		attached.Close()
	case <-runCtx.Done():
		attached.Close() // the hijacked connection ignores the context
		<-copied         //nolint:errcheck // what was read so far is all a timeout reports
		return unfinished(ctx, timeout, out)
	}
	if err != nil {
		return h.errorf("read the output of %s in container %s: %w", commandName(command), shortID(id), err)
	}
	code, err := h.execExitCode(runCtx, created.ID)
	switch {
	case runCtx.Err() != nil:
		return unfinished(ctx, timeout, out)
	case err != nil:
		return err
	case code != 0:
		return fmt.Errorf("exited %d: %s", code, out)
	}
	return nil
}

// execFailed explains a failed exec create or start: 409 is a container
// that is not running (stopped, paused or restarting).
func (h *Host) execFailed(id string, err error) error {
	if cerrdefs.IsConflict(err) {
		return h.errorf("container %s is not running, so the command cannot run in it: %w", shortID(id), err)
	}
	return h.errorf("exec in container %s: %w", shortID(id), err)
}

// execExitCode waits, after its output ended, until the daemon marks the
// exec done, and returns its exit code.
func (h *Host) execExitCode(ctx context.Context, execID string) (int, error) {
	cli, err := h.client(ctx)
	if err != nil {
		return 0, err
	}
	ticker := time.NewTicker(readyPollInterval)
	defer ticker.Stop()
	for {
		info, err := cli.ContainerExecInspect(ctx, execID)
		switch {
		case err != nil && ctx.Err() != nil:
			return 0, ctx.Err()
		case err != nil:
			return 0, h.errorf("inspect exec %s: %w", shortID(execID), err)
		case !info.Running:
			return info.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-ticker.C:
		}
	}
}

// unfinished reports a command cut off by its timeout or by ctx.
func unfinished(ctx context.Context, timeout time.Duration, out *tail) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted (%w); the command may still be running in the container: %s", err, out)
	}
	return fmt.Errorf("did not finish within %s; it may still be running in the container: %s", timeout, out)
}

func commandName(command []string) string {
	if len(command) == 0 {
		return "the command"
	}
	return command[0]
}

// tail keeps the last limit bytes written to it; it is safe for
// concurrent use.
type tail struct {
	mu    sync.Mutex
	limit int
	buf   []byte
	cut   bool
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if len(p) > t.limit {
		p = p[len(p)-t.limit:]
		t.cut = true
	}
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.limit; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.cut = true
	}
	return n, nil
}

// String is the output kept, trimmed, for an error: "..." marks a cut
// start; "no output" says there was none.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	text := strings.TrimSpace(strings.ToValidUTF8(string(t.buf), ""))
	switch {
	case text == "" && !t.cut:
		return "no output"
	case t.cut:
		return "..." + text
	}
	return text
}
