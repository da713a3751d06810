package spec

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	cases := map[string]int64{
		"512m": 512 << 20, "2g": 2 << 30, "2G": 2 << 30, "1.5g": 3 << 29, "64k": 64 << 10, "100b": 100,
		"64MiB": 64 << 20, "64mb": 64 << 20, "1t": 1 << 40,
	}
	for in, want := range cases {
		if got, err := ParseSize("memory", in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "512", "m", "-1g", "1.5b", "12x", "1e3m", "99999999999t"} {
		if _, err := ParseSize("memory", in); err == nil || !strings.HasPrefix(err.Error(), "memory: ") {
			t.Errorf("ParseSize(%q) = %v; want an error naming memory", in, err)
		}
	}
}

func TestParseCPUs(t *testing.T) {
	for in, want := range map[string]int64{"1": 1e9, "1.5": 15e8, "0.25": 25e7, "0.000000001": 1, "64": 64e9} {
		if got, err := ParseCPUs(in); err != nil || got != want {
			t.Errorf("ParseCPUs(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-1", "abc", "1/2", "1e2", "0.0000000001", ""} {
		if _, err := ParseCPUs(in); err == nil || !strings.HasPrefix(err.Error(), "cpus: ") {
			t.Errorf("ParseCPUs(%q) = %v; want an error naming cpus", in, err)
		}
	}
}

func TestCapabilitiesAreNormalised(t *testing.T) {
	for in, want := range map[string]string{"net_admin": "CAP_NET_ADMIN", "CAP_SYS_NICE": "CAP_SYS_NICE", "all": "ALL", "cap_chown": "CAP_CHOWN"} {
		if err := ValidateCapability(in); err != nil {
			t.Errorf("ValidateCapability(%q) = %v", in, err)
		}
		if got := NormalizeCapability(in); got != want {
			t.Errorf("NormalizeCapability(%q) = %q, want %q", in, got, want)
		}
	}
	if err := ValidateCapability("CAP_FLY"); err == nil {
		t.Error("ValidateCapability(CAP_FLY) passed")
	}
}

func settingsService() Service {
	s := testService()
	s.Volumes = []Volume{{Name: "data", Target: "/data", PerReplica: true, Plugin: &PluginVolume{Driver: "local"}}}
	s.Settings = Settings{
		Memory: "512m", MemoryReservation: "256m", MemorySwap: "1g", CPUs: "1.5", CPUShares: 512, PidsLimit: 200, ShmSize: "256m",
		Ulimits: []Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}, {Name: "core", Soft: -1, Hard: -1}},
		Sysctls: map[string]string{"net.core.somaxconn": "1024", "kernel.shmmax": "1"},
		Tmpfs:   map[string]string{"/tmp": "size=64m,mode=1777", "/run": ""},
		Init:    true, ReadOnly: true, WorkingDir: "/data",
		CapAdd: []string{"sys_nice", "CAP_NET_ADMIN"}, CapDrop: []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges", "seccomp=unconfined", "apparmor=docker-default"},
		ExtraHosts:  map[string]string{"db.internal": "10.0.0.5", "gw": "host-gateway", "v6": "::1"},
		DNS:         []string{"10.0.0.2"}, DNSSearch: []string{"db.internal"}, DNSOptions: []string{"ndots:1"},
		Log:      &Log{Driver: "json-file", Options: map[string]string{"max-size": "10m"}},
		GroupAdd: []string{"disk", "0"},
		Networks: []Network{{Name: "proxy", Aliases: []string{"pg"}}},
	}
	return s
}

func TestValidateAcceptsEverySetting(t *testing.T) {
	if errs := settingsService().Validate(); len(errs) != 0 {
		t.Fatalf("Validate() = %v, want no errors", errs)
	}
}

