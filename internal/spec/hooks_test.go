package spec

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// hookService is clusterService (seeds db-0 and db-1 on port 7000) with
// every hook.
func hookService() Service {
	s := clusterService()
	s.Hooks = &Hooks{
		BeforeCreate: &Hook{Command: []string{"etcdctl", "member", "add", "{{.Name}}", "--peer-urls=http://{{.Address}}:{{.Port}}"}},
		AfterReady:   &Hook{Command: []string{"sh", "-c", "echo {{.Ordinal}} {{if .Seed}}seed{{else}}joiner{{end}}"}, Timeout: "30s"},
		Decommission: &Hook{Command: []string{"etcdctl", "member", "remove", "{{.Name}}"}, RunIn: RunInPeer},
		BeforeStop:   &Hook{Command: []string{"hand-off", "{{.Service}}/{{.Replicas}}"}, RunIn: RunInSelf},
	}
	return s
}

func TestRenderHooksPerOrdinal(t *testing.T) {
	cases := map[string]struct {
		ordinal int
		want    ReplicaHooks
	}{
		"a seed": {1, ReplicaHooks{
			BeforeCreate: &HookRun{Point: HookBeforeCreate, RunIn: RunInPeer, Timeout: time.Minute,
				Command: []string{"etcdctl", "member", "add", "db-1", "--peer-urls=http://db-1:7000"}},
			AfterReady:   &HookRun{Point: HookAfterReady, RunIn: RunInSelf, Timeout: 30 * time.Second, Command: []string{"sh", "-c", "echo 1 seed"}},
			Decommission: &HookRun{Point: HookDecommission, RunIn: RunInPeer, Timeout: time.Minute, Command: []string{"etcdctl", "member", "remove", "db-1"}},
			BeforeStop:   &HookRun{Point: HookBeforeStop, RunIn: RunInSelf, Timeout: time.Minute, Command: []string{"hand-off", "db/3"}},
		}},
		"beyond the desired range (scale-down)": {4, ReplicaHooks{
			BeforeCreate: &HookRun{Point: HookBeforeCreate, RunIn: RunInPeer, Timeout: time.Minute,
				Command: []string{"etcdctl", "member", "add", "db-4", "--peer-urls=http://db-4:7000"}},
			AfterReady:   &HookRun{Point: HookAfterReady, RunIn: RunInSelf, Timeout: 30 * time.Second, Command: []string{"sh", "-c", "echo 4 joiner"}},
			Decommission: &HookRun{Point: HookDecommission, RunIn: RunInPeer, Timeout: time.Minute, Command: []string{"etcdctl", "member", "remove", "db-4"}},
			BeforeStop:   &HookRun{Point: HookBeforeStop, RunIn: RunInSelf, Timeout: time.Minute, Command: []string{"hand-off", "db/3"}},
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := hookService().RenderHooks(tc.ordinal)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("RenderHooks(%d) =\n  %s\nwant\n  %s", tc.ordinal, showHooks(got), showHooks(tc.want))
			}
		})
	}
}

func showHooks(h ReplicaHooks) string {
	var out []string
	for _, r := range []*HookRun{h.BeforeCreate, h.AfterReady, h.Decommission, h.BeforeStop} {
		if r == nil {
			out = append(out, "<nil>")
			continue
		}
		out = append(out, strings.Join([]string{r.Point, r.RunIn, r.Timeout.String(), strings.Join(r.Command, " ")}, " | "))
	}
	return strings.Join(out, "\n  ")
}

