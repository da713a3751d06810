package spec

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// hostVolume is a per-replica bind of /srv/<service>/<ordinal> at /data.
func hostVolume() Volume {
	return Volume{Name: "data", Target: "/data", PerReplica: true, Host: &HostVolume{Path: "/srv/{{.Service}}/{{.Ordinal}}"}}
}

// nfsVolume is a per-replica NFS volume whose device names the ordinal.
func nfsVolume() Volume {
	return Volume{Name: "nfs", Target: "/data", PerReplica: true, Shared: &SharedVolume{
		Type: "nfs", Address: "10.0.0.9", Device: ":/exports/db-{{.Ordinal}}", Options: "nfsvers=4,soft",
	}}
}

// cifsVolume is a per-replica CIFS volume with write-only credentials.
func cifsVolume() Volume {
	return Volume{Name: "smb", Target: "/data", PerReplica: true, Shared: &SharedVolume{
		Type: "cifs", Address: "fs.example", Device: "//fs/share-{{.Ordinal}}", Options: "vers=3.0",
		CredentialsVersion: 1, Credentials: "username=u,password=p",
	}}
}

// pluginVolume is a per-replica volume of a plugin driver.
func pluginVolume() Volume {
	return Volume{Name: "data", Target: "/data", PerReplica: true, Plugin: &PluginVolume{
		Driver: "rexray/ebs", Options: map[string]string{"size": "10", "volumetype": "gp3"},
	}}
}

// mountOf renders the single volume of testService at ordinal.
func mountOf(t *testing.T, v Volume, ordinal int) Mount {
	t.Helper()
	s := testService()
	s.Volumes = []Volume{v}
	mounts, err := s.MountsFor(ordinal)
	if err != nil {
		t.Fatalf("MountsFor(%d): %v", ordinal, err)
	}
	if len(mounts) != 1 {
		t.Fatalf("MountsFor(%d) = %d mounts, want 1", ordinal, len(mounts))
	}
	return mounts[0]
}

var hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestVolumeNamePerReplicaAndShared(t *testing.T) {
	cases := map[string]struct {
		service, volume string
		ordinal         int
		perReplica      bool
		want            string
	}{
		"per replica":               {"db", "data", 3, true, "db-data-3"},
		"per replica, ordinal 0":    {"db", "data", 0, true, "db-data-0"},
		"per replica, two digits":   {"kafka", "log.dir", 12, true, "kafka-log.dir-12"},
		"shared ignores ordinal":    {"db", "data", 3, false, "db-data"},
		"shared at another ordinal": {"db", "data", 0, false, "db-data"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := VolumeName(tc.service, tc.volume, tc.ordinal, tc.perReplica); got != tc.want {
				t.Fatalf("VolumeName(%q, %q, %d, %v) = %q, want %q", tc.service, tc.volume, tc.ordinal, tc.perReplica, got, tc.want)
			}
		})
	}
}