func TestRenderSettingsForDocker(t *testing.T) {
	c := mustRender(t, settingsService())[1].Container
	want := ContainerSettings{
		Memory: 512 << 20, MemoryReservation: 256 << 20, MemorySwap: 1 << 30, NanoCPUs: 15e8, CPUShares: 512, PidsLimit: 200, ShmSize: 256 << 20,
		Ulimits: []Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}, {Name: "core", Soft: -1, Hard: -1}},
		Sysctls: map[string]string{"net.core.somaxconn": "1024", "kernel.shmmax": "1"},
		Tmpfs:   map[string]string{"/tmp": "size=64m,mode=1777", "/run": ""},
		Init:    true, ReadOnly: true, WorkingDir: "/data",
		CapAdd: []string{"CAP_NET_ADMIN", "CAP_SYS_NICE"}, CapDrop: []string{"ALL"},
		SecurityOpt: []string{"apparmor=docker-default", "no-new-privileges", "seccomp=unconfined"},
		ExtraHosts:  []string{"db.internal:10.0.0.5", "gw:host-gateway", "v6:::1"},
		DNS:         []string{"10.0.0.2"}, DNSSearch: []string{"db.internal"}, DNSOptions: []string{"ndots:1"},
		Log:           &Log{Driver: "json-file", Options: map[string]string{"max-size": "10m"}},
		GroupAdd:      []string{"0", "disk"},
		ExtraNetworks: []Network{{Name: "proxy", Aliases: []string{"pg"}}},
	}
	if !reflect.DeepEqual(c.ContainerSettings, want) {
		t.Fatalf("rendered settings\n got %+v\nwant %+v", c.ContainerSettings, want)
	}
	memorySwapUnlimited := settingsService()
	memorySwapUnlimited.MemorySwap = "-1"
	if got := mustRender(t, memorySwapUnlimited)[0].Container.MemorySwap; got != -1 {
		t.Fatalf("memory_swap -1 rendered as %d", got)
	}
}

// Unset settings add nothing to a replica's container JSON nor to the
// definition label, so replicas created before they existed keep their
// fingerprints and the label reads the same.
func TestUnsetSettingsLeaveFingerprintAndLabelAsBefore(t *testing.T) {
	c := mustRender(t, testService())[0].Container
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	label, err := testService().specLabel()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range jsonKeys(reflect.TypeFor[ContainerSettings]()) {
		if strings.Contains(string(b), `"`+key+`"`) {
			t.Errorf("container JSON has %q with no setting set: %s", key, b)
		}
	}
	for _, key := range jsonKeys(reflect.TypeFor[Settings]()) {
		if strings.Contains(label, `"`+key+`"`) {
			t.Errorf("definition label has %q with no setting set: %s", key, label)
		}
	}
}

func jsonKeys(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

func TestFingerprintChangesWithEverySettingAndChangesNameIt(t *testing.T) {
	cases := map[string]func(s *Settings){
		"memory":             func(s *Settings) { s.Memory = "1g" },
		"memory_reservation": func(s *Settings) { s.MemoryReservation = "128m" },
		"memory_swap":        func(s *Settings) { s.MemorySwap = "-1" },
		"cpus":               func(s *Settings) { s.CPUs = "2" },
		"cpu_shares":         func(s *Settings) { s.CPUShares = 1024 },
		"pids_limit":         func(s *Settings) { s.PidsLimit = -1 },
		"shm_size":           func(s *Settings) { s.ShmSize = "1g" },
		"ulimit":             func(s *Settings) { s.Ulimits[0].Soft = 2048 },
		"sysctls":            func(s *Settings) { s.Sysctls["net.ipv4.tcp_keepalive_time"] = "60" },
		"tmpfs":              func(s *Settings) { s.Tmpfs["/tmp"] = "size=128m" },
		"init":               func(s *Settings) { s.Init = false },
		"cap_add":            func(s *Settings) { s.CapAdd = []string{"NET_ADMIN"} },
		"cap_drop":           func(s *Settings) { s.CapDrop = nil },
		"security_opt":       func(s *Settings) { s.SecurityOpt = nil },
		"read_only":          func(s *Settings) { s.ReadOnly = false },
		"working_dir":        func(s *Settings) { s.WorkingDir = "/" },
		"extra_hosts":        func(s *Settings) { s.ExtraHosts["db.internal"] = "10.0.0.6" },
		"dns":                func(s *Settings) { s.DNS = append(s.DNS, "10.0.0.3") },
		"dns_search":         func(s *Settings) { s.DNSSearch = nil },
		"dns_options":        func(s *Settings) { s.DNSOptions = []string{"ndots:2"} },
		"log":                func(s *Settings) { s.Log.Options["max-file"] = "3" },
		"group_add":          func(s *Settings) { s.GroupAdd = []string{"disk"} },
		"extra_network":      func(s *Settings) { s.Networks[0].Aliases = nil },
	}
	before := fingerprint0(t, settingsService())
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := settingsService()
			mutate(&s.Settings)
			if errs := s.Validate(); len(errs) > 0 {
				t.Fatalf("the changed service is invalid: %v", errs)
			}
			if after := fingerprint0(t, s); after == before {
				t.Fatalf("fingerprint stayed %s after changing %s", before, name)
			}
			if got := Changes(settingsService(), s); !reflect.DeepEqual(got, []string{name}) {
				t.Fatalf("Changes = %v, want [%s]", got, name)
			}
		})
	}
}

