package docker

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func testHostKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestSSHAuthIsTheKeyElseTheAgent(t *testing.T) {
	key := testSSHKey(t)
	signer, sock, err := sshAuth("ssh", key, "", "/tmp/agent.sock")
	if err != nil || signer == nil || sock != "" {
		t.Errorf("with a key: signer %v, agent %q, err %v; want the key, not the agent", signer, sock, err)
	}
	signer, sock, err = sshAuth("ssh", "", "", "/tmp/agent.sock")
	if err != nil || signer != nil || sock != "/tmp/agent.sock" {
		t.Errorf("without a key: signer %v, agent %q, err %v; want the agent", signer, sock, err)
	}
	for _, tc := range []struct {
		field, key, passphrase, agent string
		want                          []string
	}{
		{field: "ssh", want: []string{"ssh.private_key", "SSH_AUTH_SOCK"}},
		{field: "ssh.jump", want: []string{"ssh.jump.private_key", "SSH_AUTH_SOCK"}},
		{field: "ssh", passphrase: "secret", agent: "/tmp/agent.sock", want: []string{"ssh.passphrase is set without ssh.private_key"}},
		{field: "ssh", key: "not a key", agent: "/tmp/agent.sock", want: []string{"ssh.private_key:"}},
	} {
		_, _, err := sshAuth(tc.field, tc.key, tc.passphrase, tc.agent)
		if err == nil {
			t.Errorf("%+v: no error", tc)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %v; want it to say %q", tc, err, w)
			}
		}
	}
}

func TestSSHHostKeysAreAlwaysVerified(t *testing.T) {
	const address = "10.0.0.3:22"
	right, wrong := testHostKey(t), testHostKey(t)
	line := knownhosts.Line([]string{knownhosts.Normalize(address)}, right)
	home := t.TempDir()
	userFile := filepath.Join(home, "known_hosts")
	if err := os.WriteFile(userFile, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	remote := &net.TCPAddr{IP: net.ParseIP("10.0.0.3"), Port: 22}
	for name, tc := range map[string]struct {
		hostKey, knownHosts, userFile string
	}{
		"pinned key":           {hostKey: string(ssh.MarshalAuthorizedKey(right)), userFile: filepath.Join(home, "missing")},
		"known_hosts":          {knownHosts: line, userFile: filepath.Join(home, "missing")},
		"user's known_hosts":   {userFile: userFile},
		"pinned key wins":      {hostKey: string(ssh.MarshalAuthorizedKey(right)), knownHosts: knownhosts.Line([]string{address}, wrong), userFile: userFile},
		"contents before file": {knownHosts: line, userFile: filepath.Join(home, "missing")},
	} {
		cb, _, err := sshHostKeys("ssh", address, tc.hostKey, tc.knownHosts, false, tc.userFile)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := cb(address, remote, right); err != nil {
			t.Errorf("%s: the right key is refused: %v", name, err)
		}
		if err := cb(address, remote, wrong); err == nil {
			t.Errorf("%s: another key is accepted", name)
		}
	}

	cb, _, err := sshHostKeys("ssh", address, "", "", true, "")
	if err != nil || cb(address, remote, wrong) != nil {
		t.Errorf("insecure_ignore_host_key: %v; want any key accepted, as asked", err)
	}

	for _, tc := range []struct {
		field, userFile string
		want            []string
		notWant         string
	}{
		{field: "ssh", userFile: filepath.Join(home, "missing"), want: []string{"ssh.known_hosts", "ssh.host_key", "insecure_ignore_host_key", filepath.Join(home, "missing")}},
		{field: "ssh", userFile: "", want: []string{"ssh.known_hosts", "ssh.host_key", "no home directory"}},
		{field: "ssh.jump", userFile: filepath.Join(home, "missing"), want: []string{"ssh.jump.known_hosts", "ssh.jump.host_key"}, notWant: "insecure"},
	} {
		_, _, err := sshHostKeys(tc.field, address, "", "", false, tc.userFile)
		if err == nil {
			t.Errorf("%+v: no error, want one naming the ways to verify the host", tc)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %v; want it to say %q", tc, err, w)
			}
		}
		if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
			t.Errorf("%+v: %v; should not offer %q", tc, err, tc.notWant)
		}
	}
}

