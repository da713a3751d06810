package reconcile

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// hookRun is a rendered hook with the default timeout.
func hookRun(point, runIn string, command ...string) spec.HookRun {
	return spec.HookRun{Point: point, RunIn: runIn, Command: command, Timeout: time.Minute}
}

var (
	addMember    = hookRun(spec.HookBeforeCreate, spec.RunInPeer, "member-add", "db-3")
	readySelf    = hookRun(spec.HookAfterReady, spec.RunInSelf, "ready")
	readyInPeer  = hookRun(spec.HookAfterReady, spec.RunInPeer, "refresh")
	removeMember = hookRun(spec.HookDecommission, spec.RunInPeer, "member-remove", "db-4")
	drain        = hookRun(spec.HookDecommission, spec.RunInSelf, "drain")
	handOff      = hookRun(spec.HookBeforeStop, spec.RunInSelf, "hand-off")
	handOffPeer  = hookRun(spec.HookBeforeStop, spec.RunInPeer, "take-over")
)

func hooks(h ...spec.HookRun) []spec.HookRun { return h }

func showCalls(calls []string) string { return "\n  " + strings.Join(calls, "\n  ") }

func TestExecuteRunsHooksAroundTheirAction(t *testing.T) {
	cases := map[string]struct {
		action Action
		peer   *Target
		want   []string
	}{
		"create: before_create in a peer, then the replica, then after_ready in the new container": {
			action: Action{Kind: Create, Ordinal: 3, Name: "db-3", Hooks: hooks(addMember, readySelf)},
			want: []string{
				"peer 3", "exec c-peer member-add db-3",
				"create db-3", "start new-db-3", "wait new-db-3",
				"exec new-db-3 ready",
			},
		},
		"create: after_ready in a peer": {
			action: Action{Kind: Create, Ordinal: 3, Name: "db-3", Hooks: hooks(readyInPeer)},
			want:   []string{"create db-3", "start new-db-3", "wait new-db-3", "peer 3", "exec c-peer refresh"},
		},
		"replace: before_stop in the old container, after_ready in the new one": {
			action: Action{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Hooks: hooks(handOff, readySelf)},
			want: []string{
				"exec c1 hand-off", "remove c1",
				"create db-1", "start new-db-1", "wait new-db-1",
				"exec new-db-1 ready",
			},
		},
		"replace: before_stop in a peer": {
			action: Action{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Hooks: hooks(handOffPeer)},
			want:   []string{"peer 1", "exec c-peer take-over", "remove c1", "create db-1", "start new-db-1", "wait new-db-1"},
		},
		"remove: decommission in a peer": {
			action: Action{Kind: Remove, Ordinal: 4, Name: "db-4", ContainerID: "c4", Reason: "scale down", Hooks: hooks(removeMember)},
			want:   []string{"peer 4", "exec c-peer member-remove db-4", "remove c4"},
		},
		"remove: decommission in self": {
			action: Action{Kind: Remove, Ordinal: 4, Name: "db-4", ContainerID: "c4", Reason: "scale down", Hooks: hooks(drain)},
			want:   []string{"exec c4 drain", "remove c4"},
		},
		"start: after_ready in the started container": {
			action: Action{Kind: Start, Ordinal: 1, Name: "db-1", ContainerID: "c1", Hooks: hooks(readySelf)},
			want:   []string{"start c1", "wait c1", "exec c1 ready"},
		},
		"the peer is where Peer says": {
			action: Action{Kind: Remove, Ordinal: 4, Name: "db-4", ContainerID: "c4", Reason: "scale down", Hooks: hooks(removeMember)},
			peer:   &Target{Host: "b", ID: "c0", Name: "db-0"},
			want:   []string{"peer 4", "exec c0 member-remove db-4@b", "remove c4"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rt := &fakeRuntime{peer: tc.peer}
			if err := Execute(context.Background(), rt, desired("v1", 0, 1, 2, 3, 4), []Action{tc.action}, ExecOptions{}); err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if got := rt.recorded(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("calls:%s\nwant:%s", showCalls(got), showCalls(tc.want))
			}
		})
	}
}

