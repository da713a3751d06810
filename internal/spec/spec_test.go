package spec

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// testService is a valid service using most settings, with defaults applied.
func testService() Service {
	return Service{
		Name:            "db",
		Image:           "postgres:16",
		Replicas:        3,
		Command:         []string{"postgres", "-c", "fsync=on"},
		Entrypoint:      []string{"docker-entrypoint.sh"},
		Env:             map[string]string{"PGDATA": "/data", "POSTGRES_DB": "app"},
		Labels:          map[string]string{"team": "data"},
		User:            "999:999",
		Ports:           []Port{{Internal: 5432, External: 15432, Protocol: "tcp"}, {Internal: 9187, Protocol: "tcp"}},
		Restart:         "unless-stopped",
		StopSignal:      "SIGINT",
		StopGracePeriod: "30s",
		PullPolicy:      PullMissing,
		Health:          &Health{Test: []string{"CMD", "pg_isready"}, Interval: "5s", Timeout: "2s", StartPeriod: "10s", Retries: 3},
	}
}

func mustRender(t *testing.T, s Service) []Replica {
	t.Helper()
	replicas, err := s.Render()
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return replicas
}

func TestRenderNamesReplicasFromOrdinalStart(t *testing.T) {
	cases := map[string]struct {
		start, replicas int
		want            []string
	}{
		"default start":   {0, 3, []string{"db-0", "db-1", "db-2"}},
		"start at 5":      {5, 3, []string{"db-5", "db-6", "db-7"}},
		"single replica":  {1, 1, []string{"db-1"}},
		"zero replicas":   {4, 0, []string{}},
		"crosses a digit": {9, 2, []string{"db-9", "db-10"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			s.OrdinalStart, s.Replicas = tc.start, tc.replicas
			got := []string{}
			for i, r := range mustRender(t, s) {
				want := tc.start + i
				if r.Ordinal != want {
					t.Errorf("replica %d: Ordinal = %d, want %d", i, r.Ordinal, want)
				}
				c := r.Container
				if c.Name != r.Name || c.Hostname != r.Name {
					t.Errorf("%s: container name %q, hostname %q, want both %q", r.Name, c.Name, c.Hostname, r.Name)
				}
				if wantAliases := []string{r.Name, "db"}; !reflect.DeepEqual(c.Aliases, wantAliases) {
					t.Errorf("%s: aliases %q, want %q", r.Name, c.Aliases, wantAliases)
				}
				if c.Network != "stateful-db" {
					t.Errorf("%s: network %q, want stateful-db", r.Name, c.Network)
				}
				got = append(got, r.Name)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("names = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOrdinalsAscendFromOrdinalStart(t *testing.T) {
	s := Service{Replicas: 4, OrdinalStart: 2}
	if got, want := s.Ordinals(), []int{2, 3, 4, 5}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Ordinals() = %v, want %v", got, want)
	}
	if got := (Service{Replicas: 0, OrdinalStart: 7}).Ordinals(); len(got) != 0 {
		t.Fatalf("Ordinals() with no replicas = %v, want none", got)
	}
}

func TestReplicaAndNetworkNames(t *testing.T) {
	if got := ReplicaName("kafka", 12); got != "kafka-12" {
		t.Errorf("ReplicaName = %q, want kafka-12", got)
	}
	if got := NetworkName("kafka"); got != "stateful-kafka" {
		t.Errorf("NetworkName = %q, want stateful-kafka", got)
	}
}

func TestRenderOffsetsExternalPortsPerReplica(t *testing.T) {
	for _, start := range []int{0, 3} {
		t.Run(fmt.Sprintf("ordinal_start=%d", start), func(t *testing.T) {
			s := testService()
			s.OrdinalStart = start
			s.Ports = []Port{
				{Internal: 5432, External: 15432, Protocol: "tcp", HostIP: "127.0.0.1"},
				{Internal: 9187, External: 0, Protocol: "tcp"},
				{Internal: 53, External: 1053, Protocol: "udp"},
			}
			for k, r := range mustRender(t, s) {
				want := []Port{
					{Internal: 5432, External: 15432 + k, Protocol: "tcp", HostIP: "127.0.0.1"},
					{Internal: 9187, External: 0, Protocol: "tcp"},
					{Internal: 53, External: 1053 + k, Protocol: "udp"},
				}
				if !reflect.DeepEqual(r.Container.Ports, want) {
					t.Errorf("%s: ports %+v, want %+v", r.Name, r.Container.Ports, want)
				}
			}
			if s.Ports[0].External != 15432 {
				t.Errorf("Render modified the service's ports: %+v", s.Ports)
			}
		})
	}
}

func TestRenderPutsOwnershipLabels(t *testing.T) {
	s := testService()
	s.OrdinalStart = 4
	for _, r := range mustRender(t, s) {
		l := r.Container.Labels
		if l[LabelService] != "db" {
			t.Errorf("%s: %s = %q, want db", r.Name, LabelService, l[LabelService])
		}
		if l[LabelOrdinal] != strconv.Itoa(r.Ordinal) {
			t.Errorf("%s: %s = %q, want %d", r.Name, LabelOrdinal, l[LabelOrdinal], r.Ordinal)
		}
		if l[LabelFingerprint] != r.Fingerprint || r.Fingerprint == "" {
			t.Errorf("%s: %s = %q, Replica.Fingerprint = %q; want equal and set", r.Name, LabelFingerprint, l[LabelFingerprint], r.Fingerprint)
		}
		if l[LabelSpec] == "" {
			t.Errorf("%s: no %s label", r.Name, LabelSpec)
		}
		if l["team"] != "data" {
			t.Errorf("%s: user label team = %q, want data", r.Name, l["team"])
		}
		if len(l) != 5 {
			t.Errorf("%s: labels %v, want exactly the user label and the four provider labels", r.Name, l)
		}
	}
}

func TestRenderGivesEachReplicaItsOwnLabels(t *testing.T) {
	replicas := mustRender(t, testService())
	replicas[0].Container.Labels["team"] = "changed"
	if got := replicas[1].Container.Labels["team"]; got != "data" {
		t.Fatalf("changing db-0's labels changed db-1's: team = %q", got)
	}
}

func TestRenderDoesNotShareLabelsWithTheService(t *testing.T) {
	s := testService()
	mustRender(t, s)
	if len(s.Labels) != 1 {
		t.Fatalf("Render added labels to the service definition: %v", s.Labels)
	}
}

func TestRenderedFingerprintCanBeRecomputedFromTheContainer(t *testing.T) {
	for _, r := range mustRender(t, testService()) {
		fp, err := Fingerprint(r.Container)
		if err != nil {
			t.Fatal(err)
		}
		if fp != r.Fingerprint {
			t.Errorf("%s: Fingerprint(container) = %s, rendered %s", r.Name, fp, r.Fingerprint)
		}
		if _, ok := r.Container.Labels[LabelSpec]; !ok {
			t.Errorf("%s: Fingerprint removed %s from the container it was given", r.Name, LabelSpec)
		}
	}
}

func TestFingerprintIsShortHexAndDistinctPerReplica(t *testing.T) {
	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	seen := map[string]string{}
	for _, r := range mustRender(t, testService()) {
		if !hex16.MatchString(r.Fingerprint) {
			t.Errorf("%s: fingerprint %q is not 16 hex digits", r.Name, r.Fingerprint)
		}
		if other, dup := seen[r.Fingerprint]; dup {
			t.Errorf("%s and %s share fingerprint %s", other, r.Name, r.Fingerprint)
		}
		seen[r.Fingerprint] = r.Name
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	s := testService()
	s.Env = map[string]string{"Z": "1", "A": "2", "M": "3", "B": "4", "Y": "5"}
	first := mustRender(t, s)
	for range 20 {
		again := mustRender(t, s)
		if !reflect.DeepEqual(first, again) {
			t.Fatalf("two renders differ:\n%+v\n%+v", first, again)
		}
	}
	if got, want := first[0].Container.Env, []string{"A=2", "B=4", "M=3", "Y=5", "Z=1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("env = %q, want sorted %q", got, want)
	}
}

// fingerprint0 is the fingerprint of ordinal 0 of s.
func fingerprint0(t *testing.T, s Service) string {
	t.Helper()
	return mustRender(t, s)[0].Fingerprint
}

func TestFingerprintChangesWithEveryContainerSetting(t *testing.T) {
	cases := map[string]func(s *Service){
		"image":                 func(s *Service) { s.Image = "postgres:17" },
		"env value":             func(s *Service) { s.Env["POSTGRES_DB"] = "other" },
		"env key added":         func(s *Service) { s.Env["EXTRA"] = "1" },
		"env key removed":       func(s *Service) { delete(s.Env, "PGDATA") },
		"command":               func(s *Service) { s.Command = []string{"postgres", "-c", "fsync=off"} },
		"entrypoint":            func(s *Service) { s.Entrypoint = []string{"/bin/sh"} },
		"user":                  func(s *Service) { s.User = "root" },
		"restart":               func(s *Service) { s.Restart = "always" },
		"restart retries":       func(s *Service) { s.Restart = "on-failure:3" },
		"stop_signal":           func(s *Service) { s.StopSignal = "SIGTERM" },
		"stop_grace_period":     func(s *Service) { s.StopGracePeriod = "31s" },
		"port internal":         func(s *Service) { s.Ports[0].Internal = 5433 },
		"port external":         func(s *Service) { s.Ports[0].External = 25432 },
		"port protocol":         func(s *Service) { s.Ports[0].Protocol = "udp" },
		"port host_ip":          func(s *Service) { s.Ports[0].HostIP = "127.0.0.1" },
		"port added":            func(s *Service) { s.Ports = append(s.Ports, Port{Internal: 8080, Protocol: "tcp"}) },
		"health test":           func(s *Service) { s.Health.Test = []string{"CMD", "true"} },
		"health interval":       func(s *Service) { s.Health.Interval = "6s" },
		"health timeout":        func(s *Service) { s.Health.Timeout = "3s" },
		"health start_period":   func(s *Service) { s.Health.StartPeriod = "11s" },
		"health retries":        func(s *Service) { s.Health.Retries = 4 },
		"health removed":        func(s *Service) { s.Health = nil },
		"label value":           func(s *Service) { s.Labels["team"] = "infra" },
		"label added":           func(s *Service) { s.Labels["tier"] = "db" },
		"stable_mac_address on": func(s *Service) { s.StableMAC = true },
		"name":                  func(s *Service) { s.Name = "pg" },
	}
	before := fingerprint0(t, testService())
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			mutate(&s)
			if after := fingerprint0(t, s); after == before {
				t.Fatalf("fingerprint stayed %s after changing %s", before, name)
			}
		})
	}
}

func TestFingerprintIgnoresSettingsThatNeedNoNewContainer(t *testing.T) {
	cases := map[string]func(s *Service){
		"pull_policy always":        func(s *Service) { s.PullPolicy = PullAlways },
		"pull_policy never":         func(s *Service) { s.PullPolicy = PullNever },
		"replicas (scale up)":       func(s *Service) { s.Replicas = 7 },
		"replicas (scale down)":     func(s *Service) { s.Replicas = 1 },
		"same grace, other writing": func(s *Service) { s.StopGracePeriod = "30000ms" },
		"same interval, other unit": func(s *Service) { s.Health.Interval = "5000ms" },
		"env map rebuilt":           func(s *Service) { s.Env = map[string]string{"POSTGRES_DB": "app", "PGDATA": "/data"} },
	}
	before := fingerprint0(t, testService())
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			mutate(&s)
			if after := fingerprint0(t, s); after != before {
				t.Fatalf("fingerprint changed from %s to %s after changing %s", before, after, name)
			}
		})
	}
}