func TestMountsForRendersEachStrategy(t *testing.T) {
	cases := map[string]struct {
		volume Volume
		want   Mount // Definition is checked apart: set for Docker volumes only
	}{
		"host path templated with service, name and ordinal": {
			Volume{Name: "data", Target: "/var/lib/postgresql/data", PerReplica: true,
				Host: &HostVolume{Path: "/srv/{{.Service}}/{{.Name}}/{{.Ordinal}}", Owner: "999"}},
			Mount{Volume: "data", Strategy: StrategyHost, Source: "/srv/db/db-2/2", Target: "/var/lib/postgresql/data",
				Owner: &Owner{UID: 999, GID: 999}, Mode: 0o755},
		},
		"host owner uid:gid and mode 0700": {
			Volume{Name: "data", Target: "/data", PerReplica: true,
				Host: &HostVolume{Path: "/srv/db/{{.Ordinal}}", Owner: "999:998", Mode: "0700"}},
			Mount{Volume: "data", Strategy: StrategyHost, Source: "/srv/db/2", Target: "/data",
				Owner: &Owner{UID: 999, GID: 998}, Mode: 0o700},
		},
		"host without owner is root's": {
			Volume{Name: "data", Target: "/data", PerReplica: true, Host: &HostVolume{Path: "/srv/db/{{.Ordinal}}"}},
			Mount{Volume: "data", Strategy: StrategyHost, Source: "/srv/db/2", Target: "/data", Mode: 0o755},
		},
		"host shared, read-only, recreate carried": {
			Volume{Name: "conf", Target: "/etc/app", ReadOnly: true, PerReplica: false, RecreateOnChange: true,
				Host: &HostVolume{Path: "/srv/db/conf"}},
			Mount{Volume: "conf", Strategy: StrategyHost, Source: "/srv/db/conf", Target: "/etc/app", ReadOnly: true,
				Shared: true, Mode: 0o755, RecreateOnChange: true},
		},
		"shared per replica": {
			nfsVolume(),
			Mount{Volume: "nfs", Strategy: StrategyShared, Source: "db-nfs-2", Target: "/data", Driver: "local",
				DriverOptions: map[string]string{"type": "nfs", "device": ":/exports/db-2", "o": "addr=10.0.0.9,nfsvers=4,soft"}},
		},
		"shared carries credentials for the Docker layer": {
			cifsVolume(),
			Mount{Volume: "smb", Strategy: StrategyShared, Source: "db-smb-2", Target: "/data", Driver: "local",
				DriverOptions: map[string]string{"type": "cifs", "device": "//fs/share-2", "o": "addr=fs.example,vers=3.0"},
				Credentials:   "username=u,password=p"},
		},
		"plugin per replica": {
			pluginVolume(),
			Mount{Volume: "data", Strategy: StrategyPlugin, Source: "db-data-2", Target: "/data", Driver: "rexray/ebs",
				DriverOptions: map[string]string{"size": "10", "volumetype": "gp3"}},
		},
		"plugin shared by all replicas, recreate carried": {
			Volume{Name: "data", Target: "/data", PerReplica: false, RecreateOnChange: true, Plugin: &PluginVolume{Driver: "local"}},
			Mount{Volume: "data", Strategy: StrategyPlugin, Source: "db-data", Target: "/data", Shared: true, Driver: "local",
				DriverOptions: map[string]string{}, RecreateOnChange: true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := mountOf(t, tc.volume, 2)
			if got.Named() != (tc.want.Strategy != StrategyHost) {
				t.Errorf("Named() = %v for strategy %s", got.Named(), got.Strategy)
			}
			if got.Named() && !hex16.MatchString(got.Definition) {
				t.Errorf("Definition = %q, want 16 hex digits", got.Definition)
			}
			if !got.Named() && got.Definition != "" {
				t.Errorf("host mount has Definition %q, want none", got.Definition)
			}
			got.Definition = ""
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("mount =\n  %+v\nwant\n  %+v", got, tc.want)
			}
		})
	}
}

func TestMountsForKeepsVolumeOrderAndNamesFailingVolume(t *testing.T) {
	s := testService()
	s.Volumes = []Volume{hostVolume(), {Name: "cache", Target: "/cache", PerReplica: true, Plugin: &PluginVolume{Driver: "local"}}}
	mounts, err := s.MountsFor(7) // beyond the desired range: scale-down and destroy render it too
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range mounts {
		got = append(got, m.Volume+"="+m.Source)
	}
	if want := []string{"data=/srv/db/7", "cache=db-cache-7"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("mounts = %q, want %q", got, want)
	}

	s.Volumes[1].Plugin = nil
	_, err = s.MountsFor(0)
	if err == nil || err.Error() != `volume "cache": choose exactly one of host, shared or plugin` {
		t.Fatalf("err = %v", err)
	}
}

func TestMountsForCopiesPluginOptions(t *testing.T) {
	v := pluginVolume()
	m := mountOf(t, v, 0)
	m.DriverOptions["size"] = "999"
	if v.Plugin.Options["size"] != "10" {
		t.Fatalf("changing the mount changed the volume's options: %v", v.Plugin.Options)
	}
}

