package reconcile

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// batched shows actions as render does, each followed by " #<batch>".
func batched(actions []Action) []string {
	out := render(actions)
	for i, a := range actions {
		out[i] += " #" + strconv.Itoa(a.Batch)
	}
	return out
}

// mixedObserved, against desired("v2", 0, 1, 2, 3, 4), asks for two
// removals (6, 5), two repairs (2 missing, 3 stopped) and three spec
// replacements (4, 1, 0).
func mixedObserved() []Observed {
	return []Observed{
		obs("c6", 6, StateRunning, "v2"),
		obs("c5", 5, StateRunning, "v1"),
		obs("c4", 4, StateRunning, "v1"),
		obs("c3", 3, StateExited, "v2"),
		obs("c1", 1, StateRunning, "v1"),
		obs("c0", 0, StateRunning, "v1"),
	}
}

func TestPlanNumbersBatches(t *testing.T) {
	lines := []string{
		"db-6: remove (scale down) @c6",
		"db-5: remove (scale down) @c5",
		"db-2: create",
		"db-3: start (stopped outside Terraform) @c3",
		"db-4: replace (spec changed) @c4",
		"db-1: replace (spec changed) @c1",
		"db-0: replace (spec changed) @c0",
	}
	cases := map[string]struct {
		opts  Options
		batch []int // of each line, in order
	}{
		"ordered, max_unavailable unset means 1": {Options{}, []int{1, 2, 3, 4, 5, 6, 7}},
		"ordered, max_unavailable 1":             {Options{MaxUnavailable: 1}, []int{1, 2, 3, 4, 5, 6, 7}},
		"ordered, negative max_unavailable is 1": {Options{MaxUnavailable: -2}, []int{1, 2, 3, 4, 5, 6, 7}},
		"ordered, max_unavailable 2":             {Options{MaxUnavailable: 2}, []int{1, 2, 3, 4, 5, 5, 6}},
		"ordered, max_unavailable 3":             {Options{MaxUnavailable: 3}, []int{1, 2, 3, 4, 5, 5, 5}},
		"ordered, max_unavailable beyond all":    {Options{MaxUnavailable: 10}, []int{1, 2, 3, 4, 5, 5, 5}},
		"parallel":                               {Options{Parallel: true}, []int{1, 1, 2, 2, 3, 4, 5}},
		"parallel, max_unavailable 2":            {Options{Parallel: true, MaxUnavailable: 2}, []int{1, 1, 2, 2, 3, 3, 4}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			actions, _ := Plan(desired("v2", 0, 1, 2, 3, 4), mixedObserved(), tc.opts)
			want := make([]string, len(lines))
			for i, line := range lines {
				want[i] = line + " #" + strconv.Itoa(tc.batch[i])
			}
			if got := batched(actions); !reflect.DeepEqual(got, want) {
				t.Fatalf("Plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

func TestPlanStartsBatchesAtOne(t *testing.T) {
	cases := map[string]struct {
		observed []Observed
		opts     Options
		want     []string
	}{
		"ordered creates": {
			opts: Options{},
			want: []string{"db-0: create #1", "db-1: create #2", "db-2: create #3"},
		},
		"parallel creates": {
			opts: Options{Parallel: true},
			want: []string{"db-0: create #1", "db-1: create #1", "db-2: create #1"},
		},
		"parallel removals alone": {
			observed: []Observed{obs("c0", 0, StateRunning, "v1"), obs("c1", 1, StateRunning, "v1"), obs("c2", 2, StateRunning, "v1"),
				obs("c3", 3, StateRunning, "v1"), obs("c4", 4, StateRunning, "v1")},
			opts: Options{Parallel: true},
			want: []string{"db-4: remove (scale down) @c4 #1", "db-3: remove (scale down) @c3 #1"},
		},
		"replacements alone, chunked": {
			observed: []Observed{obs("c0", 0, StateRunning, "v0"), obs("c1", 1, StateRunning, "v0"), obs("c2", 2, StateRunning, "v0")},
			opts:     Options{MaxUnavailable: 2, Parallel: true},
			want:     []string{"db-2: replace (spec changed) @c2 #1", "db-1: replace (spec changed) @c1 #1", "db-0: replace (spec changed) @c0 #2"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			actions, _ := Plan(desired("v1", 0, 1, 2), tc.observed, tc.opts)
			if got := batched(actions); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestPlanNumbersBatchesOneByOne(t *testing.T) {
	got := batched(plan(desired("v2", 0, 1, 2, 3, 4), mixedObserved()))
	want := []string{
		"db-6: remove (scale down) @c6 #1",
		"db-5: remove (scale down) @c5 #2",
		"db-2: create #3",
		"db-3: start (stopped outside Terraform) @c3 #4",
		"db-4: replace (spec changed) @c4 #5",
		"db-1: replace (spec changed) @c1 #6",
		"db-0: replace (spec changed) @c0 #7",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestBatchesGroupsConsecutiveBatchNumbersAndSkipsHolds(t *testing.T) {
	actions := []Action{
		{Kind: Remove, Name: "a", Batch: 1},
		{Kind: Remove, Name: "b", Batch: 1},
		{Kind: Create, Name: "c"},
		{Kind: Create, Name: "d"},
		{Kind: Replace, Name: "e", Batch: 2},
		{Kind: Hold, Name: "f", Batch: 2},
		{Kind: Replace, Name: "g", Batch: 2},
		{Kind: Replace, Name: "h", Batch: 3},
		{Kind: Replace, Name: "i", Batch: 2},
		{Kind: Hold, Name: "j"},
	}
	var got [][]string
	for _, batch := range batches(actions) {
		var names []string
		for _, a := range batch {
			names = append(names, a.Name)
		}
		got = append(got, names)
	}
	want := [][]string{{"a", "b"}, {"c"}, {"d"}, {"e", "g"}, {"h"}, {"i"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("batches = %q, want %q", got, want)
	}
	if got := batches([]Action{{Kind: Hold, Name: "x", Batch: 1}}); len(got) != 0 {
		t.Fatalf("batches of holds alone = %v, want none", got)
	}
}

func TestPlanPartition(t *testing.T) {
	running := func(fp string, ordinals ...int) []Observed {
		var out []Observed
		for _, o := range ordinals {
			out = append(out, obs("c"+strconv.Itoa(o), o, StateRunning, fp))
		}
		return out
	}
	cases := map[string]struct {
		desired  []spec.Replica
		observed []Observed
		opts     Options
		want     []string
	}{
		"spec replacements below the partition are held, last": {
			desired:  desired("v2", 0, 1, 2, 3),
			observed: running("v1", 0, 1, 2, 3),
			opts:     Options{Partition: 2},
			want: []string{
				"db-3: replace (spec changed) @c3 #1",
				"db-2: replace (spec changed) @c2 #2",
				"db-1: held back (partition 2; spec changed) @c1 #0",
				"db-0: held back (partition 2; spec changed) @c0 #0",
			},
		},
		"holds take no batch of the chunked replacements": {
			desired:  desired("v2", 0, 1, 2, 3),
			observed: running("v1", 0, 1, 2, 3),
			opts:     Options{Partition: 1, MaxUnavailable: 2},
			want: []string{
				"db-3: replace (spec changed) @c3 #1",
				"db-2: replace (spec changed) @c2 #1",
				"db-1: replace (spec changed) @c1 #2",
				"db-0: held back (partition 1; spec changed) @c0 #0",
			},
		},
		"partition at or below the first ordinal holds nothing": {
			desired:  desired("v2", 2, 3),
			observed: running("v1", 2, 3),
			opts:     Options{Partition: 2},
			want:     []string{"db-3: replace (spec changed) @c3 #1", "db-2: replace (spec changed) @c2 #2"},
		},
		"partition above every ordinal holds every spec replacement": {
			desired:  desired("v2", 0, 1),
			observed: running("v1", 0, 1),
			opts:     Options{Partition: 5},
			want: []string{
				"db-1: held back (partition 5; spec changed) @c1 #0",
				"db-0: held back (partition 5; spec changed) @c0 #0",
			},
		},
		"creates and starts below the partition are not held; holds come after them": {
			desired: desired("v2", 0, 1, 2, 3),
			observed: []Observed{
				obs("c0", 0, StateRunning, "v1"),
				// ordinal 1 missing
				obs("c2", 2, StateExited, "v2"),
				obs("c3", 3, StateRunning, "v1"),
			},
			opts: Options{Partition: 3},
			want: []string{
				"db-1: create #1",
				"db-2: start (stopped outside Terraform) @c2 #2",
				"db-3: replace (spec changed) @c3 #3",
				"db-0: held back (partition 3; spec changed) @c0 #0",
			},
		},
		"drift below the partition is repaired": {
			desired: desired("v1", 0, 1, 2, 3),
			observed: []Observed{
				{ID: "c0", Name: "db-0-old", Ordinal: 0, State: StateRunning, Fingerprint: "v1"},
				obs("c1", 1, "dead", "v1"),
				obs("c2", 2, "paused", "v1"),
				obs("c3", 3, StateRunning, "v1"),
			},
			opts: Options{Partition: 4},
			want: []string{
				"db-2: replace (container paused) @c2 #1",
				"db-1: replace (container dead) @c1 #2",
				"db-0: replace (renamed outside Terraform) @c0 #3",
			},
		},
		"removals are never held": {
			desired:  desired("v2", 0),
			observed: running("v1", 0, 1),
			opts:     Options{Partition: 5},
			want: []string{
				"db-1: remove (scale down) @c1 #1",
				"db-0: held back (partition 5; spec changed) @c0 #0",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			actions, _ := Plan(tc.desired, tc.observed, tc.opts)
			if got := batched(actions); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestPlanHoldsAVolumeRecreationBelowThePartition(t *testing.T) {
	d := renderService(t, volumeService(2, pluginVol("data", "/data", true, true)))
	opts := Options{Volumes: currentVolumes(d, "db-data-0", "db-data-1"), Partition: 1}
	actions, blocked := Plan(d, upToDate(d, 0, 1), opts)
	if len(blocked) != 0 {
		t.Fatalf("blocked = %+v", blocked)
	}
	want := []Action{
		{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Batch: 1,
			Reason: "volume definition changed: db-data-1 recreated", RecreateVolumes: []string{"db-data-1"}},
		{Kind: Hold, Ordinal: 0, Name: "db-0", ContainerID: "c0",
			Reason: "partition 1; volume definition changed: db-data-0 recreated", RecreateVolumes: []string{"db-data-0"}},
	}
	if !reflect.DeepEqual(actions, want) {
		t.Fatalf("actions =\n  %+v\nwant\n  %+v", actions, want)
	}
}

func TestExecuteNeverRunsHeldBackActions(t *testing.T) {
	observed := []Observed{obs("c0", 0, StateRunning, "v1"), obs("c1", 1, StateRunning, "v1"), obs("c2", 2, StateRunning, "v1")}
	d := desired("v2", 0, 1, 2)
	actions, _ := Plan(d, observed, Options{Partition: 2})
	if got, want := render(actions), []string{
		"db-2: replace (spec changed) @c2",
		"db-1: held back (partition 2; spec changed) @c1",
		"db-0: held back (partition 2; spec changed) @c0",
	}; !reflect.DeepEqual(got, want) {
		t.Fatalf("plan = %q, want %q", got, want)
	}
	rt := &fakeRuntime{}
	if err := Execute(context.Background(), rt, d, actions, ExecOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := rt.recorded(), []string{"remove c2", "create db-2", "start new-db-2", "wait new-db-2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %q, want %q", got, want)
	}

	rt = &fakeRuntime{}
	if err := Execute(context.Background(), rt, d, actions[1:], ExecOptions{Revert: true}); err != nil {
		t.Fatalf("holds alone: %v", err)
	}
	if got := rt.recorded(); len(got) != 0 {
		t.Fatalf("holds alone: calls = %q, want none", got)
	}
}

// observedFrom observes a running container "c<ordinal>" for every replica
// of rs, carrying its fingerprint and spec label.
func observedFrom(rs []spec.Replica) []Observed {
	out := make([]Observed, 0, len(rs))
	for _, r := range rs {
		o := obs("c"+strconv.Itoa(r.Ordinal), r.Ordinal, StateRunning, r.Fingerprint)
		o.Spec = r.Container.Labels[spec.LabelSpec]
		out = append(out, o)
	}
	return out
}

func TestPlanNamesWhatChangedInReplaceReasons(t *testing.T) {
	base := func() spec.Service { return volumeService(2, pluginVol("data", "/data", true, false)) }
	cases := map[string]struct {
		old       func(s *spec.Service) // the running replicas' service, from base
		updated   func(s *spec.Service) // the desired one, from old
		label     *string               // replaces the observed spec label
		noDesired bool
		want      string
	}{
		"image":          {updated: func(s *spec.Service) { s.Image = "postgres:17" }, want: "image"},
		"env":            {updated: func(s *spec.Service) { s.Env = map[string]string{"TZ": "UTC"} }, want: "env"},
		"image and env":  {updated: func(s *spec.Service) { s.Image = "postgres:17"; s.Env = map[string]string{"TZ": "UTC"} }, want: "env, image"},
		"command":        {updated: func(s *spec.Service) { s.Command = []string{"postgres", "-c", "fsync=off"} }, want: "command"},
		"volume":         {updated: func(s *spec.Service) { s.Volumes[0].Target = "/var/data" }, want: "volume data"},
		"volume added":   {updated: func(s *spec.Service) { s.Volumes = append(s.Volumes, pluginVol("wal", "/wal", true, false)) }, want: "volume wal"},
		"volume removed": {updated: func(s *spec.Service) { s.Volumes = nil }, want: "volume data removed"},
		"secret version": {
			old:     func(s *spec.Service) { s.Secrets = []spec.Secret{{Name: "pw", Version: 1}} },
			updated: func(s *spec.Service) { s.Secrets[0].Version = 2 },
			want:    "secret pw",
		},
		"only a secret value": {
			old: func(s *spec.Service) {
				s.Secrets = []spec.Secret{{Name: "pw", FromEnv: "PW", Digest: "d1", Value: []byte("one")}}
			},
			updated: func(s *spec.Service) { s.Secrets[0].Digest, s.Secrets[0].Value = "d2", []byte("two") },
			want:    "secret or template values changed",
		},
		"unparsable label": {
			updated: func(s *spec.Service) { s.Image = "postgres:17" },
			label:   ptr("{not json"),
			want:    "spec changed",
		},
		"no label": {
			updated: func(s *spec.Service) { s.Image = "postgres:17" },
			label:   ptr(""),
			want:    "spec changed",
		},
		"no desired service": {
			updated:   func(s *spec.Service) { s.Image = "postgres:17" },
			noDesired: true,
			want:      "spec changed",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			old, updated := base(), base()
			if tc.old != nil {
				tc.old(&old)
				tc.old(&updated)
			}
			tc.updated(&updated)
			observed := observedFrom(renderService(t, old))
			for i := range observed {
				if tc.label != nil {
					observed[i].Spec = *tc.label
				}
			}
			opts := Options{Desired: &updated}
			if tc.noDesired {
				opts.Desired = nil
			}
			actions, _ := Plan(renderService(t, updated), observed, opts)
			want := []string{
				fmt.Sprintf("db-1: replace (%s) @c1", tc.want),
				fmt.Sprintf("db-0: replace (%s) @c0", tc.want),
			}
			if got := render(actions); !reflect.DeepEqual(got, want) {
				t.Fatalf("Plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

func TestPlanExplainsATemplateChangeOnScaling(t *testing.T) {
	old := volumeService(2)
	old.Env = map[string]string{"PEERS": "{{.Replicas}}"}
	updated := old
	updated.Replicas = 3
	actions, _ := Plan(renderService(t, updated), observedFrom(renderService(t, old)), Options{Desired: &updated})
	want := []string{
		"db-2: create",
		"db-1: replace (replicas 2 → 3, seen by templates) @c1",
		"db-0: replace (replicas 2 → 3, seen by templates) @c0",
	}
	if got := render(actions); !reflect.DeepEqual(got, want) {
		t.Fatalf("Plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestPlanExplainsAMembersChangeByTheReplicaCount(t *testing.T) {
	old := volumeService(3)
	old.Cluster = &spec.Cluster{Seeds: 1, Port: 2380, MembersEnv: "MEMBERS"}
	cases := map[string]struct {
		replicas int
		observed func([]Observed) []Observed
		want     []string
	}{
		"scale up": {replicas: 4, want: []string{
			"db-3: create",
			"db-2: replace (replicas 3 → 4, seen by cluster.members_env) @c2",
			"db-1: replace (replicas 3 → 4, seen by cluster.members_env) @c1",
			"db-0: replace (replicas 3 → 4, seen by cluster.members_env) @c0",
		}},
		"scale down": {replicas: 2, want: []string{
			"db-2: remove (scale down) @c2",
			"db-1: replace (replicas 3 → 2, seen by cluster.members_env) @c1",
			"db-0: replace (replicas 3 → 2, seen by cluster.members_env) @c0",
		}},
		"scale up with a replica lost": {
			replicas: 4,
			observed: func(o []Observed) []Observed { return o[:2] },
			want: []string{
				"db-2: create",
				"db-3: create",
				"db-1: replace (replicas 3 → 4, seen by cluster.members_env) @c1",
				"db-0: replace (replicas 3 → 4, seen by cluster.members_env) @c0",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			updated := old
			updated.Replicas = tc.replicas
			observed := observedFrom(renderService(t, old))
			if tc.observed != nil {
				observed = tc.observed(observed)
			}
			actions, _ := Plan(renderService(t, updated), observed, Options{Desired: &updated})
			if got := render(actions); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestPlanKeepsTheGenericReasonWhenTheCountDoesNotExplainIt(t *testing.T) {
	old := volumeService(2)
	old.Cluster = &spec.Cluster{Seeds: 1, Port: 2380, MembersEnv: "MEMBERS"}
	old.Secrets = []spec.Secret{{Name: "pw", FromEnv: "PW", Digest: "d1"}}
	updated := old
	updated.Replicas = 3
	updated.Secrets = []spec.Secret{{Name: "pw", FromEnv: "PW", Digest: "d2"}}
	actions, _ := Plan(renderService(t, updated), observedFrom(renderService(t, old)), Options{Desired: &updated})
	want := []string{
		"db-2: create",
		"db-1: replace (secret or template values changed) @c1",
		"db-0: replace (secret or template values changed) @c0",
	}
	if got := render(actions); !reflect.DeepEqual(got, want) {
		t.Fatalf("Plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestPlanExplainsAMissingReplicaByWhatWasKnown(t *testing.T) {
	observed := []Observed{obs("c0", 0, StateRunning, "v1"), obs("c1", 1, StateRunning, "v1"), obs("c2", 2, StateRunning, "v1")}
	cases := map[string]struct {
		known map[int]bool
		want  string
	}{
		"known ordinal": {map[int]bool{0: true, 1: true, 2: true, 3: true}, "db-3: create (removed outside Terraform)"},
		"new ordinal":   {map[int]bool{0: true, 1: true, 2: true}, "db-3: create"},
		"nothing known": {nil, "db-3: create"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			actions, _ := Plan(desired("v1", 0, 1, 2, 3), observed, Options{Known: tc.known})
			if len(actions) != 1 || actions[0].String() != tc.want {
				t.Fatalf("Plan = %q, want [%q]", render(actions), tc.want)
			}
		})
	}
}

func TestPlanRendersThePreviousSpecOfAReplacement(t *testing.T) {
	old := volumeService(2)
	old.Env = map[string]string{"PEERS": "{{.Replicas}}"}
	old.Secrets = []spec.Secret{{Name: "pw", Version: 1}, {Name: "gone", Version: 1}}
	updated := volumeService(3)
	updated.Image = "postgres:17"
	updated.Env = map[string]string{"PEERS": "{{.Replicas}}"}
	updated.Secrets = []spec.Secret{{Name: "pw", Version: 1, Value: []byte("current")}}

	actions, _ := Plan(renderService(t, updated), observedFrom(renderService(t, old)), Options{Desired: &updated})
	if got, want := render(actions), []string{
		"db-2: create",
		"db-1: replace (image, secret gone removed) @c1",
		"db-0: replace (image, secret gone removed) @c0",
	}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Plan = %q, want %q", got, want)
	}
	if actions[0].Previous != nil {
		t.Errorf("create has a previous spec: %+v", actions[0].Previous)
	}
	// The old definition at the desired scale, with the current values.
	was := volumeService(3)
	was.Env = map[string]string{"PEERS": "{{.Replicas}}"}
	was.Secrets = []spec.Secret{{Name: "pw", Version: 1, Value: []byte("current")}, {Name: "gone", Version: 1}}
	for _, a := range actions[1:] {
		want, err := was.RenderOrdinal(a.Ordinal)
		if err != nil {
			t.Fatal(err)
		}
		if a.Previous == nil {
			t.Fatalf("%s: no previous spec", a)
		}
		if !reflect.DeepEqual(*a.Previous, want) {
			t.Fatalf("%s: previous =\n  %+v\nwant\n  %+v", a, *a.Previous, want)
		}
		c := a.Previous.Container
		if c.Image != "postgres:16" || !slices.Contains(c.Env, "PEERS=3") {
			t.Errorf("%s: previous image %s, env %q; want postgres:16 and PEERS=3", a, c.Image, c.Env)
		}
		if len(c.Secrets) != 2 || string(c.Secrets[0].Value) != "current" || c.Secrets[1].Value != nil {
			t.Errorf("%s: previous secrets %+v, want pw=current and gone without a value", a, c.Secrets)
		}
	}
}

func TestPlanRendersNoPreviousSpec(t *testing.T) {
	old := volumeService(2)
	updated := volumeService(2)
	updated.Image = "postgres:17"
	cases := map[string]struct {
		updated   spec.Service
		observe   func(o *Observed)
		partition int
		noDesired bool
		want      string // the replacement of db-1
	}{
		"unparsable label": {
			updated: updated,
			observe: func(o *Observed) { o.Spec = "{" },
			want:    "db-1: replace (spec changed)",
		},
		"renamed outside Terraform": {
			updated: updated,
			observe: func(o *Observed) { o.Name = "db-1-old" },
			want:    "db-1: replace (renamed outside Terraform)",
		},
		"dead with the same spec": {
			updated: old,
			observe: func(o *Observed) { o.State = "dead" },
			want:    "db-1: replace (container dead)",
		},
		"no desired service": {
			updated:   updated,
			noDesired: true,
			want:      "db-1: replace (spec changed)",
		},
		"held back": {
			updated:   updated,
			partition: 2,
			want:      "db-1: held back (partition 2; image)",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			observed := observedFrom(renderService(t, old))
			if tc.observe != nil {
				tc.observe(&observed[1])
			}
			svc := tc.updated
			opts := Options{Desired: &svc, Partition: tc.partition}
			if tc.noDesired {
				opts.Desired = nil
			}
			actions, _ := Plan(renderService(t, svc), observed, opts)
			var found bool
			for _, a := range actions {
				if a.Ordinal != 1 {
					continue
				}
				found = true
				if a.String() != tc.want {
					t.Fatalf("db-1: %s, want %s", a, tc.want)
				}
				if a.Previous != nil {
					t.Fatalf("%s: previous spec %+v, want none", a, a.Previous)
				}
			}
			if !found {
				t.Fatalf("no action for db-1 in %q", render(actions))
			}
		})
	}
}

func TestPlanPreviousSpecKeepsThePlanTimeSecretDigest(t *testing.T) {
	old := volumeService(1)
	old.Secrets = []spec.Secret{{Name: "api", FromEnv: "API_TOKEN", Digest: "d1", Value: []byte("token")}}
	updated := volumeService(1)
	updated.Image = "postgres:17"
	updated.Secrets = []spec.Secret{{Name: "api", FromEnv: "API_TOKEN", Digest: "d1", Value: []byte("token")}}
	before := renderService(t, old)

	actions, _ := Plan(renderService(t, updated), observedFrom(before), Options{Desired: &updated})
	if len(actions) != 1 || actions[0].Previous == nil {
		t.Fatalf("actions = %+v, want one replacement with a previous spec", actions)
	}
	if got, want := actions[0].Previous.Fingerprint, before[0].Fingerprint; got != want {
		t.Fatalf("previous fingerprint %s, want the old container's %s", got, want)
	}

	// Drift with an unchanged spec needs no previous spec.
	dead := observedFrom(before)
	dead[0].State = "dead"
	actions, _ = Plan(before, dead, Options{Desired: &old})
	if len(actions) != 1 || actions[0].Previous != nil {
		t.Fatalf("actions = %+v, want one replacement without a previous spec", actions)
	}
}

func ptr(s string) *string { return &s }

// versionedRuntime is fakeRuntime with containers named after the replica's
// fingerprint, so that a replica and its previous spec are told apart:
// Create records "create db-1 v2" and returns "db-1@v2".
type versionedRuntime struct {
	fakeRuntime
}

func (v *versionedRuntime) Create(_ context.Context, r spec.Replica) (string, error) {
	if err := v.call("create " + r.Name + " " + r.Fingerprint); err != nil {
		return "", err
	}
	return r.Name + "@" + r.Fingerprint, nil
}

func TestExecuteRevertsAFailedReplacement(t *testing.T) {
	previous := &spec.Replica{Ordinal: 1, Name: "db-1", Fingerprint: "v1"}
	replacement := Action{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Reason: "image", Previous: previous, Batch: 1}
	const failed = "db-1: replace (image): boom"
	cases := map[string]struct {
		action  Action
		revert  bool
		fail    []string
		want    []string
		wantErr string
	}{
		"success: nothing to revert": {
			action: replacement, revert: true,
			want: []string{"remove c1", "create db-1 v2", "start db-1@v2", "wait db-1@v2"},
		},
		"not ready: reverted": {
			action: replacement, revert: true, fail: []string{"wait db-1@v2"},
			want: []string{
				"remove c1", "create db-1 v2", "start db-1@v2", "wait db-1@v2",
				"remove db-1@v2", "create db-1 v1", "start db-1@v1", "wait db-1@v1",
			},
			wantErr: failed + "; db-1 was reverted to its previous spec",
		},
		"start fails: reverted": {
			action: replacement, revert: true, fail: []string{"start db-1@v2"},
			want: []string{
				"remove c1", "create db-1 v2", "start db-1@v2",
				"remove db-1@v2", "create db-1 v1", "start db-1@v1", "wait db-1@v1",
			},
			wantErr: failed + "; db-1 was reverted to its previous spec",
		},
		"create fails: no failed container to remove": {
			action: replacement, revert: true, fail: []string{"create db-1 v2"},
			want:    []string{"remove c1", "create db-1 v2", "create db-1 v1", "start db-1@v1", "wait db-1@v1"},
			wantErr: failed + "; db-1 was reverted to its previous spec",
		},
		"revert not ready either": {
			action: replacement, revert: true, fail: []string{"wait db-1@v2", "wait db-1@v1"},
			want: []string{
				"remove c1", "create db-1 v2", "start db-1@v2", "wait db-1@v2",
				"remove db-1@v2", "create db-1 v1", "start db-1@v1", "wait db-1@v1",
			},
			wantErr: failed + "; reverting to the previous spec failed too: boom",
		},
		"removing the failed container fails": {
			action: replacement, revert: true, fail: []string{"wait db-1@v2", "remove db-1@v2"},
			want:    []string{"remove c1", "create db-1 v2", "start db-1@v2", "wait db-1@v2", "remove db-1@v2"},
			wantErr: failed + "; reverting to the previous spec failed too: boom",
		},
		"creating the previous fails": {
			action: replacement, revert: true, fail: []string{"create db-1 v2", "create db-1 v1"},
			want:    []string{"remove c1", "create db-1 v2", "create db-1 v1"},
			wantErr: failed + "; reverting to the previous spec failed too: boom",
		},
		"removing the old container fails: not reverted": {
			action: replacement, revert: true, fail: []string{"remove c1"},
			want:    []string{"remove c1"},
			wantErr: failed,
		},
		"without revert": {
			action: replacement, fail: []string{"wait db-1@v2"},
			want:    []string{"remove c1", "create db-1 v2", "start db-1@v2", "wait db-1@v2"},
			wantErr: failed,
		},
		"without a previous spec": {
			action: Action{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Reason: "image"}, revert: true,
			fail:    []string{"wait db-1@v2"},
			want:    []string{"remove c1", "create db-1 v2", "start db-1@v2", "wait db-1@v2"},
			wantErr: failed,
		},
		"a create is not reverted": {
			action: Action{Kind: Create, Ordinal: 1, Name: "db-1", Previous: previous}, revert: true,
			fail:    []string{"wait db-1@v2"},
			want:    []string{"create db-1 v2", "start db-1@v2", "wait db-1@v2"},
			wantErr: "db-1: create: boom",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rt := &versionedRuntime{fakeRuntime{fail: failOn(tc.fail...)}}
			err := Execute(context.Background(), rt, desired("v2", 0, 1), []Action{tc.action}, ExecOptions{Revert: tc.revert})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Execute: %v", err)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr || !errors.Is(err, errBoom)):
				t.Fatalf("err = %v, want %q wrapping the runtime's error", err, tc.wantErr)
			}
			if got := rt.recorded(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestExecuteRevertsAReplacementWhoseVolumeRemovalFailed(t *testing.T) {
	action := Action{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Reason: "volume data",
		RecreateVolumes: []string{"db-data-1"}, Previous: &spec.Replica{Ordinal: 1, Name: "db-1", Fingerprint: "v1"}}
	rt := &versionedRuntime{fakeRuntime{fail: failOn("remove-volume db-data-1")}}
	err := Execute(context.Background(), rt, desired("v2", 1), []Action{action}, ExecOptions{Revert: true})
	if want := "db-1: replace (volume data): boom; db-1 was reverted to its previous spec"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	want := []string{"remove c1", "remove-volume db-data-1", "create db-1 v1", "start db-1@v1", "wait db-1@v1"}
	if got := rt.recorded(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %q, want %q", got, want)
	}
}

func TestExecuteRevertsEachFailedReplacementOfABatch(t *testing.T) {
	actions := []Action{
		{Kind: Replace, Ordinal: 2, Name: "db-2", ContainerID: "c2", Reason: "image", Batch: 1, Previous: &spec.Replica{Ordinal: 2, Name: "db-2", Fingerprint: "v1"}},
		{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Reason: "image", Batch: 1, Previous: &spec.Replica{Ordinal: 1, Name: "db-1", Fingerprint: "v1"}},
		{Kind: Replace, Ordinal: 0, Name: "db-0", ContainerID: "c0", Reason: "image", Batch: 2, Previous: &spec.Replica{Ordinal: 0, Name: "db-0", Fingerprint: "v1"}},
	}
	rt := &versionedRuntime{fakeRuntime{fail: failOn("wait db-2@v2")}}
	err := Execute(context.Background(), rt, desired("v2", 0, 1, 2), actions, ExecOptions{Revert: true})
	if want := "db-2: replace (image): boom; db-2 was reverted to its previous spec"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	got := rt.recorded()
	slices.Sort(got)
	want := []string{
		"create db-1 v2", "create db-2 v1", "create db-2 v2",
		"remove c1", "remove c2", "remove db-2@v2",
		"start db-1@v2", "start db-2@v1", "start db-2@v2",
		"wait db-1@v2", "wait db-2@v1", "wait db-2@v2",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("calls (sorted):\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// barrier releases its callers once n have arrived; a caller still waiting
// after timeout fails, so that actions run one by one fail a test instead
// of hanging it.
type barrier struct {
	mu      sync.Mutex
	waiting int
	done    chan struct{}
	timeout time.Duration
}

func newBarrier(n int, timeout time.Duration) *barrier {
	return &barrier{waiting: n, done: make(chan struct{}), timeout: timeout}
}

func (b *barrier) arrive() error {
	b.mu.Lock()
	b.waiting--
	if b.waiting == 0 {
		close(b.done)
	}
	b.mu.Unlock()
	select {
	case <-b.done:
		return nil
	case <-time.After(b.timeout):
		return errors.New("the rest of the batch never started")
	}
}

// barrierRuntime is fakeRuntime whose WaitReady of a container holds until
// every container sharing its barrier is waited for.
type barrierRuntime struct {
	fakeRuntime
	barriers map[string]*barrier // by container id
}

func (b *barrierRuntime) WaitReady(ctx context.Context, host, id string) error {
	if err := b.fakeRuntime.WaitReady(ctx, host, id); err != nil {
		return err
	}
	if br := b.barriers[id]; br != nil {
		return br.arrive()
	}
	return nil
}

func TestExecuteRunsTheActionsOfABatchAtOnce(t *testing.T) {
	d := desired("v2", 0, 1, 2, 3)
	observed := []Observed{obs("c2", 2, StateRunning, "v1"), obs("c3", 3, StateRunning, "v1")}
	actions, _ := Plan(d, observed, Options{Parallel: true, MaxUnavailable: 2})
	if got, want := batched(actions), []string{
		"db-0: create #1",
		"db-1: create #1",
		"db-3: replace (spec changed) @c3 #2",
		"db-2: replace (spec changed) @c2 #2",
	}; !reflect.DeepEqual(got, want) {
		t.Fatalf("plan = %q, want %q", got, want)
	}
	creates, replacements := newBarrier(2, 5*time.Second), newBarrier(2, 5*time.Second)
	rt := &barrierRuntime{barriers: map[string]*barrier{
		"new-db-0": creates, "new-db-1": creates,
		"new-db-3": replacements, "new-db-2": replacements,
	}}
	if err := Execute(context.Background(), rt, d, actions, ExecOptions{}); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	calls := rt.recorded()
	if len(calls) != 14 {
		t.Fatalf("calls = %q, want 14", calls)
	}
	first, second := slices.Clone(calls[:6]), slices.Clone(calls[6:])
	slices.Sort(first)
	slices.Sort(second)
	if want := []string{"create db-0", "create db-1", "start new-db-0", "start new-db-1", "wait new-db-0", "wait new-db-1"}; !reflect.DeepEqual(first, want) {
		t.Errorf("first batch calls (sorted) = %q, want %q", first, want)
	}
	if want := []string{"create db-2", "create db-3", "remove c2", "remove c3", "start new-db-2", "start new-db-3", "wait new-db-2", "wait new-db-3"}; !reflect.DeepEqual(second, want) {
		t.Errorf("second batch calls (sorted) = %q, want %q", second, want)
	}
}

func TestBarrierRuntimeFailsActionsRunOneByOne(t *testing.T) {
	// The fake that proves concurrency must fail a sequential run.
	b := newBarrier(2, 50*time.Millisecond)
	rt := &barrierRuntime{barriers: map[string]*barrier{"new-db-0": b, "new-db-1": b}}
	actions := []Action{{Kind: Create, Ordinal: 0, Name: "db-0"}, {Kind: Create, Ordinal: 1, Name: "db-1"}}
	err := Execute(context.Background(), rt, desired("v1", 0, 1), actions, ExecOptions{})
	if want := "db-0: create: the rest of the batch never started"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestExecuteStartsNoBatchAfterAFailedOne(t *testing.T) {
	d := desired("v2", 0, 1, 2, 3)
	observed := []Observed{obs("c3", 3, StateRunning, "v1")}
	actions, _ := Plan(d, observed, Options{Parallel: true})
	if got, want := batched(actions), []string{"db-0: create #1", "db-1: create #1", "db-2: create #1", "db-3: replace (spec changed) @c3 #2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("plan = %q, want %q", got, want)
	}
	cases := map[string]struct {
		fail    []string
		wantErr string
	}{
		"one fails":  {[]string{"wait new-db-1"}, "db-1: create: boom"},
		"two fail":   {[]string{"wait new-db-2", "start new-db-0"}, "db-0: create: boom\ndb-2: create: boom"},
		"create too": {[]string{"create db-1"}, "db-1: create: boom"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rt := &fakeRuntime{fail: failOn(tc.fail...)}
			err := Execute(context.Background(), rt, d, actions, ExecOptions{})
			if err == nil || err.Error() != tc.wantErr || !errors.Is(err, errBoom) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			for _, c := range rt.recorded() {
				if strings.Contains(c, "c3") || strings.Contains(c, "db-3") {
					t.Fatalf("calls %q: the second batch started", rt.recorded())
				}
			}
			// Every action of the failed batch ran to its own end.
			got := 0
			for _, c := range rt.recorded() {
				if strings.HasPrefix(c, "create ") {
					got++
				}
			}
			if got != 3 {
				t.Fatalf("calls %q: %d creates, want all 3 of the batch", rt.recorded(), got)
			}
		})
	}
}

func TestPlanPreviousCarriesCurrentSharedVolumeCredentials(t *testing.T) {
	shared := func(version int64) spec.Volume {
		return spec.Volume{Name: "share", Target: "/share", PerReplica: true,
			Shared: &spec.SharedVolume{Type: "cifs", Device: "//fs/x", CredentialsVersion: version, Credentials: "password=current"}}
	}
	old := volumeService(1, shared(1))
	oldReplicas := renderService(t, old)
	updated := volumeService(1, shared(1))
	updated.Image = "postgres:17"
	desired := renderService(t, updated)
	observed := []Observed{{ID: "c0", Name: "db-0", Ordinal: 0, State: StateRunning, Fingerprint: oldReplicas[0].Fingerprint,
		Spec: oldReplicas[0].Container.Labels[spec.LabelSpec]}}
	actions, _ := Plan(desired, observed, Options{Desired: &updated})
	if len(actions) != 1 || actions[0].Previous == nil {
		t.Fatalf("actions = %+v, want one replace with a previous spec", actions)
	}
	if got := actions[0].Previous.Container.Mounts[0].Credentials; got != "password=current" {
		t.Fatalf("previous mount credentials = %q, want the current ones", got)
	}
}