func TestRenderHooksLeavesUnsetHooksNil(t *testing.T) {
	s := clusterService()
	got, err := s.RenderHooks(0)
	if err != nil || got != (ReplicaHooks{}) {
		t.Fatalf("no hooks: RenderHooks = %+v, %v; want none", got, err)
	}
	s.Hooks = &Hooks{AfterReady: &Hook{Command: []string{"ready"}}}
	got, err = s.RenderHooks(0)
	if err != nil {
		t.Fatal(err)
	}
	want := ReplicaHooks{AfterReady: &HookRun{Point: HookAfterReady, RunIn: RunInSelf, Timeout: time.Minute, Command: []string{"ready"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("RenderHooks =\n  %s\nwant\n  %s", showHooks(got), showHooks(want))
	}
}

// before_create runs before its replica exists: always in a peer.
func TestBeforeCreateAlwaysRunsInAPeer(t *testing.T) {
	for _, runIn := range []string{"", RunInPeer, RunInSelf} {
		s := clusterService()
		s.Hooks = &Hooks{BeforeCreate: &Hook{Command: []string{"add"}, RunIn: runIn}}
		got, err := s.RenderHooks(2)
		if err != nil {
			t.Fatal(err)
		}
		if got.BeforeCreate == nil || got.BeforeCreate.RunIn != RunInPeer {
			t.Errorf("run_in %q: before_create = %+v, want it in a peer", runIn, got.BeforeCreate)
		}
	}
}

func TestHookMembership(t *testing.T) {
	cmd := &Hook{Command: []string{"x"}}
	cases := map[string]struct {
		hooks *Hooks
		want  bool
	}{
		"none":          {nil, false},
		"empty":         {&Hooks{}, false},
		"before_create": {&Hooks{BeforeCreate: cmd}, true},
		"decommission":  {&Hooks{Decommission: cmd}, true},
		"after_ready":   {&Hooks{AfterReady: cmd}, false},
		"before_stop":   {&Hooks{BeforeStop: cmd}, false},
	}
	for name, tc := range cases {
		if got := tc.hooks.Membership(); got != tc.want {
			t.Errorf("%s: Membership() = %t, want %t", name, got, tc.want)
		}
	}
}

func TestValidateAcceptsHooksAndBackups(t *testing.T) {
	cases := map[string]func(s *Service){
		"every hook":           func(*Service) {},
		"backup to a host dir": func(s *Service) { s.Backup = &Backup{HostPath: "/var/backups/stateful"} },
		"backup to a volume":   func(s *Service) { s.Backup = &Backup{Volume: "db-backups"} },
		"timeout of a second":  func(s *Service) { s.Hooks.AfterReady.Timeout = "1s" },
		"decommission in self": func(s *Service) { s.Hooks.Decommission.RunIn = RunInSelf },
		"before_create in peer, said": func(s *Service) {
			s.Hooks.BeforeCreate.RunIn = RunInPeer
		},
		"scaling join":    func(s *Service) { s.Cluster.Scaling = ScalingJoin },
		"scaling restart": func(s *Service) { s.Cluster.Scaling = ScalingRestart },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := hookService()
			s.Volumes = []Volume{{Name: "data", Target: "/data", PerReplica: true, Plugin: &PluginVolume{Driver: "local"}}}
			mutate(&s)
			if errs := s.Validate(); len(errs) != 0 {
				t.Fatalf("Validate() = %v, want no errors", errs)
			}
		})
	}
}

