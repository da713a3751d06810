package acctest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHServer is an OpenSSH server on loopback through which tests reach the
// local Docker socket, as the provider would reach a remote host.
type SSHServer struct {
	Endpoint string
	// PrivateKey is root's client key; KnownHosts holds the server's key,
	// WrongKnownHosts another key for the same address.
	PrivateKey      string
	KnownHosts      string
	WrongKnownHosts string
}

// SSH is the server StartSSHServer started.
var SSH SSHServer

// StartSSHServer runs Debian's sshd on a free loopback port with keys made
// for the test run (scripts/test-deps installs openssh-server).
func StartSSHServer(context.Context) (stop func(), err error) {
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
		if _, err := os.Stat(sshd); err != nil {
			return nil, fmt.Errorf("sshd not found: install openssh-server (scripts/test-deps does)")
		}
	}
	dir, err := os.MkdirTemp("", "stateful-sshd-")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { //nolint:gosec // sshd requires its privilege separation directory to be 0755
		return nil, err
	}
	_, hostPub, err := writeKey(filepath.Join(dir, "host_key"))
	if err != nil {
		return nil, err
	}
	clientKey, clientPub, err := writeKey(filepath.Join(dir, "client_key"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientPub), 0o600); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	config := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowStreamLocalForwarding yes
PidFile %s
`, port, filepath.Join(dir, "host_key"), filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid"))
	if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(config), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.RemoveAll(dir)
	}
	address := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitForPort(address); err != nil {
		stop()
		return nil, err
	}
	_, otherPub, err := writeKey(filepath.Join(dir, "other_key"))
	if err != nil {
		stop()
		return nil, err
	}
	SSH = SSHServer{
		Endpoint:        "ssh://root@" + address,
		PrivateKey:      clientKey,
		KnownHosts:      knownhosts.Line([]string{knownhosts.Normalize(address)}, hostPub),
		WrongKnownHosts: knownhosts.Line([]string{knownhosts.Normalize(address)}, otherPub),
	}
	return stop, nil
}

// writeKey makes an ed25519 key pair and writes the private key in
// OpenSSH format.
func writeKey(file string) (string, ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return "", nil, err
	}
	encoded := pem.EncodeToMemory(block)
	if err := os.WriteFile(file, encoded, 0o600); err != nil {
		return "", nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	return string(encoded), sshPub, err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitForPort(address string) error {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", address); err == nil {
			_ = c.Close()
			return nil
		}
	}
	return fmt.Errorf("sshd did not listen on %s", address)
}
