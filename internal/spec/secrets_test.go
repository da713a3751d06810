package spec

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// secretMarker is part of every secret value in these tests; it must never
// show up in anything serialised.
const secretMarker = "Zq7-SECRET-VALUE-do-not-log-91x"

var secretKeyForTests = []byte("0123456789abcdef0123456789abcdef")

// secretService is testService with three secrets at two targets: a
// write-only value at the defaults, a from_file value with owner and mode,
// and a from_env value next to the first.
func secretService() Service {
	s := testService()
	s.Secrets = []Secret{
		{Name: "password", Version: 3, Value: []byte("pw-" + secretMarker)},
		{Name: "tls.key", Target: "/etc/tls", Mode: "0440", UID: 999, GID: 998, FromFile: "/home/me/tls.key",
			Value: []byte("key-" + secretMarker), Digest: SecretDigest(secretKeyForTests, []byte("key-"+secretMarker))},
		{Name: "api", Target: "/run/secrets", Mode: "0600", FromEnv: "API_TOKEN",
			Value: []byte("api-" + secretMarker), Digest: SecretDigest(secretKeyForTests, []byte("api-"+secretMarker))},
	}
	return s
}

func TestRenderSecretFiles(t *testing.T) {
	s := secretService()
	for _, r := range mustRender(t, s) {
		want := []SecretFile{
			{Name: "password", Dir: "/run/secrets", Mode: 0o400, UID: 0, GID: 0, Token: "v3", Value: []byte("pw-" + secretMarker)},
			{Name: "tls.key", Dir: "/etc/tls", Mode: 0o440, UID: 999, GID: 998, Token: "h" + s.Secrets[1].Digest, Value: []byte("key-" + secretMarker)},
			{Name: "api", Dir: "/run/secrets", Mode: 0o600, UID: 0, GID: 0, Token: "h" + s.Secrets[2].Digest, Value: []byte("api-" + secretMarker)},
		}
		if !reflect.DeepEqual(r.Container.Secrets, want) {
			t.Errorf("%s: secrets\n%+v\nwant\n%+v", r.Name, r.Container.Secrets, want)
		}
		wantDirs := []SecretDir{
			{Source: "/dev/shm/stateful/db/" + r.Name + "/0", Target: "/etc/tls"},
			{Source: "/dev/shm/stateful/db/" + r.Name + "/1", Target: "/run/secrets"},
		}
		if !reflect.DeepEqual(r.Container.SecretDirs, wantDirs) {
			t.Errorf("%s: secret dirs %+v, want %+v", r.Name, r.Container.SecretDirs, wantDirs)
		}
	}
}

func TestRenderSecretModes(t *testing.T) {
	cases := map[string]struct {
		mode string
		want uint32
	}{
		"default":       {"", 0o400},
		"owner write":   {"0600", 0o600},
		"group read":    {"0440", 0o440},
		"without zero":  {"444", 0o444},
		"all read":      {"0444", 0o444},
		"no permission": {"0", 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			s.Secrets = []Secret{{Name: "pw", Mode: tc.mode, Version: 1}}
			if got := mustRender(t, s)[0].Container.Secrets[0].Mode; got != tc.want {
				t.Fatalf("mode %q renders as %#o, want %#o", tc.mode, got, tc.want)
			}
		})
	}
}

