package reconcile

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// volumeService is service "db" with the given replicas and volumes.
func volumeService(replicas int, volumes ...spec.Volume) spec.Service {
	return spec.Service{
		Name: "db", Image: "postgres:16", Replicas: replicas, Restart: spec.DefaultRestart,
		StopGracePeriod: spec.DefaultStopGracePeriod, PullPolicy: spec.PullMissing, Volumes: volumes,
	}
}

// pluginVol is a plugin volume, per replica or shared.
func pluginVol(name, target string, perReplica, recreate bool) spec.Volume {
	return spec.Volume{Name: name, Target: target, PerReplica: perReplica, RecreateOnChange: recreate,
		Plugin: &spec.PluginVolume{Driver: "local", Options: map[string]string{"type": "tmpfs"}}}
}

func renderService(t *testing.T, s spec.Service) []spec.Replica {
	t.Helper()
	replicas, err := s.Render()
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return replicas
}

// upToDate observes a running, matching container "c<ordinal>" for each of
// the given ordinals of rs.
func upToDate(rs []spec.Replica, ordinals ...int) []Observed {
	var out []Observed
	for _, r := range rs {
		for _, o := range ordinals {
			if r.Ordinal == o {
				out = append(out, obs("c"+strconv.Itoa(o), o, StateRunning, r.Fingerprint))
			}
		}
	}
	return out
}

// currentVolumes observes every Docker volume of rs with its desired
// definition, except those in stale, which carry "stale".
func currentVolumes(rs []spec.Replica, stale ...string) []ObservedVolume {
	seen := map[string]bool{}
	var out []ObservedVolume
	for _, r := range rs {
		for _, m := range r.Container.Mounts {
			if !m.Named() || seen[m.Source] {
				continue
			}
			seen[m.Source] = true
			def := m.Definition
			for _, s := range stale {
				if s == m.Source {
					def = "stale"
				}
			}
			out = append(out, ObservedVolume{Name: m.Source, Definition: def})
		}
	}
	return out
}

