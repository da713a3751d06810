package spec

import (
	"strings"
	"testing"
	"time"
)

func TestValidateAcceptsAValidService(t *testing.T) {
	if errs := testService().Validate(); len(errs) != 0 {
		t.Fatalf("Validate() = %v, want no errors", errs)
	}
	if errs := (Service{Name: "db", Image: "redis"}).WithDefaults().Validate(); len(errs) != 0 {
		t.Fatalf("Validate() of a minimal service = %v, want no errors", errs)
	}
}

// TestValidateReportsEachProblem checks that each broken setting yields
// exactly the errors listed, each containing the given fragments.
func TestValidateReportsEachProblem(t *testing.T) {
	cases := map[string]struct {
		mutate func(s *Service)
		want   []string // one fragment per expected error, in order
	}{
		"upper-case name":      {func(s *Service) { s.Name = "DB" }, []string{`name: "DB" is not a valid service name`}},
		"name starts with -":   {func(s *Service) { s.Name = "-db" }, []string{"is not a valid service name"}},
		"name ends with -":     {func(s *Service) { s.Name = "db-" }, []string{"is not a valid service name"}},
		"underscore in name":   {func(s *Service) { s.Name = "my_db" }, []string{"is not a valid service name"}},
		"empty name":           {func(s *Service) { s.Name = "" }, []string{"is not a valid service name"}},
		"name too long":        {func(s *Service) { s.Name = strings.Repeat("a", 51) }, []string{"is 51 characters long; use at most 50"}},
		"reserved label":       {func(s *Service) { s.Labels[LabelPrefix+"owner"] = "me" }, []string{`labels: "statefulhq.owner" uses the reserved prefix "statefulhq."`}},
		"reserved label exact": {func(s *Service) { s.Labels[LabelService] = "other" }, []string{"reserved prefix"}},
		"duplicate container port": {func(s *Service) {
			s.Ports = []Port{{Internal: 5432, Protocol: "tcp"}, {Internal: 5432, Protocol: "tcp"}}
		}, []string{"port[1]: container port 5432/tcp is published twice"}},
		"overlapping external ranges": {func(s *Service) {
			s.Ports = []Port{{Internal: 1, External: 8000, Protocol: "tcp"}, {Internal: 2, External: 8002, Protocol: "tcp"}}
		}, []string{"port[0] and port[1]: the external port ranges overlap (each replica takes external+k); space them at least 3 apart"}},
		"same external port": {func(s *Service) {
			s.Ports = []Port{{Internal: 1, External: 8000, Protocol: "tcp"}, {Internal: 2, External: 8000, Protocol: "tcp"}}
		}, []string{"port[0] and port[1]: the external port ranges overlap"}},
		"overlap of second and third": {func(s *Service) {
			s.Ports = []Port{{Internal: 1, External: 7000, Protocol: "tcp"}, {Internal: 2, External: 8000, Protocol: "tcp"}, {Internal: 3, External: 7999, Protocol: "tcp"}}
		}, []string{"port[1] and port[2]"}},
		"specific IP overlaps wildcard": {func(s *Service) {
			s.Ports = []Port{{Internal: 1, External: 8000, Protocol: "tcp", HostIP: "127.0.0.1"}, {Internal: 2, External: 8001, Protocol: "tcp", HostIP: "0.0.0.0"}}
		}, []string{"overlap"}},
		"specific IP overlaps empty host_ip": {func(s *Service) {
			s.Ports = []Port{{Internal: 1, External: 8000, Protocol: "tcp"}, {Internal: 2, External: 8001, Protocol: "tcp", HostIP: "10.0.0.1"}}
		}, []string{"overlap"}},
		"same specific IP overlaps": {func(s *Service) {
			s.Ports = []Port{{Internal: 1, External: 8000, Protocol: "tcp", HostIP: "10.0.0.1"}, {Internal: 2, External: 8001, Protocol: "tcp", HostIP: "10.0.0.1"}}
		}, []string{"overlap"}},
		"external range beyond 65535": {func(s *Service) {
			s.Ports = []Port{{Internal: 1, External: 65534, Protocol: "tcp"}}
		}, []string{"port[0]: replicas publish external ports 65534..65536, beyond 65535"}},
		"bad restart":    {func(s *Service) { s.Restart = "sometimes" }, []string{`restart: "sometimes" is not one of`}},
		"negative grace": {func(s *Service) { s.StopGracePeriod = "-5s" }, []string{`stop_grace_period: "-5s" is negative`}},
		"several problems at once": {func(s *Service) {
			s.Name = "Bad"
			s.Labels[LabelPrefix+"x"] = "y"
			s.Ports = []Port{{Internal: 1, External: 65535, Protocol: "tcp"}, {Internal: 1, External: 65535, Protocol: "tcp"}}
		}, []string{"name:", "labels:", "port[0]: replicas publish", "port[1]: container port 1/tcp is published twice", "port[1]: replicas publish", "port[0] and port[1]"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			tc.mutate(&s)
			errs := s.Validate()
			if len(errs) != len(tc.want) {
				t.Fatalf("Validate() = %d errors %v, want %d", len(errs), errs, len(tc.want))
			}
			for i, want := range tc.want {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i], want)
				}
			}
		})
	}
}

