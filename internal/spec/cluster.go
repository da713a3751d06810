package spec

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"reflect"
	"slices"
	"strings"
)

// Bootstrap orders.
const (
	BootstrapOrdered  = "ordered"
	BootstrapParallel = "parallel"
)

// Failure policies of a rolling update.
const (
	OnFailureStop   = "stop"
	OnFailureRevert = "revert"
)

// Defaults of cluster and rollout settings.
const (
	DefaultSeedFormat = "{{.Address}}:{{.Port}}"
	DefaultSeedsEnv   = "CLUSTER_SEEDS"
	DefaultMinReady   = "1s"
)

// Cluster makes each replica know the cluster's seeds (ordinals
// [ordinal_start, ordinal_start+seeds)) and optionally all its members,
// rendered per member by Format, known at plan time.
type Cluster struct {
	Seeds      int    `json:"seeds"`
	Port       int    `json:"port,omitempty"`
	Env        string `json:"env,omitempty"`
	File       string `json:"file,omitempty"`
	Format     string `json:"format,omitempty"`
	MembersEnv string `json:"members_env,omitempty"`
	Scaling    string `json:"scaling,omitempty"`
}

// Joining tells whether replicas join one at a time and keep the member
// list they were created with (scaling = "join").
func (c *Cluster) Joining() bool { return c != nil && c.Scaling == ScalingJoin }

// UpdatePolicy governs rolling updates; it is not part of any fingerprint.
type UpdatePolicy struct {
	MaxUnavailable int    `json:"max_unavailable,omitempty"`
	Partition      int    `json:"partition,omitempty"`
	OnFailure      string `json:"on_failure,omitempty"`
}

// Member is what a cluster format template sees. Address and Port are
// where other replicas reach the member: its name and the cluster port on
// one host; across hosts, its host's advertised address and the host port
// that publishes the cluster port.
type Member struct {
	Service string
	Name    string
	Ordinal int
	Address string
	Port    int
}

// Seeds renders the seed list.
func (s Service) Seeds() ([]string, error) {
	if s.Cluster == nil {
		return nil, nil
	}
	n := min(s.Cluster.Seeds, s.Replicas)
	return s.members(s.OrdinalStart, n)
}

// Members renders every desired member.
func (s Service) Members() ([]string, error) {
	if s.Cluster == nil {
		return nil, nil
	}
	return s.members(s.OrdinalStart, s.Replicas)
}

func (s Service) members(first, count int) ([]string, error) {
	format := orDefault(s.Cluster.Format, DefaultSeedFormat)
	out := make([]string, 0, max(count, 0))
	for ordinal := first; ordinal < first+count; ordinal++ {
		m := s.member(ordinal)
		text, err := renderMember(format, m)
		if err != nil {
			return nil, err
		}
		out = append(out, text)
	}
	return out, nil
}

func (s Service) member(ordinal int) Member {
	m := Member{Service: s.Name, Name: ReplicaName(s.Name, ordinal), Ordinal: ordinal, Address: ReplicaName(s.Name, ordinal)}
	if s.Cluster != nil {
		m.Port = s.Cluster.Port
	}
	if !s.Placement.MultiHost() {
		return m
	}
	m.Address = s.Advertise[s.Placed[ordinal]]
	if p, ok := s.publishedClusterPort(); ok {
		m.Port = p.External + ordinal - s.OrdinalStart
	}
	return m
}

// usesPort tells whether a seed format renders the port: whether two ports
// render differently.
func usesPort(format, service string) bool {
	m := Member{Service: service, Name: ReplicaName(service, 0), Address: ReplicaName(service, 0)}
	m.Port = 1
	one, _ := renderMember(format, m)
	m.Port = 2
	two, _ := renderMember(format, m)
	return one != two
}

func renderMember(format string, m Member) (string, error) {
	return renderTemplateData("cluster.format", format, m, "templates see {{.Service}}, {{.Name}}, {{.Ordinal}}, {{.Address}} and {{.Port}}")
}

// membersOf is the member list of one replica: every desired member, or
// when replicas join one at a time, those that exist when it joins: the
// seeds and the ordinals up to its own.
func (s Service) membersOf(ordinal int) ([]string, error) {
	if !s.Cluster.Joining() {
		return s.Members()
	}
	return s.members(s.OrdinalStart, max(ordinal-s.OrdinalStart+1, s.Cluster.Seeds))
}

// clusterEnv and clusterFiles add the seed and member lists to a replica.
func (s Service) clusterEnv(ordinal int) (map[string]string, []File, error) {
	if s.Cluster == nil {
		return nil, nil, nil
	}
	seeds, err := s.Seeds()
	if err != nil {
		return nil, nil, err
	}
	env := map[string]string{}
	if s.Cluster.Env != "" || s.Cluster.File == "" {
		env[orDefault(s.Cluster.Env, DefaultSeedsEnv)] = strings.Join(seeds, ",")
	}
	if s.Cluster.MembersEnv != "" {
		members, err := s.membersOf(ordinal)
		if err != nil {
			return nil, nil, err
		}
		env[s.Cluster.MembersEnv] = strings.Join(members, ",")
	}
	var files []File
	if s.Cluster.File != "" {
		files = append(files, File{Path: s.Cluster.File, Content: strings.Join(seeds, "\n") + "\n", Mode: 0o644})
	}
	return env, files, nil
}