// Each mistake is reported once, naming its attribute.
func TestValidateRejectsBadHooksAndBackups(t *testing.T) {
	cases := map[string]struct {
		mutate func(s *Service)
		want   string // the start of the one error
	}{
		"no command": {
			func(s *Service) { s.Hooks.AfterReady.Command = nil },
			`hooks.after_ready.command: give the command to run`,
		},
		"empty command": {
			func(s *Service) { s.Hooks.Decommission.Command = []string{""} },
			`hooks.decommission.command: give the command to run`,
		},
		"run_in nowhere": {
			func(s *Service) { s.Hooks.BeforeStop.RunIn = "nowhere" },
			`hooks.before_stop.run_in: "nowhere" is not "self" or "peer"`,
		},
		"before_create in self": {
			func(s *Service) { s.Hooks.BeforeCreate.RunIn = RunInSelf },
			`hooks.before_create.run_in: before_create runs before its replica exists; it can only run in a "peer"`,
		},
		"timeout 0s": {
			func(s *Service) { s.Hooks.AfterReady.Timeout = "0s" },
			`hooks.after_ready.timeout: 0s is shorter than a second`,
		},
		"timeout abc": {
			func(s *Service) { s.Hooks.AfterReady.Timeout = "abc" },
			`hooks.after_ready.timeout: "abc" is not a duration`,
		},
		"negative timeout": {
			func(s *Service) { s.Hooks.BeforeStop.Timeout = "-1s" },
			`hooks.before_stop.timeout: "-1s" is negative`,
		},
		"bad template": {
			func(s *Service) { s.Hooks.Decommission.Command = []string{"remove", "{{.Nope}}"} },
			`hooks.decommission.command[1]: "{{.Nope}}" cannot be rendered`,
		},
		"unclosed template": {
			func(s *Service) { s.Hooks.BeforeCreate.Command = []string{"add {{.Name"} },
			`hooks.before_create.command[0]:`,
		},
		"backup to both": {
			func(s *Service) { s.Backup = &Backup{HostPath: "/var/backups", Volume: "db-backups"} },
			`backup: set exactly one of host_path`,
		},
		"backup to neither": {
			func(s *Service) { s.Backup = &Backup{} },
			`backup: set exactly one of host_path`,
		},
		"relative host_path": {
			func(s *Service) { s.Backup = &Backup{HostPath: "backups"} },
			`backup.host_path: "backups" must be a clean absolute directory path`,
		},
		"unclean host_path": {
			func(s *Service) { s.Backup = &Backup{HostPath: "/var/backups/"} },
			`backup.host_path: "/var/backups/" must be a clean absolute directory path`,
		},
		"host_path /": {
			func(s *Service) { s.Backup = &Backup{HostPath: "/"} },
			`backup.host_path: "/" must be a clean absolute directory path`,
		},
		"backup into a volume of the service, per replica": {
			func(s *Service) { s.Backup = &Backup{Volume: "db-data-2"} },
			`backup.volume: "db-data-2" is named like a volume of the service itself`,
		},
		"backup into a volume of the service, shared": {
			func(s *Service) { s.Backup = &Backup{Volume: "db-shared"} },
			`backup.volume: "db-shared" is named like a volume of the service itself`,
		},
		"backup volume with a bad name": {
			func(s *Service) { s.Backup = &Backup{Volume: "bad name"} },
			`backup.volume: `,
		},
		"scaling bogus": {
			func(s *Service) { s.Cluster.Scaling = "bogus" },
			`cluster.scaling: "bogus" is not "restart" or "join"`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := hookService()
			s.Volumes = []Volume{
				{Name: "data", Target: "/data", PerReplica: true, Plugin: &PluginVolume{Driver: "local"}},
				{Name: "shared", Target: "/shared", Plugin: &PluginVolume{Driver: "local"}},
			}
			tc.mutate(&s)
			errs := s.Validate()
			if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tc.want) {
				t.Fatalf("Validate() = %d errors %q, want one starting with %q", len(errs), errs, tc.want)
			}
		})
	}
}

// joinService has two seeds on port 7000, members in MEMBERS, and
// replicas that join one at a time.
func joinService(start, replicas int) Service {
	s := clusterService()
	s.OrdinalStart, s.Replicas = start, replicas
	s.Cluster.MembersEnv, s.Cluster.Scaling = "MEMBERS", ScalingJoin
	return s
}

func envOf(r Replica, name string) (string, bool) {
	for _, kv := range r.Container.Env {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v, true
		}
	}
	return "", false
}

