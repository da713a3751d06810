package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

type testEnv struct {
	t          *testing.T
	srv        *server
	handler    http.Handler
	dataDir    string
	secretsDir string
	exits      chan int
}

func newTestEnv(t *testing.T, mutate ...func(*config)) *testEnv {
	t.Helper()
	cfg := config{
		port:       "0",
		dataDir:    filepath.Join(t.TempDir(), "data"),
		secretsDir: filepath.Join(t.TempDir(), "secrets"),
		version:    "v-test",
	}
	for _, m := range mutate {
		m(&cfg)
	}
	return newTestEnvWithConfig(t, cfg)
}

func newTestEnvWithConfig(t *testing.T, cfg config) *testEnv {
	t.Helper()
	srv, err := newServer(cfg, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatalf("newServer: %v", err)
	}
	exits := make(chan int, 1)
	srv.exit = func(code int) { exits <- code }
	return &testEnv{t: t, srv: srv, handler: srv.routes(), dataDir: cfg.dataDir, secretsDir: cfg.secretsDir, exits: exits}
}

// do sends a request and decodes the JSON response into out (if non-nil).
func (e *testEnv) do(method, target, body string, wantStatus int, out any) []byte {
	e.t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	if rec.Code != wantStatus {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, target, rec.Code, wantStatus, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		e.t.Fatalf("%s %s: content type %q", method, target, ct)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, target, rec.Body, err)
		}
	}
	return rec.Body.Bytes()
}