// A moved replica's before_stop runs in the old container on its old host,
// after_ready in the new one on the new host.
func TestExecuteRunsHooksOnTheHostOfTheirContainer(t *testing.T) {
	d := placedOn(desired("v1", 1), map[int]string{1: "b"})
	a := Action{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Host: "a", Hooks: hooks(handOff, readySelf)}
	rt := &fakeRuntime{}
	if err := Execute(context.Background(), rt, d, []Action{a}, ExecOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"exec c1 hand-off@a", "remove c1@a", "create db-1@b", "start new-db-1@b", "wait new-db-1@b", "exec new-db-1 ready@b"}
	if got := rt.recorded(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls:%s\nwant:%s", showCalls(got), showCalls(want))
	}
}

func TestExecuteGivesEachHookItsTimeout(t *testing.T) {
	before := hookRun(spec.HookBeforeStop, spec.RunInSelf, "hand-off")
	before.Timeout = 5 * time.Second
	after := hookRun(spec.HookAfterReady, spec.RunInSelf, "ready")
	after.Timeout = 2 * time.Minute
	rt := &fakeRuntime{}
	a := Action{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Hooks: hooks(before, after)}
	if err := Execute(context.Background(), rt, desired("v1", 1), []Action{a}, ExecOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{5 * time.Second, 2 * time.Minute}; !reflect.DeepEqual(rt.timeouts, want) {
		t.Fatalf("Exec timeouts = %v, want %v", rt.timeouts, want)
	}
}

func TestExecuteStopsAtAFailingHook(t *testing.T) {
	wal := spec.Mount{Volume: "wal", Strategy: spec.StrategyPlugin, Source: "db-wal-4", Target: "/wal", Driver: "local"}
	previous := desired("v0", 1)[0]
	cases := map[string]struct {
		action  Action
		fail    []string
		opts    ExecOptions
		want    []string
		wantErr string
	}{
		"decommission in self: the replica and its data are kept": {
			action: Action{Kind: Remove, Ordinal: 4, Name: "db-4", ContainerID: "c4", Reason: "scale down",
				DeleteData: []spec.Mount{wal}, BackupTo: "/backups", Hooks: hooks(drain)},
			fail:    []string{"exec c4 drain"},
			want:    []string{"exec c4 drain"},
			wantErr: "db-4: remove (scale down; hooks: decommission; backup of db-wal-4 to /backups first): decommission hook in db-4 failed: boom",
		},
		"decommission in a peer: the replica and its data are kept": {
			action: Action{Kind: Remove, Ordinal: 4, Name: "db-4", ContainerID: "c4", Reason: "scale down",
				DeleteData: []spec.Mount{wal}, Hooks: hooks(removeMember)},
			fail:    []string{"exec c-peer member-remove db-4"},
			want:    []string{"peer 4", "exec c-peer member-remove db-4"},
			wantErr: "db-4: remove (scale down; hooks: decommission in a peer): decommission hook in db-peer failed: boom",
		},
		"no peer: decommission does not run, nothing is removed": {
			action: Action{Kind: Remove, Ordinal: 4, Name: "db-4", ContainerID: "c4", Reason: "scale down",
				DeleteData: []spec.Mount{wal}, Hooks: hooks(removeMember)},
			fail:    []string{"peer 4"},
			want:    []string{"peer 4"},
			wantErr: "db-4: remove (scale down; hooks: decommission in a peer): decommission hook: boom",
		},
		"before_create: not created": {
			action:  Action{Kind: Create, Ordinal: 3, Name: "db-3", Hooks: hooks(addMember, readySelf)},
			fail:    []string{"exec c-peer member-add db-3"},
			want:    []string{"peer 3", "exec c-peer member-add db-3"},
			wantErr: "db-3: create (hooks: before_create in a peer, after_ready): before_create hook in db-peer failed: boom",
		},
		"no peer for before_create: not created": {
			action:  Action{Kind: Create, Ordinal: 3, Name: "db-3", Hooks: hooks(addMember, readySelf)},
			fail:    []string{"peer 3"},
			want:    []string{"peer 3"},
			wantErr: "db-3: create (hooks: before_create in a peer, after_ready): before_create hook: boom",
		},
		"before_stop: not removed, nothing to revert": {
			action: Action{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Reason: "image",
				Previous: &previous, Hooks: hooks(handOff, readySelf)},
			fail:    []string{"exec c1 hand-off"},
			opts:    ExecOptions{Revert: true},
			want:    []string{"exec c1 hand-off"},
			wantErr: "db-1: replace (image; hooks: before_stop, after_ready): before_stop hook in db-1 failed: boom",
		},
		"after_ready of a create: the replica stays up": {
			action:  Action{Kind: Create, Ordinal: 3, Name: "db-3", Hooks: hooks(addMember, readySelf)},
			fail:    []string{"exec new-db-3 ready"},
			want:    []string{"peer 3", "exec c-peer member-add db-3", "create db-3", "start new-db-3", "wait new-db-3", "exec new-db-3 ready"},
			wantErr: "db-3: create (hooks: before_create in a peer, after_ready): after_ready hook in db-3 failed: boom",
		},
		"after_ready of a replacement: not reverted, the replica is up": {
			action: Action{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Reason: "image",
				Previous: &previous, Hooks: hooks(handOff, readySelf)},
			fail:    []string{"exec new-db-1 ready"},
			opts:    ExecOptions{Revert: true},
			want:    []string{"exec c1 hand-off", "remove c1", "create db-1", "start new-db-1", "wait new-db-1", "exec new-db-1 ready"},
			wantErr: "db-1: replace (image; hooks: before_stop, after_ready): after_ready hook in db-1 failed: boom",
		},
		"after_ready of a start": {
			action:  Action{Kind: Start, Ordinal: 1, Name: "db-1", ContainerID: "c1", Reason: "stopped outside Terraform", Hooks: hooks(readySelf)},
			fail:    []string{"exec c1 ready"},
			want:    []string{"start c1", "wait c1", "exec c1 ready"},
			wantErr: "db-1: start (stopped outside Terraform; hooks: after_ready): after_ready hook in db-1 failed: boom",
		},
		"a replica that is not ready runs no after_ready": {
			action:  Action{Kind: Create, Ordinal: 3, Name: "db-3", Hooks: hooks(readySelf)},
			fail:    []string{"wait new-db-3"},
			want:    []string{"create db-3", "start new-db-3", "wait new-db-3"},
			wantErr: "db-3: create (hooks: after_ready): boom",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rt := &fakeRuntime{fail: failOn(tc.fail...)}
			err := Execute(context.Background(), rt, desired("v1", 0, 1, 2, 3, 4), []Action{tc.action}, tc.opts)
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("err = %v,\nwant %q", err, tc.wantErr)
			}
			if !errors.Is(err, errBoom) {
				t.Errorf("err %v does not wrap the runtime's error", err)
			}
			if got := rt.recorded(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("calls:%s\nwant:%s", showCalls(got), showCalls(tc.want))
			}
		})
	}
}

