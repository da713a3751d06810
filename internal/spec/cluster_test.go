package spec

import (
	"reflect"
	"strings"
	"testing"
)

// clusterService is a minimal service "db" of three replicas whose first two
// are seeds on port 7000.
func clusterService() Service {
	s := Service{Name: "db", Image: "redis:7", Replicas: 3, Cluster: &Cluster{Seeds: 2, Port: 7000}}.WithDefaults()
	s.Ports = nil
	return s
}

func TestSeedsAndMembers(t *testing.T) {
	cases := map[string]struct {
		start, replicas int
		cluster         Cluster
		wantSeeds       []string
		wantMembers     []string
	}{
		"default format": {
			replicas: 3, cluster: Cluster{Seeds: 2, Port: 7000},
			wantSeeds:   []string{"db-0:7000", "db-1:7000"},
			wantMembers: []string{"db-0:7000", "db-1:7000", "db-2:7000"},
		},
		"from ordinal_start": {
			start: 5, replicas: 2, cluster: Cluster{Seeds: 1, Port: 7000},
			wantSeeds:   []string{"db-5:7000"},
			wantMembers: []string{"db-5:7000", "db-6:7000"},
		},
		"seeds beyond replicas are clamped": {
			replicas: 2, cluster: Cluster{Seeds: 5, Port: 7000},
			wantSeeds:   []string{"db-0:7000", "db-1:7000"},
			wantMembers: []string{"db-0:7000", "db-1:7000"},
		},
		"no replicas": {
			replicas: 0, cluster: Cluster{Seeds: 1, Port: 7000},
			wantSeeds:   []string{},
			wantMembers: []string{},
		},
		"etcd style": {
			replicas: 2, cluster: Cluster{Seeds: 1, Format: "{{.Name}}=http://{{.Name}}:2380"},
			wantSeeds:   []string{"db-0=http://db-0:2380"},
			wantMembers: []string{"db-0=http://db-0:2380", "db-1=http://db-1:2380"},
		},
		"ordinal": {
			start: 1, replicas: 2, cluster: Cluster{Seeds: 2, Format: "node{{.Ordinal}}"},
			wantSeeds:   []string{"node1", "node2"},
			wantMembers: []string{"node1", "node2"},
		},
		"service and port": {
			replicas: 2, cluster: Cluster{Seeds: 1, Port: 9, Format: "{{.Service}}/{{.Name}}:{{.Port}}"},
			wantSeeds:   []string{"db/db-0:9"},
			wantMembers: []string{"db/db-0:9", "db/db-1:9"},
		},
		"no template": {
			replicas: 2, cluster: Cluster{Seeds: 1, Format: "static"},
			wantSeeds:   []string{"static"},
			wantMembers: []string{"static", "static"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := clusterService()
			s.OrdinalStart, s.Replicas = tc.start, tc.replicas
			c := tc.cluster
			s.Cluster = &c
			seeds, err := s.Seeds()
			if err != nil || !reflect.DeepEqual(seeds, tc.wantSeeds) {
				t.Errorf("Seeds() = %q, %v; want %q", seeds, err, tc.wantSeeds)
			}
			members, err := s.Members()
			if err != nil || !reflect.DeepEqual(members, tc.wantMembers) {
				t.Errorf("Members() = %q, %v; want %q", members, err, tc.wantMembers)
			}
		})
	}
}

func TestSeedsAndMembersWithoutCluster(t *testing.T) {
	s := clusterService()
	s.Cluster = nil
	if seeds, err := s.Seeds(); seeds != nil || err != nil {
		t.Errorf("Seeds() = %q, %v; want nil, nil", seeds, err)
	}
	if members, err := s.Members(); members != nil || err != nil {
		t.Errorf("Members() = %q, %v; want nil, nil", members, err)
	}
}

func TestSeedsAndMembersRejectABadFormat(t *testing.T) {
	const help = "; templates see {{.Service}}, {{.Name}}, {{.Ordinal}}, {{.Address}} and {{.Port}}"
	cases := map[string]struct {
		format, prefix string
	}{
		"unknown field": {"{{.Host}}", `cluster.format: "{{.Host}}" cannot be rendered: `},
		"unparsable":    {"{{.Name", `cluster.format: "{{.Name" is not a valid template: `},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := clusterService()
			s.Cluster.Format = tc.format
			_, seedsErr := s.Seeds()
			_, membersErr := s.Members()
			_, renderErr := s.Render()
			for what, err := range map[string]error{"Seeds": seedsErr, "Members": membersErr, "Render": renderErr} {
				if err == nil || !strings.HasPrefix(err.Error(), tc.prefix) || !strings.HasSuffix(err.Error(), help) {
					t.Errorf("%s: err = %v, want %q...%q", what, err, tc.prefix, help)
				}
			}
		})
	}
}

