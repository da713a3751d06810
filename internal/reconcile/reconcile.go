// Package reconcile decides, without I/O, what must happen to the replicas on
// a host to make them match the desired spec, and runs such a decision
// against a Runtime. Plan and apply call the same Plan function, so what the
// plan shows is what apply does.
package reconcile

import (
	"fmt"
	"maps"
	"slices"
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
	// Published are the container's published ports, as the daemon lists
	// them (only while it runs).
	Published []PublishedPort
	// Network is the ID of the service network the container is attached
	// to; it outlives the network when that is removed behind our back.
	Network string
	// Restart is the restart policy the container has now, when known: the
	// one setting Docker lets change without replacing it.
	Restart *spec.RestartPolicy
	// Owner is the owner identity on the container's labels: the
	// Terraform state that created it ("" on containers of releases
	// before owners).
	Owner string
	// ImageID is the ID of the image the container runs ("" when not
	// known, as in records of releases before it was kept).
	ImageID string
	// AfterReadyFailed is true when the after_ready hook failed in the
	// container after apply launched it: the next apply runs it again.
	AfterReadyFailed bool
}

// PublishedPort is one container port published on the host.
type PublishedPort struct {
	Internal int
	Protocol string
	HostIP   string
	HostPort int
}

// Kind is what an action does to a replica.
type Kind string

// Action kinds.
const (
	Create  Kind = "create"
	Start   Kind = "start"
	Replace Kind = "replace"
	Remove  Kind = "remove"
	// Hold is a replacement the partition holds back: planned, shown, not
	// executed.
	Hold Kind = "held back"
	// Update changes a running container's settings in place, without a
	// restart.
	Update Kind = "update in place"
	// Hook runs a running replica's after_ready hook again, after it
	// failed.
	Hook Kind = "run hooks"
)

// Action is one step of a rollout. ContainerID names the existing container
// for start, replace and remove, and Host the host it is on; the replica
// launches on its own desired host.
type Action struct {
	Kind        Kind
	Ordinal     int
	Name        string
	ContainerID string
	Host        string
	Reason      string
	// On names the host the replica launches on, for display, when the
	// service spans several hosts.
	On string
	// RecreateVolumes lists Docker volumes a replace removes (after the old
	// container) so that they are created anew with their new definition.
	RecreateVolumes []string
	// DeleteData lists the data a remove deletes (retention = delete).
	DeleteData []spec.Mount
	// Batch groups actions that run together; batches run in order. Zero
	// means a batch of its own.
	Batch int
	// Previous is the replica as it was, rendered from the replaced
	// container's definition label, so a failed replacement can revert.
	Previous *spec.Replica
	// Hooks run around the action, in their order: before_create,
	// decommission and before_stop before it, after_ready after it.
	Hooks []spec.HookRun
	// BackupTo, when set, is where the data the action deletes or
	// recreates is archived first.
	BackupTo string
}

// ObservedVolume is one Docker volume owned by the service, on a host.
type ObservedVolume struct {
	Host       string
	Name       string
	Definition string
	// Volume is the volume block it was created for, Ordinal the replica
	// it belongs to (-1 when all replicas share it), and Driver its
	// driver, as its labels and the daemon say.
	Volume  string
	Ordinal int
	Driver  string
}

// Options are what Plan needs beyond replicas: the service's volumes as
// observed, its retention, and how to render any ordinal's mounts; the
// rollout policy; and the desired definition, to explain replacements.
type Options struct {
	Volumes   []ObservedVolume
	Retention spec.Retention
	MountsFor func(ordinal int) ([]spec.Mount, error)
	// Desired is the service the replicas were rendered from.
	Desired *spec.Service
	// Partition holds back spec replacements of lower ordinals.
	Partition int
	// MaxUnavailable replacements run at once (at least 1).
	MaxUnavailable int
	// Parallel creates, starts and removes replicas all at once instead
	// of one by one in order.
	Parallel bool
	// Known are the ordinals the service had before: one missing now was
	// removed outside Terraform.
	Known map[int]bool
	// ShowHosts names the host of each launch in the actions.
	ShowHosts bool
	// Networks are the IDs of the service's network on each host, as
	// observed ("" when it is missing). A stopped container attached to
	// another network ID lost its network. Hosts not listed are not checked.
	Networks map[string]string
	// StaleImages are the containers (by ID) whose image is no longer the
	// one their image reference names (pull_policy "always": the tag moved
	// in the registry or on the host); they are replaced.
	StaleImages map[string]bool
	// HooksFor renders the lifecycle hooks of any ordinal (nil: none).
	HooksFor func(ordinal int) (spec.ReplicaHooks, error)
	// Membership adds and removes replicas of a running service one at a
	// time, whatever Parallel says: each joins or leaves a cluster that
	// must keep quorum.
	Membership bool
	// Backup, when set, archives data before it is deleted or recreated.
	Backup *spec.Backup
}