func TestJoiningReplicasListTheMembersThatExistWhenTheyJoin(t *testing.T) {
	cases := map[string]struct {
		start, replicas int
		seeds           string
		want            map[string]string // MEMBERS of each replica
	}{
		"from 0": {0, 5, "db-0:7000,db-1:7000", map[string]string{
			"db-0": "db-0:7000,db-1:7000",
			"db-1": "db-0:7000,db-1:7000",
			"db-2": "db-0:7000,db-1:7000,db-2:7000",
			"db-3": "db-0:7000,db-1:7000,db-2:7000,db-3:7000",
			"db-4": "db-0:7000,db-1:7000,db-2:7000,db-3:7000,db-4:7000",
		}},
		"from ordinal_start 2": {2, 4, "db-2:7000,db-3:7000", map[string]string{
			"db-2": "db-2:7000,db-3:7000",
			"db-3": "db-2:7000,db-3:7000",
			"db-4": "db-2:7000,db-3:7000,db-4:7000",
			"db-5": "db-2:7000,db-3:7000,db-4:7000,db-5:7000",
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rs := mustRender(t, joinService(tc.start, tc.replicas))
			if len(rs) != len(tc.want) {
				t.Fatalf("%d replicas, want %d", len(rs), len(tc.want))
			}
			for _, r := range rs {
				got, _ := envOf(r, "MEMBERS")
				if got != tc.want[r.Name] {
					t.Errorf("%s: MEMBERS = %q, want %q", r.Name, got, tc.want[r.Name])
				}
				if seeds, _ := envOf(r, "CLUSTER_SEEDS"); seeds != tc.seeds {
					t.Errorf("%s: CLUSTER_SEEDS = %q, want %q", r.Name, seeds, tc.seeds)
				}
			}
		})
	}
}

func TestScalingKeepsOrReplacesTheRunningReplicas(t *testing.T) {
	cases := map[string]struct {
		scaling     string
		from, to    int
		wantChanged bool
	}{
		"join, scale up 3 -> 5":      {ScalingJoin, 3, 5, false},
		"join, scale down 5 -> 3":    {ScalingJoin, 5, 3, false},
		"restart, scale up 3 -> 5":   {ScalingRestart, 3, 5, true},
		"default, scale up 3 -> 5":   {"", 3, 5, true},
		"default, scale down 5 -> 3": {"", 5, 3, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			before, after := joinService(0, tc.from), joinService(0, tc.to)
			before.Cluster.Scaling, after.Cluster.Scaling = tc.scaling, tc.scaling
			old, updated := mustRender(t, before), mustRender(t, after)
			for i := range min(len(old), len(updated)) {
				if changed := old[i].Fingerprint != updated[i].Fingerprint; changed != tc.wantChanged {
					t.Errorf("%s: fingerprint %s at %d replicas, %s at %d; changed = %t, want %t",
						old[i].Name, old[i].Fingerprint, tc.from, updated[i].Fingerprint, tc.to, changed, tc.wantChanged)
				}
			}
		})
	}
}

func TestSeedIsTrueForTheSeedOrdinals(t *testing.T) {
	cases := map[string]struct {
		start, replicas, seeds int
		noCluster              bool
		want                   map[string]string
	}{
		"from 0": {start: 0, replicas: 4, seeds: 2,
			want: map[string]string{"db-0": "new", "db-1": "new", "db-2": "existing", "db-3": "existing"}},
		"from ordinal_start 2": {start: 2, replicas: 4, seeds: 2,
			want: map[string]string{"db-2": "new", "db-3": "new", "db-4": "existing", "db-5": "existing"}},
		"one seed": {start: 0, replicas: 3, seeds: 1,
			want: map[string]string{"db-0": "new", "db-1": "existing", "db-2": "existing"}},
		"no cluster: no seeds": {start: 0, replicas: 2, noCluster: true,
			want: map[string]string{"db-0": "existing", "db-1": "existing"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := clusterService()
			s.OrdinalStart, s.Replicas, s.Cluster.Seeds = tc.start, tc.replicas, tc.seeds
			if tc.noCluster {
				s.Cluster = nil
			}
			s.Env = map[string]string{"STATE": "{{if .Seed}}new{{else}}existing{{end}}"}
			s.Hooks = &Hooks{AfterReady: &Hook{Command: []string{"{{if .Seed}}new{{else}}existing{{end}}"}}}
			for _, r := range mustRender(t, s) {
				if got, _ := envOf(r, "STATE"); got != tc.want[r.Name] {
					t.Errorf("%s: STATE = %q, want %q", r.Name, got, tc.want[r.Name])
				}
				hooks, err := s.RenderHooks(r.Ordinal)
				if err != nil {
					t.Fatal(err)
				}
				if got := hooks.AfterReady.Command[0]; got != tc.want[r.Name] {
					t.Errorf("%s: after_ready sees %q, want %q", r.Name, got, tc.want[r.Name])
				}
			}
		})
	}
}

