package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type fixture struct {
	t    *testing.T
	root string
	srv  *httptest.Server
	logs *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	logs := &bytes.Buffer{}
	p, err := NewPlugin(root, logs)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	return &fixture{t: t, root: root, srv: srv, logs: logs}
}

// call POSTs body to method and decodes the JSON response into a generic map.
func (f *fixture) call(method string, body any) (int, map[string]any) {
	f.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		f.t.Fatal(err)
	}
	resp, err := http.Post(f.srv.URL+"/"+method, "application/vnd.docker.plugins.v1+json", bytes.NewReader(b))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != contentType {
		f.t.Errorf("%s: Content-Type = %q", method, ct)
	}
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		f.t.Fatalf("%s: bad JSON %q: %v", method, raw, err)
	}
	return resp.StatusCode, out
}

// ok calls method and fails the test unless it succeeded with an empty Err.
func (f *fixture) ok(method string, body any) map[string]any {
	f.t.Helper()
	code, out := f.call(method, body)
	if code != http.StatusOK || (out["Err"] != nil && out["Err"] != "") {
		f.t.Fatalf("%s(%v): status %d, response %v", method, body, code, out)
	}
	return out
}

// fails calls method and checks it returned {"Err": ...} containing want.
func (f *fixture) fails(method string, body any, want string) {
	f.t.Helper()
	code, out := f.call(method, body)
	msg, _ := out["Err"].(string)
	if code != http.StatusInternalServerError || !strings.Contains(msg, want) {
		f.t.Fatalf("%s(%v): status %d, response %v; want error containing %q", method, body, code, out, want)
	}
}

func (f *fixture) create(name string, opts map[string]string) {
	f.t.Helper()
	f.ok("VolumeDriver.Create", map[string]any{"Name": name, "Opts": opts})
}

func (f *fixture) dataDir(name string) string {
	return filepath.Join(f.root, "volumes", name, "data")
}

func TestActivate(t *testing.T) {
	f := newFixture(t)
	out := f.ok("Plugin.Activate", nil)
	if !reflect.DeepEqual(out["Implements"], []any{"VolumeDriver"}) {
		t.Fatalf("Implements = %v", out["Implements"])
	}
}

func TestCapabilities(t *testing.T) {
	f := newFixture(t)
	out := f.ok("VolumeDriver.Capabilities", map[string]any{})
	want := map[string]any{"Capabilities": map[string]any{"Scope": "local"}}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("got %v, want %v", out, want)
	}
}

func TestCreateThenGetReturnsOptions(t *testing.T) {
	f := newFixture(t)
	f.create("v1", map[string]string{"size": "1", "label": "x"})
	out := f.ok("VolumeDriver.Get", map[string]any{"Name": "v1"})
	vol := out["Volume"].(map[string]any)
	if vol["Name"] != "v1" || vol["Mountpoint"] != f.dataDir("v1") {
		t.Fatalf("Volume = %v", vol)
	}
	status := vol["Status"].(map[string]any)
	want := map[string]any{"size": "1", "label": "x"}
	if !reflect.DeepEqual(status["options"], want) {
		t.Fatalf("Status.options = %v, want %v", status["options"], want)
	}
	if _, err := os.Stat(filepath.Join(f.root, "volumes", "v1", "options.json")); err != nil {
		t.Fatal(err)
	}
}

func TestCreateWithoutOptions(t *testing.T) {
	f := newFixture(t)
	f.create("v1", nil)
	out := f.ok("VolumeDriver.Get", map[string]any{"Name": "v1"})
	status := out["Volume"].(map[string]any)["Status"].(map[string]any)
	if !reflect.DeepEqual(status["options"], map[string]any{}) {
		t.Fatalf("Status.options = %v", status["options"])
	}
}