func TestStableMACIsDeterministicLocallyAdministeredUnicast(t *testing.T) {
	format := regexp.MustCompile(`^02(:[0-9a-f]{2}){5}$`)
	mac := StableMAC("db", 0)
	if !format.MatchString(mac) {
		t.Fatalf("StableMAC = %q, want 02:xx:xx:xx:xx:xx in lower-case hex", mac)
	}
	first, err := strconv.ParseUint(mac[:2], 16, 8)
	if err != nil {
		t.Fatal(err)
	}
	if first&0x01 != 0 {
		t.Errorf("first octet %#02x is multicast", first)
	}
	if first&0x02 == 0 {
		t.Errorf("first octet %#02x is not locally administered", first)
	}
	if again := StableMAC("db", 0); again != mac {
		t.Errorf("StableMAC not deterministic: %s then %s", mac, again)
	}
}

func TestStableMACDiffersAcrossOrdinalsAndServices(t *testing.T) {
	seen := map[string]string{}
	for _, service := range []string{"db", "db-1", "cache", "d"} {
		for ordinal := range 500 {
			mac := StableMAC(service, ordinal)
			who := ReplicaName(service, ordinal)
			if other, dup := seen[mac]; dup {
				t.Fatalf("%s and %s share MAC %s", other, who, mac)
			}
			seen[mac] = who
		}
	}
}