func TestValidateAcceptsPortsThatDoNotCollide(t *testing.T) {
	cases := map[string]struct {
		replicas int
		ports    []Port
	}{
		"ranges just apart": {3, []Port{{Internal: 1, External: 8000, Protocol: "tcp"}, {Internal: 2, External: 8003, Protocol: "tcp"}}},
		"ranges far apart":  {3, []Port{{Internal: 1, External: 8000, Protocol: "tcp"}, {Internal: 2, External: 9000, Protocol: "tcp"}}},
		"different specific host IPs": {3, []Port{
			{Internal: 1, External: 8000, Protocol: "tcp", HostIP: "127.0.0.1"}, {Internal: 2, External: 8000, Protocol: "tcp", HostIP: "10.0.0.1"},
		}},
		"different protocols":          {3, []Port{{Internal: 53, External: 1053, Protocol: "tcp"}, {Internal: 53, External: 1053, Protocol: "udp"}}},
		"same container port, tcp+udp": {1, []Port{{Internal: 53, Protocol: "tcp"}, {Internal: 53, Protocol: "udp"}}},
		"docker-chosen ports":          {3, []Port{{Internal: 1, Protocol: "tcp"}, {Internal: 2, Protocol: "tcp"}}},
		"zero replicas":                {0, []Port{{Internal: 1, External: 8000, Protocol: "tcp"}, {Internal: 2, External: 8000, Protocol: "tcp"}}},
		"range ends at 65535":          {3, []Port{{Internal: 1, External: 65533, Protocol: "tcp"}}},
		"single replica adjacent":      {1, []Port{{Internal: 1, External: 8000, Protocol: "tcp"}, {Internal: 2, External: 8001, Protocol: "tcp"}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			s.Replicas, s.Ports = tc.replicas, tc.ports
			if errs := s.Validate(); len(errs) != 0 {
				t.Fatalf("Validate() = %v, want no errors", errs)
			}
		})
	}
}

func TestValidateNameLengthLimit(t *testing.T) {
	if err := ValidateName(strings.Repeat("a", MaxNameLength)); err != nil {
		t.Errorf("a %d-character name: %v", MaxNameLength, err)
	}
	if err := ValidateName(strings.Repeat("a", MaxNameLength+1)); err == nil {
		t.Errorf("a %d-character name was accepted", MaxNameLength+1)
	}
	for _, ok := range []string{"a", "0", "db", "db-1", "a-b-c", "9lives"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
}

func TestValidateRejectsReplicaNamesOver63Characters(t *testing.T) {
	s := testService()
	s.Name = strings.Repeat("a", 50)
	s.OrdinalStart = 1_000_000_000_000 // 13 digits: a-...-1000000000000 is 64 characters
	s.Replicas = 1
	errs := s.Validate()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "would exceed 63 characters") {
		t.Fatalf("Validate() = %v, want one error about the 63-character limit", errs)
	}
}

func TestValidateAcceptsAHighestReplicaNameOfExactly63Characters(t *testing.T) {
	s := testService()
	s.Name = strings.Repeat("a", 50)
	s.OrdinalStart = 999_999_999_999 // 12 digits: the only replica is 50+1+12 = 63 characters
	s.Replicas = 1
	if got := len(ReplicaName(s.Name, s.OrdinalStart)); got != 63 {
		t.Fatalf("test setup: replica name is %d characters", got)
	}
	if errs := s.Validate(); len(errs) != 0 {
		t.Fatalf("Validate() = %v, want no errors", errs)
	}
}

