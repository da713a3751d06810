package docker

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/statefulhq/terraform-provider-stateful/internal/parallel"
	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
)

// Hosts is the set of Docker hosts a provider instance is configured with,
// in configuration order.
type Hosts struct {
	list []*Host
}

// NewHosts connects nothing yet; hosts dial on first use.
func NewHosts(configs []Config) *Hosts {
	hs := &Hosts{}
	for _, c := range configs {
		hs.list = append(hs.list, NewHost(c))
	}
	return hs
}

// Default is the host services run on until placement chooses among
// several: the first configured one.
func (hs *Hosts) Default() *Host { return hs.list[0] }

// Lookup returns the named host; the empty name is the default host.
func (hs *Hosts) Lookup(name string) (*Host, error) {
	if name == "" {
		return hs.Default(), nil
	}
	return hs.Get(name)
}

// Names lists the configured hosts' names, in configuration order.
func (hs *Hosts) Names() []string {
	out := make([]string, len(hs.list))
	for i, h := range hs.list {
		out[i] = h.Name()
	}
	return out
}

// Get returns the host with the given name.
func (hs *Hosts) Get(name string) (*Host, error) {
	for _, h := range hs.list {
		if h.Name() == name {
			return h, nil
		}
	}
	return nil, fmt.Errorf("no host named %q is configured in the provider (it has: %s)", name, strings.Join(hs.Names(), ", "))
}

// ListReplicasOn lists the service's containers on each host, the hosts at
// once, in one list call per host. Any host that cannot answer fails the
// whole list: its replicas are never taken for gone.
func ListReplicasOn(ctx context.Context, hosts []*Host, service string) ([]reconcile.Observed, error) {
	lists, err := onEach(hosts, func(h *Host) ([]reconcile.Observed, error) { return h.ListReplicas(ctx, service) })
	out := slices.Concat(lists...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Ordinal < out[j].Ordinal })
	return out, err
}

// ListVolumesOn lists the service's Docker volumes on each host.
func ListVolumesOn(ctx context.Context, hosts []*Host, service string, drivers ...string) ([]reconcile.ObservedVolume, error) {
	lists, err := onEach(hosts, func(h *Host) ([]reconcile.ObservedVolume, error) { return h.ListVolumes(ctx, service, drivers...) })
	return slices.Concat(lists...), err
}

// onEach runs fn on every host concurrently.
func onEach[T any](hosts []*Host, fn func(*Host) (T, error)) ([]T, error) {
	out := make([]T, len(hosts))
	err := parallel.Run(len(hosts), len(hosts), func(i int) error {
		var err error
		out[i], err = fn(hosts[i])
		return err
	})
	return out, err
}

// Calls sums the Docker API calls made to every host.
func (hs *Hosts) Calls() int64 {
	var n int64
	for _, h := range hs.list {
		n += h.Calls()
	}
	return n
}
