// Package spec turns a service definition into the desired state of every
// replica: names, rendered container configuration and fingerprints. It is
// pure: no I/O, no clocks, no randomness, so plan and apply agree by
// construction.
package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Labels the provider puts on every object it owns. Read finds replicas by
// LabelService alone, so these are the provider's memory on the host.
const (
	LabelPrefix      = "statefulhq."
	LabelService     = LabelPrefix + "service"
	LabelOrdinal     = LabelPrefix + "ordinal"
	LabelFingerprint = LabelPrefix + "fingerprint"
	// LabelSpec holds the service definition (never secrets) so that import
	// can rebuild the configuration from one list call.
	LabelSpec = LabelPrefix + "spec"
	// LabelDefinition digests a Docker volume's driver and options.
	LabelDefinition = LabelPrefix + "definition"
	// LabelOwner identifies the Terraform state whose service created a
	// container, so that another state declaring the same name cannot take
	// it over.
	LabelOwner = LabelPrefix + "owner"
)

// Defaults of optional settings, shared by the schema and validation.
const (
	DefaultRestart         = "unless-stopped"
	DefaultStopGracePeriod = "10s"
	DefaultProtocol        = "tcp"
)

// Pull policies.
const (
	PullMissing = "missing"
	PullAlways  = "always"
	PullNever   = "never"
)

