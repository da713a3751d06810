package spec

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// Hook points: when, in a replica's life, the provider runs a hook.
const (
	// HookBeforeCreate runs in a running peer before a new ordinal is
	// created in a service that already runs (scale-up): etcd's member add.
	HookBeforeCreate = "before_create"
	// HookAfterReady runs after the provider started a replica and it is
	// ready: promote an etcd learner, register.
	HookAfterReady = "after_ready"
	// HookDecommission runs before scale-down removes a replica: member
	// remove, drain. Destroy runs none.
	HookDecommission = "decommission"
	// HookBeforeStop runs before a running replica is stopped to be
	// replaced: leadership hand-off, checkpoint.
	HookBeforeStop = "before_stop"
)

// Where a hook runs.
const (
	// RunInSelf runs the hook in the replica it is about.
	RunInSelf = "self"
	// RunInPeer runs the hook in the running replica of the lowest ordinal
	// other than the one it is about.
	RunInPeer = "peer"
)

// DefaultHookTimeout bounds a hook that sets no timeout.
const DefaultHookTimeout = "1m"

// Cluster scaling modes.
const (
	// ScalingRestart gives every replica the full member list, so a change
	// of replicas replaces the running ones.
	ScalingRestart = "restart"
	// ScalingJoin gives each replica the members that exist when it joins:
	// the seeds and the ordinals below it. A change of replicas replaces no
	// running replica.
	ScalingJoin = "join"
)

// Hook is a command the provider runs, through Docker exec, at one point of
// a replica's life. Command elements are templates of the replica the hook
// is about.
type Hook struct {
	Command []string `json:"command"`
	RunIn   string   `json:"run_in,omitempty"`
	Timeout string   `json:"timeout,omitempty"`
}

// Hooks are a service's lifecycle hooks; they are not part of any
// fingerprint: changing one replaces nothing.
type Hooks struct {
	BeforeCreate *Hook `json:"before_create,omitempty"`
	AfterReady   *Hook `json:"after_ready,omitempty"`
	Decommission *Hook `json:"decommission,omitempty"`
	BeforeStop   *Hook `json:"before_stop,omitempty"`
}

// HookRun is one hook rendered for one replica, ready to run.
type HookRun struct {
	Point   string
	Command []string
	RunIn   string
	Timeout time.Duration
}

// ReplicaHooks are the hooks of one replica, rendered; nil where unset.
type ReplicaHooks struct {
	BeforeCreate *HookRun
	AfterReady   *HookRun
	Decommission *HookRun
	BeforeStop   *HookRun
}

// Membership tells whether hooks tell the cluster of members coming and
// going: added and removed replicas then go one at a time.
func (h *Hooks) Membership() bool {
	return h != nil && (h.BeforeCreate != nil || h.Decommission != nil)
}

func (h *Hooks) points() []struct {
	name string
	hook *Hook
} {
	if h == nil {
		return nil
	}
	return []struct {
		name string
		hook *Hook
	}{
		{HookBeforeCreate, h.BeforeCreate},
		{HookAfterReady, h.AfterReady},
		{HookDecommission, h.Decommission},
		{HookBeforeStop, h.BeforeStop},
	}
}

// RenderHooks renders the hooks of any ordinal, in or out of the desired
// range (a replica scale-down removes).
func (s Service) RenderHooks(ordinal int) (ReplicaHooks, error) {
	var out ReplicaHooks
	into := map[string]**HookRun{
		HookBeforeCreate: &out.BeforeCreate,
		HookAfterReady:   &out.AfterReady,
		HookDecommission: &out.Decommission,
		HookBeforeStop:   &out.BeforeStop,
	}
	id := s.identity(ordinal)
	for _, p := range s.Hooks.points() {
		if p.hook == nil {
			continue
		}
		run, err := p.hook.render(p.name, id)
		if err != nil {
			return ReplicaHooks{}, err
		}
		*into[p.name] = run
	}
	return out, nil
}

func (h *Hook) render(point string, id Identity) (*HookRun, error) {
	attribute := "hooks." + point
	timeout, err := ParseDuration(attribute+".timeout", orDefault(h.Timeout, DefaultHookTimeout))
	if err != nil {
		return nil, err
	}
	run := &HookRun{Point: point, RunIn: h.runIn(point), Timeout: timeout}
	for i, arg := range h.Command {
		text, err := renderTemplate(fmt.Sprintf("%s.command[%d]", attribute, i), arg, id)
		if err != nil {
			return nil, err
		}
		run.Command = append(run.Command, text)
	}
	return run, nil
}

