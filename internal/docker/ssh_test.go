package docker

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func testSSHKey(t *testing.T) string {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}

func TestSSHUserAndPortComeFromTheEndpointOrTheBlock(t *testing.T) {
	key := testSSHKey(t)
	for _, tc := range []struct {
		endpoint   string
		user       string
		port       int
		wantUser   string
		wantAddr   string
		wantErrMsg string
	}{
		{endpoint: "ssh://deploy@10.0.0.3", wantUser: "deploy", wantAddr: "10.0.0.3:22"},
		{endpoint: "ssh://deploy@10.0.0.3:2222", wantUser: "deploy", wantAddr: "10.0.0.3:2222"},
		{endpoint: "ssh://10.0.0.3", user: "ops", port: 2200, wantUser: "ops", wantAddr: "10.0.0.3:2200"},
		{endpoint: "ssh://deploy@10.0.0.3:2222", user: "ops", port: 22, wantUser: "ops", wantAddr: "10.0.0.3:22"},
		{endpoint: "ssh://10.0.0.3", wantErrMsg: "no SSH user: write the endpoint as ssh://user@host, or set ssh.user"},
	} {
		d, err := newSSHDialer(tc.endpoint, &SSHConfig{PrivateKey: key, InsecureIgnoreHostKey: true, User: tc.user, Port: tc.port})
		if tc.wantErrMsg != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErrMsg) {
				t.Errorf("%s: err = %v, want %q", tc.endpoint, err, tc.wantErrMsg)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.endpoint, err)
		}
		if d.target.user != tc.wantUser || d.target.address != tc.wantAddr {
			t.Errorf("%s (user %q, port %d): dials %s@%s, want %s@%s", tc.endpoint, tc.user, tc.port, d.target.user, d.target.address, tc.wantUser, tc.wantAddr)
		}
	}
}
