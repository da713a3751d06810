package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"text/template"
)

// Volume strategies.
const (
	StrategyHost   = "host"
	StrategyShared = "shared"
	StrategyPlugin = "plugin"
)

// Retention policies.
const (
	Retain = "retain"
	Delete = "delete"
)

// LabelVolume names the volume block a Docker volume belongs to.
const LabelVolume = LabelPrefix + "volume"

// Volume is one volume block: where the data lives and where it is mounted.
type Volume struct {
	Name             string        `json:"name"`
	Target           string        `json:"target"`
	ReadOnly         bool          `json:"read_only,omitempty"`
	PerReplica       bool          `json:"per_replica"`
	RecreateOnChange bool          `json:"recreate_on_change,omitempty"`
	Host             *HostVolume   `json:"host,omitempty"`
	Shared           *SharedVolume `json:"shared,omitempty"`
	Plugin           *PluginVolume `json:"plugin,omitempty"`
}

// HostVolume binds a directory of the Docker host.
type HostVolume struct {
	Path  string `json:"path"`
	Owner string `json:"owner,omitempty"`
	Mode  string `json:"mode,omitempty"`
}

// SharedVolume is a networked file system mounted by Docker's local driver.
// Credentials are write-only: they reach the daemon at volume creation and
// nothing else; CredentialsVersion stands for them in fingerprints.
type SharedVolume struct {
	Type               string `json:"type"`
	Address            string `json:"address,omitempty"`
	Device             string `json:"device,omitempty"`
	Options            string `json:"options,omitempty"`
	CredentialsVersion int64  `json:"credentials_version,omitempty"`
	Credentials        string `json:"-"`
}

// PluginVolume is a volume of a Docker volume plugin.
type PluginVolume struct {
	Driver  string            `json:"driver"`
	Options map[string]string `json:"options,omitempty"`
}

// Retention says what happens to data when replicas go away.
type Retention struct {
	WhenScaled  string `json:"when_scaled,omitempty"`
	WhenDeleted string `json:"when_deleted,omitempty"`
}

// DeleteWhenScaled reports whether scale-down deletes the removed replicas'
// data.
func (r Retention) DeleteWhenScaled() bool { return r.WhenScaled == Delete }

// DeleteWhenDeleted reports whether destroy deletes the service's data.
func (r Retention) DeleteWhenDeleted() bool { return r.WhenDeleted == Delete }

// Mount is one volume of one replica, rendered: a host path to bind, or a
// Docker volume to create (if missing) and mount.
type Mount struct {
	Volume   string `json:"volume"`
	Strategy string `json:"strategy"`
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only,omitempty"`
	// Shared is true for a volume all replicas mount (per_replica = false).
	Shared bool `json:"shared,omitempty"`
	// Driver and DriverOptions describe a Docker volume; Definition digests
	// them, so a changed definition is seen on an existing volume.
	Driver        string            `json:"driver,omitempty"`
	DriverOptions map[string]string `json:"driver_options,omitempty"`
	Definition    string            `json:"definition,omitempty"`
	// Ownership of a host directory the provider creates; not part of the
	// fingerprint, since it only applies when the directory is missing.
	// OwnerName is the owner as written when it names a user or group: the
	// Docker layer resolves it from the image into Owner.
	Owner            *Owner `json:"-"`
	OwnerName        string `json:"-"`
	Mode             uint32 `json:"-"`
	Credentials      string `json:"-"`
	RecreateOnChange bool   `json:"-"`
}

// Owner is a numeric uid and gid.
type Owner struct{ UID, GID int }

// Named reports whether the mount is a Docker volume (not a host path).
func (m Mount) Named() bool { return m.Strategy != StrategyHost }

// Identity is what templates see: the service, the replica's name and
// ordinal, the desired replica count, the host it is placed on, and where
// the other replicas reach it (as in the cluster's member lists).
type Identity struct {
	Service  string
	Name     string
	Ordinal  int
	Replicas int
	Host     string
	Address  string
	Port     int
	// Seed is true for the cluster's seed ordinals: the initial members.
	Seed bool
}

// VolumeName is the deterministic name of a Docker volume: per replica
// <service>-<volume>-<ordinal>, shared <service>-<volume>. Re-adoption is by
// this name.
func VolumeName(service, volume string, ordinal int, perReplica bool) string {
	if !perReplica {
		return service + "-" + volume
	}
	return service + "-" + volume + "-" + strconv.Itoa(ordinal)
}

// MountsFor renders the service's volumes for one ordinal; it also serves
// ordinals outside the desired range (scale-down, destroy).
func (s Service) MountsFor(ordinal int) ([]Mount, error) {
	id := s.identity(ordinal)
	mounts := make([]Mount, 0, len(s.Volumes))
	for _, v := range s.Volumes {
		m, err := v.render(s.Name, id)
		if err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
		mounts = append(mounts, m)
	}
	return mounts, nil
}