func TestSharedVolumeDriverOptions(t *testing.T) {
	cases := map[string]struct {
		shared      SharedVolume
		wantDriver  map[string]string
		wantMountOp map[string]string // MountOptions: what reaches the daemon
	}{
		"nfs with address, templated device and options": {
			SharedVolume{Type: "nfs", Address: "10.0.0.9", Device: ":/exports/db-{{.Ordinal}}", Options: "nfsvers=4,soft"},
			map[string]string{"type": "nfs", "device": ":/exports/db-1", "o": "addr=10.0.0.9,nfsvers=4,soft"},
			map[string]string{"type": "nfs", "device": ":/exports/db-1", "o": "addr=10.0.0.9,nfsvers=4,soft"},
		},
		"cifs credentials only at creation": {
			SharedVolume{Type: "cifs", Address: "fs.example", Device: "//fs/share-{{.Ordinal}}", Options: "vers=3.0", Credentials: "username=u,password=p"},
			map[string]string{"type": "cifs", "device": "//fs/share-1", "o": "addr=fs.example,vers=3.0"},
			map[string]string{"type": "cifs", "device": "//fs/share-1", "o": "addr=fs.example,vers=3.0,username=u,password=p"},
		},
		"tmpfs without device or address": {
			SharedVolume{Type: "tmpfs"},
			map[string]string{"type": "tmpfs"},
			map[string]string{"type": "tmpfs"},
		},
		"options without address": {
			SharedVolume{Type: "tmpfs", Device: "tmpfs", Options: "size=64m,uid={{.Ordinal}}"},
			map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=64m,uid=1"},
			map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=64m,uid=1"},
		},
		"address without options": {
			SharedVolume{Type: "nfs", Address: "nas", Device: ":/x"},
			map[string]string{"type": "nfs", "device": ":/x", "o": "addr=nas"},
			map[string]string{"type": "nfs", "device": ":/x", "o": "addr=nas"},
		},
		"credentials without other options": {
			SharedVolume{Type: "cifs", Device: "//fs/a", Credentials: "username=u"},
			map[string]string{"type": "cifs", "device": "//fs/a"},
			map[string]string{"type": "cifs", "device": "//fs/a", "o": "username=u"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			shared := tc.shared
			m := mountOf(t, Volume{Name: "net", Target: "/data", PerReplica: true, Shared: &shared}, 1)
			if m.Driver != "local" {
				t.Errorf("Driver = %q, want local", m.Driver)
			}
			if !reflect.DeepEqual(m.DriverOptions, tc.wantDriver) {
				t.Errorf("DriverOptions = %v, want %v", m.DriverOptions, tc.wantDriver)
			}
			if got := MountOptions(m); !reflect.DeepEqual(got, tc.wantMountOp) {
				t.Errorf("MountOptions = %v, want %v", got, tc.wantMountOp)
			}
			if !reflect.DeepEqual(m.DriverOptions, tc.wantDriver) {
				t.Errorf("MountOptions changed the mount's DriverOptions to %v", m.DriverOptions)
			}
		})
	}
}

func TestDefinitionDigest(t *testing.T) {
	changes := map[string]struct {
		base   func() Volume
		mutate func(v *Volume)
	}{
		"shared options":             {cifsVolume, func(v *Volume) { v.Shared.Options = "vers=2.1" }},
		"shared address":             {cifsVolume, func(v *Volume) { v.Shared.Address = "fs2.example" }},
		"shared device":              {cifsVolume, func(v *Volume) { v.Shared.Device = "//fs/other-{{.Ordinal}}" }},
		"shared type":                {cifsVolume, func(v *Volume) { v.Shared.Type = "smb3" }},
		"shared credentials version": {cifsVolume, func(v *Volume) { v.Shared.CredentialsVersion = 2 }},
		"plugin driver":              {pluginVolume, func(v *Volume) { v.Plugin.Driver = "rexray/s3fs" }},
		"plugin option value":        {pluginVolume, func(v *Volume) { v.Plugin.Options["size"] = "20" }},
		"plugin option added":        {pluginVolume, func(v *Volume) { v.Plugin.Options["iops"] = "3000" }},
	}
	for name, tc := range changes {
		t.Run("changes with "+name, func(t *testing.T) {
			before := mountOf(t, tc.base(), 1).Definition
			v := tc.base()
			tc.mutate(&v)
			if after := mountOf(t, v, 1).Definition; after == before {
				t.Fatalf("Definition stayed %s after changing %s", before, name)
			}
		})
	}
	same := map[string]struct {
		base   func() Volume
		mutate func(v *Volume)
	}{
		"shared credentials value":   {cifsVolume, func(v *Volume) { v.Shared.Credentials = "username=u,password=rotated" }},
		"shared credentials unset":   {cifsVolume, func(v *Volume) { v.Shared.Credentials = "" }},
		"target":                     {cifsVolume, func(v *Volume) { v.Target = "/elsewhere" }},
		"read_only":                  {pluginVolume, func(v *Volume) { v.ReadOnly = true }},
		"recreate_on_change":         {pluginVolume, func(v *Volume) { v.RecreateOnChange = true }},
		"plugin options map rebuilt": {pluginVolume, func(v *Volume) { v.Plugin.Options = map[string]string{"volumetype": "gp3", "size": "10"} }},
	}
	for name, tc := range same {
		t.Run("ignores "+name, func(t *testing.T) {
			before := mountOf(t, tc.base(), 1).Definition
			v := tc.base()
			tc.mutate(&v)
			if after := mountOf(t, v, 1).Definition; after != before {
				t.Fatalf("Definition changed from %s to %s after changing %s", before, after, name)
			}
		})
	}
}