// Service is the user's definition of a stateful service, as configured.
// Durations stay strings as written so that import round-trips them.
type Service struct {
	Name            string            `json:"name"`
	Image           string            `json:"image"`
	Replicas        int               `json:"-"`
	OrdinalStart    int               `json:"ordinal_start"`
	Command         []string          `json:"command,omitempty"`
	Entrypoint      []string          `json:"entrypoint,omitempty"`
	Env             map[string]string `json:"env,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	User            string            `json:"user,omitempty"`
	Ports           []Port            `json:"ports,omitempty"`
	Restart         string            `json:"restart"`
	StopSignal      string            `json:"stop_signal,omitempty"`
	StopGracePeriod string            `json:"stop_grace_period"`
	PullPolicy      string            `json:"pull_policy"`
	StableMAC       bool              `json:"stable_mac_address,omitempty"`
	Health          *Health           `json:"health,omitempty"`
	Volumes         []Volume          `json:"volumes,omitempty"`
	Retention       Retention         `json:"retention,omitzero"`
	Secrets         []Secret          `json:"secrets,omitempty"`
	Files           []ConfigFile      `json:"files,omitempty"`
	Cluster         *Cluster          `json:"cluster,omitempty"`
	Bootstrap       string            `json:"bootstrap,omitempty"`
	MinReady        string            `json:"min_ready,omitempty"`
	Update          UpdatePolicy      `json:"update,omitzero"`
	Hooks           *Hooks            `json:"hooks,omitempty"`
	Backup          *Backup           `json:"backup,omitempty"`
	// Settings are inlined: their JSON fields are top-level settings.
	Settings
	// Placement, the host each ordinal is placed on, and each host's
	// advertised address are where replicas run, never what they are.
	Placement *Placement        `json:"-"`
	Placed    map[int]string    `json:"-"`
	Advertise map[string]string `json:"-"`
	// Owner identifies the Terraform state that manages the service; it
	// labels the containers, and is never part of what they are.
	Owner string `json:"-"`
}

// Port publishes a container port on the host. External is the host port of
// the first replica; replica k (counting from ordinal_start) gets External+k,
// so every replica keeps a stable, distinct address. Zero lets Docker choose.
type Port struct {
	Internal int    `json:"internal"`
	External int    `json:"external,omitempty"`
	Protocol string `json:"protocol"`
	HostIP   string `json:"host_ip,omitempty"`
}

// Health is a Docker health check.
type Health struct {
	Test        []string `json:"test"`
	Interval    string   `json:"interval,omitempty"`
	Timeout     string   `json:"timeout,omitempty"`
	StartPeriod string   `json:"start_period,omitempty"`
	Retries     int      `json:"retries,omitempty"`
}

// Replica is the desired state of one member of the service.
type Replica struct {
	Ordinal int
	Name    string
	// Host is the name of the Docker host the replica is placed on.
	Host        string
	Container   Container
	Fingerprint string
}

// Container is everything the Docker layer needs to create one replica.
type Container struct {
	Name        string            `json:"name"`
	Hostname    string            `json:"hostname"`
	Image       string            `json:"image"`
	Command     []string          `json:"command,omitempty"`
	Entrypoint  []string          `json:"entrypoint,omitempty"`
	Env         []string          `json:"env,omitempty"`
	Labels      map[string]string `json:"labels"`
	User        string            `json:"user,omitempty"`
	Ports       []Port            `json:"ports,omitempty"`
	Restart     RestartPolicy     `json:"restart"`
	StopSignal  string            `json:"stop_signal,omitempty"`
	StopTimeout time.Duration     `json:"stop_timeout"`
	Health      *HealthCheck      `json:"health,omitempty"`
	MAC         string            `json:"mac,omitempty"`
	Network     string            `json:"network"`
	Aliases     []string          `json:"aliases"`
	Mounts      []Mount           `json:"mounts,omitempty"`
	Secrets     []SecretFile      `json:"secrets,omitempty"`
	SecretDirs  []SecretDir       `json:"secret_dirs,omitempty"`
	Files       []File            `json:"files,omitempty"`
	// ContainerSettings are inlined; unset, they add nothing to the
	// fingerprint.
	ContainerSettings
}

// RestartPolicy is Docker's restart policy.
type RestartPolicy struct {
	Name       string `json:"name"`
	MaxRetries int    `json:"max_retries,omitempty"`
}

// String writes the policy as the restart attribute takes it.
func (p RestartPolicy) String() string {
	if p.Name == "on-failure" && p.MaxRetries > 0 {
		return p.Name + ":" + strconv.Itoa(p.MaxRetries)
	}
	if p.Name == "" {
		return "no"
	}
	return p.Name
}

// HealthCheck is a parsed Health.
type HealthCheck struct {
	Test        []string      `json:"test"`
	Interval    time.Duration `json:"interval,omitempty"`
	Timeout     time.Duration `json:"timeout,omitempty"`
	StartPeriod time.Duration `json:"start_period,omitempty"`
	Retries     int           `json:"retries,omitempty"`
}

// WithDefaults fills unset optional settings, for validating a
// configuration before the schema's defaults are applied.
func (s Service) WithDefaults() Service {
	if s.Restart == "" {
		s.Restart = DefaultRestart
	}
	if s.StopGracePeriod == "" {
		s.StopGracePeriod = DefaultStopGracePeriod
	}
	if s.PullPolicy == "" {
		s.PullPolicy = PullMissing
	}
	ports := make([]Port, len(s.Ports))
	for i, p := range s.Ports {
		if p.Protocol == "" {
			p.Protocol = DefaultProtocol
		}
		ports[i] = p
	}
	s.Ports = ports
	return s
}

// NetworkName is the user-defined network the provider creates for a service;
// replicas resolve each other by name on it.
func NetworkName(service string) string { return "stateful-" + service }

// ReplicaName is the stable identity of ordinal i: container name, hostname
// and DNS alias.
func ReplicaName(service string, ordinal int) string {
	return service + "-" + strconv.Itoa(ordinal)
}

// Ordinals lists the desired ordinals in ascending order.
func (s Service) Ordinals() []int {
	out := make([]int, max(s.Replicas, 0))
	for i := range out {
		out[i] = s.OrdinalStart + i
	}
	return out
}

// Render computes the desired replicas. The service must have passed Validate.
func (s Service) Render() ([]Replica, error) {
	return s.renderOrdinals(s.Ordinals())
}

func (s Service) renderOrdinals(ordinals []int) ([]Replica, error) {
	label, err := s.specLabel()
	if err != nil {
		return nil, err
	}
	base, err := s.containerBase(label)
	if err != nil {
		return nil, err
	}
	replicas := make([]Replica, 0, len(ordinals))
	for _, ordinal := range ordinals {
		c := base.forReplica(s, ordinal)
		if err := s.renderReplica(&c, ordinal); err != nil {
			return nil, err
		}
		fp, err := Fingerprint(c)
		if err != nil {
			return nil, err
		}
		c.Labels[LabelFingerprint] = fp
		replicas = append(replicas, Replica{Ordinal: ordinal, Name: c.Name, Host: s.Placed[ordinal], Container: c, Fingerprint: fp})
	}
	return replicas, nil
}

// renderReplica renders what templates and identities make differ between
// replicas: environment, volumes, secrets and config files.
func (s Service) renderReplica(c *Container, ordinal int) error {
	id := s.identity(ordinal)
	clusterEnv, clusterFiles, err := s.clusterEnv(ordinal)
	if err != nil {
		return err
	}
	if c.Env, err = s.renderEnv(id, clusterEnv); err != nil {
		return err
	}
	if c.Mounts, err = s.MountsFor(ordinal); err != nil {
		return err
	}
	if c.Secrets, c.SecretDirs, err = s.secretsFor(id.Name); err != nil {
		return err
	}
	c.Files, err = s.filesFor(id)
	c.Files = append(c.Files, clusterFiles...)
	return err
}

func (s Service) identity(ordinal int) Identity {
	m := s.member(ordinal)
	return Identity{Service: s.Name, Name: m.Name, Ordinal: ordinal, Replicas: s.Replicas, Host: s.Placed[ordinal], Address: m.Address, Port: m.Port,
		Seed: s.Cluster != nil && ordinal-s.OrdinalStart < s.Cluster.Seeds}
}

// containerBase renders what all replicas share.
func (s Service) containerBase(specLabel string) (Container, error) {
	restart, err := ParseRestart(s.Restart)
	if err != nil {
		return Container{}, err
	}
	grace, err := ParseDuration("stop_grace_period", s.StopGracePeriod)
	if err != nil {
		return Container{}, err
	}
	health, err := s.Health.parse()
	if err != nil {
		return Container{}, err
	}
	settings, err := s.dockerSettings()
	if err != nil {
		return Container{}, err
	}
	labels := map[string]string{}
	for k, v := range s.Labels {
		labels[k] = v
	}
	labels[LabelService] = s.Name
	labels[LabelSpec] = specLabel
	if s.Owner != "" {
		labels[LabelOwner] = s.Owner
	}
	return Container{
		Image:       s.Image,
		Command:     s.Command,
		Entrypoint:  s.Entrypoint,
		Labels:      labels,
		User:        s.User,
		Restart:     restart,
		StopSignal:  s.StopSignal,
		StopTimeout: grace,
		Health:      health,
		Network:     NetworkName(s.Name),

		ContainerSettings: settings,
	}, nil
}

// forReplica specialises the shared container for one ordinal.
func (c Container) forReplica(s Service, ordinal int) Container {
	name := ReplicaName(s.Name, ordinal)
	c.Name, c.Hostname = name, name
	c.Aliases = []string{name, s.Name}
	c.Labels = copyMap(c.Labels)
	c.Labels[LabelOrdinal] = strconv.Itoa(ordinal)
	c.Ports = make([]Port, len(s.Ports))
	for i, p := range s.Ports {
		if p.External > 0 {
			p.External += ordinal - s.OrdinalStart
		}
		c.Ports[i] = p
	}
	if s.StableMAC {
		c.MAC = StableMAC(s.Name, ordinal)
	}
	return c
}

// Fingerprint is a short digest of a replica's rendered container. Anything
// that would need a new container to change is in it; the import label is
// not, so that non-container settings (pull policy) never replace replicas,
// nor is the owner, which containers of earlier releases lack.
func Fingerprint(c Container) (string, error) {
	c.Labels = copyMap(c.Labels)
	delete(c.Labels, LabelSpec)
	delete(c.Labels, LabelFingerprint)
	delete(c.Labels, LabelOwner)
	b, err := json.Marshal(c) // map keys are sorted by encoding/json
	if err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", c.Name, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
}

// StableMAC derives a locally administered unicast MAC address from the
// service name and ordinal, so a replica keeps its MAC across replacements.
func StableMAC(service string, ordinal int) string {
	sum := sha256.Sum256([]byte("statefulhq/mac/" + service + "/" + strconv.Itoa(ordinal)))
	return fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", sum[0], sum[1], sum[2], sum[3], sum[4])
}

// specLabel encodes the service definition for import.
func (s Service) specLabel() (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encode service %s: %w", s.Name, err)
	}
	return string(b), nil
}

// ParseSpecLabel decodes a LabelSpec value written by Render.
func ParseSpecLabel(value string) (Service, error) {
	var s Service
	if err := json.Unmarshal([]byte(value), &s); err != nil {
		return Service{}, fmt.Errorf("label %s is not a service definition: %w", LabelSpec, err)
	}
	return s, nil
}

func (h *Health) parse() (*HealthCheck, error) {
	if h == nil {
		return nil, nil
	}
	out := &HealthCheck{Test: h.Test, Retries: h.Retries}
	fields := []struct {
		name  string
		value string
		into  *time.Duration
	}{
		{"health.interval", h.Interval, &out.Interval},
		{"health.timeout", h.Timeout, &out.Timeout},
		{"health.start_period", h.StartPeriod, &out.StartPeriod},
	}
	for _, f := range fields {
		if f.value == "" {
			continue
		}
		d, err := ParseDuration(f.name, f.value)
		if err != nil {
			return nil, err
		}
		*f.into = d
	}
	return out, nil
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