func (v Volume) render(service string, id Identity) (Mount, error) {
	m := Mount{Volume: v.Name, Target: v.Target, ReadOnly: v.ReadOnly, Shared: !v.PerReplica, RecreateOnChange: v.RecreateOnChange}
	var err error
	switch {
	case v.Host != nil:
		m.Strategy = StrategyHost
		if m.Source, err = renderPath(v.Host.Path, id); err != nil {
			return Mount{}, err
		}
		if m.Owner, m.OwnerName, err = hostOwner(v.Host.Owner); err != nil {
			return Mount{}, err
		}
		if m.Mode, err = ParseMode(v.Host.Mode); err != nil {
			return Mount{}, err
		}
		return m, nil
	case v.Shared != nil:
		m.Strategy, m.Driver = StrategyShared, "local"
		if m.DriverOptions, err = v.Shared.driverOptions(id); err != nil {
			return Mount{}, err
		}
		m.Credentials = v.Shared.Credentials
	case v.Plugin != nil:
		m.Strategy, m.Driver = StrategyPlugin, v.Plugin.Driver
		m.DriverOptions = copyMap(v.Plugin.Options)
	default:
		return Mount{}, fmt.Errorf("choose exactly one of host, shared or plugin")
	}
	m.Source = VolumeName(service, v.Name, id.Ordinal, v.PerReplica)
	m.Definition = definitionDigest(m.Driver, m.DriverOptions, v.Shared)
	return m, nil
}

// driverOptions renders the local driver's options: type, device, and o
// (address first, then the user's options). Credentials are added only by
// the Docker layer, at creation.
func (s *SharedVolume) driverOptions(id Identity) (map[string]string, error) {
	device, err := renderTemplate("shared.device", s.Device, id)
	if err != nil {
		return nil, err
	}
	options, err := renderTemplate("shared.options", s.Options, id)
	if err != nil {
		return nil, err
	}
	var o []string
	if s.Address != "" {
		o = append(o, "addr="+s.Address)
	}
	if options != "" {
		o = append(o, options)
	}
	out := map[string]string{"type": s.Type}
	if device != "" {
		out["device"] = device
	}
	if len(o) > 0 {
		out["o"] = strings.Join(o, ",")
	}
	return out, nil
}

// MountOptions joins the rendered o option with write-only credentials, for
// the Docker layer only.
func MountOptions(m Mount) map[string]string {
	out := copyMap(m.DriverOptions)
	if m.Credentials != "" {
		if out["o"] != "" {
			out["o"] += ","
		}
		out["o"] += m.Credentials
	}
	return out
}

func definitionDigest(driver string, options map[string]string, shared *SharedVolume) string {
	var version int64
	if shared != nil {
		version = shared.CredentialsVersion
	}
	b, _ := json.Marshal(struct {
		Driver             string            `json:"driver"`
		Options            map[string]string `json:"options"`
		CredentialsVersion int64             `json:"credentials_version"`
	}{driver, options, version})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// renderPath renders a host path template and checks the result is a clean
// absolute path that is not the root.
func renderPath(tmpl string, id Identity) (string, error) {
	p, err := renderTemplate("host.path", tmpl, id)
	if err != nil {
		return "", err
	}
	if !path.IsAbs(p) {
		return "", fmt.Errorf("host.path %q is not absolute; write it from the root, as /srv/%s/{{.Ordinal}}", p, id.Service)
	}
	if path.Clean(p) != p || p == "/" {
		return "", fmt.Errorf("host.path %q must be a clean path below / (no //, ., .. or trailing /)", p)
	}
	return p, nil
}

var templateFuncs = template.FuncMap{}

// renderTemplate renders a text/template against a replica's identity; a
// reference to anything but its fields is an error.
func renderTemplate(attribute, text string, id Identity) (string, error) {
	return renderTemplateData(attribute, text, id, "templates see {{.Service}}, {{.Name}}, {{.Ordinal}}, {{.Replicas}}, {{.Host}}, {{.Address}}, {{.Port}} and {{.Seed}}")
}

func renderTemplateData(attribute, text string, data any, help string) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, err := template.New(attribute).Funcs(templateFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("%s: %q is not a valid template: %w; %s", attribute, text, err, help)
	}
	var out bytes.Buffer
	if err := t.Execute(&out, data); err != nil {
		return "", fmt.Errorf("%s: %q cannot be rendered: %w; %s", attribute, text, err, help)
	}
	return out.String(), nil
}

// ParseOwner parses a numeric "uid" or "uid:gid". Empty means root. An
// owner that names a user or group is valid (see ParseOwnerRef) but has no
// ids before the image resolves it: ParseOwner says so.
func ParseOwner(value string) (*Owner, error) {
	owner, named, err := hostOwner(value)
	if err == nil && named != "" {
		err = fmt.Errorf("host.owner %q names a user or group, resolved from the image at plan or apply", value)
	}
	return owner, err
}

// hostOwner parses a host directory's owner: its ids when written in
// numbers, else the owner as written, to resolve from the image.
func hostOwner(value string) (*Owner, string, error) {
	ref, err := ParseOwnerRef(value)
	if err != nil {
		return nil, "", fmt.Errorf("host.%w", err)
	}
	if o, ok := ref.Numeric(); ok {
		return o, "", nil
	}
	if ref.Named() {
		return nil, value, nil
	}
	return nil, "", nil
}

// ParseMode parses an octal permission such as "0750". Empty means 0755.
func ParseMode(value string) (uint32, error) {
	if value == "" {
		return 0o755, nil
	}
	mode, err := strconv.ParseUint(value, 8, 32)
	if err != nil || mode > 0o7777 {
		return 0, fmt.Errorf("mode %q is not an octal permission such as \"0750\"", value)
	}
	return uint32(mode), nil
}
