package spec

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// Placement strategies.
const (
	PlaceSpread = "spread"
	PlacePack   = "pack"
	PlacePinned = "pinned"
)

// PlacementStrategies lists the accepted strategies.
var PlacementStrategies = []string{PlaceSpread, PlacePack, PlacePinned}

// Placement says which Docker hosts a service's replicas run on. It is
// decided at plan time and sticky: a placed replica stays on its host.
// It is not part of the definition label: where a replica runs never
// changes what its container is.
type Placement struct {
	Hosts    []string
	Strategy string
	// Pinned maps ordinals to hosts; pins win over the strategy.
	Pinned map[int]string
	// MaxPerHost caps how many replicas pack puts on one host (0: no cap).
	MaxPerHost int
	// AllowLocalDataMove lets a replica whose data lives on its host move
	// to another host, where it starts without that data.
	AllowLocalDataMove bool
}

// MultiHost reports whether replicas may run on more than one host, so
// that they reach each other through advertised addresses and published
// ports instead of names on one host's network.
func (p *Placement) MultiHost() bool { return p != nil && len(p.Hosts) > 1 }

// HostsOr lists the placement's hosts; without a placement, the one given.
func (p *Placement) HostsOr(defaultHost string) []string {
	if p == nil {
		return []string{defaultHost}
	}
	return p.Hosts
}

// Move is a replica placed on another host than the one it is on (or
// whose retained data is on).
type Move struct {
	Ordinal  int
	Name     string
	From, To string
}

// LocalDataMoveError lists moves of replicas whose data lives on their host,
// which need placement.allow_local_data_move.
type LocalDataMoveError struct{ Moves []Move }

func (e *LocalDataMoveError) Error() string {
	var b strings.Builder
	b.WriteString("these replicas keep their data on their Docker host (a host volume or a local-driver volume), and the placement moves them:\n")
	for _, m := range e.Moves {
		fmt.Fprintf(&b, "  - %s: from host %q to host %q\n", m.Name, m.From, m.To)
	}
	b.WriteString("A moved replica starts on its new host WITHOUT that data (the data stays where it is, untouched). Choose one:\n" +
		"  - keep the replica where it is: list its host in placement.hosts again, or pin it there with placement.pinned;\n" +
		"  - move it anyway: set placement.allow_local_data_move = true (copy the data over yourself first if you need it).")
	return b.String()
}

// Place assigns every desired ordinal a host. current holds the host each
// existing replica runs on, remembered the host where a replica that is not
// running left its data. A replica stays where it is unless it is pinned
// elsewhere or its host left the placement; new replicas go where their
// data was, else where the strategy says. localData reports whether the
// service's data lives on its hosts, which makes a move need the opt-in.
func (s Service) Place(defaultHost string, current, remembered map[int]string, localData bool) (map[int]string, error) {
	p := s.Placement
	out := make(map[int]string, s.Replicas)
	if p == nil || len(p.Hosts) == 0 {
		for _, o := range s.Ordinals() {
			out[o] = defaultHost
		}
		return out, s.checkMoves(out, current, remembered, localData)
	}
	count := map[string]int{}
	var open []int
	for _, o := range s.Ordinals() {
		host := p.Pinned[o]
		if host == "" {
			host = firstIn(p.Hosts, current[o], remembered[o])
		}
		if host == "" {
			open = append(open, o)
			continue
		}
		out[o] = host
		count[host]++
	}
	for _, o := range open {
		host := p.choose(count)
		out[o] = host
		count[host]++
	}
	return out, s.checkMoves(out, current, remembered, localData)
}

// choose picks the host for a replica that has none yet.
func (p *Placement) choose(count map[string]int) string {
	if p.Strategy == PlacePack {
		for _, h := range p.Hosts {
			if p.MaxPerHost == 0 || count[h] < p.MaxPerHost {
				return h
			}
		}
		return p.Hosts[len(p.Hosts)-1] // validation keeps this unreachable
	}
	best := p.Hosts[0]
	for _, h := range p.Hosts[1:] {
		if count[h] < count[best] {
			best = h
		}
	}
	return best
}

// firstIn returns the first candidate that is one of hosts.
func firstIn(hosts []string, candidates ...string) string {
	for _, c := range candidates {
		if c != "" && slices.Contains(hosts, c) {
			return c
		}
	}
	return ""
}