// Blocked is a replica whose volume definition changed where Docker cannot
// change it in place, without the opt-in to recreate it.
type Blocked struct {
	Replica string
	Volume  string
	Source  string
}

func (a Action) String() string {
	s := fmt.Sprintf("%s: %s", a.Name, a.Kind)
	if a.On != "" {
		s += " on " + a.On
	}
	var details []string
	if a.Reason != "" {
		details = append(details, a.Reason)
	}
	if len(a.Hooks) > 0 {
		names := make([]string, len(a.Hooks))
		for i, h := range a.Hooks {
			names[i] = h.Point
			if h.RunIn == spec.RunInPeer {
				names[i] += " in a peer"
			}
		}
		details = append(details, "hooks: "+strings.Join(names, ", "))
	}
	if backedUp := a.backedUp(); len(backedUp) > 0 {
		details = append(details, "backup of "+strings.Join(backedUp, ", ")+" to "+a.BackupTo+" first")
	}
	if len(details) > 0 {
		s += " (" + strings.Join(details, "; ") + ")"
	}
	return s
}

// backedUp names the data the action archives before deleting or
// recreating it.
func (a Action) backedUp() []string {
	if a.BackupTo == "" {
		return nil
	}
	out := slices.Clone(a.RecreateVolumes)
	for _, m := range a.DeleteData {
		out = append(out, m.Source)
	}
	return out
}

// Plan returns the ordered actions that turn observed into desired:
// removals first, highest ordinal first, to free names and ports; then
// missing and stopped replicas in ascending ordinal order, to restore
// availability; then replacements, highest ordinal first, one at a time.
// A changed volume definition replaces the replica and recreates the volume
// when the volume opts in, and is reported as Blocked otherwise; scale-down
// deletes data when retention says so.
func Plan(desired []spec.Replica, observed []Observed, opts Options) ([]Action, []Blocked) {
	slots, condemned := assign(desired, observed)
	changed, blocked := changedVolumes(desired, opts.Volumes, len(observed) == 0)
	var removals, repairs, replacements []Action
	for _, o := range condemned {
		reason := reasonScaleDown
		if _, wanted := slots[o.Ordinal]; wanted {
			reason = "duplicate of ordinal " + fmt.Sprint(o.Ordinal)
		}
		a := Action{Kind: Remove, Ordinal: o.Ordinal, Name: o.Name, ContainerID: o.ID, Host: o.Host, Reason: reason}
		if reason == reasonScaleDown && opts.Retention.DeleteWhenScaled() {
			a.DeleteData = perReplicaData(opts, o.Ordinal)
		}
		removals = append(removals, a)
	}
	for _, r := range desired {
		o, found := slots[r.Ordinal]
		recreate := changed[r.Ordinal]
		switch {
		case !found:
			a := Action{Kind: Create, Ordinal: r.Ordinal, Name: r.Name, RecreateVolumes: recreate}
			if opts.ShowHosts {
				a.On = r.Host
			}
			if opts.Known[r.Ordinal] {
				a.Reason = "removed outside Terraform"
			}
			repairs = append(repairs, a)
		case !hostMatches(r, o):
			a := replace(r, o, "moved from host "+o.Host)
			a.RecreateVolumes = recreate
			replacements = append(replacements, a)
		case len(recreate) > 0:
			a := replace(r, o, "volume definition changed: "+strings.Join(recreate, ", ")+" recreated")
			a.RecreateVolumes = recreate
			replacements = append(replacements, a)
		case !identityMatches(r, o):
			replacements = append(replacements, replace(r, o, "renamed outside Terraform"))
		case lostNetwork(o, opts.Networks):
			// Docker cannot start a container whose network is gone.
			repairs = append(repairs, replace(r, o, "network "+r.Container.Network+" removed outside Terraform"))
		case !specMatches(r, o) && r.Ordinal < opts.Partition && (o.State == StateExited || o.State == StateCreated):
			// Held back by the partition, but down: bring back what ran.
			repairs = append(repairs, start(r, o))
		case !specMatches(r, o):
			replacements = append(replacements, replace(r, o, specReason(opts.Desired, o, observed)))
		case opts.StaleImages[o.ID]:
			replacements = append(replacements, replace(r, o, "image digest changed"))
		case o.State == StateCreated:
			// A container that never ran holds nothing, and one left by a
			// daemon that died while starting it cannot start again.
			repairs = append(repairs, replace(r, o, "created but never started"))
		case o.State == StateExited:
			repairs = append(repairs, start(r, o))
		case !isUp(o.State):
			replacements = append(replacements, replace(r, o, "container "+o.State))
		case o.AfterReadyFailed && hasAfterReady(opts, r.Ordinal):
			repairs = append(repairs, Action{Kind: Hook, Ordinal: r.Ordinal, Name: r.Name, ContainerID: o.ID, Host: o.Host,
				Reason: "after_ready failed in an earlier apply"})
		case o.Restart != nil && *o.Restart != r.Container.Restart:
			repairs = append(repairs, Action{Kind: Update, Ordinal: r.Ordinal, Name: r.Name, ContainerID: o.ID, Host: o.Host,
				Reason: fmt.Sprintf("restart policy changed outside Terraform to %s; configured %s", o.Restart, r.Container.Restart)})
		}
	}
	sort.SliceStable(repairs, func(i, j int) bool { return repairs[i].Ordinal < repairs[j].Ordinal })
	sort.SliceStable(replacements, func(i, j int) bool { return replacements[i].Ordinal > replacements[j].Ordinal })
	replacements, held := hold(replacements, opts.Partition)
	withPrevious(replacements, desired, observed, opts.Desired)
	withHooks(opts, slots, observed, removals, repairs, replacements)
	withBackups(opts.Backup, removals, repairs, replacements)
	parallel := opts.Parallel && (!opts.Membership || !upExcept(slots, -1))
	batch := 0
	batch = inBatches(removals, batch, single(parallel, len(removals)))
	batch = inBatches(repairs, batch, single(parallel, len(repairs)))
	inBatches(replacements, batch, max(opts.MaxUnavailable, 1))
	if opts.ShowHosts {
		showHosts(desired, replacements)
		showHosts(desired, held)
	}
	return append(append(append(removals, repairs...), replacements...), held...), blocked
}

