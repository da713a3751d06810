// Package reconcile decides, without I/O, what must happen to the replicas on
// a host to make them match the desired spec, and runs such a decision
// against a Runtime. Plan and apply call the same Plan function, so what the
// plan shows is what apply does.
package reconcile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// Docker container states that matter here.
const (
	StateRunning    = "running"
	StateRestarting = "restarting"
	StateCreated    = "created"
	StateExited     = "exited"
)

// Observed is one owned container as listed on a host.
type Observed struct {
	ID          string
	Name        string
	Host        string
	Ordinal     int
	Fingerprint string
	State       string
	Health      string
	Address     string
	// Spec is the raw service-definition label, for import.
	Spec string
	// Mounts are the container's mounts: Docker volume names or host paths.
	Mounts []ObservedMount
}

// ObservedMount is one mount of an observed container.
type ObservedMount struct {
	Source string
	Target string
}

// Kind is what an action does to a replica.
type Kind string

// Action kinds.
const (
	Create  Kind = "create"
	Start   Kind = "start"
	Replace Kind = "replace"
	Remove  Kind = "remove"
)

// Action is one step of a rollout. ContainerID names the existing container
// for start, replace and remove.
type Action struct {
	Kind        Kind
	Ordinal     int
	Name        string
	ContainerID string
	Reason      string
	// RecreateVolumes lists Docker volumes a replace removes (after the old
	// container) so that they are created anew with their new definition.
	RecreateVolumes []string
	// DeleteData lists the data a remove deletes (retention = delete).
	DeleteData []spec.Mount
}

// ObservedVolume is one Docker volume owned by the service.
type ObservedVolume struct {
	Name       string
	Definition string
}

// Options are what Plan needs beyond replicas: the service's volumes as
// observed, its retention, and how to render any ordinal's mounts.
type Options struct {
	Volumes   []ObservedVolume
	Retention spec.Retention
	MountsFor func(ordinal int) ([]spec.Mount, error)
}

// Blocked is a replica whose volume definition changed where Docker cannot
// change it in place, without the opt-in to recreate it.
type Blocked struct {
	Replica string
	Volume  string
	Source  string
}

func (a Action) String() string {
	if a.Reason == "" {
		return fmt.Sprintf("%s: %s", a.Name, a.Kind)
	}
	return fmt.Sprintf("%s: %s (%s)", a.Name, a.Kind, a.Reason)
}

// Plan returns the ordered actions that turn observed into desired:
// removals first, highest ordinal first, to free names and ports; then
// missing and stopped replicas in ascending ordinal order, to restore
// availability; then replacements, highest ordinal first, one at a time.
func Plan(desired []spec.Replica, observed []Observed) []Action {
	actions, _ := PlanWith(desired, observed, Options{})
	return actions
}

// PlanWith is Plan with volumes: a changed volume definition replaces the
// replica and recreates the volume when the volume opts in, and is reported
// as Blocked otherwise; scale-down deletes data when retention says so.
func PlanWith(desired []spec.Replica, observed []Observed, opts Options) ([]Action, []Blocked) {
	slots, condemned := assign(desired, observed)
	changed, blocked := changedVolumes(desired, opts.Volumes, len(observed) == 0)
	var removals, repairs, replacements []Action
	for _, o := range condemned {
		reason := "scale down"
		if _, wanted := slots[o.Ordinal]; wanted {
			reason = "duplicate of ordinal " + fmt.Sprint(o.Ordinal)
		}
		a := Action{Kind: Remove, Ordinal: o.Ordinal, Name: o.Name, ContainerID: o.ID, Reason: reason}
		if reason == "scale down" && opts.Retention.DeleteWhenScaled() {
			a.DeleteData = perReplicaData(opts, o.Ordinal)
		}
		removals = append(removals, a)
	}
	for _, r := range desired {
		o, found := slots[r.Ordinal]
		recreate := changed[r.Ordinal]
		switch {
		case !found:
			repairs = append(repairs, Action{Kind: Create, Ordinal: r.Ordinal, Name: r.Name, RecreateVolumes: recreate})
		case len(recreate) > 0:
			a := replace(r, o, "volume definition changed: "+strings.Join(recreate, ", ")+" recreated")
			a.RecreateVolumes = recreate
			replacements = append(replacements, a)
		case !identityMatches(r, o):
			replacements = append(replacements, replace(r, o, "renamed outside Terraform"))
		case !specMatches(r, o):
			replacements = append(replacements, replace(r, o, "spec changed"))
		case o.State == StateExited || o.State == StateCreated:
			repairs = append(repairs, Action{Kind: Start, Ordinal: r.Ordinal, Name: r.Name, ContainerID: o.ID, Reason: stoppedReason(o.State)})
		case !isUp(o.State):
			replacements = append(replacements, replace(r, o, "container "+o.State))
		}
	}
	sort.SliceStable(repairs, func(i, j int) bool { return repairs[i].Ordinal < repairs[j].Ordinal })
	sort.SliceStable(replacements, func(i, j int) bool { return replacements[i].Ordinal > replacements[j].Ordinal })
	return append(append(removals, repairs...), replacements...), blocked
}