func TestExecuteRunsNoLaterBatchAfterAFailingHook(t *testing.T) {
	actions := []Action{
		{Kind: Create, Ordinal: 3, Name: "db-3", Batch: 1, Hooks: hooks(readySelf)},
		{Kind: Create, Ordinal: 4, Name: "db-4", Batch: 2, Hooks: hooks(readySelf)},
	}
	rt := &fakeRuntime{fail: failOn("exec new-db-3 ready")}
	err := Execute(context.Background(), rt, desired("v1", 3, 4), actions, ExecOptions{})
	if !errors.Is(err, errBoom) || !strings.HasPrefix(err.Error(), "db-3: create") {
		t.Fatalf("err = %v, want db-3's after_ready failure", err)
	}
	want := []string{"create db-3", "start new-db-3", "wait new-db-3", "exec new-db-3 ready"}
	if got := rt.recorded(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls:%s\nwant:%s", showCalls(got), showCalls(want))
	}
}

func TestExecuteBacksUpBeforeDeleting(t *testing.T) {
	hostData := spec.Mount{Volume: "data", Strategy: spec.StrategyHost, Source: "/srv/db/2", Target: "/data"}
	walData := spec.Mount{Volume: "wal", Strategy: spec.StrategyPlugin, Source: "db-wal-2", Target: "/wal", Driver: "local"}
	scaleDown := func(backupTo string) Action {
		return Action{Kind: Remove, Ordinal: 2, Name: "db-2", ContainerID: "c2", Reason: "scale down",
			DeleteData: []spec.Mount{hostData, walData}, BackupTo: backupTo}
	}
	recreateReplace := func(backupTo string) Action {
		return Action{Kind: Replace, Ordinal: 1, Name: "db-1", ContainerID: "c1", Reason: "volume definition changed",
			RecreateVolumes: []string{"db-data-1", "db-wal-1"}, BackupTo: backupTo}
	}
	recreateCreate := func(backupTo string) Action {
		return Action{Kind: Create, Ordinal: 1, Name: "db-1", RecreateVolumes: []string{"db-data-1"}, BackupTo: backupTo}
	}
	cases := map[string]struct {
		action  Action
		fail    string
		want    []string
		wantErr string
	}{
		"remove: stop, back up each mount, remove, delete": {
			action: scaleDown("/backups"),
			want: []string{
				"stop c2", "backup /srv/db/2 of db-2", "backup db-wal-2 of db-2",
				"remove c2", "delete-data /srv/db/2", "delete-data db-wal-2",
			},
		},
		"remove: a failed backup deletes nothing and keeps the stopped replica": {
			action:  scaleDown("/backups"),
			fail:    "backup db-wal-2 of db-2",
			want:    []string{"stop c2", "backup /srv/db/2 of db-2", "backup db-wal-2 of db-2"},
			wantErr: "db-2: remove (scale down; backup of /srv/db/2, db-wal-2 to /backups first): backup of db-wal-2 failed, nothing was deleted: boom",
		},
		"remove: a failed stop backs up and deletes nothing": {
			action:  scaleDown("/backups"),
			fail:    "stop c2",
			want:    []string{"stop c2"},
			wantErr: "db-2: remove (scale down; backup of /srv/db/2, db-wal-2 to /backups first): boom",
		},
		"remove without a backup: neither stop nor backup": {
			action: scaleDown(""),
			want:   []string{"remove c2", "delete-data /srv/db/2", "delete-data db-wal-2"},
		},
		"remove that deletes nothing: no backup": {
			action: Action{Kind: Remove, Ordinal: 2, Name: "db-2", ContainerID: "c2", Reason: "scale down", BackupTo: "/backups"},
			want:   []string{"remove c2"},
		},
		"replace: each recreated volume is backed up before it is removed": {
			action: recreateReplace("/backups"),
			want: []string{
				"remove c1",
				"backup db-data-1 of db-1", "remove-volume db-data-1",
				"backup db-wal-1 of db-1", "remove-volume db-wal-1",
				"create db-1", "start new-db-1", "wait new-db-1",
			},
		},
		"replace: a failed backup removes no volume": {
			action:  recreateReplace("/backups"),
			fail:    "backup db-data-1 of db-1",
			want:    []string{"remove c1", "backup db-data-1 of db-1"},
			wantErr: "db-1: replace (volume definition changed; backup of db-data-1, db-wal-1 to /backups first): backup of db-data-1 failed, it was not recreated: boom",
		},
		"replace without a backup": {
			action: recreateReplace(""),
			want:   []string{"remove c1", "remove-volume db-data-1", "remove-volume db-wal-1", "create db-1", "start new-db-1", "wait new-db-1"},
		},
		"create: backed up before the volume is removed": {
			action: recreateCreate("/backups"),
			want:   []string{"backup db-data-1 of db-1", "remove-volume db-data-1", "create db-1", "start new-db-1", "wait new-db-1"},
		},
		"create: a failed backup removes no volume and creates nothing": {
			action:  recreateCreate("/backups"),
			fail:    "backup db-data-1 of db-1",
			want:    []string{"backup db-data-1 of db-1"},
			wantErr: "db-1: create (backup of db-data-1 to /backups first): backup of db-data-1 failed, it was not recreated: boom",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rt := &fakeRuntime{fail: failOn(tc.fail)}
			err := Execute(context.Background(), rt, desired("v1", 0, 1, 2), []Action{tc.action}, ExecOptions{})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Execute: %v", err)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr || !errors.Is(err, errBoom)):
				t.Fatalf("err = %v,\nwant %q wrapping the runtime's error", err, tc.wantErr)
			}
			if got := rt.recorded(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("calls:%s\nwant:%s", showCalls(got), showCalls(tc.want))
			}
		})
	}
}

