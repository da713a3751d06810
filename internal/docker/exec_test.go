package docker

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
)

func TestTailKeepsTheEndOfTheOutput(t *testing.T) {
	out := &tail{limit: 8}
	if got := out.String(); got != "no output" {
		t.Errorf("empty: %q", got)
	}
	_, _ = out.Write([]byte("  abc\n"))
	if got := out.String(); got != "abc" {
		t.Errorf("short: %q", got)
	}
	_, _ = out.Write([]byte("defghij"))
	if got := out.String(); got != "...defghij" {
		t.Errorf("over the limit in pieces: %q", got)
	}
	_, _ = out.Write([]byte(strings.Repeat("z", 100) + "12345678"))
	if got := out.String(); got != "...12345678" {
		t.Errorf("one write over the limit: %q", got)
	}
}

func TestUnfinishedSaysTheCommandMayStillRun(t *testing.T) {
	out := &tail{limit: 100}
	_, _ = out.Write([]byte("half way\n"))
	err := unfinished(context.Background(), 2*time.Second, out)
	if want := "did not finish within 2s; it may still be running in the container: half way"; err.Error() != want {
		t.Errorf("timeout: %q, want %q", err, want)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := unfinished(cancelled, time.Second, out); !strings.HasPrefix(err.Error(), "interrupted (context canceled)") {
		t.Errorf("cancelled: %q", err)
	}
}

func TestLowestRunningPeer(t *testing.T) {
	observed := []reconcile.Observed{
		{Ordinal: 0, ID: "a", Name: "s-0", Host: "h1", State: container.StateExited},
		{Ordinal: 1, ID: "b", Name: "s-1", Host: "h2", State: container.StateRunning},
		{Ordinal: 2, ID: "c", Name: "s-2", Host: "h1", State: container.StateRunning},
		{Ordinal: 3, ID: "d", Name: "s-3", Host: "h1", State: container.StateRestarting},
	}
	cases := []struct {
		ordinal int
		want    string
		found   bool
	}{
		{0, "s-1", true},
		{1, "s-2", true},
		{3, "s-1", true},
		{4, "s-1", true},
	}
	for _, tc := range cases {
		got, found := lowestRunning(observed, tc.ordinal)
		if found != tc.found || got.Name != tc.want {
			t.Errorf("peer of %d: %+v, %v; want %s", tc.ordinal, got, found, tc.want)
		}
	}
	if got, found := lowestRunning(observed[:2], 1); found {
		t.Errorf("peer of the only running replica: %+v", got)
	}
	if got, _ := lowestRunning(observed, 1); got.Host != "h1" || got.ID != "c" {
		t.Errorf("peer of 1 is %+v; want container c on h1", got)
	}
}
