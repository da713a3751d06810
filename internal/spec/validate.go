package spec

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
)

// MaxNameLength keeps replica names (name-ordinal) within a DNS label.
const MaxNameLength = 50

var namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// ValidateName checks a service name; replicas are named <name>-<ordinal>
// and must be valid hostnames and DNS labels.
func ValidateName(name string) error {
	if len(name) > MaxNameLength {
		return fmt.Errorf("%q is %d characters long; use at most %d so that replica names stay valid DNS labels", name, len(name), MaxNameLength)
	}
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%q is not a valid service name: use lower-case letters, digits and '-', starting and ending with a letter or digit (replicas become <name>-0, <name>-1, ... as hostnames)", name)
	}
	return nil
}

// ParseDuration parses a Go duration that must not be negative.
func ParseDuration(attribute, value string) (time.Duration, error) {
	d, err := time.ParseDuration(value)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a duration; write it like \"10s\", \"1m30s\" or \"500ms\"", attribute, value)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s: %q is negative", attribute, value)
	}
	return d, nil
}

// RestartPolicies lists the accepted restart values (on-failure may carry a
// retry limit, as on-failure:5).
var RestartPolicies = []string{"no", "always", "unless-stopped", "on-failure"}

// ParseRestart parses a Docker restart policy as written on the docker CLI.
func ParseRestart(value string) (RestartPolicy, error) {
	name, retries, hasRetries := strings.Cut(value, ":")
	switch {
	case name == "on-failure" && hasRetries:
		n, err := strconv.Atoi(retries)
		if err != nil || n < 0 {
			return RestartPolicy{}, fmt.Errorf("restart: %q has a bad retry count; write on-failure or on-failure:N with N >= 0", value)
		}
		return RestartPolicy{Name: name, MaxRetries: n}, nil
	case hasRetries:
		return RestartPolicy{}, fmt.Errorf("restart: only on-failure takes a retry count, got %q", value)
	}
	for _, p := range RestartPolicies {
		if name == p {
			return RestartPolicy{Name: name}, nil
		}
	}
	return RestartPolicy{}, fmt.Errorf("restart: %q is not one of %s (on-failure:N limits retries)", value, strings.Join(RestartPolicies, ", "))
}