func TestSecretToken(t *testing.T) {
	cases := map[string]struct {
		secret Secret
		want   string
	}{
		"write-only, version 0":         {Secret{Name: "a"}, "v0"},
		"write-only, version 7":         {Secret{Name: "a", Version: 7, Value: []byte("x")}, "v7"},
		"write-only, large version":     {Secret{Name: "a", Version: 1 << 40}, "v1099511627776"},
		"write-only ignores a digest":   {Secret{Name: "a", Version: 2, Digest: "ffff"}, "v2"},
		"from_env":                      {Secret{Name: "a", FromEnv: "PW", Digest: "abc123"}, "habc123"},
		"from_file":                     {Secret{Name: "a", FromFile: "/pw", Digest: "def456"}, "hdef456"},
		"from_env ignores a version":    {Secret{Name: "a", FromEnv: "PW", Version: 9, Digest: "abc"}, "habc"},
		"from_env without a digest yet": {Secret{Name: "a", FromEnv: "PW"}, "h"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := tc.secret.token(); got != tc.want {
				t.Fatalf("token() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSecretStage(t *testing.T) {
	if SecretsRoot != "/dev/shm/stateful" {
		t.Fatalf("SecretsRoot = %q, want /dev/shm/stateful", SecretsRoot)
	}
	cases := []struct {
		service, replica string
		index            int
		want             string
	}{
		{"db", "db-0", 0, "/dev/shm/stateful/db/db-0/0"},
		{"db", "db-1", 0, "/dev/shm/stateful/db/db-1/0"},
		{"kafka", "kafka-12", 3, "/dev/shm/stateful/kafka/kafka-12/3"},
		{"a", "a-10", 10, "/dev/shm/stateful/a/a-10/10"},
	}
	for _, tc := range cases {
		if got := SecretStage(tc.service, tc.replica, tc.index); got != tc.want {
			t.Errorf("SecretStage(%q, %q, %d) = %q, want %q", tc.service, tc.replica, tc.index, got, tc.want)
		}
	}
}

func TestRenderSecretDirsOnePerDistinctTargetSorted(t *testing.T) {
	cases := map[string]struct {
		targets []string
		want    []string
	}{
		"default only":           {[]string{""}, []string{"/run/secrets"}},
		"default and explicit":   {[]string{"", "/run/secrets"}, []string{"/run/secrets"}},
		"three, one repeated":    {[]string{"/z", "/a", "/z", "/m"}, []string{"/a", "/m", "/z"}},
		"nested directories":     {[]string{"/etc/app/tls", "/etc/app"}, []string{"/etc/app", "/etc/app/tls"}},
		"default sorts by value": {[]string{"/srv", "", "/etc"}, []string{"/etc", "/run/secrets", "/srv"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			for i, target := range tc.targets {
				s.Secrets = append(s.Secrets, Secret{Name: "s" + string(rune('a'+i)), Target: target, Version: 1})
			}
			for _, r := range mustRender(t, s) {
				var got []string
				for i, d := range r.Container.SecretDirs {
					got = append(got, d.Target)
					if want := SecretStage("db", r.Name, i); d.Source != want {
						t.Errorf("%s: dir %d source %q, want %q", r.Name, i, d.Source, want)
					}
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("%s: secret dir targets %q, want %q", r.Name, got, tc.want)
				}
				for _, f := range r.Container.Secrets {
					if !slices.Contains(got, f.Dir) {
						t.Errorf("%s: secret %s in %s, which has no staging dir", r.Name, f.Name, f.Dir)
					}
				}
			}
		})
	}
}

func TestRenderGivesReplicasDistinctSecretStages(t *testing.T) {
	s := secretService()
	s.OrdinalStart = 8
	seen := map[string]string{}
	for _, r := range mustRender(t, s) {
		for _, d := range r.Container.SecretDirs {
			if !strings.HasPrefix(d.Source, SecretsRoot+"/db/"+r.Name+"/") {
				t.Errorf("%s: staging dir %s is not under %s/db/%s", r.Name, d.Source, SecretsRoot, r.Name)
			}
			if other, dup := seen[d.Source]; dup {
				t.Errorf("%s and %s share staging dir %s", other, r.Name, d.Source)
			}
			seen[d.Source] = r.Name
		}
	}
	if len(seen) != 6 {
		t.Fatalf("%d staging dirs for 3 replicas with 2 targets, want 6", len(seen))
	}
}

func TestRenderWithoutSecretsOrFiles(t *testing.T) {
	c := mustRender(t, testService())[0].Container
	if c.Secrets != nil || c.SecretDirs != nil {
		t.Errorf("secrets %+v, dirs %+v without secret blocks, want nil", c.Secrets, c.SecretDirs)
	}
	if len(c.Files) != 0 {
		t.Errorf("files %+v without file blocks, want none", c.Files)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"secrets"`, `"secret_dirs"`, `"files"`} {
		if strings.Contains(string(b), key) {
			t.Errorf("container JSON has %s without secret or file blocks, so fingerprints of existing replicas would change: %s", key, b)
		}
	}
}

func TestSecretValuesAreNeverSerialised(t *testing.T) {
	s := secretService()
	replicas := mustRender(t, s)
	for _, r := range replicas {
		if len(r.Container.Secrets) != 3 || !strings.Contains(string(r.Container.Secrets[0].Value), secretMarker) {
			t.Fatalf("%s: rendered secrets %+v lost their values; the Docker layer needs them", r.Name, r.Container.Secrets)
		}
		b, err := json.Marshal(r.Container) // the fingerprint's input, plus two labels
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), secretMarker) {
			t.Errorf("%s: container JSON holds a secret value: %s", r.Name, b)
		}
		for k, l := range r.Container.Labels {
			if strings.Contains(l, secretMarker) {
				t.Errorf("%s: label %s holds a secret value", r.Name, k)
			}
		}
		for i, sec := range s.Secrets {
			if sec.Digest != "" && strings.Contains(r.Container.Labels[LabelSpec], sec.Digest) {
				t.Errorf("%s: spec label holds the digest of secret[%d]", r.Name, i)
			}
		}
	}
	parsed, err := ParseSpecLabel(replicas[0].Container.Labels[LabelSpec])
	if err != nil {
		t.Fatal(err)
	}
	want := []Secret{
		{Name: "password", Version: 3},
		{Name: "tls.key", Target: "/etc/tls", Mode: "0440", UID: 999, GID: 998, FromFile: "/home/me/tls.key"},
		{Name: "api", Target: "/run/secrets", Mode: "0600", FromEnv: "API_TOKEN"},
	}
	if !reflect.DeepEqual(parsed.Secrets, want) {
		t.Errorf("spec label decodes secrets to\n%+v\nwant (no values, no digests)\n%+v", parsed.Secrets, want)
	}
	for i, f := range replicas[0].Container.Secrets {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "value") || strings.Contains(string(b), secretMarker) {
			t.Errorf("secret file %d marshals with its value: %s", i, b)
		}
	}
}

func TestFingerprintIgnoresSecretValues(t *testing.T) {
	cases := map[string]func(s *Service){
		"write-only value":                  func(s *Service) { s.Secrets[0].Value = []byte("rotated") },
		"write-only value removed":          func(s *Service) { s.Secrets[0].Value = nil },
		"from_file value, same digest":      func(s *Service) { s.Secrets[1].Value = []byte("other") },
		"from_env value, same digest":       func(s *Service) { s.Secrets[2].Value = []byte("other") },
		"from_env variable, same digest":    func(s *Service) { s.Secrets[2].FromEnv = "OTHER_TOKEN" },
		"from_file path, same digest":       func(s *Service) { s.Secrets[1].FromFile = "/elsewhere/tls.key" },
		"from_file version (unused)":        func(s *Service) { s.Secrets[1].Version = 5 },
		"write-only digest (unused)":        func(s *Service) { s.Secrets[0].Digest = "abc" },
		"default target written explicitly": func(s *Service) { s.Secrets[0].Target = DefaultSecretTarget },
		"default mode written explicitly":   func(s *Service) { s.Secrets[0].Mode = DefaultSecretMode },
		"default file mode written":         func(s *Service) { s.Files[0].Mode = DefaultFileMode },
		"nothing (control)":                 func(s *Service) {},
	}
	base := func() Service {
		s := secretService()
		s.Files = []ConfigFile{{Target: "/etc/app.conf", Content: "x"}}
		return s
	}
	before := mustRender(t, base())
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := base()
			mutate(&s)
			for i, r := range mustRender(t, s) {
				if r.Fingerprint != before[i].Fingerprint {
					t.Errorf("%s: fingerprint changed from %s to %s after changing %s", r.Name, before[i].Fingerprint, r.Fingerprint, name)
				}
			}
		})
	}
}

func TestFingerprintChangesWithSecretsAndFiles(t *testing.T) {
	cases := map[string]func(s *Service){
		"write-only version":  func(s *Service) { s.Secrets[0].Version = 4 },
		"from_file digest":    func(s *Service) { s.Secrets[1].Digest = SecretDigest(secretKeyForTests, []byte("new key")) },
		"from_env digest":     func(s *Service) { s.Secrets[2].Digest = SecretDigest(secretKeyForTests, []byte("new token")) },
		"digest key":          func(s *Service) { s.Secrets[2].Digest = SecretDigest([]byte("other key"), s.Secrets[2].Value) },
		"write-only→from_env": func(s *Service) { s.Secrets[0].FromEnv = "PW" },
		"secret name":         func(s *Service) { s.Secrets[0].Name = "pass" },
		"secret target":       func(s *Service) { s.Secrets[0].Target = "/run/other" },
		"secret mode":         func(s *Service) { s.Secrets[0].Mode = "0440" },
		"secret uid":          func(s *Service) { s.Secrets[1].UID = 1000 },
		"secret gid":          func(s *Service) { s.Secrets[1].GID = 1000 },
		"secret added":        func(s *Service) { s.Secrets = append(s.Secrets, Secret{Name: "extra", Version: 1}) },
		"secret removed":      func(s *Service) { s.Secrets = s.Secrets[:2] },
		"secrets reordered":   func(s *Service) { s.Secrets[0], s.Secrets[2] = s.Secrets[2], s.Secrets[0] },
		"all secrets removed": func(s *Service) { s.Secrets = nil },
		"file content":        func(s *Service) { s.Files[0].Content = "y" },
		"file content template": func(s *Service) {
			s.Files[0].Content = "{{.Name}}"
		},
		"file mode":    func(s *Service) { s.Files[0].Mode = "0600" },
		"file target":  func(s *Service) { s.Files[0].Target = "/etc/other.conf" },
		"file added":   func(s *Service) { s.Files = append(s.Files, ConfigFile{Target: "/etc/b", Content: "b"}) },
		"file removed": func(s *Service) { s.Files = nil },
	}
	base := func() Service {
		s := secretService()
		s.Files = []ConfigFile{{Target: "/etc/app.conf", Content: "x"}}
		return s
	}
	before := fingerprint0(t, base())
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := base()
			mutate(&s)
			if after := fingerprint0(t, s); after == before {
				t.Fatalf("fingerprint stayed %s after changing %s", before, name)
			}
		})
	}
}

// plainDigest is what SecretDigest must never be: a plain hash of the value.
func plainDigest(value []byte) string {
	sum := sha256.Sum256(value)
	return hex.EncodeToString(sum[:16])
}

func TestSecretDigestIsATruncatedHMAC(t *testing.T) {
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	cases := map[string]struct{ key, value []byte }{
		"typical":     {secretKeyForTests, []byte("hunter2")},
		"empty value": {secretKeyForTests, []byte{}},
		"nil value":   {secretKeyForTests, nil},
		"empty key":   {nil, []byte("hunter2")},
		"binary":      {[]byte{0, 1, 2}, []byte{0xff, 0, 0x80, '\n'}},
		"long key":    {[]byte(strings.Repeat("k", 200)), []byte("v")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			mac := hmac.New(sha256.New, tc.key)
			mac.Write(tc.value)
			want := hex.EncodeToString(mac.Sum(nil)[:16])
			got := SecretDigest(tc.key, tc.value)
			if got != want {
				t.Fatalf("SecretDigest = %s, want HMAC-SHA256 prefix %s", got, want)
			}
			if !hex32.MatchString(got) {
				t.Errorf("SecretDigest = %q, want 32 lower-case hex digits", got)
			}
			if again := SecretDigest(tc.key, tc.value); again != got {
				t.Errorf("SecretDigest not deterministic: %s then %s", got, again)
			}
			if got == plainDigest(tc.value) {
				t.Errorf("SecretDigest = sha256(value) prefix %s: a plain hash of the secret", got)
			}
			if got == plainDigest(append(append([]byte{}, tc.key...), tc.value...)) {
				t.Errorf("SecretDigest = sha256(key||value) prefix %s, not an HMAC", got)
			}
		})
	}
}

func TestSecretDigestDiffersByKeyAndValue(t *testing.T) {
	inputs := []struct{ key, value string }{
		{"key-a", "hunter2"},
		{"key-b", "hunter2"},
		{"key-a", "hunter3"},
		{"key-b", "hunter3"},
		{"key-a", ""},
		{"", "hunter2"},
		{"key-ahunter2", ""}, // concatenation alone would collide with the first
	}
	seen := map[string]int{}
	for i, in := range inputs {
		d := SecretDigest([]byte(in.key), []byte(in.value))
		if j, dup := seen[d]; dup {
			t.Errorf("inputs %d %+v and %d %+v share digest %s", j, inputs[j], i, in, d)
		}
		seen[d] = i
	}
}

func TestPlanTimeSecrets(t *testing.T) {
	cases := map[string]struct {
		secrets []Secret
		want    bool
	}{
		"no secrets":        {nil, false},
		"write-only only":   {[]Secret{{Name: "a", Version: 1}, {Name: "b", Version: 2}}, false},
		"from_env":          {[]Secret{{Name: "a", FromEnv: "A"}}, true},
		"from_file":         {[]Secret{{Name: "a", FromFile: "/a"}}, true},
		"write-only first":  {[]Secret{{Name: "a", Version: 1}, {Name: "b", FromFile: "/b"}}, true},
		"from_env first":    {[]Secret{{Name: "a", FromEnv: "A"}, {Name: "b", Version: 1}}, true},
		"digest set alone":  {[]Secret{{Name: "a", Digest: "abc"}}, false},
		"value set alone":   {[]Secret{{Name: "a", Value: []byte("x")}}, false},
		"empty secret list": {[]Secret{}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			s.Secrets = tc.secrets
			if got := s.PlanTimeSecrets(); got != tc.want {
				t.Fatalf("PlanTimeSecrets() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRenderTemplatesEnvPerReplica(t *testing.T) {
	s := testService()
	s.OrdinalStart, s.Replicas = 5, 3
	s.Env = map[string]string{
		"ME":    "{{.Name}}",
		"ORD":   "{{.Ordinal}}",
		"N":     "{{.Replicas}}",
		"SVC":   "{{.Service}}",
		"PEERS": "{{.Service}}-0.{{.Service}}:{{.Replicas}}",
		"LIT":   `{{"{{"}}.Name}}`,
		"PLAIN": "${HOME} }}",
		"EMPTY": "",
	}
	want := map[string][]string{
		"db-5": {"EMPTY=", "LIT={{.Name}}", "ME=db-5", "N=3", "ORD=5", "PEERS=db-0.db:3", "PLAIN=${HOME} }}", "SVC=db"},
		"db-6": {"EMPTY=", "LIT={{.Name}}", "ME=db-6", "N=3", "ORD=6", "PEERS=db-0.db:3", "PLAIN=${HOME} }}", "SVC=db"},
		"db-7": {"EMPTY=", "LIT={{.Name}}", "ME=db-7", "N=3", "ORD=7", "PEERS=db-0.db:3", "PLAIN=${HOME} }}", "SVC=db"},
	}
	replicas := mustRender(t, s)
	if len(replicas) != 3 {
		t.Fatalf("rendered %d replicas, want 3", len(replicas))
	}
	for _, r := range replicas {
		if !reflect.DeepEqual(r.Container.Env, want[r.Name]) {
			t.Errorf("%s: env\n%q\nwant\n%q", r.Name, r.Container.Env, want[r.Name])
		}
	}
	if s.Env["ME"] != "{{.Name}}" {
		t.Errorf("Render modified the service's env: %v", s.Env)
	}
}

func TestRenderRejectsBadTemplates(t *testing.T) {
	cases := map[string]struct {
		mutate func(s *Service)
		want   string
	}{
		"env unknown field": {func(s *Service) { s.Env["BAD"] = "{{.Nope}}" },
			`env.BAD: "{{.Nope}}" cannot be rendered: `},
		"env unparsable": {func(s *Service) { s.Env["BAD"] = "{{.Name" },
			`env.BAD: "{{.Name" is not a valid template: `},
		"env unknown function": {func(s *Service) { s.Env["HOME_DIR"] = "{{env `HOME`}}" },
			"env.HOME_DIR: \"{{env `HOME`}}\" is not a valid template: "},
		"file unknown field": {func(s *Service) { s.Files = []ConfigFile{{Target: "/etc/app.conf", Content: "id={{.Id}}"}} },
			`file /etc/app.conf: file.content: "id={{.Id}}" cannot be rendered: `},
		"file unparsable": {func(s *Service) { s.Files = []ConfigFile{{Target: "/etc/app.conf", Content: "{{if}}"}} },
			`file /etc/app.conf: file.content: "{{if}}" is not a valid template: `},
		"second file": {func(s *Service) {
			s.Files = []ConfigFile{{Target: "/etc/a", Content: "{{.Name}}"}, {Target: "/etc/b", Content: "{{.Name.X}}"}}
		}, `file /etc/b: file.content: "{{.Name.X}}" cannot be rendered: `},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			tc.mutate(&s)
			_, err := s.Render()
			if err == nil {
				t.Fatal("Render succeeded")
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q does not start with %q", err, tc.want)
			}
			if !strings.HasSuffix(err.Error(), "templates see {{.Service}}, {{.Name}}, {{.Ordinal}}, {{.Replicas}}, {{.Host}}, {{.Address}}, {{.Port}} and {{.Seed}}") {
				t.Errorf("error %q does not list what templates see", err)
			}
		})
	}
}

func TestRenderRejectsBadSecretAndFileModes(t *testing.T) {
	cases := map[string]struct {
		mutate func(s *Service)
		want   string
	}{
		"secret mode not octal": {func(s *Service) { s.Secrets = []Secret{{Name: "pw", Mode: "0999"}} },
			`secret "pw": mode "0999" is not an octal permission such as "0750"`},
		"secret mode too large": {func(s *Service) { s.Secrets = []Secret{{Name: "pw", Mode: "17777"}} },
			`secret "pw": mode "17777" is not an octal permission such as "0750"`},
		"file mode symbolic": {func(s *Service) { s.Files = []ConfigFile{{Target: "/etc/x", Mode: "rw-r--r--"}} },
			`file /etc/x: mode "rw-r--r--" is not an octal permission such as "0750"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			tc.mutate(&s)
			_, err := s.Render()
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Render() error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRenderConfigFilesPerReplica(t *testing.T) {
	s := testService()
	s.OrdinalStart, s.Replicas = 1, 2
	s.Files = []ConfigFile{
		{Target: "/etc/app/app.conf", Content: "name={{.Name}} ordinal={{.Ordinal}} of {{.Replicas}} in {{.Service}}\n"},
		{Target: "/etc/app/plain.txt", Content: `literal {{"{{"}}.Name}} and $HOME`, Mode: "0600"},
		{Target: "/usr/local/bin/start.sh", Content: "#!/bin/sh\nexec app\n", Mode: "0755"},
		{Target: "/etc/app/empty", Content: ""},
	}
	for _, r := range mustRender(t, s) {
		want := []File{
			{Path: "/etc/app/app.conf", Content: "name=" + r.Name + " ordinal=" + r.Name[len("db-"):] + " of 2 in db\n", Mode: 0o644},
			{Path: "/etc/app/plain.txt", Content: "literal {{.Name}} and $HOME", Mode: 0o600},
			{Path: "/usr/local/bin/start.sh", Content: "#!/bin/sh\nexec app\n", Mode: 0o755},
			{Path: "/etc/app/empty", Content: "", Mode: 0o644},
		}
		if !reflect.DeepEqual(r.Container.Files, want) {
			t.Errorf("%s: files\n%+v\nwant\n%+v", r.Name, r.Container.Files, want)
		}
	}
	if s.Files[0].Content[:9] != "name={{.N" {
		t.Errorf("Render modified the service's files: %+v", s.Files)
	}
}

func TestValidateAcceptsGoodSecretsAndFiles(t *testing.T) {
	cases := map[string]struct {
		secrets []Secret
		files   []ConfigFile
	}{
		"same name, different targets": {secrets: []Secret{{Name: "pw", Version: 1}, {Name: "pw", Target: "/etc/app", Version: 1}}},
		"defaults":                     {secrets: []Secret{{Name: "pw"}}},
		"dotted names":                 {secrets: []Secret{{Name: ".env"}, {Name: "..hidden"}, {Name: "tls.key"}}},
		"owner and mode":               {secrets: []Secret{{Name: "pw", Mode: "0440", UID: 999, GID: 999, FromEnv: "PW", Digest: "ab"}}},
		"file next to a secret dir":    {secrets: []Secret{{Name: "pw"}}, files: []ConfigFile{{Target: "/run/secrets.conf", Content: "x"}}},
		"file with the secret's name":  {secrets: []Secret{{Name: "app.conf"}}, files: []ConfigFile{{Target: "/etc/app.conf", Content: "x"}}},
		"files with modes":             {files: []ConfigFile{{Target: "/etc/a", Mode: "0600"}, {Target: "/etc/b", Mode: "755"}, {Target: "/etc/c"}}},
		"file templated":               {files: []ConfigFile{{Target: "/etc/a", Content: "{{.Name}}/{{.Ordinal}}/{{.Replicas}}/{{.Service}}"}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			s.Secrets, s.Files = tc.secrets, tc.files
			if errs := s.Validate(); len(errs) != 0 {
				t.Fatalf("Validate() = %v, want no errors", errs)
			}
		})
	}
}

// secretAndFileProblems are broken secret and file blocks and the errors
// each must yield, in order.
var secretAndFileProblems = map[string]struct {
	secrets []Secret
	files   []ConfigFile
	want    []string
}{
	"two secrets, same name, default target": {
		secrets: []Secret{{Name: "pw"}, {Name: "pw"}},
		want:    []string{"secret[0] (pw) and secret[1] (pw) both write /run/secrets/pw; give each its own path"},
	},
	"two secrets, same name, default and explicit target": {
		secrets: []Secret{{Name: "pw"}, {Name: "ok", Target: "/etc"}, {Name: "pw", Target: "/run/secrets"}},
		want:    []string{"secret[0] (pw) and secret[2] (pw) both write /run/secrets/pw; give each its own path"},
	},
	"secret and file on one path": {
		secrets: []Secret{{Name: "app.conf", Target: "/etc/app"}},
		files:   []ConfigFile{{Target: "/etc/app/app.conf", Content: "x"}},
		want:    []string{"secret[0] (app.conf) and file[0] both write /etc/app/app.conf; give each its own path"},
	},
	"file on a secret's default path": {
		secrets: []Secret{{Name: "pw"}},
		files:   []ConfigFile{{Target: "/etc/a"}, {Target: "/run/secrets/pw"}},
		want:    []string{"secret[0] (pw) and file[1] both write /run/secrets/pw"},
	},
	"two files on one path": {
		files: []ConfigFile{{Target: "/etc/a", Content: "1"}, {Target: "/etc/a", Content: "2"}},
		want:  []string{"file[0] and file[1] both write /etc/a; give each its own path"},
	},
	"secret name with a slash": {
		secrets: []Secret{{Name: "ok"}, {Name: "tls/key"}},
		want:    []string{`secret[1].name: "tls/key" must be a plain file name (no '/')`},
	},
	"secret name dot": {
		secrets: []Secret{{Name: "."}},
		want:    []string{`secret[0].name: "." must be a plain file name`},
	},
	"secret name dot dot": {
		secrets: []Secret{{Name: ".."}},
		want:    []string{`secret[0].name: ".." must be a plain file name`},
	},
	"secret name empty": {
		secrets: []Secret{{Name: ""}},
		want:    []string{`secret[0].name: "" must be a plain file name`},
	},
	"secret name with NUL": {
		secrets: []Secret{{Name: "a\x00b"}},
		want:    []string{`secret[0].name: "a\x00b" must be a plain file name`},
	},
	"relative secret target": {
		secrets: []Secret{{Name: "pw", Target: "run/secrets"}},
		want:    []string{`secret[0].target: "run/secrets" must be a clean absolute directory below /, such as /run/secrets`},
	},
	"secret target with trailing slash": {
		secrets: []Secret{{Name: "pw", Target: "/run/secrets/"}},
		want:    []string{`secret[0].target: "/run/secrets/" must be a clean absolute directory`},
	},
	"secret target with dot dot": {
		secrets: []Secret{{Name: "pw", Target: "/run/../secrets"}},
		want:    []string{`secret[0].target: "/run/../secrets" must be a clean absolute directory`},
	},
	"secret target with double slash": {
		secrets: []Secret{{Name: "ok"}, {Name: "pw", Target: "/run//secrets"}},
		want:    []string{`secret[1].target: "/run//secrets" must be a clean absolute directory`},
	},
	"secret target root": {
		secrets: []Secret{{Name: "pw", Target: "/"}},
		want:    []string{`secret[0].target: "/" must be a clean absolute directory below /`},
	},
	"relative file target": {
		files: []ConfigFile{{Target: "etc/app.conf"}},
		want:  []string{`file[0].target: "etc/app.conf" must be a clean absolute file path`},
	},
	"file target with trailing slash": {
		files: []ConfigFile{{Target: "/etc/a"}, {Target: "/etc/app/"}},
		want:  []string{`file[1].target: "/etc/app/" must be a clean absolute file path`},
	},
	"file target root": {
		files: []ConfigFile{{Target: "/"}},
		want:  []string{`file[0].target: "/" must be a clean absolute file path`},
	},
	"file target empty": {
		files: []ConfigFile{{Target: ""}},
		want:  []string{`file[0].target: "" must be a clean absolute file path`},
	},
	"several problems at once": {
		secrets: []Secret{{Name: "a/b"}, {Name: "pw", Target: "rel"}, {Name: "pw"}, {Name: "pw"}},
		files:   []ConfigFile{{Target: "rel"}, {Target: "/run/secrets/pw"}},
		want: []string{
			`secret[0].name: "a/b"`,
			`secret[1].target: "rel"`,
			"secret[2] (pw) and secret[3] (pw) both write /run/secrets/pw",
			`file[0].target: "rel"`,
			"secret[3] (pw) and file[1] both write /run/secrets/pw",
		},
	},
}

func TestValidateRejectsBadSecretsAndFiles(t *testing.T) {
	for name, tc := range secretAndFileProblems {
		t.Run(name, func(t *testing.T) {
			s := testService()
			s.Secrets, s.Files = tc.secrets, tc.files
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

// badModes are secret and file blocks with a mode ParseMode rejects.
var badModes = map[string]struct {
	secrets []Secret
	files   []ConfigFile
	want    string
}{
	"secret mode not octal": {
		secrets: []Secret{{Name: "pw", Mode: "0999"}},
		want:    `secret[0].mode "0999" is not an octal permission such as "0750"`,
	},
	"secret mode symbolic, second block": {
		secrets: []Secret{{Name: "ok"}, {Name: "pw", Mode: "r--"}},
		want:    `secret[1].mode "r--" is not an octal permission such as "0750"`,
	},
	"secret mode too large": {
		secrets: []Secret{{Name: "pw", Mode: "10000"}},
		want:    `secret[0].mode "10000" is not an octal permission`,
	},
	"file mode not octal": {
		files: []ConfigFile{{Target: "/etc/a", Mode: "0888"}},
		want:  `file[0].mode "0888" is not an octal permission such as "0750"`,
	},
	"file mode symbolic, second block": {
		files: []ConfigFile{{Target: "/etc/a"}, {Target: "/etc/b", Mode: "u+rw"}},
		want:  `file[1].mode "u+rw" is not an octal permission`,
	},
}

func TestValidateRejectsBadSecretAndFileModes(t *testing.T) {
	for name, tc := range badModes {
		t.Run(name, func(t *testing.T) {
			s := testService()
			s.Secrets, s.Files = tc.secrets, tc.files
			errs := s.Validate()
			if len(errs) == 0 {
				t.Fatalf("Validate() = no errors, want %q", tc.want)
			}
			if !strings.HasPrefix(errs[0].Error(), tc.want) {
				t.Errorf("Validate()[0] = %q, want it to start with %q", errs[0], tc.want)
			}
		})
	}
}

func TestValidateReportsEachBadModeOnce(t *testing.T) {
	for name, tc := range badModes {
		t.Run(name, func(t *testing.T) {
			s := testService()
			s.Secrets, s.Files = tc.secrets, tc.files
			if errs := s.Validate(); len(errs) != 1 {
				t.Fatalf("Validate() = %d errors %v, want 1", len(errs), errs)
			}
		})
	}
}

// TestValidateRejectsPathsHiddenByMounts covers paths that Validate
// accepts although Docker cannot honour them at apply.
func TestValidateRejectsPathsHiddenByMounts(t *testing.T) {
	cases := map[string]struct {
		secrets []Secret
		files   []ConfigFile
		volumes []Volume
		want    string
	}{
		"config file inside a secrets directory": {
			secrets: []Secret{{Name: "pw"}},
			files:   []ConfigFile{{Target: "/run/secrets/app.conf"}},
			want:    "file[0]",
		},
		"config file at a secrets directory": {
			secrets: []Secret{{Name: "pw", Target: "/etc/app"}},
			files:   []ConfigFile{{Target: "/etc/app"}},
			want:    "file[0]",
		},
		"secrets directory at a volume target": {
			secrets: []Secret{{Name: "pw", Target: "/data"}},
			volumes: []Volume{{Name: "data", Target: "/data", PerReplica: true, Plugin: &PluginVolume{Driver: "local"}}},
			want:    "secret[0]",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := testService()
			s.Secrets, s.Files, s.Volumes = tc.secrets, tc.files, tc.volumes
			errs := s.Validate()
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
				t.Fatalf("Validate() = %v, want one error naming %s", errs, tc.want)
			}
		})
	}
}
