package docker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testEnv is an environment of the given variables and a home of its own.
func testEnv(t *testing.T, home string, vars map[string]string) environment {
	t.Helper()
	return environment{
		getenv: func(k string) string { return vars[k] },
		home: func() (string, error) {
			if home == "" {
				return "", errors.New("no home")
			}
			return home, nil
		},
	}
}

// writeContext writes a context into a Docker config directory as
// `docker context create` does; tls maps ca.pem, cert.pem, key.pem to
// their contents.
func writeContext(t *testing.T, configDir, name, host string, skipVerify bool, tls map[string]string) {
	t.Helper()
	meta := map[string]any{
		"Name":      name,
		"Metadata":  map[string]any{"Description": ""},
		"Endpoints": map[string]any{"docker": map[string]any{"Host": host, "SkipTLSVerify": skipVerify}},
	}
	b, err := json.Marshal(meta)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(configDir, "contexts", "meta", contextID(name))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if len(tls) == 0 {
		return
	}
	tlsDir := filepath.Join(configDir, "contexts", "tls", contextID(name), "docker")
	if err := os.MkdirAll(tlsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for file, content := range tls {
		if err := os.WriteFile(filepath.Join(tlsDir, file), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func writeConfig(t *testing.T, configDir, currentContext string) {
	t.Helper()
	if err := os.MkdirAll(configDir, 0o700); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{}, "currentContext": currentContext})
	if err := os.WriteFile(filepath.Join(configDir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestContextID(t *testing.T) {
	// The directory the docker CLI gives a context named "remote".
	if got, want := contextID("remote"), "b71199ebd070b36beab7317920c2c2f1d777df8d05e5527d8458fda57cb17a7a"; got != want {
		t.Fatalf("contextID = %q, want %q", got, want)
	}
}

func TestResolveDefaultHostPrecedence(t *testing.T) {
	home := t.TempDir()
	cfgDir := t.TempDir()
	writeContext(t, cfgDir, "fromenv", "tcp://10.0.0.1:2376", false, map[string]string{"ca.pem": "CA", "cert.pem": "CERT", "key.pem": "KEY"})
	writeContext(t, cfgDir, "current", "tcp://10.0.0.2:2376", false, nil)
	writeConfig(t, cfgDir, "current")
	homeCfg := filepath.Join(home, ".docker")
	writeContext(t, homeCfg, "inhome", "unix:///run/home.sock", false, nil)
	writeConfig(t, homeCfg, "inhome")

	cases := map[string]struct {
		vars     map[string]string
		endpoint string
		source   string
		tls      *TLSConfig
	}{
		"DOCKER_HOST beats DOCKER_CONTEXT and the current context": {
			vars:     map[string]string{"DOCKER_HOST": "tcp://10.0.0.9:2375", "DOCKER_CONTEXT": "fromenv", "DOCKER_CONFIG": cfgDir},
			endpoint: "tcp://10.0.0.9:2375", source: "from DOCKER_HOST",
		},
		"DOCKER_CONTEXT beats the current context": {
			vars:     map[string]string{"DOCKER_CONTEXT": "fromenv", "DOCKER_CONFIG": cfgDir},
			endpoint: "tcp://10.0.0.1:2376", source: `docker context "fromenv", from DOCKER_CONTEXT`,
			tls: &TLSConfig{CAPEM: "CA", CertPEM: "CERT", KeyPEM: "KEY"},
		},
		"the current context of DOCKER_CONFIG": {
			vars:     map[string]string{"DOCKER_CONFIG": cfgDir},
			endpoint: "tcp://10.0.0.2:2376", source: `docker context "current", current context in ` + filepath.Join(cfgDir, "config.json"),
		},
		"the current context of ~/.docker": {
			vars:     map[string]string{},
			endpoint: "unix:///run/home.sock", source: `docker context "inhome", current context in ` + filepath.Join(homeCfg, "config.json"),
		},
		"DOCKER_CONTEXT=default is the environment's host": {
			vars:     map[string]string{"DOCKER_CONTEXT": "default", "DOCKER_CONFIG": cfgDir},
			endpoint: "unix:///var/run/docker.sock",
		},
		"no configuration is the local socket": {
			vars:     map[string]string{"DOCKER_CONFIG": t.TempDir()},
			endpoint: "unix:///var/run/docker.sock",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r, err := resolveDefaultHost(testEnv(t, home, tc.vars))
			if err != nil {
				t.Fatal(err)
			}
			if r.Endpoint != tc.endpoint || r.Source != tc.source {
				t.Fatalf("got %s (%s), want %s (%s)", r.Endpoint, r.Source, tc.endpoint, tc.source)
			}
			switch {
			case tc.tls == nil && r.TLS != nil:
				t.Fatalf("TLS %+v, want none", r.TLS)
			case tc.tls != nil && (r.TLS == nil || *r.TLS != *tc.tls):
				t.Fatalf("TLS %+v, want %+v", r.TLS, tc.tls)
			}
			if r.SSH != nil {
				t.Fatalf("SSH %+v, want none", r.SSH)
			}
		})
	}
}

func TestResolveDefaultHostContextTLS(t *testing.T) {
	cfgDir := t.TempDir()
	writeContext(t, cfgDir, "skip", "tcp://10.0.0.1:2376", true, nil)
	writeContext(t, cfgDir, "caonly", "tcp://10.0.0.1:2376", false, map[string]string{"ca.pem": "CA"})
	writeContext(t, cfgDir, "emptyhost", "", false, nil)
	for name, want := range map[string]*TLSConfig{
		"skip":   {InsecureSkipVerify: true},
		"caonly": {CAPEM: "CA"},
	} {
		r, err := resolveDefaultHost(testEnv(t, "", map[string]string{"DOCKER_CONFIG": cfgDir, "DOCKER_CONTEXT": name}))
		if err != nil {
			t.Fatal(err)
		}
		if r.TLS == nil || *r.TLS != *want {
			t.Errorf("%s: TLS %+v, want %+v", name, r.TLS, want)
		}
	}
	r, err := resolveDefaultHost(testEnv(t, "", map[string]string{"DOCKER_CONFIG": cfgDir, "DOCKER_CONTEXT": "emptyhost"}))
	if err != nil || r.Endpoint != "unix:///var/run/docker.sock" {
		t.Errorf("a context without a host: %s, %v; want the local socket", r.Endpoint, err)
	}
}

func TestResolveDefaultHostErrors(t *testing.T) {
	cfgDir := t.TempDir()
	writeContext(t, cfgDir, "remote", "tcp://10.0.0.1:2376", false, nil)
	badCfg := t.TempDir()
	if err := os.WriteFile(filepath.Join(badCfg, "config.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		vars map[string]string
		want string
	}{
		"unknown DOCKER_CONTEXT": {
			map[string]string{"DOCKER_CONFIG": cfgDir, "DOCKER_CONTEXT": "nope"},
			`docker context "nope" (from DOCKER_CONTEXT): no such context in ` + filepath.Join(cfgDir, "contexts"),
		},
		"unreadable config file": {map[string]string{"DOCKER_CONFIG": badCfg}, "the Docker config file " + filepath.Join(badCfg, "config.json")},
		"PEM contents for a context": {
			map[string]string{"DOCKER_CONFIG": cfgDir, "DOCKER_CONTEXT": "remote", EnvCAPEM: "CA"},
			`STATEFUL_DOCKER_CA_PEM applies to DOCKER_HOST only, but the default host is docker context "remote"`,
		},
		"PEM contents for the local socket": {
			map[string]string{"DOCKER_CONFIG": t.TempDir(), EnvCertPEM: "C", EnvKeyPEM: "K"},
			"STATEFUL_DOCKER_CERT_PEM, STATEFUL_DOCKER_KEY_PEM applies to a tcp:// DOCKER_HOST",
		},
		"a certificate without its key": {
			map[string]string{"DOCKER_HOST": "tcp://10.0.0.1:2376", EnvCertPEM: "C"},
			"STATEFUL_DOCKER_CERT_PEM and STATEFUL_DOCKER_KEY_PEM go together",
		},
		"ssh without a key or an agent": {
			map[string]string{"DOCKER_HOST": "ssh://deploy@10.0.0.3"},
			"set STATEFUL_SSH_PRIVATE_KEY",
		},
		"DOCKER_TLS_VERIFY without a CA": {
			map[string]string{"DOCKER_HOST": "tcp://10.0.0.1:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": t.TempDir()},
			"TLS verification needs",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := resolveDefaultHost(testEnv(t, t.TempDir(), tc.vars))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestResolveDefaultHostEnvFallbacks(t *testing.T) {
	r, err := resolveDefaultHost(testEnv(t, "", map[string]string{
		"DOCKER_HOST": "tcp://10.0.0.1:2376", EnvCAPEM: "CA", EnvCertPEM: "CERT", EnvKeyPEM: "KEY",
		// The contents take the place of the directory.
		"DOCKER_CERT_PATH": "/nonexistent",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if want := (TLSConfig{CAPEM: "CA", CertPEM: "CERT", KeyPEM: "KEY"}); r.TLS == nil || *r.TLS != want {
		t.Fatalf("TLS %+v, want %+v (verified)", r.TLS, want)
	}

	cfgDir := t.TempDir()
	writeContext(t, cfgDir, "viassh", "ssh://ops@10.0.0.4:2222", false, nil)
	for name, vars := range map[string]map[string]string{
		"DOCKER_HOST": {"DOCKER_HOST": "ssh://ops@10.0.0.4:2222"},
		"a context":   {"DOCKER_CONFIG": cfgDir, "DOCKER_CONTEXT": "viassh"},
	} {
		vars[EnvSSHPrivateKey], vars[EnvSSHPassphrase], vars[EnvSSHKnownHosts] = "KEY", "PASS", "KNOWN"
		r, err := resolveDefaultHost(testEnv(t, "", vars))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := SSHConfig{PrivateKey: "KEY", Passphrase: "PASS", KnownHosts: "KNOWN"}
		if r.Endpoint != "ssh://ops@10.0.0.4:2222" || r.TLS != nil || r.SSH == nil || *r.SSH != want {
			t.Fatalf("%s: %s TLS %+v SSH %+v, want SSH %+v", name, r.Endpoint, r.TLS, r.SSH, want)
		}
	}

	// The agent stands in for the key; the local user for a missing one.
	r, err = resolveDefaultHost(testEnv(t, "", map[string]string{"DOCKER_HOST": "ssh://10.0.0.4", "SSH_AUTH_SOCK": "/run/agent.sock"}))
	if err != nil {
		t.Fatal(err)
	}
	if r.SSH == nil || r.SSH.PrivateKey != "" || r.SSH.User == "" {
		t.Fatalf("SSH %+v, want the agent and the local user", r.SSH)
	}
}

// A context the docker CLI itself creates is read the same way.
func TestResolveDefaultHostDockerCLIContext(t *testing.T) {
	cli, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker CLI")
	}
	cfgDir := t.TempDir()
	tlsDir := t.TempDir()
	caPEM, certPEM, keyPEM := selfSigned(t)
	for name, content := range map[string]string{"ca.pem": caPEM, "cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(tlsDir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(cli, "context", "create", "made-by-cli", "--docker",
		"host=tcp://10.0.0.7:2376,ca="+filepath.Join(tlsDir, "ca.pem")+",cert="+filepath.Join(tlsDir, "cert.pem")+",key="+filepath.Join(tlsDir, "key.pem"))
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfgDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker context create: %v\n%s", err, out)
	}
	use := exec.Command(cli, "context", "use", "made-by-cli")
	use.Env = append(os.Environ(), "DOCKER_CONFIG="+cfgDir)
	if out, err := use.CombinedOutput(); err != nil {
		t.Fatalf("docker context use: %v\n%s", err, out)
	}
	r, err := resolveDefaultHost(testEnv(t, "", map[string]string{"DOCKER_CONFIG": cfgDir}))
	if err != nil {
		t.Fatal(err)
	}
	want := TLSConfig{CAPEM: caPEM, CertPEM: certPEM, KeyPEM: keyPEM}
	if r.Endpoint != "tcp://10.0.0.7:2376" || r.TLS == nil || *r.TLS != want {
		t.Fatalf("got %s TLS %+v, want tcp://10.0.0.7:2376 with %+v", r.Endpoint, r.TLS, want)
	}
}

// selfSigned is a certificate that is its own CA, with its key, as PEM.
func selfSigned(t *testing.T) (ca, cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return cert, cert, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}
