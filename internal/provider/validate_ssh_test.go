package provider

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"golang.org/x/crypto/ssh"
)

func testKeys(t *testing.T) (private, public string) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block)), string(ssh.MarshalAuthorizedKey(sshPub))
}

func sshHost(s *sshModel) hostModel {
	return hostModel{Name: types.StringValue("a"), Endpoint: types.StringValue("ssh://deploy@10.0.0.3"), SSH: s}
}

// Without settings the agent and ~/.ssh/known_hosts serve; the plan fails,
// naming the ways out, when they are missing too.
func TestValidateSSHFallsBackToTheAgentAndTheUsersKnownHosts(t *testing.T) {
	key, hostKey := testKeys(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	at := path.Root("host").AtListIndex(0)

	errorOf := func(h hostModel) string {
		diags := validateSSH(at, "ssh", h)
		if !diags.HasError() {
			return ""
		}
		return diags.Errors()[0].Detail()
	}
	if got := errorOf(sshHost(nil)); !strings.Contains(got, "SSH_AUTH_SOCK") {
		t.Errorf("no ssh block, no agent: %q, want the agent named", got)
	}
	t.Setenv("SSH_AUTH_SOCK", filepath.Join(home, "agent.sock"))
	if got := errorOf(sshHost(nil)); !strings.Contains(got, "ssh.known_hosts") || !strings.Contains(got, filepath.Join(home, ".ssh", "known_hosts")) {
		t.Errorf("no ssh block, no known_hosts: %q, want the ways to verify the host named", got)
	}
	if got := errorOf(sshHost(&sshModel{HostKey: types.StringValue(hostKey)})); got != "" {
		t.Errorf("agent and host key: %q, want no error", got)
	}
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), []byte("10.0.0.3 "+hostKey), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := errorOf(sshHost(nil)); got != "" {
		t.Errorf("agent and ~/.ssh/known_hosts: %q, want no error", got)
	}

	jump := func(j *sshJumpModel) hostModel {
		return sshHost(&sshModel{PrivateKey: types.StringValue(key), HostKey: types.StringValue(hostKey), Jump: j})
	}
	if got := errorOf(jump(&sshJumpModel{Address: types.StringValue("bastion:2222"), HostKey: types.StringValue(hostKey)})); got != "" {
		t.Errorf("a jump host: %q, want no error", got)
	}
	if got := errorOf(jump(&sshJumpModel{})); !strings.Contains(got, "ssh.jump.address is required") {
		t.Errorf("a jump host without address: %q", got)
	}
	if got := errorOf(jump(&sshJumpModel{Address: types.StringUnknown()})); got != "" {
		t.Errorf("an unknown jump address: %q, want it checked once known", got)
	}
	if got := errorOf(jump(&sshJumpModel{Address: types.StringValue("bastion"), HostKey: types.StringValue("not a key")})); !strings.Contains(got, "ssh.jump.host_key") {
		t.Errorf("a jump host key that is no key: %q", got)
	}
}