// A volume all replicas share is archived under no replica's name.
func TestExecuteBacksUpASharedVolumeAsShared(t *testing.T) {
	d := renderService(t, volumeService(2, pluginVol("shared", "/shared", false, true)))
	a := Action{Kind: Create, Ordinal: 0, Name: "db-0", RecreateVolumes: []string{"db-shared"}, BackupTo: "/backups"}
	rt := &fakeRuntime{}
	if err := Execute(context.Background(), rt, d, []Action{a}, ExecOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"backup db-shared", "remove-volume db-shared", "create db-0", "start new-db-0", "wait new-db-0"}
	if got := rt.recorded(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls:%s\nwant:%s", showCalls(got), showCalls(want))
	}
}

// hookedService is service "db" with a per-replica volume and every hook:
// before_create (always in a peer), after_ready and before_stop in self,
// decommission in a peer.
func hookedService(replicas int) spec.Service {
	s := volumeService(replicas, pluginVol("data", "/data", true, false))
	s.Hooks = &spec.Hooks{
		BeforeCreate: &spec.Hook{Command: []string{"add", "{{.Name}}"}},
		AfterReady:   &spec.Hook{Command: []string{"ready", "{{.Name}}"}},
		Decommission: &spec.Hook{Command: []string{"remove", "{{.Name}}"}, RunIn: spec.RunInPeer},
		BeforeStop:   &spec.Hook{Command: []string{"hand-off", "{{.Name}}"}, Timeout: "10s"},
	}
	return s
}