func (s Service) checkMoves(placed, current, remembered map[int]string, localData bool) error {
	if !localData || (s.Placement != nil && s.Placement.AllowLocalDataMove) {
		return nil
	}
	var moves []Move
	for _, o := range s.Ordinals() {
		from := current[o]
		if from == "" {
			from = remembered[o]
		}
		if from != "" && from != placed[o] {
			moves = append(moves, Move{Ordinal: o, Name: ReplicaName(s.Name, o), From: from, To: placed[o]})
		}
	}
	if len(moves) == 0 {
		return nil
	}
	return &LocalDataMoveError{Moves: moves}
}

// LocalData reports whether any of the service's data lives on the Docker
// host itself: a host directory or a volume of the local driver that is not
// a networked file system.
func (s Service) LocalData() bool {
	for _, v := range s.Volumes {
		if v.Host != nil || (v.Plugin != nil && v.Plugin.Driver == "local") {
			return true
		}
	}
	return false
}

// PlacedHosts lists the distinct hosts of a placement, sorted.
func PlacedHosts(placed map[int]string) []string {
	var out []string
	for _, h := range placed {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return out
}

func (s Service) validatePlacement() []error {
	p := s.Placement
	if p == nil {
		return nil
	}
	var errs []error
	if len(p.Hosts) == 0 {
		errs = append(errs, fmt.Errorf("placement.hosts: list at least one host (the names of the provider's host blocks)"))
	}
	for i, h := range p.Hosts {
		if slices.Contains(p.Hosts[:i], h) {
			errs = append(errs, fmt.Errorf("placement.hosts: %q is listed twice", h))
		}
	}
	if !slices.Contains(PlacementStrategies, p.Strategy) {
		errs = append(errs, fmt.Errorf("placement.strategy: %q is not one of %s", p.Strategy, strings.Join(PlacementStrategies, ", ")))
	}
	for _, o := range slices.Sorted(maps.Keys(p.Pinned)) {
		if !slices.Contains(p.Hosts, p.Pinned[o]) {
			errs = append(errs, fmt.Errorf("placement.pinned: ordinal %d is pinned to %q, which is not in placement.hosts (%s)", o, p.Pinned[o], strings.Join(p.Hosts, ", ")))
		}
	}
	if p.Strategy == PlacePinned {
		var missing []string
		for _, o := range s.Ordinals() {
			if _, ok := p.Pinned[o]; !ok {
				missing = append(missing, fmt.Sprint(o))
			}
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Errorf("placement.pinned: strategy %q needs a host for every ordinal; ordinals %s have none (add them, or use strategy %q or %q for the rest)",
				PlacePinned, strings.Join(missing, ", "), PlaceSpread, PlacePack))
		}
	}
	if p.MaxPerHost < 0 {
		errs = append(errs, fmt.Errorf("placement.max_per_host: %d must not be negative", p.MaxPerHost))
	} else if p.MaxPerHost > 0 && p.Strategy == PlacePack && p.MaxPerHost*len(p.Hosts) < s.Replicas {
		errs = append(errs, fmt.Errorf("placement.max_per_host: %d hosts with at most %d replicas each hold %d replicas, not %d; raise max_per_host or add hosts",
			len(p.Hosts), p.MaxPerHost, p.MaxPerHost*len(p.Hosts), s.Replicas))
	}
	return append(errs, s.validateClusterAcrossHosts()...)
}

// validateClusterAcrossHosts: replicas on other hosts reach a member
// through its host's published port, which must exist and be stable.
func (s Service) validateClusterAcrossHosts() []error {
	if !s.Placement.MultiHost() || s.Cluster == nil || s.Cluster.Port == 0 {
		return nil
	}
	if _, ok := s.publishedClusterPort(); !ok {
		return []error{fmt.Errorf("cluster.port: across hosts, replicas reach each other through published ports; add ports { internal = %d, external = <first host port> } "+
			"so that each replica publishes its cluster port at a stable address", s.Cluster.Port)}
	}
	return nil
}

// publishedClusterPort is the port block that publishes the cluster port at
// a fixed host port.
func (s Service) publishedClusterPort() (Port, bool) {
	for _, p := range s.Ports {
		if s.Cluster != nil && p.Internal == s.Cluster.Port && p.External > 0 && (p.Protocol == "" || p.Protocol == DefaultProtocol) {
			return p, true
		}
	}
	return Port{}, false
}