func TestCreateTwiceIsIdempotent(t *testing.T) {
	f := newFixture(t)
	f.create("v1", map[string]string{"size": "1"})
	if err := os.WriteFile(filepath.Join(f.dataDir("v1"), "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.create("v1", map[string]string{"size": "2"})
	if _, err := os.Stat(filepath.Join(f.dataDir("v1"), "keep")); err != nil {
		t.Fatalf("data lost on second create: %v", err)
	}
	out := f.ok("VolumeDriver.Get", map[string]any{"Name": "v1"})
	status := out["Volume"].(map[string]any)["Status"].(map[string]any)
	if !reflect.DeepEqual(status["options"], map[string]any{"size": "1"}) {
		t.Fatalf("options changed by second create: %v", status["options"])
	}
	if n := len(f.ok("VolumeDriver.List", nil)["Volumes"].([]any)); n != 1 {
		t.Fatalf("List has %d volumes, want 1", n)
	}
}

func TestCreateFailCreateOption(t *testing.T) {
	f := newFixture(t)
	f.fails("VolumeDriver.Create", map[string]any{"Name": "v1", "Opts": map[string]string{"fail_create": "disk on fire"}}, "disk on fire")
	f.fails("VolumeDriver.Get", map[string]any{"Name": "v1"}, "no such volume")
	if _, err := os.Stat(filepath.Join(f.root, "volumes", "v1")); !os.IsNotExist(err) {
		t.Fatalf("failed create left a directory: %v", err)
	}
	f.fails("VolumeDriver.Create", map[string]any{"Name": "v1", "Opts": map[string]string{"fail_create": ""}}, "fail_create")
}

func TestCreateUnknownOption(t *testing.T) {
	f := newFixture(t)
	f.fails("VolumeDriver.Create", map[string]any{"Name": "v1", "Opts": map[string]string{"size": "1", "bogus": "1"}}, "unknown option bogus")
	f.fails("VolumeDriver.Get", map[string]any{"Name": "v1"}, "no such volume")
}

func TestInvalidNames(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"", ".", "..", "../x", "a/b", "a b", strings.Repeat("a", 256)} {
		f.fails("VolumeDriver.Create", map[string]any{"Name": name}, "volume name")
		f.fails("VolumeDriver.Get", map[string]any{"Name": name}, "volume name")
		f.fails("VolumeDriver.Remove", map[string]any{"Name": name}, "volume name")
		f.fails("VolumeDriver.Mount", map[string]any{"Name": name, "ID": "c1"}, "volume name")
	}
	entries, _ := os.ReadDir(filepath.Join(f.root, "volumes"))
	if len(entries) != 0 {
		t.Fatalf("invalid names created %v", entries)
	}
	f.create("Ok_name-1.2", nil)
}

func TestRemoveDeletesData(t *testing.T) {
	f := newFixture(t)
	f.create("v1", nil)
	f.ok("VolumeDriver.Mount", map[string]any{"Name": "v1", "ID": "c1"})
	if err := os.WriteFile(filepath.Join(f.dataDir("v1"), "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.ok("VolumeDriver.Unmount", map[string]any{"Name": "v1", "ID": "c1"})
	f.ok("VolumeDriver.Remove", map[string]any{"Name": "v1"})
	if _, err := os.Stat(filepath.Join(f.root, "volumes", "v1")); !os.IsNotExist(err) {
		t.Fatalf("volume directory still there: %v", err)
	}
	f.fails("VolumeDriver.Get", map[string]any{"Name": "v1"}, "no such volume")
	// Removing again (or an unknown volume) succeeds.
	f.ok("VolumeDriver.Remove", map[string]any{"Name": "v1"})
}

func TestMountCreatesDataDir(t *testing.T) {
	f := newFixture(t)
	f.create("v1", nil)
	if err := os.RemoveAll(f.dataDir("v1")); err != nil {
		t.Fatal(err)
	}
	out := f.ok("VolumeDriver.Mount", map[string]any{"Name": "v1", "ID": "c1"})
	if out["Mountpoint"] != f.dataDir("v1") {
		t.Fatalf("Mountpoint = %v, want %s", out["Mountpoint"], f.dataDir("v1"))
	}
	if _, ok := out["Err"]; !ok {
		t.Fatalf("response has no Err field: %v", out)
	}
	if fi, err := os.Stat(f.dataDir("v1")); err != nil || !fi.IsDir() {
		t.Fatalf("data dir not created: %v", err)
	}
}

func TestUnmount(t *testing.T) {
	f := newFixture(t)
	f.create("v1", nil)
	f.ok("VolumeDriver.Mount", map[string]any{"Name": "v1", "ID": "c1"})
	f.ok("VolumeDriver.Unmount", map[string]any{"Name": "v1", "ID": "c1"})
	f.fails("VolumeDriver.Unmount", map[string]any{"Name": "nope", "ID": "c1"}, "no such volume")
}

func TestUnknownVolumeErrors(t *testing.T) {
	f := newFixture(t)
	for _, m := range []string{"VolumeDriver.Get", "VolumeDriver.Mount", "VolumeDriver.Path"} {
		f.fails(m, map[string]any{"Name": "nope", "ID": "c1"}, "no such volume: nope")
	}
}

func TestPath(t *testing.T) {
	f := newFixture(t)
	f.create("v1", nil)
	out := f.ok("VolumeDriver.Path", map[string]any{"Name": "v1"})
	if out["Mountpoint"] != f.dataDir("v1") {
		t.Fatalf("Mountpoint = %v", out["Mountpoint"])
	}
}

func TestList(t *testing.T) {
	f := newFixture(t)
	out := f.ok("VolumeDriver.List", map[string]any{})
	if vols, ok := out["Volumes"].([]any); !ok || len(vols) != 0 {
		t.Fatalf("empty List = %v, want an empty array", out)
	}
	f.create("b", nil)
	f.create("a", map[string]string{"size": "1"})
	// Stray entries that are not volumes are skipped.
	if err := os.MkdirAll(filepath.Join(f.root, "volumes", "half-created", "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	out = f.ok("VolumeDriver.List", nil)
	var names []string
	for _, v := range out["Volumes"].([]any) {
		vol := v.(map[string]any)
		names = append(names, vol["Name"].(string))
		if vol["Mountpoint"] != f.dataDir(vol["Name"].(string)) {
			t.Errorf("Mountpoint of %v = %v", vol["Name"], vol["Mountpoint"])
		}
	}
	if !reflect.DeepEqual(names, []string{"a", "b"}) {
		t.Fatalf("List names = %v", names)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	f.create("v1", map[string]string{"label": "keep"})
	p2, err := NewPlugin(f.root, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(p2.Handler())
	defer srv2.Close()
	f.srv = srv2
	out := f.ok("VolumeDriver.Get", map[string]any{"Name": "v1"})
	status := out["Volume"].(map[string]any)["Status"].(map[string]any)
	if !reflect.DeepEqual(status["options"], map[string]any{"label": "keep"}) {
		t.Fatalf("options after restart = %v", status["options"])
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Post(f.srv.URL+"/VolumeDriver.Create", contentType, strings.NewReader("{not json"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("bad JSON: status %d", resp.StatusCode)
	}
	resp, err = http.Get(f.srv.URL + "/VolumeDriver.List")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatal("GET accepted")
	}
	// An empty body is accepted (Docker may send none for List).
	resp, err = http.Post(f.srv.URL+"/VolumeDriver.List", contentType, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("empty body: status %d", resp.StatusCode)
	}
}

func TestLogMasksSecrets(t *testing.T) {
	f := newFixture(t)
	f.fails("VolumeDriver.Create", map[string]any{"Name": "v1", "Opts": map[string]string{
		"db_password": "hunter2", "SecretKey": "s3cr3t", "size": "7",
	}}, "unknown option")
	logs := f.logs.String()
	if strings.Contains(logs, "hunter2") || strings.Contains(logs, "s3cr3t") {
		t.Fatalf("secret leaked in logs: %s", logs)
	}
	if !strings.Contains(logs, `size="7"`) || !strings.Contains(logs, `db_password="***"`) {
		t.Fatalf("unexpected log line: %s", logs)
	}
	if n := strings.Count(logs, "\n"); n != 1 {
		t.Fatalf("want one log line per call, got %d: %s", n, logs)
	}
}