// runIn is where a hook runs: before_create can only run in a peer, since
// its replica does not exist yet; the others default to the replica itself.
func (h *Hook) runIn(point string) string {
	if point == HookBeforeCreate {
		return RunInPeer
	}
	return orDefault(h.RunIn, RunInSelf)
}

func (s Service) validateHooks() []error {
	var errs []error
	for _, p := range s.Hooks.points() {
		if p.hook == nil {
			continue
		}
		attribute := "hooks." + p.name
		if len(p.hook.Command) == 0 || p.hook.Command[0] == "" {
			errs = append(errs, fmt.Errorf("%s.command: give the command to run, as a list: [\"sh\", \"-c\", \"...\"]", attribute))
		}
		switch p.hook.RunIn {
		case "", RunInSelf, RunInPeer:
		default:
			errs = append(errs, fmt.Errorf("%s.run_in: %q is not %q or %q", attribute, p.hook.RunIn, RunInSelf, RunInPeer))
		}
		if p.name == HookBeforeCreate && p.hook.RunIn == RunInSelf {
			errs = append(errs, fmt.Errorf("%s.run_in: before_create runs before its replica exists; it can only run in a %q", attribute, RunInPeer))
		}
		timeout, err := ParseDuration(attribute+".timeout", orDefault(p.hook.Timeout, DefaultHookTimeout))
		switch {
		case err != nil:
			errs = append(errs, err)
			continue
		case timeout < time.Second:
			errs = append(errs, fmt.Errorf("%s.timeout: %s is shorter than a second; give the hook time to run", attribute, p.hook.Timeout))
		}
		if err := s.renderEveryOrdinal(p.name, p.hook); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// renderEveryOrdinal renders a hook for every desired ordinal and the next
// one (a scale-up), so that a template failing for some replicas only, as
// in a branch on {{.Seed}}, fails the plan rather than a rollout.
func (s Service) renderEveryOrdinal(point string, h *Hook) error {
	for ordinal := s.OrdinalStart; ordinal <= s.OrdinalStart+max(s.Replicas, 0); ordinal++ {
		if _, err := h.render(point, s.identity(ordinal)); err != nil {
			return err
		}
	}
	return nil
}

// Backup says where data is archived before the provider deletes or
// recreates it.
type Backup struct {
	// HostPath is a directory of the Docker host; Volume a Docker volume.
	// Exactly one is set.
	HostPath string `json:"host_path,omitempty"`
	Volume   string `json:"volume,omitempty"`
}

// Destination describes where backups go, for plans and errors.
func (b *Backup) Destination() string {
	if b.Volume != "" {
		return "volume " + b.Volume
	}
	return b.HostPath
}

func (s Service) validateBackup() []error {
	b := s.Backup
	if b == nil {
		return nil
	}
	switch {
	case (b.HostPath == "") == (b.Volume == ""):
		return []error{fmt.Errorf("backup: set exactly one of host_path (a directory of the Docker host) and volume (a Docker volume)")}
	case b.HostPath != "" && (!path.IsAbs(b.HostPath) || path.Clean(b.HostPath) != b.HostPath || b.HostPath == "/"):
		return []error{fmt.Errorf("backup.host_path: %q must be a clean absolute directory path, such as /var/backups/stateful", b.HostPath)}
	case b.Volume != "":
		if err := ValidateName(b.Volume); err != nil {
			return []error{fmt.Errorf("backup.volume: %w", err)}
		}
		for _, v := range s.Volumes {
			shared := VolumeName(s.Name, v.Name, 0, false)
			ordinal, perReplica := strings.CutPrefix(b.Volume, shared+"-")
			if v.Host == nil && (b.Volume == shared || (v.PerReplica && perReplica && isDigits(ordinal))) {
				return []error{fmt.Errorf("backup.volume: %q is named like a volume of the service itself; back up into another volume", b.Volume)}
			}
		}
	}
	return nil
}

// BackupFileName names the archive of one mount's data taken at a time:
// <service>.<replica or "shared">.<volume>.<UTC time>.tar, so that a
// directory of backups sorts by service, replica and volume, then time.
func BackupFileName(service, replica, volume string, at time.Time) string {
	if replica == "" {
		replica = "shared"
	}
	return fmt.Sprintf("%s.%s.%s.%s.tar", service, replica, volume, at.UTC().Format("20060102T150405Z"))
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