func TestRenderSetsMACOnlyWithStableMAC(t *testing.T) {
	s := testService()
	s.OrdinalStart = 2
	for _, r := range mustRender(t, s) {
		if r.Container.MAC != "" {
			t.Errorf("%s: MAC %q without stable_mac_address", r.Name, r.Container.MAC)
		}
	}
	s.StableMAC = true
	for _, r := range mustRender(t, s) {
		if want := StableMAC("db", r.Ordinal); r.Container.MAC != want {
			t.Errorf("%s: MAC %q, want %q", r.Name, r.Container.MAC, want)
		}
	}
}

func TestRenderTranslatesSettingsForDocker(t *testing.T) {
	s := testService()
	s.Restart = "on-failure:5"
	c := mustRender(t, s)[0].Container
	if want := (RestartPolicy{Name: "on-failure", MaxRetries: 5}); c.Restart != want {
		t.Errorf("restart = %+v, want %+v", c.Restart, want)
	}
	if c.StopTimeout != 30*time.Second {
		t.Errorf("stop timeout = %v, want 30s", c.StopTimeout)
	}
	wantHealth := &HealthCheck{Test: []string{"CMD", "pg_isready"}, Interval: 5 * time.Second, Timeout: 2 * time.Second, StartPeriod: 10 * time.Second, Retries: 3}
	if !reflect.DeepEqual(c.Health, wantHealth) {
		t.Errorf("health = %+v, want %+v", c.Health, wantHealth)
	}
	if c.Image != "postgres:16" || c.User != "999:999" || c.StopSignal != "SIGINT" {
		t.Errorf("image/user/stop signal = %q/%q/%q", c.Image, c.User, c.StopSignal)
	}
	s.Health = &Health{Test: []string{"CMD", "true"}}
	if h := mustRender(t, s)[0].Container.Health; !reflect.DeepEqual(h, &HealthCheck{Test: []string{"CMD", "true"}}) {
		t.Errorf("health without durations = %+v, want zero durations", h)
	}
	s.Health = nil
	if h := mustRender(t, s)[0].Container.Health; h != nil {
		t.Errorf("health = %+v without a health block, want nil", h)
	}
}