// reasonScaleDown is the reason of a removal the replica count asks for:
// the one that deletes data when retention says so, and decommissions.
const reasonScaleDown = "scale down"

// showHosts names the host each replacement launches on.
func showHosts(desired []spec.Replica, actions []Action) {
	replicas := byOrdinal(desired)
	for i := range actions {
		actions[i].On = replicas[actions[i].Ordinal].Host
	}
}

// byOrdinal indexes desired replicas by ordinal.
func byOrdinal(desired []spec.Replica) map[int]spec.Replica {
	out := make(map[int]spec.Replica, len(desired))
	for _, r := range desired {
		out[r.Ordinal] = r
	}
	return out
}

// single is the batch size of removals and repairs: all at once in
// parallel mode, one by one otherwise.
func single(parallel bool, n int) int {
	if parallel {
		return max(n, 1)
	}
	return 1
}

// inBatches numbers actions in batches of size after the last batch used.
func inBatches(actions []Action, last, size int) int {
	for i := range actions {
		actions[i].Batch = last + 1 + i/size
	}
	if len(actions) == 0 {
		return last
	}
	return actions[len(actions)-1].Batch
}

// hold takes spec replacements of ordinals below the partition out of the
// rollout; drift repairs are never held back.
func hold(replacements []Action, partition int) (kept, held []Action) {
	for _, a := range replacements {
		if a.Ordinal < partition && isSpecChange(a) {
			a.Kind = Hold
			a.Reason = fmt.Sprintf("partition %d; %s", partition, a.Reason)
			held = append(held, a)
			continue
		}
		kept = append(kept, a)
	}
	return kept, held
}

func isSpecChange(a Action) bool {
	return len(a.RecreateVolumes) > 0 || (a.Reason != "renamed outside Terraform" && !strings.HasPrefix(a.Reason, "container "))
}

// specReason names what changed, from the replaced container's definition
// label, in the schema's words. The replica count is not in the label (a
// scale does not change a replica's definition), so an unchanged
// definition whose rendering changed is explained by the count it was
// rendered with, when one explains it.
func specReason(desired *spec.Service, o Observed, observed []Observed) string {
	if desired == nil {
		return "spec changed"
	}
	previous, err := spec.ParseSpecLabel(o.Spec)
	if err != nil {
		return "spec changed"
	}
	if changes := spec.Changes(previous, *desired); len(changes) > 0 {
		return strings.Join(changes, ", ")
	}
	if n, ok := previousReplicas(desired, o, observed); ok {
		seenBy := "templates"
		if desired.Cluster != nil && desired.Cluster.MembersEnv != "" {
			seenBy = "cluster.members_env"
		}
		return fmt.Sprintf("replicas %d → %d, seen by %s", n, desired.Replicas, seenBy)
	}
	return "secret or template values changed"
}