// hookOptions are the options the provider plans s with, in parallel.
func hookOptions(s spec.Service) Options {
	return Options{
		Desired: &s, HooksFor: s.RenderHooks, Membership: s.Hooks.Membership(), Parallel: true,
		Retention: s.Retention, MountsFor: s.MountsFor, Backup: s.Backup,
	}
}

// withState observes the container of ordinal in state instead.
func withState(observed []Observed, ordinal int, state string) []Observed {
	out := append([]Observed(nil), observed...)
	for i := range out {
		if out[i].Ordinal == ordinal {
			out[i].State = state
		}
	}
	return out
}

func TestPlanAttachesHooks(t *testing.T) {
	three, five := hookedService(3), hookedService(5)
	newImage := hookedService(3)
	newImage.Image = "postgres:17"
	selfDecommission := hookedService(3)
	selfDecommission.Hooks.Decommission.RunIn = spec.RunInSelf
	peerReady := hookedService(3)
	peerReady.Hooks.AfterReady.RunIn = spec.RunInPeer
	cases := map[string]struct {
		desired  spec.Service
		observed []Observed
		opts     func(o *Options)
		want     []string
	}{
		"scale-up of a running service: before_create in a peer and after_ready, one at a time in order": {
			desired:  five,
			observed: observedFrom(renderService(t, three)),
			want: []string{
				"db-3: create (hooks: before_create in a peer, after_ready) #1",
				"db-4: create (hooks: before_create in a peer, after_ready) #2",
			},
		},
		"first creation: no before_create, all at once": {
			desired: three,
			want: []string{
				"db-0: create (hooks: after_ready) #1",
				"db-1: create (hooks: after_ready) #1",
				"db-2: create (hooks: after_ready) #1",
			},
		},
		"first creation: no hook in a peer": {
			desired: peerReady,
			want:    []string{"db-0: create #1", "db-1: create #1", "db-2: create #1"},
		},
		"a replica removed outside Terraform comes back with its data: no before_create": {
			desired:  three,
			observed: observedFrom(renderService(t, three))[:2],
			opts:     func(o *Options) { o.Known = map[int]bool{0: true, 1: true, 2: true} },
			want:     []string{"db-2: create (removed outside Terraform; hooks: after_ready) #1"},
		},
		"scale-down: decommission in a peer, highest ordinal first, one at a time": {
			desired:  three,
			observed: observedFrom(renderService(t, five)),
			want: []string{
				"db-4: remove (scale down; hooks: decommission in a peer) @c4 #1",
				"db-3: remove (scale down; hooks: decommission in a peer) @c3 #2",
			},
		},
		"scale-down: decommission in self only of a replica that runs": {
			desired:  selfDecommission,
			observed: withState(observedFrom(renderService(t, hookedService(5))), 4, StateExited),
			want: []string{
				"db-4: remove (scale down) @c4 #1",
				"db-3: remove (scale down; hooks: decommission) @c3 #2",
			},
		},
		"scale-down without membership hooks: all at once": {
			desired:  three,
			observed: observedFrom(renderService(t, five)),
			opts:     func(o *Options) { o.Membership = false },
			want: []string{
				"db-4: remove (scale down; hooks: decommission in a peer) @c4 #1",
				"db-3: remove (scale down; hooks: decommission in a peer) @c3 #1",
			},
		},
		"a duplicate's removal decommissions nothing": {
			desired:  three,
			observed: append(observedFrom(renderService(t, three)), obs("c1-old", 1, StateRunning, "old")),
			want:     []string{"db-1: remove (duplicate of ordinal 1) @c1-old #1"},
		},
		"replacement of a running replica: before_stop and after_ready": {
			desired:  newImage,
			observed: observedFrom(renderService(t, three)),
			want: []string{
				"db-2: replace (image; hooks: before_stop, after_ready) @c2 #1",
				"db-1: replace (image; hooks: before_stop, after_ready) @c1 #2",
				"db-0: replace (image; hooks: before_stop, after_ready) @c0 #3",
			},
		},
		"replacement of a stopped replica: no before_stop": {
			desired:  newImage,
			observed: withState(observedFrom(renderService(t, three)), 1, StateExited),
			want: []string{
				"db-2: replace (image; hooks: before_stop, after_ready) @c2 #1",
				"db-1: replace (image; hooks: after_ready) @c1 #2",
				"db-0: replace (image; hooks: before_stop, after_ready) @c0 #3",
			},
		},
		"held back by the partition: no hooks": {
			desired:  newImage,
			observed: observedFrom(renderService(t, three)),
			opts:     func(o *Options) { o.Partition = 2 },
			want: []string{
				"db-2: replace (image; hooks: before_stop, after_ready) @c2 #1",
				"db-1: held back (partition 2; image) @c1 #0",
				"db-0: held back (partition 2; image) @c0 #0",
			},
		},
		"start of a stopped replica: after_ready": {
			desired:  three,
			observed: withState(observedFrom(renderService(t, three)), 1, StateExited),
			want:     []string{"db-1: start (stopped outside Terraform; hooks: after_ready) @c1 #1"},
		},
		"a failed after_ready runs again in the running replica": {
			desired: three,
			observed: func() []Observed {
				o := observedFrom(renderService(t, three))
				o[1].AfterReadyFailed = true
				return o
			}(),
			want: []string{"db-1: run hooks (after_ready failed in an earlier apply; hooks: after_ready) @c1 #1"},
		},
		"a failed after_ready of a hook since removed: nothing to run": {
			desired: volumeService(3, pluginVol("data", "/data", true, false)),
			observed: func() []Observed {
				o := observedFrom(renderService(t, volumeService(3, pluginVol("data", "/data", true, false))))
				o[1].AfterReadyFailed = true
				return o
			}(),
			want: []string{},
		},
		"update in place: no hooks": {
			desired: three,
			observed: func() []Observed {
				o := observedFrom(renderService(t, three))
				o[1].Restart = &spec.RestartPolicy{Name: "always"}
				return o
			}(),
			want: []string{"db-1: update in place (restart policy changed outside Terraform to always; configured unless-stopped) @c1 #1"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			opts := hookOptions(tc.desired)
			if tc.opts != nil {
				tc.opts(&opts)
			}
			actions, _ := Plan(renderService(t, tc.desired), tc.observed, opts)
			if got := batched(actions); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Plan:%s\nwant:%s", showCalls(got), showCalls(tc.want))
			}
		})
	}
}

