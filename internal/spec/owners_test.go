package spec

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const testPasswd = `root:x:0:0:root:/root:/bin/bash
# a comment

postgres:x:102:105:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash
+nis
broken:x:abc:1::/:/bin/false
short:x:7
postgres:x:999:999:a second entry is ignored:/:/bin/false
svc$:x:1000:1001::/:/bin/false
`

const testGroup = `root:x:0:
ssl-cert:x:104:postgres
postgres:x:105:
dbgroup:x:4322:
bad:x:notanumber:
`

func TestParseAccounts(t *testing.T) {
	a := ParseAccounts([]byte(testPasswd), []byte(testGroup))
	wantUsers := map[string]Account{"root": {0, 0}, "postgres": {102, 105}, "svc$": {1000, 1001}}
	wantGroups := map[string]int{"root": 0, "ssl-cert": 104, "postgres": 105, "dbgroup": 4322}
	if !reflect.DeepEqual(a.Users, wantUsers) || !reflect.DeepEqual(a.Groups, wantGroups) || !a.HasPasswd || !a.HasGroup {
		t.Fatalf("ParseAccounts = %+v; want users %v, groups %v", a, wantUsers, wantGroups)
	}
	if none := ParseAccounts(nil, nil); none.HasPasswd || none.HasGroup || len(none.Users) != 0 {
		t.Fatalf("ParseAccounts(nil, nil) = %+v; want no files", none)
	}
}

func TestParseOwnerRef(t *testing.T) {
	good := map[string]OwnerRef{
		"":                  {},
		"postgres":          {User: "postgres"},
		"postgres:postgres": {User: "postgres", Group: "postgres"},
		"999":               {User: "999"},
		"999:dbgroup":       {User: "999", Group: "dbgroup"},
		"Admin.User_1-x$":   {User: "Admin.User_1-x$"},
		"_apt:0":            {User: "_apt", Group: "0"},
	}
	for value, want := range good {
		got, err := ParseOwnerRef(value)
		if err != nil || got != want {
			t.Errorf("ParseOwnerRef(%q) = %+v, %v; want %+v", value, got, err, want)
		}
	}
	for _, value := range []string{":", "a:", ":a", "a:b:c", "1a", "-x", "a b", "a/b", "x$y", "4294967296", strings.Repeat("a", 34)} {
		if got, err := ParseOwnerRef(value); err == nil || !strings.Contains(err.Error(), "must be a user or user:group, by name or number") {
			t.Errorf("ParseOwnerRef(%q) = %+v, %v; want a syntax error", value, got, err)
		}
	}
}

func TestOwnerRefNumericAndNamed(t *testing.T) {
	cases := map[string]struct {
		numeric *Owner
		named   bool
	}{
		"":            {nil, false},
		"999":         {&Owner{999, 999}, false},
		"999:5":       {&Owner{999, 5}, false},
		"postgres":    {nil, true},
		"999:dbgroup": {nil, true},
		"dbuser:5":    {nil, true},
	}
	for value, tc := range cases {
		ref, err := ParseOwnerRef(value)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := ref.Numeric()
		if !reflect.DeepEqual(got, tc.numeric) || ok != (tc.numeric != nil) || ref.Named() != tc.named || IsNamedOwner(value) != tc.named {
			t.Errorf("%q: Numeric() = %+v, %v, Named() = %v; want %+v, named %v", value, got, ok, ref.Named(), tc.numeric, tc.named)
		}
	}
}

func TestAccountsResolve(t *testing.T) {
	a := ParseAccounts([]byte(testPasswd), []byte(testGroup))
	good := map[string]Owner{
		"postgres":         {102, 105}, // the user's primary group
		"postgres:dbgroup": {102, 4322},
		"postgres:7":       {102, 7},
		"999":              {999, 999},
		"999:dbgroup":      {999, 4322},
		"root:root":        {0, 0},
	}
	for value, want := range good {
		if got, err := a.Resolve(value); err != nil || got != want {
			t.Errorf("Resolve(%q) = %+v, %v; want %+v", value, got, err, want)
		}
	}
	bad := map[string]string{
		"nobodyhere":         `user "nobodyhere" is not in the image's /etc/passwd`,
		"postgres:nogroup":   `group "nogroup" is not in the image's /etc/group`,
		"1:nogroup":          `group "nogroup" is not in the image's /etc/group`,
		"postgres:postgres:": "must be a user or user:group",
	}
	for value, want := range bad {
		if got, err := a.Resolve(value); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Resolve(%q) = %+v, %v; want error containing %q", value, got, err, want)
		}
	}
	scratch := ParseAccounts(nil, nil)
	if got, err := scratch.Resolve("999:999"); err != nil || got != (Owner{999, 999}) {
		t.Errorf("numbers need no files: Resolve = %+v, %v", got, err)
	}
	if _, err := scratch.Resolve("postgres"); err == nil || !strings.Contains(err.Error(), "the image has no /etc/passwd") {
		t.Errorf("Resolve without /etc/passwd: %v", err)
	}
	if _, err := scratch.Resolve("0:postgres"); err == nil || !strings.Contains(err.Error(), "the image has no /etc/group") {
		t.Errorf("Resolve without /etc/group: %v", err)
	}
}