func TestPlanChangedVolumeDefinitions(t *testing.T) {
	data := pluginVol("data", "/data", true, true)
	wal := pluginVol("wal", "/wal", true, true)
	blockedData := pluginVol("data", "/data", true, false)
	cases := map[string]struct {
		volumes     []spec.Volume
		observe     []int    // ordinals with a running, matching container
		stale       []string // Docker volumes observed with another definition
		extra       []ObservedVolume
		wantActions []Action
		wantBlocked []Blocked
	}{
		"opted in: replace and recreate": {
			volumes: []spec.Volume{data},
			observe: []int{0, 1, 2},
			stale:   []string{"db-data-1"},
			wantActions: []Action{{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1",
				Reason: "volume definition changed: db-data-1 recreated", RecreateVolumes: []string{"db-data-1"}}},
		},
		"opted in: several volumes of one replica, in mount order": {
			volumes: []spec.Volume{data, wal},
			observe: []int{0, 1, 2},
			stale:   []string{"db-wal-2", "db-data-2"},
			wantActions: []Action{{Kind: Replace, Ordinal: 2, Name: "db-2", ContainerID: "c2",
				Reason: "volume definition changed: db-data-2, db-wal-2 recreated", RecreateVolumes: []string{"db-data-2", "db-wal-2"}}},
		},
		"opted in: replacements highest ordinal first": {
			volumes: []spec.Volume{data},
			observe: []int{0, 1, 2},
			stale:   []string{"db-data-0", "db-data-2"},
			wantActions: []Action{
				{Kind: Replace, Ordinal: 2, Name: "db-2", ContainerID: "c2", Reason: "volume definition changed: db-data-2 recreated", RecreateVolumes: []string{"db-data-2"}},
				{Kind: Replace, Ordinal: 0, Name: "db-0", ContainerID: "c0", Reason: "volume definition changed: db-data-0 recreated", RecreateVolumes: []string{"db-data-0"}},
			},
		},
		"opted in: missing replica is created with its volume recreated": {
			volumes:     []spec.Volume{data},
			observe:     []int{0, 2},
			stale:       []string{"db-data-1"},
			wantActions: []Action{{Kind: Create, Ordinal: 1, Name: "db-1", RecreateVolumes: []string{"db-data-1"}}},
		},
		"not opted in: blocked, nothing recreated": {
			volumes:     []spec.Volume{blockedData},
			observe:     []int{0, 1, 2},
			stale:       []string{"db-data-1"},
			wantBlocked: []Blocked{{Replica: "db-1", Volume: "data", Source: "db-data-1"}},
		},
		"not opted in: missing replica is created, still blocked": {
			volumes:     []spec.Volume{blockedData},
			observe:     []int{0, 2},
			stale:       []string{"db-data-1"},
			wantActions: []Action{{Kind: Create, Ordinal: 1, Name: "db-1"}},
			wantBlocked: []Blocked{{Replica: "db-1", Volume: "data", Source: "db-data-1"}},
		},
		"only the opted-in volume of a replica is recreated": {
			volumes: []spec.Volume{data, pluginVol("wal", "/wal", true, false)},
			observe: []int{0, 1, 2},
			stale:   []string{"db-data-0", "db-wal-0"},
			wantActions: []Action{{Kind: Replace, Ordinal: 0, Name: "db-0", ContainerID: "c0",
				Reason: "volume definition changed: db-data-0 recreated", RecreateVolumes: []string{"db-data-0"}}},
			wantBlocked: []Blocked{{Replica: "db-0", Volume: "wal", Source: "db-wal-0"}},
		},
		"shared volume opted in: blocked once, never recreated": {
			volumes:     []spec.Volume{pluginVol("shared", "/shared", false, true)},
			observe:     []int{0, 1, 2},
			stale:       []string{"db-shared"},
			wantBlocked: []Blocked{{Replica: "db-0", Volume: "shared", Source: "db-shared"}},
		},
		"shared volume not opted in: blocked once": {
			volumes:     []spec.Volume{pluginVol("shared", "/shared", false, false)},
			observe:     []int{0, 1, 2},
			stale:       []string{"db-shared"},
			wantBlocked: []Blocked{{Replica: "db-0", Volume: "shared", Source: "db-shared"}},
		},
		"shared volume with missing replicas: created without recreating": {
			volumes:     []spec.Volume{pluginVol("shared", "/shared", false, true)},
			observe:     []int{1},
			stale:       []string{"db-shared"},
			wantActions: []Action{{Kind: Create, Ordinal: 0, Name: "db-0"}, {Kind: Create, Ordinal: 2, Name: "db-2"}},
			wantBlocked: []Blocked{{Replica: "db-0", Volume: "shared", Source: "db-shared"}},
		},
		"matching definitions: nothing to do": {
			volumes: []spec.Volume{data, wal, pluginVol("shared", "/shared", false, true)},
			observe: []int{0, 1, 2},
		},
		"host volumes have no definition": {
			volumes: []spec.Volume{{Name: "data", Target: "/data", PerReplica: true, RecreateOnChange: true,
				Host: &spec.HostVolume{Path: "/srv/db/{{.Ordinal}}"}}},
			observe: []int{0, 1, 2},
			extra:   []ObservedVolume{{Name: "/srv/db/1", Definition: "stale"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := renderService(t, volumeService(3, tc.volumes...))
			opts := Options{Volumes: append(currentVolumes(d, tc.stale...), tc.extra...)}
			actions, blocked := Plan(d, upToDate(d, tc.observe...), opts)
			// nil and empty are alike: compare only when either has entries.
			if (len(actions) > 0 || len(tc.wantActions) > 0) && !reflect.DeepEqual(unbatched(actions), tc.wantActions) {
				t.Errorf("actions =\n  %+v\nwant\n  %+v", actions, tc.wantActions)
			}
			if (len(blocked) > 0 || len(tc.wantBlocked) > 0) && !reflect.DeepEqual(blocked, tc.wantBlocked) {
				t.Errorf("blocked = %+v, want %+v", blocked, tc.wantBlocked)
			}
		})
	}
}

func TestPlanBlocksASharedVolumeOnItsFirstReplica(t *testing.T) {
	s := volumeService(3, pluginVol("shared", "/shared", false, false))
	s.OrdinalStart = 4
	d := renderService(t, s)
	_, blocked := Plan(d, upToDate(d, 4, 5, 6), Options{Volumes: currentVolumes(d, "db-shared")})
	if want := []Blocked{{Replica: "db-4", Volume: "shared", Source: "db-shared"}}; !reflect.DeepEqual(blocked, want) {
		t.Fatalf("blocked = %+v, want %+v", blocked, want)
	}
}

func TestPlanIgnoresVolumesOfOtherNames(t *testing.T) {
	d := renderService(t, volumeService(2, pluginVol("data", "/data", true, true)))
	opts := Options{Volumes: []ObservedVolume{{Name: "db-old-0", Definition: "x"}, {Name: "db-data-5", Definition: "x"}}}
	actions, blocked := Plan(d, upToDate(d, 0, 1), opts)
	if len(actions) != 0 || len(blocked) != 0 {
		t.Fatalf("Plan = %+v, %+v; want nothing", actions, blocked)
	}
}

// retentionService has a per-replica host volume, a per-replica plugin
// volume and a shared plugin volume.
func retentionService(replicas int, whenScaled string) spec.Service {
	s := volumeService(replicas,
		spec.Volume{Name: "data", Target: "/data", PerReplica: true, Host: &spec.HostVolume{Path: "/srv/db/{{.Ordinal}}"}},
		pluginVol("wal", "/wal", true, false),
		pluginVol("shared", "/shared", false, false),
	)
	s.Retention = spec.Retention{WhenScaled: whenScaled}
	return s
}

func TestPlanRetentionOnScaleDown(t *testing.T) {
	cases := map[string]struct {
		whenScaled  string
		wantSources map[int][]string // DeleteData sources of each removed ordinal
	}{
		"delete: per-replica data of each removed ordinal": {spec.Delete, map[int][]string{3: {"/srv/db/3", "db-wal-3"}, 2: {"/srv/db/2", "db-wal-2"}}},
		"retain":      {spec.Retain, map[int][]string{3: nil, 2: nil}},
		"unset keeps": {"", map[int][]string{3: nil, 2: nil}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := retentionService(2, tc.whenScaled)
			d := renderService(t, s)
			big := renderService(t, retentionService(4, tc.whenScaled))
			observed := upToDate(big, 0, 1, 2, 3)
			opts := Options{Volumes: currentVolumes(big), Retention: s.Retention, MountsFor: s.MountsFor}
			actions, blocked := Plan(d, observed, opts)
			if len(blocked) != 0 {
				t.Fatalf("blocked = %+v", blocked)
			}
			if got, want := render(actions), []string{"db-3: remove (scale down) @c3", "db-2: remove (scale down) @c2"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("actions = %q, want %q", got, want)
			}
			for _, a := range actions {
				var sources []string
				for _, m := range a.DeleteData {
					sources = append(sources, m.Source)
				}
				if want := tc.wantSources[a.Ordinal]; !reflect.DeepEqual(sources, want) {
					t.Errorf("%s: DeleteData sources = %q, want %q", a.Name, sources, want)
				}
				if tc.whenScaled != spec.Delete {
					continue
				}
				mounts, err := s.MountsFor(a.Ordinal)
				if err != nil {
					t.Fatal(err)
				}
				if want := mounts[:2]; !reflect.DeepEqual(a.DeleteData, want) {
					t.Errorf("%s: DeleteData =\n  %+v\nwant the rendered per-replica mounts\n  %+v", a.Name, a.DeleteData, want)
				}
			}
		})
	}
}