// maxReplicaGuess bounds the replica counts tried to explain a changed
// rendering.
const maxReplicaGuess = 1024

// previousReplicas finds the replica count o's container was rendered with:
// its definition label in today's context (placement, secret values)
// rendered with another count gives its fingerprint. The count of observed
// replicas is tried first: it is the previous count unless some were lost.
func previousReplicas(desired *spec.Service, o Observed, observed []Observed) (int, bool) {
	old, err := previousService(desired, o.Spec, o.Ordinal, o.Host)
	if err != nil {
		return 0, false
	}
	ordinals := map[int]bool{}
	for _, x := range observed {
		ordinals[x.Ordinal] = true
	}
	limit := min(max(2*max(desired.Replicas, len(ordinals), o.Ordinal-old.OrdinalStart+1), 16), maxReplicaGuess)
	candidates := []int{len(ordinals)}
	for n := 1; n <= limit; n++ {
		if n != len(ordinals) {
			candidates = append(candidates, n)
		}
	}
	for _, n := range candidates {
		if n == desired.Replicas || n <= o.Ordinal-old.OrdinalStart {
			continue // the count the replica is rendered with now, or one without it
		}
		old.Replicas = n
		if r, err := old.RenderOrdinal(o.Ordinal); err == nil && r.Fingerprint == o.Fingerprint {
			return n, true
		}
	}
	return 0, false
}

// previousService is the service a container's definition label describes,
// in the desired service's context: its replica count, placement (the
// replica on host), and secret values and credentials, which labels never
// hold.
func previousService(svc *spec.Service, label string, ordinal int, host string) (spec.Service, error) {
	old, err := spec.ParseSpecLabel(label)
	if err != nil {
		return spec.Service{}, err
	}
	old.Replicas, old.Placement, old.Advertise = svc.Replicas, svc.Placement, svc.Advertise
	old.Placed = maps.Clone(svc.Placed)
	if old.Placed != nil && host != "" {
		old.Placed[ordinal] = host
	}
	for j := range old.Secrets {
		old.Secrets[j].Value, old.Secrets[j].Digest = secretValue(svc.Secrets, old.Secrets[j].Name)
	}
	for j, v := range old.Volumes {
		if v.Shared != nil {
			old.Volumes[j].Shared.Credentials = sharedCredentials(svc.Volumes, v.Name)
		}
	}
	return old, nil
}

// withPrevious renders, for each replacement, the replica as its container
// was defined, for revert. Secret values cannot be read back: the current
// ones are delivered.
func withPrevious(replacements []Action, desired []spec.Replica, observed []Observed, svc *spec.Service) {
	if svc == nil {
		return
	}
	byID := make(map[string]Observed, len(observed))
	for _, o := range observed {
		byID[o.ID] = o
	}
	current := byOrdinal(desired)
	for i, a := range replacements {
		if a.Reason == "renamed outside Terraform" {
			continue
		}
		// The previous replica ran on its old host, and saw it in templates.
		old, err := previousService(svc, byID[a.ContainerID].Spec, a.Ordinal, a.Host)
		if err != nil {
			continue
		}
		previous, err := old.RenderOrdinal(a.Ordinal)
		previous.Host = a.Host // a revert goes back where the replica was
		if err == nil && (previous.Fingerprint != current[a.Ordinal].Fingerprint || previous.Host != current[a.Ordinal].Host) {
			replacements[i].Previous = &previous
		}
	}
}

// sharedCredentials are the current write-only credentials of a shared
// volume: labels never hold them.
func sharedCredentials(volumes []spec.Volume, name string) string {
	for _, v := range volumes {
		if v.Name == name && v.Shared != nil {
			return v.Shared.Credentials
		}
	}
	return ""
}

func secretValue(secrets []spec.Secret, name string) ([]byte, string) {
	for _, s := range secrets {
		if s.Name == name {
			return s.Value, s.Digest
		}
	}
	return nil, ""
}