func ownerService() Service {
	return Service{
		Name: "db", Image: "postgres:17", Replicas: 1, Restart: DefaultRestart, StopGracePeriod: DefaultStopGracePeriod, PullPolicy: PullMissing,
		Volumes: []Volume{{Name: "data", Target: "/data", PerReplica: true, Host: &HostVolume{Path: "/srv/db/{{.Ordinal}}"}}},
		Secrets: []Secret{{Name: "pw", Version: 1}},
		Files:   []ConfigFile{{Target: "/etc/app.conf", Content: "x"}},
	}
}

func TestNamedOwnersAreListedAndRenderedAsWritten(t *testing.T) {
	s := ownerService()
	s.Volumes[0].Host.Owner = "postgres:postgres"
	s.Secrets[0].Owner = "postgres"
	s.Files[0].Owner = "999:dbgroup"
	want := []OwnerUse{
		{"volume[0].host.owner", "postgres:postgres"},
		{"secret[0].owner", "postgres"},
		{"file[0].owner", "999:dbgroup"},
	}
	if got := s.NamedOwners(); !reflect.DeepEqual(got, want) {
		t.Fatalf("NamedOwners = %+v; want %+v", got, want)
	}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	replicas, err := s.Render()
	if err != nil {
		t.Fatal(err)
	}
	c := replicas[0].Container
	if m := c.Mounts[0]; m.Owner != nil || m.OwnerName != "postgres:postgres" {
		t.Errorf("mount owner = %+v, %q; want unresolved postgres:postgres", m.Owner, m.OwnerName)
	}
	if f := c.Secrets[0]; f.UID != 0 || f.GID != 0 || f.Owner != "postgres" {
		t.Errorf("secret = %+v; want owner postgres, unresolved", f)
	}
	if f := c.Files[0]; f.UID != 0 || f.GID != 0 || f.Owner != "999:dbgroup" {
		t.Errorf("file = %+v; want owner 999:dbgroup, unresolved", f)
	}
}

func TestNumericOwnersRenderAsIDs(t *testing.T) {
	s := ownerService()
	s.Volumes[0].Host.Owner = "999:998"
	s.Secrets[0].Owner = "999"
	s.Files[0].Owner = "5:6"
	if got := s.NamedOwners(); len(got) != 0 {
		t.Fatalf("NamedOwners = %+v; want none", got)
	}
	replicas, err := s.Render()
	if err != nil {
		t.Fatal(err)
	}
	c := replicas[0].Container
	if m := c.Mounts[0]; !reflect.DeepEqual(m.Owner, &Owner{999, 998}) || m.OwnerName != "" {
		t.Errorf("mount owner = %+v, %q", m.Owner, m.OwnerName)
	}
	if f := c.Secrets[0]; f.UID != 999 || f.GID != 999 || f.Owner != "" {
		t.Errorf("secret = %+v", f)
	}
	if f := c.Files[0]; f.UID != 5 || f.GID != 6 || f.Owner != "" {
		t.Errorf("file = %+v", f)
	}
}

// A secret's owner "999" is its uid and gid 999: the same replica.
func TestSecretOwnerInNumbersFingerprintsAsUIDAndGID(t *testing.T) {
	withOwner, withIDs := ownerService(), ownerService()
	withOwner.Secrets[0].Owner = "999"
	withIDs.Secrets[0].UID, withIDs.Secrets[0].GID = 999, 999
	a, errA := withOwner.Render()
	b, errB := withIDs.Render()
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if a[0].Fingerprint != b[0].Fingerprint {
		t.Fatalf("fingerprints differ: %s, %s", a[0].Fingerprint, b[0].Fingerprint)
	}
}

// Services without owners render as before owners could be names: their
// replicas keep their fingerprints.
func TestUnsetOwnersKeepTheRenderedJSON(t *testing.T) {
	replicas, err := ownerService().Render()
	if err != nil {
		t.Fatal(err)
	}
	c := replicas[0].Container
	for _, s := range []string{c.Labels[LabelSpec], mustJSON(t, c.Files), mustJSON(t, c.Secrets)} {
		if strings.Contains(s, "owner") || strings.Contains(s, `"uid":0,"gid":0,"owner"`) {
			t.Errorf("rendered %s mentions an owner", s)
		}
	}
	if got := mustJSON(t, c.Files); got != `[{"path":"/etc/app.conf","content":"x","mode":420}]` {
		t.Errorf("files render as %s", got)
	}
}

func TestValidateChecksOwners(t *testing.T) {
	cases := map[string]struct {
		change func(*Service)
		want   string
	}{
		"secret owner syntax": {func(s *Service) { s.Secrets[0].Owner = "a:b:c" }, `secret[0].owner "a:b:c" must be a user or user:group`},
		"file owner syntax":   {func(s *Service) { s.Files[0].Owner = ":5" }, `file[0].owner ":5" must be a user or user:group`},
		"host owner syntax":   {func(s *Service) { s.Volumes[0].Host.Owner = "a b" }, `volume[0].host.owner "a b" must be a user or user:group`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := ownerService()
			tc.change(&s)
			errs := s.Validate()
			if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tc.want) {
				t.Fatalf("Validate() = %v; want one error starting %q", errs, tc.want)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