// TestDefinitionDigestIsStable pins digests: they are stored as labels on
// existing volumes, so a change of the digest's encoding would report every
// existing volume as redefined after an upgrade.
func TestDefinitionDigestIsStable(t *testing.T) {
	got := map[string]string{
		"nfs":    mountOf(t, nfsVolume(), 1).Definition,
		"cifs":   mountOf(t, cifsVolume(), 1).Definition,
		"plugin": mountOf(t, pluginVolume(), 1).Definition,
	}
	want := map[string]string{
		"nfs":    definitionDigest("local", map[string]string{"type": "nfs", "device": ":/exports/db-1", "o": "addr=10.0.0.9,nfsvers=4,soft"}, nil),
		"cifs":   definitionDigest("local", map[string]string{"type": "cifs", "device": "//fs/share-1", "o": "addr=fs.example,vers=3.0"}, &SharedVolume{CredentialsVersion: 1}),
		"plugin": definitionDigest("rexray/ebs", map[string]string{"size": "10", "volumetype": "gp3"}, nil),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("digests = %v, want %v", got, want)
	}
	pinned := map[string]string{"nfs": "880dc4d610c43a21", "cifs": "a6effd9b378269d9", "plugin": "9860b5161cbe8fde"}
	if !reflect.DeepEqual(got, pinned) {
		t.Fatalf("digests = %v, want the pinned %v", got, pinned)
	}
}

func TestCredentialsNeverLeaveTheMount(t *testing.T) {
	const secret = "password=Zq7-SECRET-do-not-log-91x"
	s := testService()
	v := cifsVolume()
	v.Shared.Credentials = "username=u," + secret
	s.Volumes = []Volume{v}
	replicas := mustRender(t, s)
	if len(replicas) != 3 {
		t.Fatalf("rendered %d replicas, want 3", len(replicas))
	}
	for _, r := range replicas {
		if got := r.Container.Mounts[0].Credentials; got != "username=u,"+secret {
			t.Fatalf("%s: mount credentials = %q; the Docker layer needs them", r.Name, got)
		}
		b, err := json.Marshal(r.Container) // the fingerprint's input, plus two labels
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "SECRET") {
			t.Errorf("%s: container JSON holds the credentials: %s", r.Name, b)
		}
		if strings.Contains(r.Container.Labels[LabelSpec], "SECRET") {
			t.Errorf("%s: spec label holds the credentials: %s", r.Name, r.Container.Labels[LabelSpec])
		}
		for k, l := range r.Container.Labels {
			if strings.Contains(l, "SECRET") {
				t.Errorf("%s: label %s holds the credentials", r.Name, k)
			}
		}
	}
	parsed, err := ParseSpecLabel(replicas[0].Container.Labels[LabelSpec])
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Volumes[0].Shared.Credentials != "" {
		t.Errorf("spec label round-trips credentials %q", parsed.Volumes[0].Shared.Credentials)
	}
	if parsed.Volumes[0].Shared.CredentialsVersion != 1 {
		t.Errorf("spec label lost credentials_version: %+v", parsed.Volumes[0].Shared)
	}

	rotated := testService()
	v = cifsVolume()
	v.Shared.Credentials = "username=u,password=other"
	rotated.Volumes = []Volume{v}
	for i, r := range mustRender(t, rotated) {
		if r.Fingerprint != replicas[i].Fingerprint {
			t.Errorf("%s: fingerprint changed from %s to %s with the credentials' value alone", r.Name, replicas[i].Fingerprint, r.Fingerprint)
		}
	}
}