func TestPlanNeverDeletesDataOfADuplicate(t *testing.T) {
	s := retentionService(3, spec.Delete)
	d := renderService(t, s)
	observed := append(upToDate(d, 0, 1, 2), obs("c1-old", 1, StateExited, "old"))
	actions, _ := Plan(d, observed, Options{Volumes: currentVolumes(d), Retention: s.Retention, MountsFor: s.MountsFor})
	want := []Action{{Kind: Remove, Ordinal: 1, Name: "db-1", ContainerID: "c1-old", Reason: "duplicate of ordinal 1"}}
	if !reflect.DeepEqual(unbatched(actions), want) {
		t.Fatalf("actions = %+v, want %+v", actions, want)
	}
}

func TestPlanWithoutMountsForDeletesNothing(t *testing.T) {
	s := retentionService(1, spec.Delete)
	d := renderService(t, s)
	observed := upToDate(renderService(t, retentionService(2, spec.Delete)), 0, 1)
	actions, _ := Plan(d, observed, Options{Retention: s.Retention})
	want := []Action{{Kind: Remove, Ordinal: 1, Name: "db-1", ContainerID: "c1", Reason: "scale down"}}
	if !reflect.DeepEqual(unbatched(actions), want) {
		t.Fatalf("actions = %+v, want %+v", actions, want)
	}
}