// A known_hosts that holds an RSA key only must make the client ask for an
// RSA host key, or the server's other key would be taken for a mismatch.
func TestKnownHostsLimitHostKeyAlgorithms(t *testing.T) {
	const address = "10.0.0.3:22"
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub, err := ssh.NewPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	_, algos, err := sshHostKeys("ssh", address, "", knownhosts.Line([]string{address}, rsaPub), false, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(algos, ",") != "rsa-sha2-512,rsa-sha2-256,ssh-rsa" {
		t.Errorf("algorithms %v, want the RSA ones", algos)
	}
	_, algos, err = sshHostKeys("ssh", "10.9.9.9:22", "", knownhosts.Line([]string{address}, rsaPub), false, "")
	if err != nil || algos != nil {
		t.Errorf("an unknown host: algorithms %v (%v), want the client's defaults", algos, err)
	}
}

func TestSSHJumpHost(t *testing.T) {
	key := testSSHKey(t)
	hostKey := string(ssh.MarshalAuthorizedKey(testHostKey(t)))
	for _, tc := range []struct {
		jump               SSHJump
		wantAddr, wantUser string
		wantErr            string
	}{
		{jump: SSHJump{Address: "bastion.example.com"}, wantAddr: "bastion.example.com:22", wantUser: "deploy"},
		{jump: SSHJump{Address: "bastion.example.com:2222", User: "jump"}, wantAddr: "bastion.example.com:2222", wantUser: "jump"},
		{jump: SSHJump{Address: "10.0.0.1", Port: 2200}, wantAddr: "10.0.0.1:2200", wantUser: "deploy"},
		{jump: SSHJump{Address: "10.0.0.1:2222", Port: 2200}, wantErr: "give the port once"},
		{jump: SSHJump{}, wantErr: "ssh.jump.address is required"},
	} {
		j := tc.jump
		j.PrivateKey, j.HostKey = key, hostKey
		d, err := newSSHDialer("ssh://deploy@10.0.0.3", &SSHConfig{PrivateKey: key, HostKey: hostKey, Jump: &j})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%+v: err %v, want %q", tc.jump, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", tc.jump, err)
			continue
		}
		if d.jump.address != tc.wantAddr || d.jump.user != tc.wantUser {
			t.Errorf("%+v: jumps through %s@%s, want %s@%s", tc.jump, d.jump.user, d.jump.address, tc.wantUser, tc.wantAddr)
		}
	}

	// The bastion's host key is its own: the target's does not verify it.
	t.Setenv("HOME", t.TempDir())
	_, err := newSSHDialer("ssh://deploy@10.0.0.3", &SSHConfig{PrivateKey: key, HostKey: hostKey, Jump: &SSHJump{Address: "b", PrivateKey: key}})
	if err == nil || !strings.Contains(err.Error(), "ssh.jump.known_hosts") {
		t.Errorf("a jump host without a host key: %v, want an error naming ssh.jump.known_hosts", err)
	}
}

// The default host (DOCKER_HOST=ssh://) has no settings: the agent and the
// user's known_hosts serve.
func TestSSHDialerFromTheEnvironmentAlone(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", filepath.Join(home, "agent.sock"))
	if _, err := NewSSHDialer("ssh://deploy@10.0.0.3", nil); err == nil || !strings.Contains(err.Error(), filepath.Join(home, ".ssh", "known_hosts")) {
		t.Fatalf("no known_hosts: %v, want an error naming %s", err, filepath.Join(home, ".ssh", "known_hosts"))
	}
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	line := knownhosts.Line([]string{"10.0.0.3"}, testHostKey(t))
	if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := NewSSHDialer("ssh://deploy@10.0.0.3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.target.signer != nil || d.target.agent != filepath.Join(home, "agent.sock") || d.Socket() != DefaultRemoteSocket {
		t.Errorf("dialer %+v: want the agent and the default socket", d.target)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	if _, err := NewSSHDialer("ssh://deploy@10.0.0.3", nil); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
		t.Errorf("neither key nor agent: %v, want an error naming SSH_AUTH_SOCK", err)
	}
}