// volumeService is testService with a per-replica host volume and a
// per-replica plugin volume.
func volumeService() Service {
	s := testService()
	s.Volumes = []Volume{
		{Name: "data", Target: "/data", PerReplica: true, Host: &HostVolume{Path: "/srv/db/{{.Ordinal}}", Owner: "999", Mode: "0700"}},
		{Name: "cache", Target: "/cache", PerReplica: true, Plugin: &PluginVolume{Driver: "local", Options: map[string]string{"type": "tmpfs"}}},
	}
	return s
}

func TestFingerprintChangesWithMounts(t *testing.T) {
	cases := map[string]func(s *Service){
		"volume target":    func(s *Service) { s.Volumes[0].Target = "/var/lib/data" },
		"volume read_only": func(s *Service) { s.Volumes[0].ReadOnly = true },
		"host path":        func(s *Service) { s.Volumes[0].Host.Path = "/mnt/db/{{.Ordinal}}" },
		"plugin option":    func(s *Service) { s.Volumes[1].Plugin.Options["type"] = "ext4" },
		"plugin driver":    func(s *Service) { s.Volumes[1].Plugin.Driver = "rexray/ebs" },
		"volume name":      func(s *Service) { s.Volumes[1].Name = "scratch" },
		"per_replica off":  func(s *Service) { s.Volumes[1].PerReplica = false },
		"volume removed":   func(s *Service) { s.Volumes = s.Volumes[:1] },
		"strategy switched": func(s *Service) {
			s.Volumes[1].Plugin, s.Volumes[1].Host = nil, &HostVolume{Path: "/srv/cache/{{.Ordinal}}"}
		},
	}
	before := fingerprint0(t, volumeService())
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := volumeService()
			mutate(&s)
			if after := fingerprint0(t, s); after == before {
				t.Fatalf("fingerprint stayed %s after changing %s", before, name)
			}
		})
	}
}

func TestFingerprintIgnoresVolumeSettingsThatNeedNoNewContainer(t *testing.T) {
	cases := map[string]func(s *Service){
		"host owner":         func(s *Service) { s.Volumes[0].Host.Owner = "1000:1000" },
		"host owner removed": func(s *Service) { s.Volumes[0].Host.Owner = "" },
		"host mode":          func(s *Service) { s.Volumes[0].Host.Mode = "0750" },
		"recreate_on_change": func(s *Service) { s.Volumes[1].RecreateOnChange = true },
		"retention":          func(s *Service) { s.Retention = Retention{WhenScaled: Delete, WhenDeleted: Delete} },
		"nothing (control)":  func(s *Service) {},
	}
	before := fingerprint0(t, volumeService())
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := volumeService()
			mutate(&s)
			if after := fingerprint0(t, s); after != before {
				t.Fatalf("fingerprint changed from %s to %s after changing %s", before, after, name)
			}
		})
	}
}

func TestRenderTemplate(t *testing.T) {
	id := Identity{Service: "db", Name: "db-4", Ordinal: 4}
	cases := map[string]struct {
		text, want, wantErr string
	}{
		"all fields":                {text: "{{.Service}}/{{.Name}}/{{.Ordinal}}", want: "db/db-4/4"},
		"text without braces as is": {text: "/srv/{weird}/$HOME/%d", want: "/srv/{weird}/$HOME/%d"},
		"closing braces alone":      {text: "a}}b", want: "a}}b"},
		"empty":                     {text: "", want: ""},
		"builtin function":          {text: `{{printf "%03d" .Ordinal}}`, want: "004"},
		"unknown field":             {text: "/srv/{{.Ordnal}}", wantErr: `host.path: "/srv/{{.Ordnal}}" cannot be rendered: `},
		"field of a field":          {text: "{{.Service.Name}}", wantErr: "cannot be rendered"},
		"unparsable":                {text: "/srv/{{.Ordinal", wantErr: `host.path: "/srv/{{.Ordinal" is not a valid template: `},
		"unknown function":          {text: "{{env .Name}}", wantErr: "is not a valid template"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := renderTemplate("host.path", tc.text, id)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				if !strings.HasSuffix(err.Error(), "templates see {{.Service}}, {{.Name}}, {{.Ordinal}}, {{.Replicas}}, {{.Host}}, {{.Address}}, {{.Port}} and {{.Seed}}") {
					t.Errorf("err = %q does not list what templates see", err)
				}
				if got != "" {
					t.Errorf("output = %q with an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("renderTemplate(%q) = %q, %v; want %q", tc.text, got, err, tc.want)
			}
		})
	}
}