func TestExecuteVolumeActions(t *testing.T) {
	hostData := spec.Mount{Volume: "data", Strategy: spec.StrategyHost, Source: "/srv/db/2", Target: "/data"}
	walData := spec.Mount{Volume: "wal", Strategy: spec.StrategyPlugin, Source: "db-wal-2", Target: "/wal", Driver: "local"}
	cases := map[string]struct {
		action Action
		fail   string
		want   []string
		errMsg string
	}{
		"remove deletes data after the container, in order": {
			action: Action{Kind: Remove, Ordinal: 2, Name: "db-2", ContainerID: "c2", Reason: "scale down", DeleteData: []spec.Mount{hostData, walData}},
			want:   []string{"remove c2", "delete-data /srv/db/2", "delete-data db-wal-2"},
		},
		"remove that fails deletes no data": {
			action: Action{Kind: Remove, Ordinal: 2, Name: "db-2", ContainerID: "c2", Reason: "scale down", DeleteData: []spec.Mount{hostData, walData}},
			fail:   "remove c2",
			want:   []string{"remove c2"},
			errMsg: "db-2: remove (scale down): boom",
		},
		"delete data that fails stops there": {
			action: Action{Kind: Remove, Ordinal: 2, Name: "db-2", ContainerID: "c2", Reason: "scale down", DeleteData: []spec.Mount{hostData, walData}},
			fail:   "delete-data /srv/db/2",
			want:   []string{"remove c2", "delete-data /srv/db/2"},
			errMsg: "db-2: remove (scale down): boom",
		},
		"replace recreates volumes between remove and create": {
			action: Action{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Reason: "volume definition changed", RecreateVolumes: []string{"db-data-1", "db-wal-1"}},
			want:   []string{"remove c1", "remove-volume db-data-1", "remove-volume db-wal-1", "create db-1", "start new-db-1", "wait new-db-1"},
		},
		"create removes the volume first": {
			action: Action{Kind: Create, Ordinal: 1, Name: "db-1", RecreateVolumes: []string{"db-data-1"}},
			want:   []string{"remove-volume db-data-1", "create db-1", "start new-db-1", "wait new-db-1"},
		},
		"remove-volume failure stops before create": {
			action: Action{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Reason: "volume definition changed", RecreateVolumes: []string{"db-data-1", "db-wal-1"}},
			fail:   "remove-volume db-data-1",
			want:   []string{"remove c1", "remove-volume db-data-1"},
			errMsg: "db-1: replace (volume definition changed): boom",
		},
		"remove-volume failure of a create stops before create": {
			action: Action{Kind: Create, Ordinal: 1, Name: "db-1", RecreateVolumes: []string{"db-data-1"}},
			fail:   "remove-volume db-data-1",
			want:   []string{"remove-volume db-data-1"},
			errMsg: "db-1: create: boom",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rt := &fakeRuntime{fail: failOn(tc.fail)}
			err := Execute(context.Background(), rt, desired("v1", 0, 1, 2), []Action{tc.action}, ExecOptions{})
			switch {
			case tc.errMsg == "" && err != nil:
				t.Fatalf("Execute: %v", err)
			case tc.errMsg != "" && (err == nil || err.Error() != tc.errMsg || !errors.Is(err, errBoom)):
				t.Fatalf("err = %v, want %q wrapping the runtime's error", err, tc.errMsg)
			}
			if got := rt.recorded(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestExecuteStopsAfterAFailedVolumeRemovalOfOneReplica(t *testing.T) {
	actions := []Action{
		{Kind: Replace, Ordinal: 2, Name: "db-2", ContainerID: "c2", Reason: "r", RecreateVolumes: []string{"db-data-2"}},
		{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Reason: "r", RecreateVolumes: []string{"db-data-1"}},
	}
	rt := &fakeRuntime{fail: failOn("remove-volume db-data-2")}
	if err := Execute(context.Background(), rt, desired("v1", 1, 2), actions, ExecOptions{}); !errors.Is(err, errBoom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if got, want := rt.recorded(), []string{"remove c2", "remove-volume db-data-2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %q, want %q", got, want)
	}
}

func TestPlanRecreatesAnOptedInSharedVolumeOnlyWhenNoReplicaRuns(t *testing.T) {
	rs := renderService(t, volumeService(2, pluginVol("shared", "/shared", false, true)))
	volumes := currentVolumes(rs, "db-shared")

	actions, blocked := Plan(rs, nil, Options{Volumes: volumes})
	if len(blocked) != 0 {
		t.Fatalf("blocked = %v, want none while no replica runs", blocked)
	}
	if len(actions) != 2 || !reflect.DeepEqual(actions[0].RecreateVolumes, []string{"db-shared"}) || actions[1].RecreateVolumes != nil {
		t.Fatalf("actions = %+v, want the first create alone to recreate db-shared", actions)
	}

	_, blocked = Plan(rs, upToDate(rs, 0), Options{Volumes: volumes})
	if len(blocked) != 1 {
		t.Fatalf("blocked = %v, want db-shared blocked while replica 0 runs", blocked)
	}
}

// unbatched clears batch numbers, for comparing what actions do.
func unbatched(actions []Action) []Action {
	out := make([]Action, len(actions))
	for i, a := range actions {
		a.Batch = 0
		out[i] = a
	}
	return out
}
