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
	"time"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
)

// TLSDaemon is a second Docker daemon on a loopback TCP port that requires
// TLS with client certificates, made for the test run.
type TLSDaemon struct {
	Endpoint string
	CAPEM    string
	CertPEM  string
	KeyPEM   string
	// OtherCAPEM signed nothing the daemon presents.
	OtherCAPEM string
	Host       *docker.Host
}

// TLS is the daemon StartTLSDaemon started.
var TLS TLSDaemon

// tlsBridge is the second daemon's own bridge: a second daemon must not
// touch docker0.
const (
	tlsBridge     = "stateful-br1"
	tlsBridgeCIDR = "172.31.0.1/24"
)

// StartTLSDaemon runs a second dockerd with its own data root, exec root,
// pidfile and bridge, listening with TLS verification on loopback, and
// builds the workload image there.
func StartTLSDaemon(ctx context.Context) (stop func(), err error) {
	dir, err := os.MkdirTemp("", "stateful-tlsd-")
	if err != nil {
		return nil, err
	}
	pki, err := newPKI(dir)
	if err != nil {
		return nil, err
	}
	if err := ensureBridge(); err != nil {
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
	cmd := exec.Command("dockerd",
		"--data-root", filepath.Join(dir, "data"), "--exec-root", execRoot, "--pidfile", filepath.Join(dir, "docker.pid"),
		"-H", "tcp://"+address, "--tlsverify",
		"--tlscacert", filepath.Join(dir, "ca.pem"), "--tlscert", filepath.Join(dir, "server.pem"), "--tlskey", filepath.Join(dir, "server-key.pem"),
		"-b", tlsBridge, "--iptables=false", "--ip-masq=false")
	logFile, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
		_ = os.RemoveAll(dir)
		_ = os.RemoveAll(execRoot)
	}
	TLS = TLSDaemon{Endpoint: "tcp://" + address, CAPEM: pki.ca, CertPEM: pki.cert, KeyPEM: pki.key, OtherCAPEM: pki.otherCA}
	if TLS.Host, err = waitForDaemon(ctx, docker.Config{Name: "tls", Endpoint: TLS.Endpoint, TLS: &docker.TLSConfig{CAPEM: pki.ca, CertPEM: pki.cert, KeyPEM: pki.key}}); err != nil {
		stop()
		log, _ := os.ReadFile(logFile.Name())
		return nil, fmt.Errorf("%w; dockerd log:\n%s", err, log)
	}
	if err := BuildWorkloadImages(ctx, TLS.Host); err != nil {
		stop()
		return nil, fmt.Errorf("second daemon: %w", err)
	}
	return stop, nil
}

// waitForDaemon pings a starting daemon until it answers (a Host keeps its
// first connection error, so each attempt uses a new one).
func waitForDaemon(ctx context.Context, cfg docker.Config) (*docker.Host, error) {
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		host := docker.NewHost(cfg)
		if err = host.Ping(ctx); err == nil {
			return host, nil
		}
	}
	return nil, err
}

func ensureBridge() error {
	if _, err := net.InterfaceByName(tlsBridge); err == nil {
		return nil
	}
	for _, args := range [][]string{
		{"link", "add", tlsBridge, "type", "bridge"},
		{"addr", "add", tlsBridgeCIDR, "dev", tlsBridge},
		{"link", "set", tlsBridge, "up"},
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