func TestRenderPath(t *testing.T) {
	id := Identity{Service: "db", Name: "db-0", Ordinal: 0}
	cases := map[string]struct {
		path, want, wantErr string
	}{
		"templated":          {path: "/srv/db/{{.Ordinal}}", want: "/srv/db/0"},
		"plain":              {path: "/srv/db/0", want: "/srv/db/0"},
		"relative":           {path: "srv/db/{{.Ordinal}}", wantErr: `host.path "srv/db/0" is not absolute; write it from the root, as /srv/db/{{.Ordinal}}`},
		"renders relative":   {path: "{{.Name}}", wantErr: `host.path "db-0" is not absolute`},
		"root":               {path: "/", wantErr: `host.path "/" must be a clean path below /`},
		"double slash":       {path: "/a//b", wantErr: `host.path "/a//b" must be a clean path`},
		"dot-dot":            {path: "/a/../b", wantErr: `host.path "/a/../b" must be a clean path`},
		"dot":                {path: "/a/./b", wantErr: "must be a clean path"},
		"trailing slash":     {path: "/srv/db/", wantErr: `host.path "/srv/db/" must be a clean path`},
		"empty":              {path: "", wantErr: `host.path "" is not absolute`},
		"template error":     {path: "/srv/{{.Ordnal}}", wantErr: "cannot be rendered"},
		"renders to unclean": {path: "/srv/{{.Service}}/", wantErr: `host.path "/srv/db/" must be a clean path`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := renderPath(tc.path, id)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("renderPath(%q) = %q, %v; want error containing %q", tc.path, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("renderPath(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
			}
		})
	}
}

func TestParseOwner(t *testing.T) {
	good := map[string]*Owner{
		"":        nil,
		"0":       {UID: 0, GID: 0},
		"999":     {UID: 999, GID: 999},
		"999:998": {UID: 999, GID: 998},
		"0:999":   {UID: 0, GID: 999},
	}
	for value, want := range good {
		t.Run(value, func(t *testing.T) {
			got, err := ParseOwner(value)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("ParseOwner(%q) = %+v, %v; want %+v", value, got, err, want)
			}
		})
	}
	for _, value := range []string{"postgres", "postgres:postgres", "999:postgres"} {
		t.Run(value, func(t *testing.T) {
			got, err := ParseOwner(value)
			want := `host.owner "` + value + `" names a user or group, resolved from the image`
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("ParseOwner(%q) = %+v, %v; want error starting %q", value, got, err, want)
			}
		})
	}
	for _, value := range []string{"1:2:3", "-1", "999:", ":999", " 999", "999:-1", "1.5", "4294967296", "a b", "post/gres"} {
		t.Run(value, func(t *testing.T) {
			got, err := ParseOwner(value)
			want := `host.owner "` + value + `" must be a user or user:group, by name or number`
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("ParseOwner(%q) = %+v, %v; want error starting %q", value, got, err, want)
			}
		})
	}
}

func TestParseOwnerRejectsIDsBeyondUint32(t *testing.T) {
	for _, value := range []string{"4294967296", "999:4294967296", "123456789012345678901234567890"} {
		if got, err := ParseOwner(value); err == nil {
			t.Errorf("ParseOwner(%q) = %+v, want an error", value, got)
		}
	}
}

func TestParseMode(t *testing.T) {
	good := map[string]uint32{"": 0o755, "0700": 0o700, "755": 0o755, "0": 0, "7777": 0o7777, "0750": 0o750, "1777": 0o1777}
	for value, want := range good {
		t.Run(value, func(t *testing.T) {
			got, err := ParseMode(value)
			if err != nil || got != want {
				t.Fatalf("ParseMode(%q) = %#o, %v; want %#o", value, got, err, want)
			}
		})
	}
	for _, value := range []string{"0999", "17777", "-1", "rwxr-x---", "0o755", "0x1ff", " 0755", "8"} {
		t.Run(value, func(t *testing.T) {
			got, err := ParseMode(value)
			want := `mode "` + value + `" is not an octal permission such as "0750"`
			if err == nil || err.Error() != want {
				t.Fatalf("ParseMode(%q) = %#o, %v; want error %q", value, got, err, want)
			}
		})
	}
}

