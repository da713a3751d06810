package acctest

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// StartSSHAgent serves an in-process ssh-agent holding the given private
// keys on a unix socket, for the test's lifetime, and returns the socket's
// path: what SSH_AUTH_SOCK names.
func StartSSHAgent(t *testing.T, privateKeys ...string) string {
	t.Helper()
	keyring := agent.NewKeyring()
	for _, k := range privateKeys {
		raw, err := ssh.ParseRawPrivateKey([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		if err := keyring.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
			t.Fatal(err)
		}
	}
	// A short directory: unix socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "agent-")
	if err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = l.Close()
		_ = os.RemoveAll(dir)
	})
	go func() {
		for {
			conn, err := l.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			} else if err != nil {
				continue
			}
			go func() {
				defer func() { _ = conn.Close() }()
				_ = agent.ServeAgent(keyring, conn)
			}()
		}
	}()
	return socket
}

// SSHHome makes a home directory whose ~/.ssh/known_hosts holds the given
// lines, for a provider run with HOME pointed at it.
func SSHHome(t *testing.T, knownHosts string) string {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), []byte(knownHosts+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}
