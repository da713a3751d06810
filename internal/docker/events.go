package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
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

// ContainerEvents returns the lifecycle events of the service's containers
// between since and until, in the daemon's order. Tests use it to observe
// the order of a rollout rather than assume it.
func (h *Host) ContainerEvents(ctx context.Context, service string, since, until time.Time) ([]Event, error) {
	cli, err := h.client(ctx)
	if err != nil {
		return nil, err
	}
	msgs, errs := cli.Events(ctx, events.ListOptions{
		Since: unixNano(since),
		Until: unixNano(until),
		Filters: filters.NewArgs(
			filters.Arg("type", string(events.ContainerEventType)),
			filters.Arg("label", spec.LabelService+"="+service),
		),
	})
	var out []Event
	for {
		select {
		case m := <-msgs:
			out = append(out, Event{Time: time.Unix(0, m.TimeNano), Action: string(m.Action), Name: m.Actor.Attributes["name"]})
		case err := <-errs:
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, h.errorf("read events: %w", err)
			}
			sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
			return out, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func unixNano(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}