// volumeProblems are broken volume configurations and the error each must
// yield first. repeated marks those whose problem Render reports a second
// time (see TestValidateReportsEachVolumeProblemOnce).
var volumeProblems = map[string]struct {
	volumes   []Volume
	retention Retention
	want      string
	repeated  bool
}{
	"duplicate volume names": {
		volumes: []Volume{
			{Name: "data", Target: "/a", Host: &HostVolume{Path: "/srv/a"}},
			{Name: "data", Target: "/b", Host: &HostVolume{Path: "/srv/b"}},
		},
		want: `volume[1].name: two volumes are named "data"; volume names must be unique`,
	},
	"duplicate targets": {
		volumes: []Volume{
			{Name: "a", Target: "/data", Host: &HostVolume{Path: "/srv/a"}},
			{Name: "b", Target: "/data", Host: &HostVolume{Path: "/srv/b"}},
		},
		want: `volume[1].target: volumes "a" and "b" both mount at /data; give each its own target`,
	},
	"duplicate targets, one with trailing slash": {
		volumes: []Volume{
			{Name: "a", Target: "/data", Host: &HostVolume{Path: "/srv/a"}},
			{Name: "b", Target: "/data/", Host: &HostVolume{Path: "/srv/b"}},
		},
		want: `volume[1].target: volumes "a" and "b" both mount at /data/`,
	},
	"relative target": {
		volumes: []Volume{{Name: "a", Target: "data", Host: &HostVolume{Path: "/srv/a"}}},
		want:    `volume[0].target: "data" is not an absolute path in the container`,
	},
	"two strategies": {
		volumes: []Volume{{Name: "a", Target: "/data", Host: &HostVolume{Path: "/srv/a"}, Plugin: &PluginVolume{Driver: "local"}}},
		want:    "volume[0]: give exactly one of the host, shared or plugin blocks (found 2)",
	},
	"no strategy": {
		volumes:  []Volume{{Name: "a", Target: "/data"}},
		want:     "volume[0]: give exactly one of the host, shared or plugin blocks (found 0)",
		repeated: true,
	},
	"missing host.path": {
		volumes:  []Volume{{Name: "a", Target: "/data", Host: &HostVolume{}}},
		want:     "volume[0].host.path is required",
		repeated: true,
	},
	"missing shared.type": {
		volumes: []Volume{{Name: "a", Target: "/data", Shared: &SharedVolume{Device: ":/x"}}},
		want:    "volume[0].shared.type is required",
	},
	"missing plugin.driver": {
		volumes: []Volume{{Name: "a", Target: "/data", Plugin: &PluginVolume{}}},
		want:    "volume[0].plugin.driver is required",
	},
	"per-replica host path without ordinal": {
		volumes: []Volume{{Name: "a", Target: "/data", PerReplica: true, Host: &HostVolume{Path: "/srv/db"}}},
		want:    "volume[0].host.path: replicas 0 and 1 would share /srv/db; put {{.Ordinal}} in the path, or set per_replica = false",
	},
	"per-replica host path with a template error": {
		volumes:  []Volume{{Name: "a", Target: "/data", PerReplica: true, Host: &HostVolume{Path: "/srv/{{.Ordnal}}"}}},
		want:     `volume[0].host.path: "/srv/{{.Ordnal}}" cannot be rendered`,
		repeated: true,
	},
	"per-replica host path not clean": {
		volumes:  []Volume{{Name: "a", Target: "/data", PerReplica: true, Host: &HostVolume{Path: "/srv/{{.Ordinal}}/"}}},
		want:     `volume[0].host.path "/srv/0/" must be a clean path`,
		repeated: true,
	},
	"bad host owner": {
		volumes:  []Volume{{Name: "a", Target: "/data", PerReplica: true, Host: &HostVolume{Path: "/srv/{{.Ordinal}}", Owner: "postgres:"}}},
		want:     `volume[0].host.owner "postgres:" must be a user or user:group`,
		repeated: true,
	},
	"bad host mode": {
		volumes:  []Volume{{Name: "a", Target: "/data", PerReplica: true, Host: &HostVolume{Path: "/srv/{{.Ordinal}}", Mode: "0999"}}},
		want:     `volume[0].host.mode "0999" is not an octal permission`,
		repeated: true,
	},
	"bad retention when_scaled": {
		retention: Retention{WhenScaled: "keep"},
		want:      `retention.when_scaled: "keep" must be "retain" or "delete"`,
	},
	"bad retention when_deleted": {
		retention: Retention{WhenDeleted: "purge"},
		want:      `retention.when_deleted: "purge" must be "retain" or "delete"`,
	},
	"upper-case volume name": {
		volumes: []Volume{{Name: "Data", Target: "/data", Host: &HostVolume{Path: "/srv/a"}}},
		want:    `volume[0].name: "Data" must be lower-case letters, digits, '_', '.' or '-'`,
	},
	"volume name with a space": {
		volumes: []Volume{{Name: "a b", Target: "/data", Host: &HostVolume{Path: "/srv/a"}}},
		want:    `volume[0].name: "a b" must be lower-case letters`,
	},
	"empty volume name": {
		volumes: []Volume{{Name: "", Target: "/data", Host: &HostVolume{Path: "/srv/a"}}},
		want:    `volume[0].name: "" must be lower-case letters`,
	},
}