func TestRenderRejectsUnparsableSettings(t *testing.T) {
	cases := map[string]struct {
		mutate func(s *Service)
		want   string
	}{
		"restart":             {func(s *Service) { s.Restart = "sometimes" }, "restart:"},
		"stop_grace_period":   {func(s *Service) { s.StopGracePeriod = "soon" }, "stop_grace_period:"},
		"health.interval":     {func(s *Service) { s.Health.Interval = "-1s" }, "health.interval:"},
		"health.timeout":      {func(s *Service) { s.Health.Timeout = "x" }, "health.timeout:"},
		"health.start_period": {func(s *Service) { s.Health.StartPeriod = "1 minute" }, "health.start_period:"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			tc.mutate(&s)
			_, err := s.Render()
			if err == nil {
				t.Fatal("Render succeeded")
			}
			if !regexp.MustCompile("^" + regexp.QuoteMeta(tc.want)).MatchString(err.Error()) {
				t.Fatalf("error %q does not start with %q", err, tc.want)
			}
		})
	}
}

func TestParseSpecLabelRoundTripsTheServiceWithoutReplicas(t *testing.T) {
	cases := map[string]func(s *Service){
		"full":       func(*Service) {},
		"stable mac": func(s *Service) { s.StableMAC = true; s.OrdinalStart = 3 },
		"minimal": func(s *Service) {
			*s = Service{Name: "db", Image: "redis", Replicas: 2}.WithDefaults()
			s.Ports = nil
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			mutate(&s)
			for _, r := range mustRender(t, s) {
				got, err := ParseSpecLabel(r.Container.Labels[LabelSpec])
				if err != nil {
					t.Fatal(err)
				}
				want := s
				want.Replicas = 0
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: label decodes to\n%+v\nwant\n%+v", r.Name, got, want)
				}
			}
		})
	}
}

