package acctest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
)

// Daemon is an extra Docker daemon made for the test run: its own data
// root, exec root, pidfile and bridge, on a loopback TCP port that requires
// TLS with client certificates. It can be stopped and started again on the
// same data, as a host that goes down and comes back.
type Daemon struct {
	Endpoint string
	CAPEM    string
	CertPEM  string
	KeyPEM   string
	// OtherCAPEM signed nothing the daemon presents.
	OtherCAPEM string
	// Host reaches the daemon as the provider does, Engine for what the
	// tests do behind the provider's back.
	Host   *docker.Host
	Engine *Engine
	// Gateway is the daemon's bridge address on this machine: containers
	// of every daemon here reach the ports it publishes there.
	Gateway string

	dir, execRoot string
	args          []string
	cmd           *exec.Cmd
}

// TLS is the second daemon StartTLSDaemon started.
var TLS Daemon

// Bridges and address pools of the extra daemons: an extra daemon must not
// touch docker0, and the networks it creates must never overlap those of
// another daemon on this machine, which would send a replica's traffic to
// another daemon's container.
const (
	tlsBridge      = "stateful-br1"
	tlsBridgeCIDR  = "172.31.0.1/24"
	tlsPool        = "base=10.231.0.0/16,size=24"
	downBridge     = "stateful-br2"
	downBridgeCIDR = "172.30.0.1/24"
	downPool       = "base=10.232.0.0/16,size=24"
)

// HostAddress is an address of this machine that containers of every test
// daemon reach published ports at: the advertised address of test hosts.
const HostAddress = "172.31.0.1"

// StartTLSDaemon runs the second daemon the tests share and builds the
// workload image there.
func StartTLSDaemon(ctx context.Context) (stop func(), err error) {
	d, err := StartDaemon(ctx, tlsBridge, tlsBridgeCIDR, tlsPool)
	if err != nil {
		return nil, err
	}
	TLS = *d
	return d.Remove, nil
}

// privateSlots are the bridges and address pools of daemons tests own, one
// per daemon running at a time.
var privateSlots = struct {
	sync.Mutex
	free []daemonSlot
}{free: []daemonSlot{
	{downBridge, downBridgeCIDR, downPool},
	{"stateful-br3", "172.29.0.1/24", "base=10.233.0.0/16,size=24"},
	{"stateful-br4", "172.28.0.1/24", "base=10.234.0.0/16,size=24"},
}}

type daemonSlot struct{ bridge, cidr, pool string }

// NewDaemon starts a daemon of the test's own, with the workload image,
// removed when the test ends: the test may stop, kill and restart it.
func NewDaemon(t *testing.T) *Daemon {
	t.Helper()
	privateSlots.Lock()
	if len(privateSlots.free) == 0 {
		privateSlots.Unlock()
		t.Fatal("every private daemon slot is in use: add one to privateSlots")
	}
	slot := privateSlots.free[0]
	privateSlots.free = privateSlots.free[1:]
	privateSlots.Unlock()
	d, err := StartDaemon(context.Background(), slot.bridge, slot.cidr, slot.pool)
	if err != nil {
		t.Fatalf("start a Docker daemon: %v", err)
	}
	t.Cleanup(func() {
		d.Remove()
		privateSlots.Lock()
		privateSlots.free = append(privateSlots.free, slot)
		privateSlots.Unlock()
	})
	return d
}

// StartDaemon starts a daemon on the given bridge, creating its networks
// from the given address pool, and builds the workload image there.
func StartDaemon(ctx context.Context, bridge, cidr, pool string) (*Daemon, error) {
	dir, err := os.MkdirTemp("", "stateful-dockerd-")
	if err != nil {
		return nil, err
	}
	pki, err := newPKI(dir)
	if err != nil {
		return nil, err
	}
	if err := ensureBridge(bridge, cidr); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	address := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// A short exec root: it holds unix sockets, whose paths are limited.
	execRoot, err := os.MkdirTemp("/tmp", "sd2-")
	if err != nil {
		return nil, err
	}
	gateway, _, _ := strings.Cut(cidr, "/")
	d := &Daemon{
		Endpoint: "tcp://" + address, CAPEM: pki.ca, CertPEM: pki.cert, KeyPEM: pki.key, OtherCAPEM: pki.otherCA,
		Gateway: gateway, dir: dir, execRoot: execRoot,
		args: []string{
			"--data-root", filepath.Join(dir, "data"), "--exec-root", execRoot, "--pidfile", filepath.Join(dir, "docker.pid"),
			"-H", "tcp://" + address, "--tlsverify",
			"--tlscacert", filepath.Join(dir, "ca.pem"), "--tlscert", filepath.Join(dir, "server.pem"), "--tlskey", filepath.Join(dir, "server-key.pem"),
			"-b", bridge, "--default-address-pool", pool, "--iptables=false", "--ip-masq=false",
		},
	}
	if err := d.Start(ctx); err != nil {
		d.Remove()
		return nil, err
	}
	if err := BuildWorkloadImages(ctx, d.Engine); err != nil {
		d.Remove()
		return nil, fmt.Errorf("daemon on %s: %w", bridge, err)
	}
	return d, nil
}

// Kill kills the daemon with SIGKILL, as a crash would: its containers
// keep running under their shims, and it cleans up nothing.
func (d *Daemon) Kill() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Kill()
	_ = d.cmd.Wait()
	d.cmd = nil
}