// The hooks attached are the ones rendered for the replica they are about,
// in their run order.
func TestPlanAttachesTheRenderedHooksOfEachReplica(t *testing.T) {
	five := hookedService(5)
	actions, _ := Plan(renderService(t, five), observedFrom(renderService(t, hookedService(3))), hookOptions(five))
	if len(actions) != 2 {
		t.Fatalf("actions = %q, want two creates", render(actions))
	}
	for _, a := range actions {
		want := []spec.HookRun{
			{Point: spec.HookBeforeCreate, RunIn: spec.RunInPeer, Command: []string{"add", a.Name}, Timeout: time.Minute},
			{Point: spec.HookAfterReady, RunIn: spec.RunInSelf, Command: []string{"ready", a.Name}, Timeout: time.Minute},
		}
		if !reflect.DeepEqual(a.Hooks, want) {
			t.Errorf("%s: hooks =\n  %+v\nwant\n  %+v", a.Name, a.Hooks, want)
		}
	}

	newImage := hookedService(3)
	newImage.Image = "postgres:17"
	actions, _ = Plan(renderService(t, newImage), observedFrom(renderService(t, hookedService(3))), hookOptions(newImage))
	want := []spec.HookRun{
		{Point: spec.HookBeforeStop, RunIn: spec.RunInSelf, Command: []string{"hand-off", "db-2"}, Timeout: 10 * time.Second},
		{Point: spec.HookAfterReady, RunIn: spec.RunInSelf, Command: []string{"ready", "db-2"}, Timeout: time.Minute},
	}
	if len(actions) == 0 || !reflect.DeepEqual(actions[0].Hooks, want) {
		t.Fatalf("first replacement = %+v, want hooks %+v", actions, want)
	}
}

