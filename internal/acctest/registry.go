package acctest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/pkg/jsonmessage"
	"golang.org/x/crypto/bcrypt"
)

// registryBinary is Debian's docker-registry (distribution 2.8).
const registryBinary = "/usr/bin/docker-registry"

// Registry is a private registry on loopback that requires a password,
// served over TLS with a certificate from a test CA, which the daemon
// trusts through its certs.d directory for the registry's address.
type Registry struct {
	// Address is 127.0.0.1:PORT, as image references name it.
	Address  string
	Username string
	Password string

	configFile, logFile string
	cmd                 *exec.Cmd
	// probe trusts the test CA, for the readiness check.
	probe *http.Client
}

// Start serves the registry (again, after Stop: same address, same
// contents) and waits until it answers.
func (r *Registry) Start() error {
	logFile, err := os.OpenFile(r.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }() // the child keeps its own descriptor
	r.cmd = exec.Command(registryBinary, "serve", r.configFile)
	r.cmd.Stdout, r.cmd.Stderr = logFile, logFile
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", registryBinary, err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := r.probe.Get("https://" + r.Address + "/v2/") //nolint:noctx // a readiness probe
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(r.logFile)
			r.Stop()
			return fmt.Errorf("registry did not answer on %s: %w\n%s", r.Address, err, log)
		}
	}
}

// Stop ends the registry process; the registry is then unreachable.
func (r *Registry) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// StartRegistry runs a registry with htpasswd authentication for the
// test, with a fresh random password; it stops when the test ends.
func StartRegistry(t *testing.T) *Registry {
	t.Helper()
	if _, err := os.Stat(registryBinary); err != nil {
		t.Fatalf("the registry tests need Debian's docker-registry (apt-get install docker-registry): %v", err)
	}
	dir := t.TempDir()
	secret := make([]byte, 12)
	_, _ = rand.Read(secret)
	r := &Registry{Username: "tester", Password: "pw-" + hex.EncodeToString(secret)}
	hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(r.Username+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	r.Address = fmt.Sprintf("127.0.0.1:%d", port)
	certFile, keyFile := trustRegistryCA(t, r, dir)
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  tls:
    certificate: %s
    key: %s
auth:
  htpasswd:
    realm: test-realm
    path: %s
`, filepath.Join(dir, "data"), r.Address, certFile, keyFile, filepath.Join(dir, "htpasswd"))
	configFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	r.configFile = configFile
	r.logFile = filepath.Join(dir, "registry.log")
	t.Cleanup(r.Stop)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	return r
}

// certsDir is where the Docker daemon looks for the CA of a registry.
const certsDir = "/etc/docker/certs.d"

// trustRegistryCA makes a test CA and a server certificate for the
// registry's address, writes them into dir, and installs the CA where the
// daemon looks for it (removed when the test ends).
func trustRegistryCA(t *testing.T, r *Registry, dir string) (certFile, keyFile string) {
	t.Helper()
	ca, caKey, caPEM, err := newCA("stateful registry test CA")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := newLeaf(ca, caKey, &x509.Certificate{
		Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "registry.pem"), filepath.Join(dir, "registry-key.pem")
	trusted := filepath.Join(certsDir, r.Address)
	for file, content := range map[string]string{certFile: certPEM, keyFile: keyPEM, filepath.Join(trusted, "ca.crt"): caPEM} {
		if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = os.RemoveAll(trusted) })
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(caPEM))
	r.probe = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	return certFile, keyFile
}

// Push tags source as ref (in this registry) on the local daemon, pushes
// it with the registry's credentials and returns the manifest digest the
// registry stored it under.
func (r *Registry) Push(ctx context.Context, source, ref string) (digest string, err error) {
	e := Local()
	if err := e.TagImage(ctx, source, ref); err != nil {
		return "", err
	}
	auth, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: r.Username, Password: r.Password, ServerAddress: r.Address})
	if err != nil {
		return "", err
	}
	rc, err := e.cli.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		return "", e.errorf("push %s: %w", ref, err)
	}
	defer func() { _ = rc.Close() }()
	err = jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, func(m jsonmessage.JSONMessage) {
		var aux struct{ Digest string }
		if m.Aux != nil && json.Unmarshal(*m.Aux, &aux) == nil && aux.Digest != "" {
			digest = aux.Digest
		}
	})
	if err != nil {
		return "", e.errorf("push %s: %w", ref, err)
	}
	if digest == "" {
		return "", e.errorf("push %s: the daemon reported no digest", ref)
	}
	return digest, nil
}

// RemoveImageTag removes a tag from the local daemon (the image stays if
// other tags or containers use it), so that the next use must pull.
func (e *Engine) RemoveImageTag(ctx context.Context, ref string) error {
	if e.err != nil {
		return e.err
	}
	if _, err := e.cli.ImageRemove(ctx, ref, image.RemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		return e.errorf("remove image %s: %w", ref, err)
	}
	return nil
}

// ImageID is the ID of the image a reference names on the daemon.
func (e *Engine) ImageID(ctx context.Context, ref string) (string, error) {
	if e.err != nil {
		return "", e.err
	}
	inspected, err := e.cli.ImageInspect(ctx, ref)
	if err != nil {
		return "", e.errorf("inspect image %s: %w", ref, err)
	}
	return inspected.ID, nil
}