// Validate checks what single-attribute validators cannot: relations
// between attributes. Errors name the attribute and the fix.
func (s Service) Validate() []error {
	var errs []error
	if s.Replicas < 0 || s.OrdinalStart < 0 {
		return []error{fmt.Errorf("replicas and ordinal_start must not be negative (got %d and %d)", s.Replicas, s.OrdinalStart)}
	}
	if err := ValidateName(s.Name); err != nil {
		errs = append(errs, fmt.Errorf("name: %w", err))
	} else if longest := ReplicaName(s.Name, s.OrdinalStart+s.Replicas-1); s.Replicas > 0 && len(longest) > 63 {
		errs = append(errs, fmt.Errorf("name: replica name %q would exceed 63 characters", longest))
	}
	if err := ValidateImage(s.Image); err != nil {
		errs = append(errs, fmt.Errorf("image: %w", err))
	}
	if s.StopSignal != "" {
		if err := ValidateSignal(s.StopSignal); err != nil {
			errs = append(errs, fmt.Errorf("stop_signal: %w", err))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		if err := ValidateEnvName(k); err != nil {
			errs = append(errs, fmt.Errorf("env: %w", err))
		}
	}
	for k := range s.Labels {
		if strings.HasPrefix(k, LabelPrefix) {
			errs = append(errs, fmt.Errorf("labels: %q uses the reserved prefix %q, which the provider uses to find its replicas; choose another key", k, LabelPrefix))
		}
	}
	errs = append(errs, s.validatePorts()...)
	fileErrs := s.validateSecretsAndFiles()
	errs = append(errs, fileErrs...)
	clusterErrs := s.validateCluster()
	errs = append(errs, clusterErrs...)
	errs = append(errs, s.validateRollout()...)
	errs = append(errs, s.validateHooks()...)
	errs = append(errs, s.validateBackup()...)
	errs = append(errs, s.validatePlacement()...)
	settingsErrs := s.validateSettings()
	errs = append(errs, settingsErrs...)
	volumeErrs := s.validateVolumes()
	errs = append(errs, volumeErrs...)
	rest := s // what is reported already is not rendered again
	if len(volumeErrs) > 0 {
		rest.Volumes = nil
	}
	if len(fileErrs) > 0 {
		rest.Secrets, rest.Files = nil, nil
	}
	if len(clusterErrs) > 0 {
		rest.Cluster = nil
	}
	if len(settingsErrs) > 0 {
		rest.Settings = Settings{}
	}
	if _, err := rest.Render(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func (s Service) validatePorts() []error {
	var errs []error
	seen := map[string]bool{}
	for i, p := range s.Ports {
		key := fmt.Sprintf("%d/%s", p.Internal, p.Protocol)
		if seen[key] {
			errs = append(errs, fmt.Errorf("port[%d]: container port %s is published twice; publish each port once", i, key))
		}
		seen[key] = true
		if p.External > 0 && s.Replicas > 0 {
			if last := p.External + s.Replicas - 1; last > 65535 {
				errs = append(errs, fmt.Errorf("port[%d]: replicas publish external ports %d..%d, beyond 65535; lower external or replicas", i, p.External, last))
			}
		}
	}
	for i, p := range s.Ports {
		for j, q := range s.Ports[i+1:] {
			if overlaps(p, q, s.Replicas) {
				errs = append(errs, fmt.Errorf("port[%d] and port[%d]: the external port ranges overlap (each replica takes external+k); space them at least %d apart", i, i+1+j, s.Replicas))
			}
		}
	}
	return errs
}

func overlaps(a, b Port, replicas int) bool {
	if a.External == 0 || b.External == 0 || a.Protocol != b.Protocol || replicas == 0 {
		return false
	}
	if a.HostIP != b.HostIP && !wildcard(a.HostIP) && !wildcard(b.HostIP) {
		return false
	}
	return a.External < b.External+replicas && b.External < a.External+replicas
}

func wildcard(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }

var volumeNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// validateVolumes checks volume blocks against each other and renders them
// for every desired ordinal, so template and path errors surface at plan.
func (s Service) validateVolumes() []error {
	var errs []error
	names, targets := map[string]bool{}, map[string]string{}
	for i, v := range s.Volumes {
		at := fmt.Sprintf("volume[%d]", i)
		if !volumeNamePattern.MatchString(v.Name) {
			errs = append(errs, fmt.Errorf("%s.name: %q must be lower-case letters, digits, '_', '.' or '-' (it becomes part of Docker volume names)", at, v.Name))
		}
		if names[v.Name] {
			errs = append(errs, fmt.Errorf("%s.name: two volumes are named %q; volume names must be unique", at, v.Name))
		}
		names[v.Name] = true
		if !path.IsAbs(v.Target) {
			errs = append(errs, fmt.Errorf("%s.target: %q is not an absolute path in the container", at, v.Target))
		} else if path.Clean(v.Target) == "/" {
			errs = append(errs, fmt.Errorf("%s.target: / is the container's root file system; mount the volume at a directory such as /data", at))
		} else if other, dup := targets[path.Clean(v.Target)]; dup {
			errs = append(errs, fmt.Errorf("%s.target: volumes %q and %q both mount at %s; give each its own target", at, other, v.Name, v.Target))
		}
		targets[path.Clean(v.Target)] = v.Name
		if n := countStrategies(v); n != 1 {
			errs = append(errs, fmt.Errorf("%s: give exactly one of the host, shared or plugin blocks (found %d)", at, n))
			continue
		}
		if missing := requiredStrategyField(v); missing != "" {
			errs = append(errs, fmt.Errorf("%s.%s is required", at, missing))
			continue
		}
		errs = append(errs, s.validateHostPaths(at, v)...)
	}
	errs = append(errs, s.validateDockerVolumeNames()...)
	for _, r := range []struct{ name, value string }{{"retention.when_scaled", s.Retention.WhenScaled}, {"retention.when_deleted", s.Retention.WhenDeleted}} {
		if r.value != "" && r.value != Retain && r.value != Delete {
			errs = append(errs, fmt.Errorf("%s: %q must be %q or %q", r.name, r.value, Retain, Delete))
		}
	}
	return errs
}

// requiredStrategyField names the strategy attribute that must be set and
// is not (the framework cannot require attributes of optional blocks).
func requiredStrategyField(v Volume) string {
	switch {
	case v.Host != nil && v.Host.Path == "":
		return "host.path"
	case v.Shared != nil && v.Shared.Type == "":
		return "shared.type"
	case v.Plugin != nil && v.Plugin.Driver == "":
		return "plugin.driver"
	}
	return ""
}

func countStrategies(v Volume) int {
	n := 0
	for _, set := range []bool{v.Host != nil, v.Shared != nil, v.Plugin != nil} {
		if set {
			n++
		}
	}
	return n
}

// validateHostPaths catches per-replica host paths that would make two
// replicas share one directory.
func (s Service) validateHostPaths(at string, v Volume) []error {
	if v.Host == nil || !v.PerReplica {
		return nil
	}
	seen := map[string]int{}
	for _, ordinal := range s.Ordinals() {
		p, err := renderPath(v.Host.Path, Identity{Service: s.Name, Name: ReplicaName(s.Name, ordinal), Ordinal: ordinal})
		if err != nil {
			return []error{fmt.Errorf("%s.%w", at, err)}
		}
		if first, dup := seen[p]; dup {
			return []error{fmt.Errorf("%s.host.path: replicas %d and %d would share %s; put {{.Ordinal}} in the path, or set per_replica = false to share one directory on purpose", at, first, ordinal, p)}
		}
		seen[p] = ordinal
	}
	if _, _, err := hostOwner(v.Host.Owner); err != nil {
		return []error{fmt.Errorf("%s.%w", at, err)}
	}
	if _, err := ParseMode(v.Host.Mode); err != nil {
		return []error{fmt.Errorf("%s.host.%w", at, err)}
	}
	return nil
}

// validateDockerVolumeNames rejects two volume blocks that would share one
// Docker volume ("data" of replica 0 and a shared "data-0" are both
// <service>-data-0): re-adoption is by name, so names must be unambiguous.
func (s Service) validateDockerVolumeNames() []error {
	owner := map[string]string{}
	for _, v := range s.Volumes {
		if v.Host != nil {
			continue
		}
		ordinals := s.Ordinals()
		if !v.PerReplica {
			ordinals = []int{0}
		}
		for _, o := range ordinals {
			name := VolumeName(s.Name, v.Name, o, v.PerReplica)
			if other, dup := owner[name]; dup && other != v.Name {
				return []error{fmt.Errorf("volumes %q and %q would both use the Docker volume %s; rename one of them", other, v.Name, name)}
			}
			owner[name] = v.Name
		}
	}
	return nil
}

// validateRollout checks bootstrap, readiness and update settings.
func (s Service) validateRollout() []error {
	var errs []error
	if b := s.Bootstrap; b != "" && b != BootstrapOrdered && b != BootstrapParallel {
		errs = append(errs, fmt.Errorf("bootstrap: %q must be %q or %q", b, BootstrapOrdered, BootstrapParallel))
	}
	if s.MinReady != "" {
		if _, err := ParseDuration("min_ready", s.MinReady); err != nil {
			errs = append(errs, err)
		}
	}
	u := s.Update
	if u.MaxUnavailable < 0 {
		errs = append(errs, fmt.Errorf("update.max_unavailable: %d must be at least 1", u.MaxUnavailable))
	}
	if u.Partition < 0 {
		errs = append(errs, fmt.Errorf("update.partition: %d must not be negative", u.Partition))
	}
	if f := u.OnFailure; f != "" && f != OnFailureStop && f != OnFailureRevert {
		errs = append(errs, fmt.Errorf("update.on_failure: %q must be %q or %q", f, OnFailureStop, OnFailureRevert))
	}
	return errs
}

// ValidateImage checks an image reference the way Docker parses it, so a
// reference Docker would refuse fails at plan rather than at apply.
func ValidateImage(ref string) error {
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return fmt.Errorf("%q is not an image reference Docker accepts (%w): write repository[:tag] or repository@sha256:<digest>, the repository in lower case", ref, err)
	}
	return nil
}

// signals are the Linux signal names Docker takes as a stop signal.
var signals = []string{
	"ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL", "PIPE", "POLL", "PROF",
	"PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2",
	"VTALRM", "WINCH", "XCPU", "XFSZ",
}

// ValidateSignal checks a stop signal: a name such as SIGINT (or INT), a
// real-time signal such as SIGRTMIN+3, or a number from 1 to 64.
func ValidateSignal(value string) error {
	name := strings.TrimPrefix(strings.ToUpper(value), "SIG")
	if n, err := strconv.Atoi(value); err == nil && n >= 1 && n <= 64 {
		return nil
	}
	if slices.Contains(signals, name) || name == "RTMIN" || name == "RTMAX" {
		return nil
	}
	for _, prefix := range []string{"RTMIN+", "RTMAX-"} {
		if n, err := strconv.Atoi(strings.TrimPrefix(name, prefix)); strings.HasPrefix(name, prefix) && err == nil && n >= 1 && n <= 30 {
			return nil
		}
	}
	return fmt.Errorf("%q is not a signal: write a name such as SIGINT, SIGTERM or SIGQUIT, or a number from 1 to 64", value)
}

// ValidateEnvName checks an environment variable name: not empty, and
// without '=' (which would end the name), as the process would read it.
func ValidateEnvName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("an environment variable name is empty; give it a name such as APP_MODE")
	case strings.ContainsAny(name, "=\x00"):
		return fmt.Errorf("%q cannot be an environment variable name: it contains '=' or NUL, which end a name", name)
	}
	return nil
}