// changedVolumes finds desired Docker volumes that exist with another
// definition: to recreate per ordinal (opted in), or blocked. A volume
// shared by all replicas can be recreated only when no container runs
// (idle), by the first replica to start.
func changedVolumes(desired []spec.Replica, observed []ObservedVolume, idle bool) (map[int][]string, []Blocked) {
	existing := make(map[string]string, len(observed))
	for _, v := range observed {
		existing[v.Name] = v.Definition
	}
	recreate := map[int][]string{}
	var blocked []Blocked
	for _, r := range desired {
		for _, m := range r.Container.Mounts {
			def, found := existing[m.Source]
			if !m.Named() || !found || def == m.Definition {
				continue
			}
			first := r.Ordinal == desired[0].Ordinal
			switch {
			case m.RecreateOnChange && (!m.Shared || (idle && first)):
				recreate[r.Ordinal] = append(recreate[r.Ordinal], m.Source)
			case !m.Shared || first:
				blocked = append(blocked, Blocked{Replica: r.Name, Volume: m.Volume, Source: m.Source})
			}
		}
	}
	return recreate, blocked
}

// perReplicaData is the data of one ordinal that retention may delete.
func perReplicaData(opts Options, ordinal int) []spec.Mount {
	if opts.MountsFor == nil {
		return nil
	}
	mounts, err := opts.MountsFor(ordinal)
	if err != nil {
		return nil
	}
	var out []spec.Mount
	for _, m := range mounts {
		if !m.Shared {
			out = append(out, m)
		}
	}
	return out
}

// Touched lists the ordinals an action list changes.
func Touched(actions []Action) map[int]bool {
	out := make(map[int]bool, len(actions))
	for _, a := range actions {
		out[a.Ordinal] = true
	}
	return out
}

// assign puts each observed container in the slot of its ordinal; the best
// candidate wins a slot and the rest are condemned, highest ordinal first.
func assign(desired []spec.Replica, observed []Observed) (map[int]Observed, []Observed) {
	want := make(map[int]spec.Replica, len(desired))
	for _, r := range desired {
		want[r.Ordinal] = r
	}
	candidates := append([]Observed(nil), observed...)
	sort.SliceStable(candidates, func(i, j int) bool {
		a, b := candidates[i], candidates[j]
		if a.Ordinal != b.Ordinal {
			return a.Ordinal < b.Ordinal
		}
		if sa, sb := score(want[a.Ordinal], a), score(want[b.Ordinal], b); sa != sb {
			return sa > sb
		}
		return a.ID < b.ID
	})
	slots := map[int]Observed{}
	var condemned []Observed
	for _, o := range candidates {
		if _, wanted := want[o.Ordinal]; !wanted {
			condemned = append(condemned, o)
			continue
		}
		if _, taken := slots[o.Ordinal]; taken {
			condemned = append(condemned, o)
			continue
		}
		slots[o.Ordinal] = o
	}
	sort.SliceStable(condemned, func(i, j int) bool { return condemned[i].Ordinal > condemned[j].Ordinal })
	return slots, condemned
}

// score ranks duplicate containers for one ordinal: keep the one that
// already matches and runs.
func score(r spec.Replica, o Observed) int {
	s := 0
	if identityMatches(r, o) && specMatches(r, o) {
		s += 2
	}
	if isUp(o.State) {
		s++
	}
	return s
}

func identityMatches(r spec.Replica, o Observed) bool { return r.Name == o.Name }

func specMatches(r spec.Replica, o Observed) bool { return r.Fingerprint == o.Fingerprint }

func isUp(state string) bool { return state == StateRunning || state == StateRestarting }

func replace(r spec.Replica, o Observed, reason string) Action {
	return Action{Kind: Replace, Ordinal: r.Ordinal, Name: r.Name, ContainerID: o.ID, Reason: reason}
}

func stoppedReason(state string) string {
	if state == StateCreated {
		return "never started"
	}
	return "stopped outside Terraform"
}