// Without hooks, actions carry none, and Plan shows what it showed before.
func TestPlanWithoutHooksAttachesNone(t *testing.T) {
	s := volumeService(5, pluginVol("data", "/data", true, false))
	actions, _ := Plan(renderService(t, s), observedFrom(renderService(t, volumeService(3, pluginVol("data", "/data", true, false)))),
		Options{Desired: &s, HooksFor: s.RenderHooks, Parallel: true})
	want := []string{"db-3: create #1", "db-4: create #1"}
	if got := batched(actions); !reflect.DeepEqual(got, want) {
		t.Fatalf("Plan:%s\nwant:%s", showCalls(got), showCalls(want))
	}
}

// backedUpService is hookedService that deletes the data of removed
// replicas and recreates its volume on change, with a backup.
func backedUpService(replicas int, backup *spec.Backup) spec.Service {
	s := hookedService(replicas)
	s.Volumes = []spec.Volume{pluginVol("data", "/data", true, true)}
	s.Retention = spec.Retention{WhenScaled: spec.Delete}
	s.Backup = backup
	return s
}

func TestPlanTakesABackupBeforeDeletingData(t *testing.T) {
	toDir := &spec.Backup{HostPath: "/var/backups/stateful"}
	toVolume := &spec.Backup{Volume: "db-backups"}
	cases := map[string]struct {
		backup   *spec.Backup
		scale    bool // scale 5 -> 3; otherwise recreate db-data-1 and lose db-2
		want     []string
		wantDest string
	}{
		"scale-down to a host directory": {
			backup: toDir, scale: true,
			want: []string{
				"db-4: remove (scale down; hooks: decommission in a peer; backup of db-data-4 to /var/backups/stateful first) @c4",
				"db-3: remove (scale down; hooks: decommission in a peer; backup of db-data-3 to /var/backups/stateful first) @c3",
			},
			wantDest: "/var/backups/stateful",
		},
		"scale-down to a volume": {
			backup: toVolume, scale: true,
			want: []string{
				"db-4: remove (scale down; hooks: decommission in a peer; backup of db-data-4 to volume db-backups first) @c4",
				"db-3: remove (scale down; hooks: decommission in a peer; backup of db-data-3 to volume db-backups first) @c3",
			},
			wantDest: "volume db-backups",
		},
		"scale-down without a backup": {
			scale: true,
			want: []string{
				"db-4: remove (scale down; hooks: decommission in a peer) @c4",
				"db-3: remove (scale down; hooks: decommission in a peer) @c3",
			},
		},
		"recreate_on_change": {
			backup: toDir,
			want: []string{
				"db-2: create (removed outside Terraform; hooks: after_ready; backup of db-data-2 to /var/backups/stateful first)",
				"db-1: replace (volume definition changed: db-data-1 recreated; hooks: before_stop, after_ready; backup of db-data-1 to /var/backups/stateful first) @c1",
			},
			wantDest: "/var/backups/stateful",
		},
		"recreate_on_change without a backup": {
			want: []string{
				"db-2: create (removed outside Terraform; hooks: after_ready)",
				"db-1: replace (volume definition changed: db-data-1 recreated; hooks: before_stop, after_ready) @c1",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := backedUpService(3, tc.backup)
			d := renderService(t, s)
			opts := hookOptions(s)
			var observed []Observed
			if tc.scale {
				big := renderService(t, backedUpService(5, tc.backup))
				observed, opts.Volumes = observedFrom(big), currentVolumes(big)
			} else {
				observed, opts.Volumes = observedFrom(d)[:2], currentVolumes(d, "db-data-1", "db-data-2")
				opts.Known = map[int]bool{0: true, 1: true, 2: true}
			}
			actions, blocked := Plan(d, observed, opts)
			if len(blocked) != 0 {
				t.Fatalf("blocked = %+v", blocked)
			}
			if got := render(actions); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Plan:%s\nwant:%s", showCalls(got), showCalls(tc.want))
			}
			for _, a := range actions {
				if a.BackupTo != tc.wantDest {
					t.Errorf("%s: BackupTo = %q, want %q", a.Name, a.BackupTo, tc.wantDest)
				}
			}
		})
	}
}