func TestRenderGivesEveryReplicaTheClusterLists(t *testing.T) {
	const seeds, members = "db-0:7000,db-1:7000", "db-0:7000,db-1:7000,db-2:7000"
	seedFile := File{Path: "/etc/cluster/seeds", Content: "db-0:7000\ndb-1:7000\n", Mode: 0o644}
	cases := map[string]struct {
		mutate    func(s *Service)
		wantEnv   []string
		wantFiles []File
	}{
		"default env": {
			mutate:  func(*Service) {},
			wantEnv: []string{"CLUSTER_SEEDS=" + seeds},
		},
		"custom env": {
			mutate:  func(s *Service) { s.Cluster.Env = "SEEDS" },
			wantEnv: []string{"SEEDS=" + seeds},
		},
		"file only": {
			mutate:    func(s *Service) { s.Cluster.File = "/etc/cluster/seeds" },
			wantFiles: []File{seedFile},
		},
		"file and env": {
			mutate:    func(s *Service) { s.Cluster.File, s.Cluster.Env = "/etc/cluster/seeds", "SEEDS" },
			wantEnv:   []string{"SEEDS=" + seeds},
			wantFiles: []File{seedFile},
		},
		"members_env": {
			mutate:  func(s *Service) { s.Cluster.MembersEnv = "MEMBERS" },
			wantEnv: []string{"CLUSTER_SEEDS=" + seeds, "MEMBERS=" + members},
		},
		"members_env and file only": {
			mutate:    func(s *Service) { s.Cluster.MembersEnv, s.Cluster.File = "MEMBERS", "/etc/cluster/seeds" },
			wantEnv:   []string{"MEMBERS=" + members},
			wantFiles: []File{seedFile},
		},
		"with user env and config files, sorted and after them": {
			mutate: func(s *Service) {
				s.Env = map[string]string{"ZONE": "a", "APP": "x"}
				s.Files = []ConfigFile{{Target: "/etc/app.conf", Content: "x"}}
				s.Cluster.File = "/etc/cluster/seeds"
				s.Cluster.Env = "SEEDS"
			},
			wantEnv:   []string{"APP=x", "SEEDS=" + seeds, "ZONE=a"},
			wantFiles: []File{{Path: "/etc/app.conf", Content: "x", Mode: 0o644}, seedFile},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := clusterService()
			tc.mutate(&s)
			rs := mustRender(t, s)
			if len(rs) != 3 {
				t.Fatalf("%d replicas, want 3", len(rs))
			}
			for _, r := range rs {
				env, files := r.Container.Env, r.Container.Files
				if (len(env) > 0 || len(tc.wantEnv) > 0) && !reflect.DeepEqual(env, tc.wantEnv) {
					t.Errorf("%s: env = %q, want %q", r.Name, env, tc.wantEnv)
				}
				if (len(files) > 0 || len(tc.wantFiles) > 0) && !reflect.DeepEqual(files, tc.wantFiles) {
					t.Errorf("%s: files = %+v, want %+v", r.Name, files, tc.wantFiles)
				}
			}
		})
	}
}

func TestClusterListsAndFingerprintsAcrossScaling(t *testing.T) {
	cases := map[string]struct {
		mutate      func(s *Service)
		wantChanged bool
	}{
		"seeds env stays while replicas stay beyond seeds": {func(*Service) {}, false},
		"seeds file stays":                  {func(s *Service) { s.Cluster.File = "/etc/seeds" }, false},
		"members_env changes every replica": {func(s *Service) { s.Cluster.MembersEnv = "MEMBERS" }, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			small := clusterService()
			tc.mutate(&small)
			big := clusterService()
			tc.mutate(&big)
			big.Replicas = 5
			before, after := mustRender(t, small), mustRender(t, big)
			for i, r := range before {
				if changed := r.Fingerprint != after[i].Fingerprint; changed != tc.wantChanged {
					t.Errorf("%s: fingerprint %s at 3 replicas, %s at 5; changed = %t, want %t",
						r.Name, r.Fingerprint, after[i].Fingerprint, changed, tc.wantChanged)
				}
			}
		})
	}
}