func TestParseRestart(t *testing.T) {
	good := map[string]RestartPolicy{
		"no":             {Name: "no"},
		"always":         {Name: "always"},
		"unless-stopped": {Name: "unless-stopped"},
		"on-failure":     {Name: "on-failure"},
		"on-failure:3":   {Name: "on-failure", MaxRetries: 3},
		"on-failure:0":   {Name: "on-failure", MaxRetries: 0},
	}
	for value, want := range good {
		t.Run(value, func(t *testing.T) {
			got, err := ParseRestart(value)
			if err != nil {
				t.Fatalf("ParseRestart(%q): %v", value, err)
			}
			if got != want {
				t.Fatalf("ParseRestart(%q) = %+v, want %+v", value, got, want)
			}
		})
	}
	bad := map[string]string{
		"":              "is not one of no, always, unless-stopped, on-failure",
		"sometimes":     "is not one of",
		"Always":        "is not one of",
		"on-failure:-1": "has a bad retry count",
		"on-failure:x":  "has a bad retry count",
		"on-failure:":   "has a bad retry count",
		"always:3":      "only on-failure takes a retry count",
		"no:0":          "only on-failure takes a retry count",
	}
	for value, want := range bad {
		t.Run("bad "+value, func(t *testing.T) {
			got, err := ParseRestart(value)
			if err == nil {
				t.Fatalf("ParseRestart(%q) = %+v, want an error", value, got)
			}
			if !strings.HasPrefix(err.Error(), "restart: ") || !strings.Contains(err.Error(), want) {
				t.Fatalf("ParseRestart(%q) error %q, want restart: ...%s", value, err, want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"0s":    0,
		"10s":   10 * time.Second,
		"1m30s": 90 * time.Second,
		"500ms": 500 * time.Millisecond,
	}
	for value, want := range good {
		t.Run(value, func(t *testing.T) {
			got, err := ParseDuration("attr", value)
			if err != nil || got != want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", value, got, err, want)
			}
		})
	}
	bad := map[string]string{
		"-1s":   `attr: "-1s" is negative`,
		"-1ns":  `attr: "-1ns" is negative`,
		"soon":  `attr: "soon" is not a duration`,
		"10":    `attr: "10" is not a duration`,
		"":      `attr: "" is not a duration`,
		"1 min": `attr: "1 min" is not a duration`,
	}
	for value, want := range bad {
		t.Run("bad "+value, func(t *testing.T) {
			got, err := ParseDuration("attr", value)
			if err == nil {
				t.Fatalf("ParseDuration(%q) = %v, want an error", value, got)
			}
			if !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("ParseDuration(%q) error %q, want prefix %q", value, err, want)
			}
		})
	}
}

func TestValidateImage(t *testing.T) {
	for _, ok := range []string{"postgres", "postgres:17", "stateful-workload:v1", "127.0.0.1:5000/team/db:1.2", "ghcr.io/a/b@sha256:" + strings.Repeat("a", 64)} {
		if err := ValidateImage(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Postgres:17", "postgres:", "post gres", "postgres@sha256:short", "a//b"} {
		if err := ValidateImage(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestValidateSignal(t *testing.T) {
	for _, ok := range []string{"SIGINT", "SIGTERM", "sigquit", "INT", "9", "64", "SIGRTMIN+3", "SIGRTMAX-1", "SIGRTMIN"} {
		if err := ValidateSignal(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"SIGNOPE", "0", "65", "-1", "SIGRTMIN+31", "SIG", "TERM9"} {
		if err := ValidateSignal(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestValidateNamesEnvAndClusterVariables(t *testing.T) {
	svc := Service{
		Name: "db", Image: "img", Replicas: 1, Restart: DefaultRestart, StopGracePeriod: "1s", StopSignal: "SIGNOPE",
		Env:     map[string]string{"": "x", "A=B": "y", "OK": "z"},
		Cluster: &Cluster{Seeds: 1, Port: 1, Env: "SEEDS=1", MembersEnv: "MEMBERS"},
		Volumes: []Volume{{Name: "data", Target: "/", PerReplica: true, Plugin: &PluginVolume{Driver: "local"}}},
	}
	var got []string
	for _, err := range svc.WithDefaults().Validate() {
		got = append(got, err.Error())
	}
	for _, want := range []string{"stop_signal: \"SIGNOPE\" is not a signal", "env: an environment variable name is empty",
		"env: \"A=B\" cannot be an environment variable name", "cluster.env: \"SEEDS=1\" cannot be", "volume[0].target: / is the container's root"} {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, want)
		}
		if !found {
			t.Errorf("no error starting %q in:\n%s", want, strings.Join(got, "\n"))
		}
	}
}