// changedVolumes finds desired Docker volumes that exist with another
// definition: to recreate per ordinal (opted in), or blocked. A volume
// shared by all replicas can be recreated only when no container runs
// (idle), by the first replica to start.
func changedVolumes(desired []spec.Replica, observed []ObservedVolume, idle bool) (map[int][]string, []Blocked) {
	existing := make(map[string]string, len(observed))
	for _, v := range observed {
		existing[v.Host+"/"+v.Name] = v.Definition
	}
	first := map[string]int{} // the first replica on each host owns shared volumes
	for _, r := range desired {
		if _, seen := first[r.Host]; !seen {
			first[r.Host] = r.Ordinal
		}
	}
	recreate := map[int][]string{}
	var blocked []Blocked
	for _, r := range desired {
		for _, m := range r.Container.Mounts {
			def, found := existing[r.Host+"/"+m.Source]
			if !m.Named() || !found || def == m.Definition {
				continue
			}
			first := r.Ordinal == first[r.Host]
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

// assign puts each observed container in the slot of its ordinal; the best
// candidate wins a slot and the rest are condemned, highest ordinal first.
func assign(desired []spec.Replica, observed []Observed) (map[int]Observed, []Observed) {
	want := byOrdinal(desired)
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
	if hostMatches(r, o) {
		s += 4
	}
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

// hostMatches: an unplaced replica (no host) matches any host.
func hostMatches(r spec.Replica, o Observed) bool { return r.Host == "" || r.Host == o.Host }

func isUp(state string) bool { return state == StateRunning || state == StateRestarting }

func replace(r spec.Replica, o Observed, reason string) Action {
	return Action{Kind: Replace, Ordinal: r.Ordinal, Name: r.Name, ContainerID: o.ID, Host: o.Host, Reason: reason}
}

// lostNetwork: a container that is down and attached to a network ID the
// host no longer has (removed, or removed and created anew).
func lostNetwork(o Observed, networks map[string]string) bool {
	current, checked := networks[o.Host]
	return checked && o.Network != "" && o.Network != current && !isUp(o.State)
}

func start(r spec.Replica, o Observed) Action {
	return Action{Kind: Start, Ordinal: r.Ordinal, Name: r.Name, ContainerID: o.ID, Host: o.Host, Reason: stoppedReason(o.State)}
}

func stoppedReason(state string) string {
	if state == StateCreated {
		return "never started"
	}
	return "stopped outside Terraform"
}

// hasAfterReady tells whether an ordinal has an after_ready hook.
func hasAfterReady(opts Options, ordinal int) bool {
	if opts.HooksFor == nil {
		return false
	}
	hooks, err := opts.HooksFor(ordinal)
	return err == nil && hooks.AfterReady != nil
}

// upExcept tells whether a replica the service keeps runs, other than the
// one of ordinal (-1: any).
func upExcept(slots map[int]Observed, ordinal int) bool {
	for _, o := range slots {
		if o.Ordinal != ordinal && isUp(o.State) {
			return true
		}
	}
	return false
}

// withHooks attaches the lifecycle hooks each action runs. before_create
// runs only for an ordinal new to a running service (scale-up), never at
// bootstrap or for a replica removed outside Terraform; decommission only
// on scale-down; before_stop only when a running replica is replaced; and
// hooks in the replica itself only when it runs. A hook in a peer needs
// another running replica the service keeps.
func withHooks(opts Options, slots map[int]Observed, observed []Observed, removals, repairs, replacements []Action) {
	if opts.HooksFor == nil {
		return
	}
	running := map[string]bool{}
	for _, o := range observed {
		running[o.ID] = isUp(o.State)
	}
	attach := func(a *Action, h *spec.HookRun, selfUp bool) {
		if h != nil && ((h.RunIn == spec.RunInPeer && upExcept(slots, a.Ordinal)) || (h.RunIn != spec.RunInPeer && selfUp)) {
			a.Hooks = append(a.Hooks, *h)
		}
	}
	for _, actions := range [][]Action{removals, repairs, replacements} {
		for i := range actions {
			a := &actions[i]
			hooks, err := opts.HooksFor(a.Ordinal)
			if err != nil {
				continue
			}
			switch a.Kind {
			case Remove:
				if a.Reason == reasonScaleDown {
					attach(a, hooks.Decommission, running[a.ContainerID])
				}
				continue
			case Create:
				if a.Reason == "" {
					attach(a, hooks.BeforeCreate, false)
				}
			case Replace:
				attach(a, hooks.BeforeStop, running[a.ContainerID])
			case Update:
				continue
			}
			attach(a, hooks.AfterReady, true) // the replica runs by then
		}
	}
}

// withBackups marks the actions that delete or recreate data as taking a
// backup first.
func withBackups(b *spec.Backup, lists ...[]Action) {
	if b == nil {
		return
	}
	for _, actions := range lists {
		for i := range actions {
			if len(actions[i].DeleteData) > 0 || len(actions[i].RecreateVolumes) > 0 {
				actions[i].BackupTo = b.Destination()
			}
		}
	}
}