// Data that is kept is not backed up: a backup is taken only before data
// is deleted or recreated.
func TestPlanTakesNoBackupOfDataItKeeps(t *testing.T) {
	s := backedUpService(3, &spec.Backup{HostPath: "/var/backups/stateful"})
	s.Retention = spec.Retention{WhenScaled: spec.Retain}
	big := renderService(t, backedUpService(5, s.Backup))
	opts := hookOptions(s)
	opts.Volumes = currentVolumes(big)
	actions, _ := Plan(renderService(t, s), observedFrom(big), opts)
	if len(actions) != 2 {
		t.Fatalf("actions = %q, want two removals", render(actions))
	}
	for _, a := range actions {
		if a.BackupTo != "" || strings.Contains(a.String(), "backup") {
			t.Errorf("%s: BackupTo = %q, want none", a, a.BackupTo)
		}
	}
}

// What Plan decides, Execute does: the planned hooks and backups of a
// scale-down run around the removal, in order.
func TestExecuteRunsThePlannedHooksAndBackupOfAScaleDown(t *testing.T) {
	s := backedUpService(3, &spec.Backup{HostPath: "/var/backups/stateful"})
	d := renderService(t, s)
	big := renderService(t, backedUpService(4, s.Backup))
	opts := hookOptions(s)
	opts.Volumes = currentVolumes(big)
	actions, _ := Plan(d, observedFrom(big), opts)
	rt := &fakeRuntime{peer: &Target{ID: "c0", Name: "db-0"}}
	if err := Execute(context.Background(), rt, d, actions, ExecOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"peer 3", "exec c0 remove db-3", "stop c3", "backup db-data-3 of db-3", "remove c3", "delete-data db-data-3"}
	if got := rt.recorded(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls:%s\nwant:%s", showCalls(got), showCalls(want))
	}
}

// With cluster scaling "join", scaling creates or removes replicas one at a
// time and replaces none of those that run.
func TestPlanScalesAJoiningClusterWithoutReplacing(t *testing.T) {
	joining := func(replicas int) spec.Service {
		s := hookedService(replicas)
		s.Cluster = &spec.Cluster{Seeds: 3, Port: 2380, MembersEnv: "MEMBERS", Scaling: spec.ScalingJoin}
		return s
	}
	cases := map[string]struct {
		from, to int
		want     []string
	}{
		"up 3 -> 5": {3, 5, []string{
			"db-3: create (hooks: before_create in a peer, after_ready) #1",
			"db-4: create (hooks: before_create in a peer, after_ready) #2",
		}},
		"down 5 -> 3": {5, 3, []string{
			"db-4: remove (scale down; hooks: decommission in a peer) @c4 #1",
			"db-3: remove (scale down; hooks: decommission in a peer) @c3 #2",
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := joining(tc.to)
			opts := hookOptions(s)
			opts.Membership = s.Hooks.Membership() || s.Cluster.Joining()
			actions, _ := Plan(renderService(t, s), observedFrom(renderService(t, joining(tc.from))), opts)
			if got := batched(actions); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Plan:%s\nwant:%s", showCalls(got), showCalls(tc.want))
			}
		})
	}
}

func TestExecuteReportsAFailedAfterReadyWithItsContainer(t *testing.T) {
	s := hookedService(3)
	replicas := renderService(t, s)
	ready := hookRun(spec.HookAfterReady, spec.RunInSelf, "ready")
	cases := map[string]struct {
		action Action
		wantID string
	}{
		"create: the new container":     {Action{Kind: Create, Ordinal: 1, Name: "db-1", Hooks: hooks(ready)}, "new-db-1"},
		"run hooks: the same container": {Action{Kind: Hook, Ordinal: 1, Name: "db-1", ContainerID: "c1", Hooks: hooks(ready)}, "c1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rt := &fakeRuntime{fail: map[string]bool{"exec " + tc.wantID + " ready": true}}
			err := Execute(context.Background(), rt, replicas, []Action{tc.action}, ExecOptions{})
			var failed *AfterReadyError
			if !errors.As(err, &failed) || failed.ContainerID != tc.wantID {
				t.Fatalf("Execute() = %v; want an AfterReadyError for %s; calls:%s", err, tc.wantID, showCalls(rt.calls))
			}
		})
	}
}
