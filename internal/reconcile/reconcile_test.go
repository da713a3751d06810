package reconcile

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// desired returns replicas of service "db" for the given ordinals, all with
// fingerprint fp.
func desired(fp string, ordinals ...int) []spec.Replica {
	out := make([]spec.Replica, 0, len(ordinals))
	for _, o := range ordinals {
		out = append(out, spec.Replica{Ordinal: o, Name: spec.ReplicaName("db", o), Fingerprint: fp})
	}
	return out
}

// plan is Plan without options, for tests that only look at the actions.
func plan(desired []spec.Replica, observed []Observed) []Action {
	actions, _ := Plan(desired, observed, Options{})
	return actions
}

// obs is an observed container of service "db", named after its ordinal.
func obs(id string, ordinal int, state, fp string) Observed {
	return Observed{ID: id, Name: spec.ReplicaName("db", ordinal), Ordinal: ordinal, State: state, Fingerprint: fp}
}

// render shows actions as "name: kind (reason) @container" lines.
func render(actions []Action) []string {
	out := make([]string, 0, len(actions))
	for _, a := range actions {
		line := a.String()
		if a.ContainerID != "" {
			line += " @" + a.ContainerID
		}
		out = append(out, line)
	}
	return out
}

func TestStringOfActionShowsNameKindAndReason(t *testing.T) {
	cases := map[string]struct {
		action Action
		want   string
	}{
		"without reason": {Action{Kind: Create, Ordinal: 1, Name: "db-1"}, "db-1: create"},
		"with reason":    {Action{Kind: Remove, Ordinal: 3, Name: "db-3", ContainerID: "c3", Reason: "scale down"}, "db-3: remove (scale down)"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := tc.action.String(); got != tc.want {
				t.Fatalf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

// Drift Docker reports on a container that still matches its spec: a
// stopped container whose network is gone is recreated (it can never start
// again), a restart policy changed with docker update is put back in place.
func TestPlanRepairsDriftTheDaemonReports(t *testing.T) {
	always := spec.RestartPolicy{Name: "always"}
	want := desired("v1", 0, 1, 2)
	for i := range want {
		want[i].Container.Restart = spec.RestartPolicy{Name: "unless-stopped"}
		want[i].Container.Network = "stateful-db"
	}
	withNetwork := func(o Observed, network string) Observed { o.Network = network; return o }
	withRestart := func(o Observed, p spec.RestartPolicy) Observed { o.Restart = &p; return o }
	cases := map[string]struct {
		observed []Observed
		networks map[string]string
		want     []string
	}{
		"stopped on a removed network": {
			observed: []Observed{withNetwork(obs("c0", 0, "exited", "v1"), "n1"), withNetwork(obs("c1", 1, "running", "v1"), "n1"), withNetwork(obs("c2", 2, "exited", "v1"), "n1")},
			networks: map[string]string{"": ""},
			want:     []string{"db-0: replace (network stateful-db removed outside Terraform) @c0", "db-2: replace (network stateful-db removed outside Terraform) @c2"},
		},
		"stopped on a network created anew": {
			observed: []Observed{withNetwork(obs("c0", 0, "exited", "v1"), "n1"), withNetwork(obs("c1", 1, "exited", "v1"), "n2"), withNetwork(obs("c2", 2, "running", "v1"), "n2")},
			networks: map[string]string{"": "n2"},
			want:     []string{"db-0: replace (network stateful-db removed outside Terraform) @c0", "db-1: start (stopped outside Terraform) @c1"},
		},
		"network not checked": {
			observed: []Observed{withNetwork(obs("c0", 0, "exited", "v1"), "n1"), obs("c1", 1, "running", "v1"), obs("c2", 2, "running", "v1")},
			want:     []string{"db-0: start (stopped outside Terraform) @c0"},
		},
		"restart policy changed": {
			observed: []Observed{withRestart(obs("c0", 0, "running", "v1"), always), withRestart(obs("c1", 1, "running", "v1"), want[1].Container.Restart), obs("c2", 2, "running", "v1")},
			want:     []string{"db-0: update in place (restart policy changed outside Terraform to always; configured unless-stopped) @c0"},
		},
		"restart policy of a replaced replica does not matter": {
			observed: []Observed{withRestart(obs("c0", 0, "running", "v0"), always), obs("c1", 1, "running", "v1"), obs("c2", 2, "running", "v1")},
			want:     []string{"db-0: replace (spec changed) @c0"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			actions, _ := Plan(want, tc.observed, Options{Networks: tc.networks})
			if got := render(actions); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestPlan(t *testing.T) {
	cases := map[string]struct {
		desired  []spec.Replica
		observed []Observed
		want     []string
	}{
		"fresh create is ascending": {
			desired: desired("v1", 0, 1, 2),
			want:    []string{"db-0: create", "db-1: create", "db-2: create"},
		},
		"fresh create from ordinal_start": {
			desired: desired("v1", 5, 6),
			want:    []string{"db-5: create", "db-6: create"},
		},
		"all matching and running": {
			desired:  desired("v1", 0, 1, 2),
			observed: []Observed{obs("c0", 0, "running", "v1"), obs("c1", 1, "running", "v1"), obs("c2", 2, "running", "v1")},
			want:     []string{},
		},
		"nothing desired, nothing observed": {
			want: []string{},
		},
		"scale up creates only the new ordinals": {
			desired:  desired("v1", 0, 1, 2, 3),
			observed: []Observed{obs("c0", 0, "running", "v1"), obs("c1", 1, "running", "v1")},
			want:     []string{"db-2: create", "db-3: create"},
		},
		"scale down removes highest first": {
			desired:  desired("v1", 0),
			observed: []Observed{obs("c0", 0, "running", "v1"), obs("c1", 1, "running", "v1"), obs("c2", 2, "running", "v1")},
			want:     []string{"db-2: remove (scale down) @c2", "db-1: remove (scale down) @c1"},
		},
		"scale down whatever the state": {
			desired:  desired("v1", 0),
			observed: []Observed{obs("c0", 0, "running", "v1"), obs("c1", 1, "exited", "v0"), obs("c2", 2, "dead", "v1")},
			want:     []string{"db-2: remove (scale down) @c2", "db-1: remove (scale down) @c1"},
		},
		"replicas=0 removes all": {
			desired:  nil,
			observed: []Observed{obs("c0", 0, "running", "v1"), obs("c1", 1, "exited", "v1"), obs("c2", 2, "created", "v0")},
			want:     []string{"db-2: remove (scale down) @c2", "db-1: remove (scale down) @c1", "db-0: remove (scale down) @c0"},
		},
		"below ordinal_start is scaled down": {
			desired:  desired("v1", 1, 2),
			observed: []Observed{obs("c0", 0, "running", "v1"), obs("c1", 1, "running", "v1"), obs("c2", 2, "running", "v1")},
			want:     []string{"db-0: remove (scale down) @c0"},
		},
		"spec change on all replaces highest first": {
			desired:  desired("v2", 0, 1, 2),
			observed: []Observed{obs("c0", 0, "running", "v1"), obs("c1", 1, "running", "v1"), obs("c2", 2, "running", "v1")},
			want:     []string{"db-2: replace (spec changed) @c2", "db-1: replace (spec changed) @c1", "db-0: replace (spec changed) @c0"},
		},
		"spec change on a stopped replica replaces it": {
			desired:  desired("v2", 0),
			observed: []Observed{obs("c0", 0, "exited", "v1")},
			want:     []string{"db-0: replace (spec changed) @c0"},
		},
		"exited is started": {
			desired:  desired("v1", 0, 1),
			observed: []Observed{obs("c0", 0, "running", "v1"), obs("c1", 1, "exited", "v1")},
			want:     []string{"db-1: start (stopped outside Terraform) @c1"},
		},
		"created is recreated": {
			desired:  desired("v1", 0),
			observed: []Observed{obs("c0", 0, "created", "v1")},
			want:     []string{"db-0: replace (created but never started) @c0"},
		},
		"dead is replaced": {
			desired:  desired("v1", 0),
			observed: []Observed{obs("c0", 0, "dead", "v1")},
			want:     []string{"db-0: replace (container dead) @c0"},
		},
		"paused is replaced": {
			desired:  desired("v1", 0),
			observed: []Observed{obs("c0", 0, "paused", "v1")},
			want:     []string{"db-0: replace (container paused) @c0"},
		},
		"removing is replaced": {
			desired:  desired("v1", 0),
			observed: []Observed{obs("c0", 0, "removing", "v1")},
			want:     []string{"db-0: replace (container removing) @c0"},
		},
		"restarting counts as up": {
			desired:  desired("v1", 0),
			observed: []Observed{obs("c0", 0, "restarting", "v1")},
			want:     []string{},
		},
		"health is not the planner's business": {
			desired:  desired("v1", 0),
			observed: []Observed{{ID: "c0", Name: "db-0", Ordinal: 0, State: "running", Health: "unhealthy", Fingerprint: "v1"}},
			want:     []string{},
		},
		"name mismatch is replaced": {
			desired:  desired("v1", 0, 1),
			observed: []Observed{obs("c0", 0, "running", "v1"), {ID: "c1", Name: "db-1-old", Ordinal: 1, State: "running", Fingerprint: "v1"}},
			want:     []string{"db-1: replace (renamed outside Terraform) @c1"},
		},
		"rename wins over spec change and state": {
			desired:  desired("v2", 0),
			observed: []Observed{{ID: "c0", Name: "elsewhere", Ordinal: 0, State: "exited", Fingerprint: "v1"}},
			want:     []string{"db-0: replace (renamed outside Terraform) @c0"},
		},
		"duplicate: keeps the matching running one": {
			desired:  desired("v1", 0),
			observed: []Observed{obs("cb", 0, "exited", "v1"), obs("ca", 0, "running", "v1")},
			want:     []string{"db-0: remove (duplicate of ordinal 0) @cb"},
		},
		"duplicate: matching beats running": {
			desired:  desired("v2", 0),
			observed: []Observed{obs("ca", 0, "running", "v1"), obs("cb", 0, "exited", "v2")},
			want:     []string{"db-0: remove (duplicate of ordinal 0) @ca", "db-0: start (stopped outside Terraform) @cb"},
		},
		"duplicate: both matching and running keeps the lowest id": {
			desired:  desired("v1", 0),
			observed: []Observed{obs("c9", 0, "running", "v1"), obs("c1", 0, "running", "v1")},
			want:     []string{"db-0: remove (duplicate of ordinal 0) @c9"},
		},
		"triplicate removes both extras": {
			desired:  desired("v1", 3),
			observed: []Observed{obs("x", 3, "dead", "v0"), obs("y", 3, "running", "v1"), obs("z", 3, "exited", "v1")},
			want:     []string{"db-3: remove (duplicate of ordinal 3) @z", "db-3: remove (duplicate of ordinal 3) @x"},
		},
		"mix: removals, then repairs ascending, then replacements descending": {
			desired: desired("v2", 0, 1, 2, 3, 4),
			observed: []Observed{
				obs("c6", 6, "running", "v2"), // scale down
				obs("c5", 5, "running", "v1"), // scale down
				obs("c4", 4, "running", "v1"), // spec change
				obs("c3", 3, "exited", "v2"),  // stopped
				// ordinal 2 missing
				obs("c1", 1, "running", "v1"),  // spec change
				obs("c0", 0, "created", "v2"),  // never started
				obs("c0b", 0, "running", "v1"), // duplicate
			},
			want: []string{
				"db-6: remove (scale down) @c6",
				"db-5: remove (scale down) @c5",
				"db-0: remove (duplicate of ordinal 0) @c0b",
				"db-0: replace (created but never started) @c0",
				"db-2: create",
				"db-3: start (stopped outside Terraform) @c3",
				"db-4: replace (spec changed) @c4",
				"db-1: replace (spec changed) @c1",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			actions := plan(tc.desired, tc.observed)
			if got := render(actions); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			for _, a := range actions {
				if a.Kind != Remove && a.Name != spec.ReplicaName("db", a.Ordinal) {
					t.Errorf("%s: ordinal %d does not match the desired name", a, a.Ordinal)
				}
			}
		})
	}
}

func TestPlanRemovalOfDuplicateUsesTheObservedName(t *testing.T) {
	observed := []Observed{
		obs("c0", 0, "running", "v1"),
		{ID: "stray", Name: "db-0-copy", Ordinal: 0, State: "exited", Fingerprint: "v1"},
	}
	got := plan(desired("v1", 0), observed)
	want := []Action{{Kind: Remove, Ordinal: 0, Name: "db-0-copy", ContainerID: "stray", Reason: "duplicate of ordinal 0"}}
	if !reflect.DeepEqual(unbatched(got), want) {
		t.Fatalf("Plan = %+v, want %+v", got, want)
	}
}

func TestPlanDoesNotModifyItsInputs(t *testing.T) {
	d := desired("v1", 0, 1)
	o := []Observed{obs("c3", 3, "running", "v1"), obs("c1", 1, "exited", "v0"), obs("c0", 0, "running", "v1")}
	dCopy := append([]spec.Replica(nil), d...)
	oCopy := append([]Observed(nil), o...)
	Plan(d, o, Options{})
	if !reflect.DeepEqual(d, dCopy) || !reflect.DeepEqual(o, oCopy) {
		t.Fatalf("Plan reordered or changed its inputs:\n%+v\n%+v", d, o)
	}
}

// randomCase draws a desired set (contiguous ordinals, as Render makes) and
// an observed set with gaps, duplicates, strays, renames and every state.
func randomCase(r *rand.Rand) ([]spec.Replica, []Observed) {
	start, n := r.IntN(4), r.IntN(6)
	var ordinals []int
	for i := range n {
		ordinals = append(ordinals, start+i)
	}
	fps := []string{"v1", "v2"}
	d := desired(fps[r.IntN(2)], ordinals...)
	states := []string{StateRunning, StateRestarting, StateCreated, StateExited, "dead", "paused", "removing"}
	var observed []Observed
	id := 0
	for ordinal := range 10 {
		for range r.IntN(3) * r.IntN(2) { // mostly 0 or 1, sometimes 2
			o := obs(fmt.Sprintf("c%02d", id), ordinal, states[r.IntN(len(states))], fps[r.IntN(2)])
			if r.IntN(8) == 0 {
				o.Name = "renamed-" + o.ID
			}
			observed = append(observed, o)
			id++
		}
	}
	r.Shuffle(len(observed), func(i, j int) { observed[i], observed[j] = observed[j], observed[i] })
	return d, observed
}

func TestPlanPropertiesOverRandomStates(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iteration := range 500 {
		d, observed := randomCase(r)
		actions := plan(d, observed)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("iteration %d: %s\ndesired %+v\nobserved %+v\nplan:\n  %s", iteration,
				fmt.Sprintf(format, args...), d, observed, strings.Join(render(actions), "\n  "))
		}
		want := map[int]spec.Replica{}
		for _, rep := range d {
			want[rep.Ordinal] = rep
		}
		byID := map[string]Observed{}
		for _, o := range observed {
			byID[o.ID] = o
		}

		removed := map[string]bool{}
		acted := map[int]int{}
		seenOther := false
		lastReplace := math.MaxInt
		lastRepair := -1
		for _, a := range actions {
			if a.ContainerID != "" {
				o, ok := byID[a.ContainerID]
				if !ok {
					fail("%s names a container that was not observed", a)
				}
				if o.Ordinal != a.Ordinal {
					fail("%s acts on %s of ordinal %d", a, o.ID, o.Ordinal)
				}
			}
			if a.Kind == Remove {
				if seenOther {
					fail("removal %s after a non-removal", a)
				}
				if removed[a.ContainerID] {
					fail("%s removes a container twice", a)
				}
				removed[a.ContainerID] = true
				continue
			}
			seenOther = true
			if _, ok := want[a.Ordinal]; !ok {
				fail("%s acts on an ordinal outside desired", a)
			}
			acted[a.Ordinal]++
			if a.Kind == Create && a.ContainerID != "" {
				fail("%s: create names a container", a)
			}
			if (a.Kind == Start || a.Kind == Replace) && a.ContainerID == "" {
				fail("%s names no container", a)
			}
			kind := a.Kind
			if kind == Replace && (a.Reason == "created but never started" || strings.HasPrefix(a.Reason, "network ")) {
				kind = Start // a container that cannot start again is repaired like a stopped one
			}
			switch kind {
			case Replace:
				if a.Ordinal >= lastReplace {
					fail("replacements not in descending order at %s", a)
				}
				lastReplace = a.Ordinal
			case Create, Start:
				if lastReplace != math.MaxInt {
					fail("repair %s after a replacement", a)
				}
				if a.Ordinal <= lastRepair {
					fail("repairs not in ascending order at %s", a)
				}
				lastRepair = a.Ordinal
			}
		}

		for _, o := range observed {
			if _, wanted := want[o.Ordinal]; !wanted && !removed[o.ID] {
				fail("%s of unwanted ordinal %d is not removed", o.ID, o.Ordinal)
			}
		}
		for _, rep := range d {
			var survivors []Observed
			for _, o := range observed {
				if o.Ordinal == rep.Ordinal && !removed[o.ID] {
					survivors = append(survivors, o)
				}
			}
			if len(survivors) > 1 {
				fail("ordinal %d keeps %d containers", rep.Ordinal, len(survivors))
			}
			matchingUp := len(survivors) == 1 && survivors[0].Name == rep.Name &&
				survivors[0].Fingerprint == rep.Fingerprint && isUp(survivors[0].State)
			switch {
			case acted[rep.Ordinal] > 1:
				fail("ordinal %d has %d actions", rep.Ordinal, acted[rep.Ordinal])
			case acted[rep.Ordinal] == 1 && matchingUp:
				fail("ordinal %d is acted on though %s matches and runs", rep.Ordinal, survivors[0].ID)
			case acted[rep.Ordinal] == 0 && !matchingUp:
				fail("ordinal %d is left without a matching running container", rep.Ordinal)
			}
		}
	}
}

func TestPlanIgnoresTheOrderOfObservations(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for iteration := range 300 {
		d, observed := randomCase(r)
		want := render(plan(d, observed))
		for range 5 {
			shuffled := append([]Observed(nil), observed...)
			r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			if got := render(plan(d, shuffled)); !reflect.DeepEqual(got, want) {
				t.Fatalf("iteration %d: plan depends on observation order:\n  %s\nvs\n  %s", iteration,
					strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		}
	}
}

func TestPlanOfItsOwnOutcomeIsEmpty(t *testing.T) {
	// Applying a plan and observing the result must leave nothing to do.
	r := rand.New(rand.NewPCG(5, 6))
	for iteration := range 300 {
		d, observed := randomCase(r)
		actions := plan(d, observed)
		after := map[string]Observed{}
		for _, o := range observed {
			after[o.ID] = o
		}
		for _, a := range actions {
			if a.Kind == Start {
				o := after[a.ContainerID]
				o.State = StateRunning
				after[a.ContainerID] = o
				continue
			}
			delete(after, a.ContainerID)
			if a.Kind == Remove {
				continue
			}
			rep := d[a.Ordinal-d[0].Ordinal]
			after["new-"+rep.Name] = Observed{ID: "new-" + rep.Name, Name: rep.Name, Ordinal: rep.Ordinal, State: StateRunning, Fingerprint: rep.Fingerprint}
		}
		var result []Observed
		for _, o := range after {
			result = append(result, o)
		}
		if again := plan(d, result); len(again) != 0 {
			t.Fatalf("iteration %d: after applying\n  %s\nPlan still wants\n  %s", iteration,
				strings.Join(render(actions), "\n  "), strings.Join(render(again), "\n  "))
		}
	}
}