func TestEquivalentSettingsKeepTheFingerprint(t *testing.T) {
	before := fingerprint0(t, settingsService())
	s := settingsService()
	s.Memory, s.CapAdd = "0.5g", []string{"CAP_NET_ADMIN", "SYS_NICE", "net_admin"}
	if after := fingerprint0(t, s); after != before {
		t.Fatalf("fingerprint changed from %s to %s for the same limits written differently", before, after)
	}
}

func TestValidateSettingsNamesTheAttribute(t *testing.T) {
	cases := map[string]struct {
		mutate func(s *Service)
		want   []string
	}{
		"memory without unit":     {func(s *Service) { s.Memory = "512" }, []string{`memory: "512" is not a size`}},
		"memory below minimum":    {func(s *Service) { s.Memory, s.MemoryReservation, s.MemorySwap = "4m", "", "" }, []string{`memory: "4m" is below Docker's minimum`}},
		"reservation above":       {func(s *Service) { s.MemoryReservation = "1g" }, []string{`memory_reservation: "1g" is more than memory "512m"`}},
		"swap below memory":       {func(s *Service) { s.MemorySwap = "256m" }, []string{`memory_swap: "256m" is less than memory "512m"`}},
		"swap without memory":     {func(s *Service) { s.Memory, s.MemoryReservation = "", "" }, []string{"memory_swap: it limits memory plus swap and needs memory set"}},
		"bad swap":                {func(s *Service) { s.MemorySwap = "lots" }, []string{`memory_swap: "lots" is not a size`}},
		"zero cpus":               {func(s *Service) { s.CPUs = "0" }, []string{`cpus: "0" must be more than 0`}},
		"cpu shares":              {func(s *Service) { s.CPUShares = 1 }, []string{"cpu_shares: 1 must be between 2 and 262144"}},
		"pids limit":              {func(s *Service) { s.PidsLimit = -2 }, []string{"pids_limit: -2 must be at least 1, or -1"}},
		"shm size":                {func(s *Service) { s.ShmSize = "big" }, []string{`shm_size: "big" is not a size`}},
		"unknown ulimit":          {func(s *Service) { s.Ulimits[1].Name = "files" }, []string{`ulimit[1].name: "files" is not a limit Docker sets`}},
		"ulimit twice":            {func(s *Service) { s.Ulimits[1].Name = "nofile" }, []string{`ulimit[1].name: "nofile" is limited twice`}},
		"soft above hard":         {func(s *Service) { s.Ulimits[0].Soft = 5000 }, []string{"ulimit[0].soft: 5000 is above the hard limit 4096"}},
		"unlimited soft":          {func(s *Service) { s.Ulimits[0].Soft = -1 }, []string{"ulimit[0].soft: -1 is above the hard limit 4096"}},
		"host sysctl":             {func(s *Service) { s.Sysctls["vm.swappiness"] = "1" }, []string{`sysctls: "vm.swappiness" is the host's`}},
		"malformed sysctl":        {func(s *Service) { s.Sysctls["net..x"] = "1" }, []string{`sysctls: "net..x" is not a kernel setting name`}},
		"relative tmpfs":          {func(s *Service) { s.Tmpfs["tmp"] = "" }, []string{`tmpfs: "tmp" is not an absolute path`}},
		"tmpfs on a volume":       {func(s *Service) { s.Tmpfs["/data/"] = "" }, []string{`tmpfs: /data/ is also volume "data"'s target`}},
		"tmpfs at the root":       {func(s *Service) { s.Tmpfs["/"] = "" }, []string{"tmpfs: / is the container's root file system"}},
		"unknown capability":      {func(s *Service) { s.CapAdd = []string{"FLY"} }, []string{`cap_add: "FLY" is not a Linux capability`}},
		"added and dropped":       {func(s *Service) { s.CapDrop = []string{"net_admin"} }, []string{"cap_drop: net_admin is also in cap_add"}},
		"unknown security opt":    {func(s *Service) { s.SecurityOpt = []string{"privileged=true"} }, []string{`security_opt: "privileged=true" is not a security option`}},
		"seccomp path":            {func(s *Service) { s.SecurityOpt = []string{"seccomp=/etc/profile.json"} }, []string{"a path is read by the docker CLI"}},
		"relative working dir":    {func(s *Service) { s.WorkingDir = "app" }, []string{`working_dir: "app" must be an absolute path`}},
		"extra host without ip":   {func(s *Service) { s.ExtraHosts["db"] = "db.internal" }, []string{`extra_hosts: db maps to "db.internal", which is not an IP address`}},
		"bad extra host name":     {func(s *Service) { s.ExtraHosts["a b"] = "10.0.0.1" }, []string{`extra_hosts: "a b" is not a host name`}},
		"dns by name":             {func(s *Service) { s.DNS = []string{"dns.google"} }, []string{`dns: "dns.google" is not an IP address`}},
		"dns search not a domain": {func(s *Service) { s.DNSSearch = []string{"a b"} }, []string{`dns_search: "a b" is not a domain`}},
		"dns option with space":   {func(s *Service) { s.DNSOptions = []string{"ndots:1 timeout:2"} }, []string{`dns_options: "ndots:1 timeout:2" is not a resolver option`}},
		"log without driver":      {func(s *Service) { s.Log.Driver = "" }, []string{"log.driver: give a logging driver"}},
		"empty group":             {func(s *Service) { s.GroupAdd = []string{" "} }, []string{"group_add: a group is empty"}},
		"network without a name":  {func(s *Service) { s.Networks[0].Name = "" }, []string{"extra_network[0].name: give the name of an existing network"}},
		"own network":             {func(s *Service) { s.Networks[0].Name = NetworkName(s.Name) }, []string{"extra_network[0].name: stateful-db is the service's own network"}},
		"network twice":           {func(s *Service) { s.Networks = append(s.Networks, s.Networks[0]) }, []string{"extra_network[1].name: network proxy is listed twice"}},
		"file on a read-only root": {func(s *Service) { s.Files = []ConfigFile{{Target: "/etc/app.conf"}, {Target: "/data/app.conf"}} },
			[]string{"file[0].target: /etc/app.conf is on the root file system, which read_only = true makes read-only"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := settingsService()
			tc.mutate(&s)
			errs := s.Validate()
			if len(errs) != len(tc.want) {
				t.Fatalf("Validate() = %v, want %d errors like %q", errs, len(tc.want), tc.want)
			}
			for i, want := range tc.want {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i], want)
				}
			}
		})
	}
}