func TestSpecLabelIsTheSameOnEveryReplicaAndAtAnyScale(t *testing.T) {
	s := testService()
	label := mustRender(t, s)[0].Container.Labels[LabelSpec]
	for _, r := range mustRender(t, s) {
		if r.Container.Labels[LabelSpec] != label {
			t.Errorf("%s: spec label differs from db-0's", r.Name)
		}
	}
	s.Replicas = 9
	if got := mustRender(t, s)[0].Container.Labels[LabelSpec]; got != label {
		t.Errorf("spec label changed with replicas:\n%s\n%s", label, got)
	}
}

func TestParseSpecLabelRejectsGarbage(t *testing.T) {
	for _, value := range []string{"", "not json", `{"name": 3}`, "[]"} {
		t.Run(strconv.Quote(value), func(t *testing.T) {
			_, err := ParseSpecLabel(value)
			if err == nil {
				t.Fatal("no error")
			}
			if want := "label " + LabelSpec + " is not a service definition"; !regexp.MustCompile("^" + regexp.QuoteMeta(want)).MatchString(err.Error()) {
				t.Fatalf("error %q does not start with %q", err, want)
			}
		})
	}
}

func TestWithDefaultsFillsOnlyUnsetSettings(t *testing.T) {
	got := Service{Name: "db", Ports: []Port{{Internal: 1}, {Internal: 2, Protocol: "udp"}}}.WithDefaults()
	want := Service{
		Name: "db", Restart: "unless-stopped", StopGracePeriod: "10s", PullPolicy: "missing",
		Ports: []Port{{Internal: 1, Protocol: "tcp"}, {Internal: 2, Protocol: "udp"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("WithDefaults() = %+v, want %+v", got, want)
	}

	set := Service{Name: "db", Restart: "no", StopGracePeriod: "1s", PullPolicy: PullNever}
	if got := set.WithDefaults(); got.Restart != "no" || got.StopGracePeriod != "1s" || got.PullPolicy != PullNever {
		t.Fatalf("WithDefaults() overrode set values: %+v", got)
	}
}

func TestWithDefaultsDoesNotModifyTheReceiversPorts(t *testing.T) {
	s := Service{Ports: []Port{{Internal: 1}}}
	_ = s.WithDefaults()
	if s.Ports[0].Protocol != "" {
		t.Fatalf("WithDefaults wrote protocol %q into the original ports", s.Ports[0].Protocol)
	}
}