// Start runs the daemon (again) and waits until it answers. Pid files a
// killed daemon left would block it: its own, and its containerd's when
// that containerd died with it (the pid may since name another process).
func (d *Daemon) Start(ctx context.Context) error {
	_ = os.Remove(filepath.Join(d.dir, "docker.pid"))
	containerdPid := filepath.Join(d.execRoot, "containerd", "containerd.pid")
	if pid, err := os.ReadFile(containerdPid); err == nil && !liveContainerd(strings.TrimSpace(string(pid))) {
		_ = os.Remove(containerdPid)
	}
	logFile, err := os.OpenFile(filepath.Join(d.dir, "dockerd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	d.cmd = exec.Command("dockerd", d.args...)
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	if err := d.cmd.Start(); err != nil {
		return err
	}
	d.Engine = newTLSEngine(d.Endpoint, d.CAPEM, d.CertPEM, d.KeyPEM)
	if err := waitForDaemon(ctx, d.Engine); err != nil {
		log, _ := os.ReadFile(logFile.Name())
		return fmt.Errorf("%w; dockerd log:\n%s", err, log)
	}
	// A new Host: a provider host keeps its first connection, or its
	// failure, for good.
	d.Host = docker.NewHost(docker.Config{Name: "tls", Endpoint: d.Endpoint, TLS: &docker.TLSConfig{CAPEM: d.CAPEM, CertPEM: d.CertPEM, KeyPEM: d.KeyPEM}})
	return nil
}

// liveContainerd: the process is a containerd that runs. One that died
// with its daemon stays a zombie where nothing reaps orphans, and the
// daemon would wait for it forever.
func liveContainerd(pid string) bool {
	if _, err := strconv.Atoi(pid); err != nil {
		return false
	}
	stat, err := os.ReadFile(filepath.Join("/proc", pid, "stat")) //nolint:gosec // pid is a number, read from the daemon's own pid file

	if err != nil {
		return false
	}
	// pid (comm) state ...
	_, rest, _ := strings.Cut(string(stat), " (")
	comm, rest, _ := strings.Cut(rest, ") ")
	return comm == "containerd" && !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

// Stop stops the daemon, keeping its data; its containers stop with it.
func (d *Daemon) Stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Kill()
		<-done
	}
	d.cmd = nil
}

// Remove stops the daemon and deletes its data.
func (d *Daemon) Remove() {
	d.Stop()
	_ = os.RemoveAll(d.dir)
	_ = os.RemoveAll(d.execRoot)
}

// waitForDaemon pings a starting daemon until it answers.
func waitForDaemon(ctx context.Context, daemon *Engine) error {
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err = daemon.Ping(ctx); err == nil {
			return nil
		}
	}
	return err
}

func ensureBridge(bridge, cidr string) error {
	if _, err := net.InterfaceByName(bridge); err == nil {
		return nil
	}
	for _, args := range [][]string{
		{"link", "add", bridge, "type", "bridge"},
		{"addr", "add", cidr, "dev", bridge},
		{"link", "set", bridge, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %v: %w: %s", args, err, out)
		}
	}
	return nil
}

type testCerts struct{ ca, cert, key, otherCA string }

// newPKI makes a CA, a server certificate for 127.0.0.1 and a client
// certificate, writes the daemon's files into dir and returns the client's.
func newPKI(dir string) (testCerts, error) {
	ca, caKey, caPEM, err := newCA("stateful test CA")
	if err != nil {
		return testCerts{}, err
	}
	_, _, otherPEM, err := newCA("another CA")
	if err != nil {
		return testCerts{}, err
	}
	serverPEM, serverKeyPEM, err := newLeaf(ca, caKey, &x509.Certificate{
		Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return testCerts{}, err
	}
	clientPEM, clientKeyPEM, err := newLeaf(ca, caKey, &x509.Certificate{
		Subject: pkix.Name{CommonName: "terraform"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return testCerts{}, err
	}
	for name, content := range map[string]string{"ca.pem": caPEM, "server.pem": serverPEM, "server-key.pem": serverKeyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return testCerts{}, err
		}
	}
	return testCerts{ca: caPEM, cert: clientPEM, key: clientKeyPEM, otherCA: otherPEM}, nil
}

func newCA(name string) (*x509.Certificate, *ecdsa.PrivateKey, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, "", err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), err
}

func newLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate) (certPEM, keyPEM string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})), nil
}

// HostBlock renders a provider host block named name that reaches the
// daemon over TLS with its client certificate, trusting ca, advertised at
// advertise when it is not empty.
func (d *Daemon) HostBlock(name, ca, advertise string) string {
	advertised := ""
	if advertise != "" {
		advertised = fmt.Sprintf("\n    advertise_address = %q", advertise)
	}
	return fmt.Sprintf(`
  host {
    name     = %q
    endpoint = %q%s
    tls {
      ca_pem   = <<-EOT
%s
EOT
      cert_pem = <<-EOT
%s
EOT
      key_pem  = <<-EOT
%s
EOT
    }
  }
`, name, d.Endpoint, advertised, strings.TrimSpace(ca), strings.TrimSpace(d.CertPEM), strings.TrimSpace(d.KeyPEM))
}