func TestValidateRejectsBadVolumes(t *testing.T) {
	for name, tc := range volumeProblems {
		t.Run(name, func(t *testing.T) {
			s := testService()
			s.Volumes, s.Retention = tc.volumes, tc.retention
			errs := s.Validate()
			if len(errs) == 0 {
				t.Fatalf("Validate() = no errors, want %q", tc.want)
			}
			if !strings.Contains(errs[0].Error(), tc.want) {
				t.Errorf("Validate()[0] = %q, want it to contain %q", errs[0], tc.want)
			}
			if !tc.repeated && len(errs) != 1 {
				t.Errorf("Validate() = %d errors %v, want 1", len(errs), errs)
			}
		})
	}
}

func TestValidateReportsEachVolumeProblemOnce(t *testing.T) {
	for name, tc := range volumeProblems {
		if !tc.repeated {
			continue
		}
		t.Run(name, func(t *testing.T) {
			s := testService()
			s.Volumes, s.Retention = tc.volumes, tc.retention
			if errs := s.Validate(); len(errs) != 1 {
				t.Fatalf("Validate() = %d errors %v, want 1", len(errs), errs)
			}
		})
	}
}

func TestValidateAcceptsGoodVolumes(t *testing.T) {
	cases := map[string]struct {
		volumes   []Volume
		retention Retention
	}{
		"shared host path without ordinal": {volumes: []Volume{{Name: "conf", Target: "/etc/app", ReadOnly: true, Host: &HostVolume{Path: "/srv/db/conf"}}}},
		"per-replica host path by name":    {volumes: []Volume{{Name: "data", Target: "/data", PerReplica: true, Host: &HostVolume{Path: "/srv/{{.Name}}", Owner: "999:998", Mode: "0700"}}}},
		"every strategy at distinct targets": {volumes: []Volume{
			hostVolume(),
			{Name: "nfs", Target: "/data2", PerReplica: true, Shared: nfsVolume().Shared},
			{Name: "blk", Target: "/data/blk", PerReplica: false, Plugin: &PluginVolume{Driver: "local"}},
		}},
		"name with digits, dot, dash, underscore": {volumes: []Volume{{Name: "0data_v1.x-y", Target: "/data", Plugin: &PluginVolume{Driver: "local"}}}},
		"retention retain":                        {retention: Retention{WhenScaled: Retain, WhenDeleted: Retain}},
		"retention delete":                        {retention: Retention{WhenScaled: Delete, WhenDeleted: Delete}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			s.Volumes, s.Retention = tc.volumes, tc.retention
			if errs := s.Validate(); len(errs) != 0 {
				t.Fatalf("Validate() = %v, want no errors", errs)
			}
		})
	}
}

func TestValidateRejectsVolumesSharingADockerVolumeName(t *testing.T) {
	s := testService()
	s.Volumes = []Volume{
		{Name: "data", Target: "/data", PerReplica: true, Plugin: &PluginVolume{Driver: "local"}},
		{Name: "data-0", Target: "/shared", Plugin: &PluginVolume{Driver: "local"}},
	}
	errs := s.Validate()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "db-data-0") {
		t.Fatalf("Validate() = %v, want one error naming db-data-0", errs)
	}
}
