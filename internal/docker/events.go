package docker

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

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
func (h *Host) StreamContainerEvents(ctx context.Context, service string) (<-chan Event, error) {
	cli, err := h.client(ctx)
	if err != nil {
		return nil, err
	}
	// Since now: events the daemon records before the subscription is
	// established are replayed, so none falls in between.
	now := time.Now()
	msgs, errs := cli.Events(ctx, events.ListOptions{Since: fmt.Sprintf("%d.%09d", now.Unix(), now.Nanosecond()), Filters: filters.NewArgs(
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