func TestValidateCluster(t *testing.T) {
	cases := map[string]struct {
		mutate func(s *Service)
		want   []string
	}{
		"valid":             {func(*Service) {}, nil},
		"no cluster":        {func(s *Service) { s.Cluster = nil }, nil},
		"seeds = replicas":  {func(s *Service) { s.Cluster.Seeds = 3 }, nil},
		"seeds 0":           {func(s *Service) { s.Cluster.Seeds = 0 }, []string{"cluster.seeds: 0 must be at least 1"}},
		"negative seeds":    {func(s *Service) { s.Cluster.Seeds = -1 }, []string{"cluster.seeds: -1 must be at least 1"}},
		"seeds > replicas":  {func(s *Service) { s.Cluster.Seeds = 4 }, []string{"cluster.seeds: 4 seeds need at least 4 replicas (replicas is 3)"}},
		"no replicas":       {func(s *Service) { s.Replicas = 0 }, nil},
		"env = members_env": {func(s *Service) { s.Cluster.Env, s.Cluster.MembersEnv = "PEERS", "PEERS" }, []string{"cluster.env and cluster.members_env are both PEERS; use two variables"}},
		"user env sets the default seeds env": {
			func(s *Service) { s.Env = map[string]string{"CLUSTER_SEEDS": "x"} },
			[]string{"env sets CLUSTER_SEEDS, which cluster.env fills with the seed list; remove one"},
		},
		"user env sets the custom seeds env": {
			func(s *Service) { s.Cluster.Env, s.Env = "SEEDS", map[string]string{"SEEDS": "x"} },
			[]string{"env sets SEEDS, which cluster.env fills with the seed list; remove one"},
		},
		"user env sets the seeds env and file": {
			func(s *Service) {
				s.Cluster.Env, s.Cluster.File, s.Env = "SEEDS", "/etc/seeds", map[string]string{"SEEDS": "x"}
			},
			[]string{"env sets SEEDS, which cluster.env fills with the seed list; remove one"},
		},
		"default seeds env unused with a file": {
			func(s *Service) { s.Cluster.File, s.Env = "/etc/seeds", map[string]string{"CLUSTER_SEEDS": "x"} },
			nil,
		},
		"default seeds env unused with a custom env": {
			func(s *Service) { s.Cluster.Env, s.Env = "SEEDS", map[string]string{"CLUSTER_SEEDS": "x"} },
			nil,
		},
		"several": {
			func(s *Service) {
				s.Cluster.Seeds, s.Cluster.Env, s.Cluster.MembersEnv = 0, "P", "P"
				s.Env = map[string]string{"P": "x"}
			},
			[]string{
				"cluster.seeds: 0 must be at least 1",
				"cluster.env and cluster.members_env are both P; use two variables",
				"env sets P, which cluster.env fills with the seed list; remove one",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := clusterService()
			tc.mutate(&s)
			var got []string
			for _, err := range s.validateCluster() {
				got = append(got, err.Error())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("validateCluster() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateClusterRejectsABadFormat(t *testing.T) {
	s := clusterService()
	s.Cluster.Format = "{{.Host}}"
	errs := s.validateCluster()
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), `cluster.format: "{{.Host}}" cannot be rendered`) {
		t.Fatalf("validateCluster() = %v, want one format error", errs)
	}
}

func TestValidateReportsClusterProblems(t *testing.T) {
	s := clusterService()
	s.Cluster.Seeds = 4
	errs := s.Validate()
	if len(errs) != 1 || errs[0].Error() != "cluster.seeds: 4 seeds need at least 4 replicas (replicas is 3)" {
		t.Fatalf("Validate() = %v", errs)
	}
}

func TestValidateReportsABadClusterFormatOnce(t *testing.T) {
	s := clusterService()
	s.Cluster.Format = "{{.Host}}"
	if errs := s.Validate(); len(errs) != 1 {
		t.Fatalf("Validate() = %d errors %v, want 1", len(errs), errs)
	}
}

func TestValidateClusterRejectsMembersEnvClashes(t *testing.T) {
	cases := map[string]func(s *Service){
		"members_env is the default seeds env": func(s *Service) { s.Cluster.MembersEnv = DefaultSeedsEnv },
		"user env sets members_env":            func(s *Service) { s.Cluster.MembersEnv, s.Env = "MEMBERS", map[string]string{"MEMBERS": "x"} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := clusterService()
			mutate(&s)
			if errs := s.validateCluster(); len(errs) != 1 {
				t.Fatalf("validateCluster() = %v, want one error", errs)
			}
		})
	}
}

func TestValidateRollout(t *testing.T) {
	cases := map[string]struct {
		mutate func(s *Service)
		want   []string
	}{
		"unset": {func(*Service) {}, nil},
		"all set": {func(s *Service) {
			s.Bootstrap, s.MinReady, s.Update = BootstrapParallel, "0s", UpdatePolicy{MaxUnavailable: 2, Partition: 1, OnFailure: OnFailureRevert}
		}, nil},
		"ordered, stop":          {func(s *Service) { s.Bootstrap, s.Update.OnFailure = BootstrapOrdered, OnFailureStop }, nil},
		"bootstrap":              {func(s *Service) { s.Bootstrap = "random" }, []string{`bootstrap: "random" must be "ordered" or "parallel"`}},
		"min_ready not duration": {func(s *Service) { s.MinReady = "soon" }, []string{`min_ready: "soon" is not a duration; write it like "10s", "1m30s" or "500ms"`}},
		"min_ready negative":     {func(s *Service) { s.MinReady = "-1s" }, []string{`min_ready: "-1s" is negative`}},
		"max_unavailable < 0":    {func(s *Service) { s.Update.MaxUnavailable = -1 }, []string{"update.max_unavailable: -1 must be at least 1"}},
		"max_unavailable 0":      {func(s *Service) { s.Update.MaxUnavailable = 0 }, nil},
		"partition < 0":          {func(s *Service) { s.Update.Partition = -2 }, []string{"update.partition: -2 must not be negative"}},
		"on_failure":             {func(s *Service) { s.Update.OnFailure = "retry" }, []string{`update.on_failure: "retry" must be "stop" or "revert"`}},
		"all wrong": {
			func(s *Service) {
				s.Bootstrap, s.MinReady = "x", "y"
				s.Update = UpdatePolicy{MaxUnavailable: -1, Partition: -1, OnFailure: "z"}
			},
			[]string{
				`bootstrap: "x" must be "ordered" or "parallel"`,
				`min_ready: "y" is not a duration; write it like "10s", "1m30s" or "500ms"`,
				"update.max_unavailable: -1 must be at least 1",
				"update.partition: -1 must not be negative",
				`update.on_failure: "z" must be "stop" or "revert"`,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := clusterService()
			tc.mutate(&s)
			var got []string
			for _, err := range s.validateRollout() {
				got = append(got, err.Error())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("validateRollout() = %q, want %q", got, tc.want)
			}
			var all []string
			for _, err := range s.Validate() {
				all = append(all, err.Error())
			}
			if !reflect.DeepEqual(all, tc.want) {
				t.Fatalf("Validate() = %q, want %q", all, tc.want)
			}
		})
	}
}

func TestRenderOrdinalInRangeIsTheRenderedReplica(t *testing.T) {
	cases := map[string]func(s *Service){
		"full":        func(*Service) {},
		"with secret": func(s *Service) { *s = secretService() },
		"cluster from ordinal_start": func(s *Service) {
			s.OrdinalStart = 4
			s.Cluster = &Cluster{Seeds: 2, Port: 7000, MembersEnv: "MEMBERS", File: "/etc/seeds"}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			mutate(&s)
			for _, want := range mustRender(t, s) {
				got, err := s.RenderOrdinal(want.Ordinal)
				if err != nil {
					t.Fatal(err)
				}
				if got.Fingerprint != want.Fingerprint || !reflect.DeepEqual(got, want) {
					t.Fatalf("RenderOrdinal(%d) =\n  %+v\nwant\n  %+v", want.Ordinal, got, want)
				}
			}
		})
	}
}

func TestRenderOrdinalOutOfRange(t *testing.T) {
	s := testService()
	s.OrdinalStart = 2
	above, err := s.RenderOrdinal(6)
	if err != nil {
		t.Fatal(err)
	}
	bigger := s
	bigger.Replicas = 5
	if want := mustRender(t, bigger)[4]; !reflect.DeepEqual(above, want) {
		t.Fatalf("RenderOrdinal(6) =\n  %+v\nwant replica 6 of 5\n  %+v", above, want)
	}

	below, err := s.RenderOrdinal(0)
	if err != nil {
		t.Fatal(err)
	}
	c := below.Container
	if below.Ordinal != 0 || below.Name != "db-0" || c.Name != "db-0" || c.Labels[LabelOrdinal] != "0" {
		t.Errorf("RenderOrdinal(0) = ordinal %d, name %s, container %s, ordinal label %s", below.Ordinal, below.Name, c.Name, c.Labels[LabelOrdinal])
	}
	if c.Ports[0].External != 15430 {
		t.Errorf("RenderOrdinal(0): external port %d, want 15430 (15432 - 2)", c.Ports[0].External)
	}
	if fp, err := Fingerprint(c); err != nil || fp != below.Fingerprint || c.Labels[LabelFingerprint] != fp {
		t.Errorf("RenderOrdinal(0): fingerprint %s, label %s, recomputed %s (%v)", below.Fingerprint, c.Labels[LabelFingerprint], fp, err)
	}

	s.Restart = "sometimes"
	if _, err := s.RenderOrdinal(7); err == nil || !strings.HasPrefix(err.Error(), `restart: "sometimes"`) {
		t.Fatalf("RenderOrdinal of a broken service: err = %v", err)
	}
}

// changesService is testService with volumes, secrets, files, a cluster and
// rollout settings, so that Changes sees every kind of setting.
func changesService() Service {
	s := volumeService()
	s.Secrets = []Secret{
		{Name: "pw", Version: 1, Value: []byte("one")},
		{Name: "tls", FromFile: "/home/me/tls.key", Digest: "d1", Value: []byte("key")},
	}
	s.Files = []ConfigFile{{Target: "/etc/app.conf", Content: "x"}}
	s.Cluster = &Cluster{Seeds: 1, Port: 7000}
	s.Bootstrap, s.MinReady = BootstrapOrdered, "1s"
	s.Update = UpdatePolicy{MaxUnavailable: 1, OnFailure: OnFailureStop}
	return s
}

func TestChanges(t *testing.T) {
	cases := map[string]struct {
		mutate func(s *Service)
		want   []string
	}{
		"nothing":            {func(*Service) {}, nil},
		"image":              {func(s *Service) { s.Image = "postgres:17" }, []string{"image"}},
		"command":            {func(s *Service) { s.Command = []string{"postgres"} }, []string{"command"}},
		"entrypoint":         {func(s *Service) { s.Entrypoint = []string{"/bin/sh"} }, []string{"entrypoint"}},
		"env":                {func(s *Service) { s.Env["PGDATA"] = "/other" }, []string{"env"}},
		"labels":             {func(s *Service) { s.Labels["tier"] = "db" }, []string{"labels"}},
		"user":               {func(s *Service) { s.User = "root" }, []string{"user"}},
		"ports":              {func(s *Service) { s.Ports[0].External = 25432 }, []string{"ports"}},
		"restart":            {func(s *Service) { s.Restart = "always" }, []string{"restart"}},
		"stop_signal":        {func(s *Service) { s.StopSignal = "SIGTERM" }, []string{"stop_signal"}},
		"stop_grace_period":  {func(s *Service) { s.StopGracePeriod = "31s" }, []string{"stop_grace_period"}},
		"health":             {func(s *Service) { s.Health.Retries = 4 }, []string{"health"}},
		"stable_mac_address": {func(s *Service) { s.StableMAC = true }, []string{"stable_mac_address"}},
		"files":              {func(s *Service) { s.Files[0].Content = "y" }, []string{"files"}},
		"cluster":            {func(s *Service) { s.Cluster.Seeds = 2 }, []string{"cluster"}},
		"ordinal_start":      {func(s *Service) { s.OrdinalStart = 1 }, []string{"ordinal_start"}},
		"pull_policy":        {func(s *Service) { s.PullPolicy = PullAlways }, nil},
		"retention":          {func(s *Service) { s.Retention = Retention{WhenScaled: Delete} }, nil},
		"update":             {func(s *Service) { s.Update = UpdatePolicy{MaxUnavailable: 3, Partition: 2, OnFailure: OnFailureRevert} }, nil},
		"bootstrap":          {func(s *Service) { s.Bootstrap = BootstrapParallel }, nil},
		"min_ready":          {func(s *Service) { s.MinReady = "5s" }, nil},
		"replicas":           {func(s *Service) { s.Replicas = 9 }, nil},
		"name":               {func(s *Service) { s.Name = "pg" }, nil},
		"two fields, sorted": {func(s *Service) { s.User, s.Command = "root", []string{"x"} }, []string{"command", "user"}},
		"volume":             {func(s *Service) { s.Volumes[0].Target = "/var/data" }, []string{"volume data"}},
		"volume option":      {func(s *Service) { s.Volumes[1].Plugin.Options["type"] = "ext4" }, []string{"volume cache"}},
		"volume added": {func(s *Service) {
			s.Volumes = append(s.Volumes, Volume{Name: "wal", Target: "/wal", PerReplica: true, Host: &HostVolume{Path: "/wal/{{.Ordinal}}"}})
		}, []string{"volume wal"}},
		"volume removed": {func(s *Service) { s.Volumes = s.Volumes[:1] }, []string{"volume cache removed"}},
		"volume renamed": {func(s *Service) { s.Volumes[1].Name = "scratch" }, []string{"volume scratch", "volume cache removed"}},
		"secret version": {func(s *Service) { s.Secrets[0].Version = 2 }, []string{"secret pw"}},
		"secret mode":    {func(s *Service) { s.Secrets[1].Mode = "0440" }, []string{"secret tls"}},
		"secret value":   {func(s *Service) { s.Secrets[0].Value = []byte("two") }, nil},
		"secret digest":  {func(s *Service) { s.Secrets[1].Digest, s.Secrets[1].Value = "d2", []byte("other") }, nil},
		"secret added":   {func(s *Service) { s.Secrets = append(s.Secrets, Secret{Name: "api", Version: 1}) }, []string{"secret api"}},
		"secret removed": {func(s *Service) { s.Secrets = s.Secrets[:1] }, []string{"secret tls removed"}},
		"several kinds": {
			func(s *Service) {
				s.Image, s.Env["X"] = "postgres:17", "1"
				s.Volumes[0].ReadOnly = true
				s.Secrets[0].Version = 2
			},
			[]string{"env", "image", "volume data", "secret pw"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			updated := changesService()
			tc.mutate(&updated)
			if got := Changes(changesService(), updated); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Changes = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestChangesOfASpecLabel(t *testing.T) {
	old := changesService()
	label := mustRender(t, old)[0].Container.Labels[LabelSpec]
	previous, err := ParseSpecLabel(label)
	if err != nil {
		t.Fatal(err)
	}
	updated := changesService()
	updated.Replicas = 5
	if got := Changes(previous, updated); got != nil {
		t.Fatalf("Changes from the label to the same service = %q, want none", got)
	}
	updated.Image = "postgres:17"
	if got, want := Changes(previous, updated), []string{"image"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Changes = %q, want %q", got, want)
	}
}

func TestChangesNamesAClearedSetting(t *testing.T) {
	cases := map[string]struct {
		mutate func(s *Service)
		want   []string
	}{
		"stop_signal cleared":           {func(s *Service) { s.StopSignal = "" }, []string{"stop_signal"}},
		"command cleared":               {func(s *Service) { s.Command = nil }, []string{"command"}},
		"entrypoint cleared":            {func(s *Service) { s.Entrypoint = nil }, []string{"entrypoint"}},
		"env cleared":                   {func(s *Service) { s.Env = nil }, []string{"env"}},
		"labels cleared":                {func(s *Service) { s.Labels = nil }, []string{"labels"}},
		"user cleared":                  {func(s *Service) { s.User = "" }, []string{"user"}},
		"ports cleared":                 {func(s *Service) { s.Ports = nil }, []string{"ports"}},
		"health cleared":                {func(s *Service) { s.Health = nil }, []string{"health"}},
		"files cleared":                 {func(s *Service) { s.Files = nil }, []string{"files"}},
		"cluster cleared":               {func(s *Service) { s.Cluster = nil }, []string{"cluster"}},
		"stable_mac_address turned off": {func(s *Service) { s.StableMAC = false }, []string{"stable_mac_address"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			old := changesService()
			old.StableMAC = true
			updated := changesService()
			updated.StableMAC = true
			tc.mutate(&updated)
			if got := Changes(old, updated); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Changes = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateChecksTheClusterFile(t *testing.T) {
	cases := map[string]func(s *Service){
		"relative path": func(s *Service) { s.Cluster.File = "seeds.txt" },
		"a config file's target": func(s *Service) {
			s.Cluster.File = "/etc/app.conf"
			s.Files = []ConfigFile{{Target: "/etc/app.conf", Content: "x"}}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := clusterService()
			mutate(&s)
			if errs := s.Validate(); len(errs) != 1 {
				t.Fatalf("Validate() = %v, want one error about cluster.file", errs)
			}
		})
	}
}