// Hooks and backups change what the provider does around a replica, never
// the replica: no change is reported and no fingerprint moves.
func TestHooksAndBackupChangeNoReplica(t *testing.T) {
	cases := map[string]func(s *Service){
		"hooks added":    func(s *Service) { s.Hooks = hookService().Hooks },
		"backup added":   func(s *Service) { s.Backup = &Backup{HostPath: "/var/backups/stateful"} },
		"backup changed": func(s *Service) { s.Backup = &Backup{Volume: "db-backups"} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			old := changesService()
			updated := changesService()
			mutate(&updated)
			if got := Changes(old, updated); got != nil {
				t.Errorf("Changes = %q, want none", got)
			}
			if got := Changes(updated, old); got != nil {
				t.Errorf("Changes back = %q, want none", got)
			}
			before, after := mustRender(t, old), mustRender(t, updated)
			for i := range before {
				if before[i].Fingerprint != after[i].Fingerprint {
					t.Errorf("%s: fingerprint changed", before[i].Name)
				}
			}
		})
	}
}

// The label keeps hooks and backup, so that import reads them back.
func TestSpecLabelKeepsHooksAndBackup(t *testing.T) {
	s := hookService()
	s.Backup = &Backup{HostPath: "/var/backups/stateful"}
	parsed, err := ParseSpecLabel(mustRender(t, s)[0].Container.Labels[LabelSpec])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(parsed.Hooks, s.Hooks) || !reflect.DeepEqual(parsed.Backup, s.Backup) {
		t.Fatalf("label gives hooks %+v and backup %+v, want %+v and %+v", parsed.Hooks, parsed.Backup, s.Hooks, s.Backup)
	}
}

func TestBackupDestinationAndFileName(t *testing.T) {
	if got := (&Backup{HostPath: "/var/backups/stateful"}).Destination(); got != "/var/backups/stateful" {
		t.Errorf("host path destination = %q", got)
	}
	if got := (&Backup{Volume: "db-backups"}).Destination(); got != "volume db-backups" {
		t.Errorf("volume destination = %q", got)
	}
	at := time.Date(2024, 3, 9, 14, 5, 7, 0, time.FixedZone("CET", 3600))
	if got, want := BackupFileName("db", "db-2", "data", at), "db.db-2.data.20240309T130507Z.tar"; got != want {
		t.Errorf("BackupFileName = %q, want %q", got, want)
	}
	if got, want := BackupFileName("db", "", "shared", at), "db.shared.shared.20240309T130507Z.tar"; got != want {
		t.Errorf("BackupFileName of a shared volume = %q, want %q", got, want)
	}
}

// A hook template that fails only for replicas that are not seeds (or only
// for seeds) must fail validation: Plan renders hooks per ordinal and
// leaves out a hook it cannot render, so such a hook would silently not
// run (a scale-down would remove a replica without its decommission).
func TestValidateRendersHooksOfSeedsAndOfJoiners(t *testing.T) {
	for name, command := range map[string]string{
		"fails for joiners": "{{if .Seed}}{{.Name}}{{else}}{{.Nope}}{{end}}",
		"fails for seeds":   "{{if .Seed}}{{.Nope}}{{else}}{{.Name}}{{end}}",
	} {
		t.Run(name, func(t *testing.T) {
			s := clusterService()
			s.Hooks = &Hooks{Decommission: &Hook{Command: []string{"remove", command}}}
			errs := s.Validate()
			if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "hooks.decommission.command[1]:") {
				t.Fatalf("Validate() = %q, want one error for hooks.decommission.command[1]", errs)
			}
		})
	}
}