type filesResponse struct {
	Files []fileEntry `json:"files"`
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile is subject to umask
		t.Fatal(err)
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestKVPutGetList(t *testing.T) {
	e := newTestEnv(t)

	var list struct{ Keys []string }
	e.do("GET", "/kv", "", http.StatusOK, &list)
	if list.Keys == nil || len(list.Keys) != 0 {
		t.Fatalf("empty store keys = %#v, want []", list.Keys)
	}

	e.do("PUT", "/kv/zeta", "last", http.StatusOK, nil)
	e.do("PUT", "/kv/alpha.1_x-y", "first", http.StatusOK, nil)
	e.do("PUT", "/kv/alpha.1_x-y", "overwritten", http.StatusOK, nil)

	var got struct{ Key, Value string }
	e.do("GET", "/kv/alpha.1_x-y", "", http.StatusOK, &got)
	if got.Key != "alpha.1_x-y" || got.Value != "overwritten" {
		t.Fatalf("get = %+v", got)
	}

	e.do("GET", "/kv", "", http.StatusOK, &list)
	if strings.Join(list.Keys, ",") != "alpha.1_x-y,zeta" {
		t.Fatalf("keys = %v", list.Keys)
	}

	b, err := os.ReadFile(filepath.Join(e.dataDir, "kv", "zeta"))
	if err != nil || string(b) != "last" {
		t.Fatalf("file on disk = %q, %v", b, err)
	}

	e.do("GET", "/kv/missing", "", http.StatusNotFound, nil)
}

func TestKVInvalidKeys(t *testing.T) {
	e := newTestEnv(t)
	for _, key := range []string{"a%20b", "a$b", "a%2Fb", "put%23123", strings.Repeat("k", 256)} {
		e.do("PUT", "/kv/"+key, "x", http.StatusBadRequest, nil)
		e.do("GET", "/kv/"+key, "", http.StatusBadRequest, nil)
	}
	// ServeMux redirects "/kv/.." itself, so check the validator directly.
	for _, key := range []string{"", ".", ".."} {
		if validKey(key) {
			t.Errorf("validKey(%q) = true", key)
		}
	}
}

func TestKVSurvivesNewServer(t *testing.T) {
	first := newTestEnv(t)
	first.do("PUT", "/kv/counter", "42", http.StatusOK, nil)

	second := newTestEnv(t, func(c *config) { c.dataDir = first.dataDir })
	var got struct{ Value string }
	second.do("GET", "/kv/counter", "", http.StatusOK, &got)
	if got.Value != "42" {
		t.Fatalf("value after restart = %q", got.Value)
	}
}

func TestKVListIgnoresTempFiles(t *testing.T) {
	e := newTestEnv(t)
	writeFile(t, filepath.Join(e.dataDir, "kv", "put#123"), "partial", 0o600)
	e.do("PUT", "/kv/real", "v", http.StatusOK, nil)
	var list struct{ Keys []string }
	e.do("GET", "/kv", "", http.StatusOK, &list)
	if strings.Join(list.Keys, ",") != "real" {
		t.Fatalf("keys = %v", list.Keys)
	}
}

func TestEnv(t *testing.T) {
	t.Setenv("WORKLOAD_TEST_VAR", "a=b")
	e := newTestEnv(t)
	var got struct{ Env map[string]string }
	e.do("GET", "/env", "", http.StatusOK, &got)
	if got.Env["WORKLOAD_TEST_VAR"] != "a=b" {
		t.Fatalf("WORKLOAD_TEST_VAR = %q", got.Env["WORKLOAD_TEST_VAR"])
	}
}

func TestSecrets(t *testing.T) {
	e := newTestEnv(t)
	writeFile(t, filepath.Join(e.secretsDir, "db_password"), "hunter2", 0o400)
	writeFile(t, filepath.Join(e.secretsDir, "nested", "api_key"), "s3cr3t-api", 0o640)
	writeFile(t, filepath.Join(e.secretsDir, "a_empty"), "", 0o444)

	body := e.do("GET", "/secrets", "", http.StatusOK, nil)
	if bytes.Contains(body, []byte("hunter2")) || bytes.Contains(body, []byte("s3cr3t-api")) {
		t.Fatalf("secret content leaked: %s", body)
	}
	if bytes.Contains(body, []byte(`"content"`)) {
		t.Fatalf("content field present: %s", body)
	}

	var got filesResponse
	e.do("GET", "/secrets", "", http.StatusOK, &got)
	want := []struct{ name, content, mode string }{
		{"a_empty", "", "0444"},
		{"db_password", "hunter2", "0400"},
		{"nested/api_key", "s3cr3t-api", "0640"},
	}
	if len(got.Files) != len(want) {
		t.Fatalf("files = %+v", got.Files)
	}
	for i, w := range want {
		f := got.Files[i]
		if f.Name != w.name || f.SHA256 != sha(w.content) || f.Mode != w.mode || f.Size != int64(len(w.content)) {
			t.Errorf("file %d = %+v, want %s %s %s", i, f, w.name, sha(w.content), w.mode)
		}
		if f.UID != os.Getuid() || f.GID < 0 {
			t.Errorf("file %d owner = %d:%d, want uid %d", i, f.UID, f.GID, os.Getuid())
		}
	}
}

func TestSecretsAbsentDir(t *testing.T) {
	e := newTestEnv(t)
	body := e.do("GET", "/secrets", "", http.StatusOK, nil)
	if strings.TrimSpace(string(body)) != `{"files":[]}` {
		t.Fatalf("body = %s", body)
	}
}

func TestFiles(t *testing.T) {
	e := newTestEnv(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.conf"), "port=1", 0o644)
	writeFile(t, filepath.Join(dir, "sub", "x.yaml"), "x: 1", 0o600)

	var got filesResponse
	body := e.do("GET", "/files?dir="+url.QueryEscape(dir), "", http.StatusOK, &got)
	if bytes.Contains(body, []byte(`"content"`)) {
		t.Fatalf("content without content=1: %s", body)
	}
	if len(got.Files) != 2 || got.Files[0].Name != "app.conf" || got.Files[1].Name != "sub/x.yaml" {
		t.Fatalf("files = %+v", got.Files)
	}
	if got.Files[0].SHA256 != sha("port=1") || got.Files[0].Mode != "0644" {
		t.Fatalf("app.conf = %+v", got.Files[0])
	}

	got = filesResponse{}
	e.do("GET", "/files?content=1&dir="+url.QueryEscape(dir), "", http.StatusOK, &got)
	if got.Files[0].Content == nil || *got.Files[0].Content != "port=1" {
		t.Fatalf("content = %v", got.Files[0].Content)
	}

	e.do("GET", "/files?dir=relative/path", "", http.StatusBadRequest, nil)
	e.do("GET", "/files", "", http.StatusBadRequest, nil)
	e.do("GET", "/files?dir="+url.QueryEscape(filepath.Join(dir, "app.conf")), "", http.StatusBadRequest, nil)

	got = filesResponse{Files: []fileEntry{{}}}
	e.do("GET", "/files?dir="+url.QueryEscape(filepath.Join(dir, "nope")), "", http.StatusOK, &got)
	if len(got.Files) != 0 {
		t.Fatalf("missing dir files = %+v", got.Files)
	}
}

func TestFilesNeverRevealsSecretContent(t *testing.T) {
	e := newTestEnv(t)
	writeFile(t, filepath.Join(e.secretsDir, "token"), "topsecret", 0o400)
	// A link elsewhere pointing into the secrets dir must not leak either.
	other := t.TempDir()
	if err := os.Symlink(filepath.Join(e.secretsDir, "token"), filepath.Join(other, "link")); err != nil {
		t.Fatal(err)
	}

	for _, dir := range []string{e.secretsDir, filepath.Dir(e.secretsDir), other} {
		body := e.do("GET", "/files?content=1&dir="+url.QueryEscape(dir), "", http.StatusOK, nil)
		if bytes.Contains(body, []byte("topsecret")) || bytes.Contains(body, []byte(`"content"`)) {
			t.Fatalf("dir %s leaked secret: %s", dir, body)
		}
		if !bytes.Contains(body, []byte(sha("topsecret"))) {
			t.Fatalf("dir %s missing secret hash: %s", dir, body)
		}
	}
}

func TestIdentity(t *testing.T) {
	e := newTestEnv(t)
	var got identity
	e.do("GET", "/identity", "", http.StatusOK, &got)
	hostname, _ := os.Hostname()
	if got.Hostname != hostname || got.Ordinal != ordinalOf(hostname) {
		t.Errorf("hostname/ordinal = %q/%d", got.Hostname, got.Ordinal)
	}
	if got.Version != "v-test" || got.PID != os.Getpid() {
		t.Errorf("version/pid = %q/%d", got.Version, got.PID)
	}
	if got.Addresses == nil {
		t.Errorf("addresses is null, want a list")
	}
	started, err := time.Parse(time.RFC3339Nano, got.StartedAt)
	if err != nil || !started.Equal(processStart) {
		t.Errorf("started_at = %q (%v), want %v", got.StartedAt, err, processStart)
	}
}

func TestOrdinalOf(t *testing.T) {
	cases := map[string]int{
		"db-0": 0, "db-12": 12, "my-app-3": 3, "db": -1, "db-": -1,
		"db-x1": -1, "db-+1": -1, "": -1, "abc123": -1,
	}
	for in, want := range cases {
		if got := ordinalOf(in); got != want {
			t.Errorf("ordinalOf(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestHealthToggle(t *testing.T) {
	e := newTestEnv(t)
	var got struct{ Status string }
	e.do("GET", "/healthz", "", http.StatusOK, &got)
	if got.Status != "ok" {
		t.Fatalf("status = %q", got.Status)
	}
	e.do("POST", "/healthz/fail", "", http.StatusServiceUnavailable, nil)
	e.do("GET", "/healthz", "", http.StatusServiceUnavailable, nil)
	e.do("GET", "/healthz", "", http.StatusServiceUnavailable, nil)
	e.do("POST", "/healthz/ok", "", http.StatusOK, nil)
	e.do("GET", "/healthz", "", http.StatusOK, nil)
}

func TestUnhealthyAtStart(t *testing.T) {
	e := newTestEnv(t, func(c *config) { c.unhealthy = true })
	e.do("GET", "/healthz", "", http.StatusServiceUnavailable, nil)
}

func TestExit(t *testing.T) {
	e := newTestEnv(t)
	e.do("POST", "/exit?code=x", "", http.StatusBadRequest, nil)
	e.do("POST", "/exit?code=300", "", http.StatusBadRequest, nil)

	var got struct{ Exiting int }
	e.do("POST", "/exit?code=7", "", http.StatusOK, &got)
	if got.Exiting != 7 {
		t.Fatalf("exiting = %d", got.Exiting)
	}
	select {
	case code := <-e.exits:
		if code != 7 {
			t.Fatalf("exit code = %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("exit was not called")
	}
}

func TestProbe(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ok.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	cases := []struct {
		name string
		args []string
		want int
	}{
		{"2xx", []string{ok.URL}, 0},
		{"503", []string{failing.URL}, 1},
		{"unreachable", []string{closed.URL}, 1},
		{"no url", nil, 1},
	}
	for _, c := range cases {
		if got := probe(c.args, io.Discard); got != c.want {
			t.Errorf("%s: probe = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestProbeAgainstWorkload(t *testing.T) {
	e := newTestEnv(t)
	ts := httptest.NewServer(e.handler)
	defer ts.Close()
	if got := run([]string{"probe", ts.URL + "/healthz"}, io.Discard, io.Discard); got != 0 {
		t.Fatalf("healthy probe = %d", got)
	}
	e.do("POST", "/healthz/fail", "", http.StatusServiceUnavailable, nil)
	if got := run([]string{"probe", ts.URL + "/healthz"}, io.Discard, io.Discard); got != 1 {
		t.Fatalf("failing probe = %d", got)
	}
}

func TestLoadConfig(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	cfg, err := loadConfig(getenv)
	if err != nil {
		t.Fatal(err)
	}
	want := config{port: "8080", dataDir: "/data", secretsDir: "/run/secrets", version: "dev"}
	if cfg != want {
		t.Fatalf("defaults = %+v", cfg)
	}

	env = map[string]string{
		"PORT": "9000", "DATA_DIR": "/d", "SECRETS_DIR": "/s",
		"WORKLOAD_VERSION": "1.2.3", "UNHEALTHY": "1", "EXIT_AFTER": "2s",
	}
	cfg, err = loadConfig(getenv)
	if err != nil {
		t.Fatal(err)
	}
	want = config{port: "9000", dataDir: "/d", secretsDir: "/s", version: "1.2.3", unhealthy: true, exitAfter: 2 * time.Second}
	if cfg != want {
		t.Fatalf("overrides = %+v", cfg)
	}

	env = map[string]string{"EXIT_AFTER": "soon"}
	if _, err := loadConfig(getenv); err == nil {
		t.Fatal("invalid EXIT_AFTER accepted")
	}
}

func TestRunVersionAndUnknown(t *testing.T) {
	t.Setenv("WORKLOAD_VERSION", "9.9.9")
	var out bytes.Buffer
	if code := run([]string{"version"}, &out, io.Discard); code != 0 || out.String() != "9.9.9\n" {
		t.Fatalf("version: code %d, out %q", code, out.String())
	}
	if code := run([]string{"bogus"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("unknown command code = %d", code)
	}
}

func TestNewServerCreatesDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	newTestEnv(t, func(c *config) { c.dataDir = dir })
	if fi, err := os.Stat(filepath.Join(dir, "kv")); err != nil || !fi.IsDir() {
		t.Fatalf("kv dir not created: %v", err)
	}
}

func TestClusterMembersConvergeThroughASeed(t *testing.T) {
	seed := newCluster("", "1")
	seedSrv := httptest.NewServer((&server{cluster: seed}).routes())
	defer seedSrv.Close()
	seedAddr := strings.TrimPrefix(seedSrv.URL, "http://")
	seed.self = seedAddr
	seed.members = map[string]bool{seedAddr: true}

	a := newCluster(seedAddr, "2")
	a.self = "a:2"
	a.members = map[string]bool{"a:2": true}
	b := newCluster(seedAddr, "3")
	b.self = "b:3"
	b.members = map[string]bool{"b:3": true}

	client := &http.Client{Timeout: time.Second}
	ctx := context.Background()
	a.exchange(ctx, client, seedAddr)
	b.exchange(ctx, client, seedAddr)
	a.exchange(ctx, client, seedAddr)

	want := []string{"a:2", "b:3", seedAddr}
	sort.Strings(want)
	for name, c := range map[string]*cluster{"seed": seed, "a": a, "b": b} {
		if got := c.list(); !slices.Equal(got, want) {
			t.Errorf("%s knows %v, want %v", name, got, want)
		}
	}
}