func (s Service) validateCluster() []error {
	c := s.Cluster
	if c == nil {
		return nil
	}
	var errs []error
	if c.Seeds < 1 {
		errs = append(errs, fmt.Errorf("cluster.seeds: %d must be at least 1", c.Seeds))
	} else if s.Replicas > 0 && c.Seeds > s.Replicas {
		errs = append(errs, fmt.Errorf("cluster.seeds: %d seeds need at least %d replicas (replicas is %d)", c.Seeds, c.Seeds, s.Replicas))
	}
	for _, v := range []struct{ attribute, name string }{{"cluster.env", c.Env}, {"cluster.members_env", c.MembersEnv}} {
		if v.name == "" {
			continue
		}
		if err := ValidateEnvName(v.name); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.attribute, err))
		}
	}
	switch c.Scaling {
	case "", ScalingRestart, ScalingJoin:
	default:
		errs = append(errs, fmt.Errorf("cluster.scaling: %q is not %q or %q", c.Scaling, ScalingRestart, ScalingJoin))
	}
	format := orDefault(c.Format, DefaultSeedFormat)
	if _, err := renderMember(format, Member{Service: s.Name, Name: ReplicaName(s.Name, 0)}); err != nil {
		errs = append(errs, err)
	} else if c.Port == 0 && usesPort(format, s.Name) {
		errs = append(errs, fmt.Errorf("cluster.port: the seed format %q uses {{.Port}}, and no port is set, so seeds would end in :0; "+
			"set port to the one the replicas listen on, or give a format without {{.Port}}", format))
	}
	seedsEnv := ""
	if c.Env != "" || c.File == "" {
		seedsEnv = orDefault(c.Env, DefaultSeedsEnv)
	}
	switch {
	case seedsEnv != "" && seedsEnv == c.MembersEnv && c.Env != "":
		errs = append(errs, fmt.Errorf("cluster.env and cluster.members_env are both %s; use two variables", c.Env))
	case seedsEnv != "" && seedsEnv == c.MembersEnv:
		errs = append(errs, fmt.Errorf("cluster.members_env %s is also the default seeds variable; use another name", c.MembersEnv))
	}
	if _, clash := s.Env[seedsEnv]; clash && seedsEnv != "" {
		errs = append(errs, fmt.Errorf("env sets %s, which cluster.env fills with the seed list; remove one", seedsEnv))
	}
	if _, clash := s.Env[c.MembersEnv]; clash && c.MembersEnv != "" && c.MembersEnv != seedsEnv {
		errs = append(errs, fmt.Errorf("env sets %s, which cluster.members_env fills with the member list; remove one", c.MembersEnv))
	}
	if f := c.File; f != "" {
		if !path.IsAbs(f) || path.Clean(f) != f || f == "/" {
			errs = append(errs, fmt.Errorf("cluster.file: %q must be a clean absolute file path", f))
		}
		for i, cf := range s.Files {
			if cf.Target == f {
				errs = append(errs, fmt.Errorf("cluster.file and file[%d] both write %s; give each its own path", i, f))
			}
		}
	}
	return errs
}

// RenderOrdinal renders one replica of any ordinal, in or out of the
// desired range (a previous spec, for revert).
func (s Service) RenderOrdinal(ordinal int) (Replica, error) {
	replicas, err := s.renderOrdinals([]int{ordinal})
	if err != nil || len(replicas) == 0 {
		return Replica{}, err
	}
	return replicas[0], nil
}

// Changes names what differs between two service definitions, in the
// words of the schema, for plan reasons ("image", "env", "volume data").
func Changes(old, updated Service) []string {
	var out []string
	oldFields, newFields := topLevelFields(old), topLevelFields(updated)
	all := map[string]bool{}
	for k := range oldFields {
		all[k] = true
	}
	for k := range newFields {
		all[k] = true
	}
	for _, name := range slices.Sorted(maps.Keys(all)) {
		if name == "volumes" || name == "secrets" {
			continue
		}
		if !reflect.DeepEqual(oldFields[name], newFields[name]) {
			out = append(out, name)
		}
	}
	out = append(out, namedChanges("volume", volumesByName(old.Volumes), volumesByName(updated.Volumes))...)
	out = append(out, namedChanges("secret", secretsByName(old.Secrets), secretsByName(updated.Secrets))...)
	return out
}

// topLevelFields flattens a service into its JSON fields, minus those that
// never need a new container.
func topLevelFields(s Service) map[string]any {
	b, _ := json.Marshal(s)
	var fields map[string]any
	_ = json.Unmarshal(b, &fields)
	for _, ignored := range []string{"name", "pull_policy", "retention", "update", "bootstrap", "min_ready", "hooks", "backup"} {
		delete(fields, ignored)
	}
	return fields
}

func namedChanges[T any](kind string, old, updated map[string]T) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(updated)) {
		if o, found := old[name]; !found || !reflect.DeepEqual(o, updated[name]) {
			out = append(out, kind+" "+name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(old)) {
		if _, found := updated[name]; !found {
			out = append(out, kind+" "+name+" removed")
		}
	}
	return out
}

func volumesByName(vs []Volume) map[string]Volume {
	out := map[string]Volume{}
	for _, v := range vs {
		out[v.Name] = v
	}
	return out
}

func secretsByName(ss []Secret) map[string]Secret {
	out := map[string]Secret{}
	for _, s := range ss {
		s.Value, s.Digest = nil, ""
		out[s.Name] = s
	}
	return out
}
