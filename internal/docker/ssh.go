package docker

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// DefaultRemoteSocket is the Docker socket an SSH host reaches by default.
const DefaultRemoteSocket = "/var/run/docker.sock"

// SSHConfig reaches a remote daemon's socket through an SSH connection made
// by the provider itself: no local ssh or docker binary is needed. Every
// field may be empty: the key then comes from the ssh-agent at
// SSH_AUTH_SOCK and the host key is checked against ~/.ssh/known_hosts.
type SSHConfig struct {
	// PrivateKey (with Passphrase if encrypted) authenticates; without it,
	// the agent at SSH_AUTH_SOCK does.
	PrivateKey string
	Passphrase string
	// KnownHosts (known_hosts lines) or HostKey (one public key) verify the
	// server; without either, the user's ~/.ssh/known_hosts does.
	// InsecureIgnoreHostKey is the explicit way out.
	KnownHosts            string
	HostKey               string
	InsecureIgnoreHostKey bool
	// Socket is the daemon's socket on the remote host.
	Socket string
	// User and Port, when set, take the place of the endpoint's.
	User string
	Port int
	// Jump, when set, is a bastion the connection goes through.
	Jump *SSHJump
}

// SSHJump is a bastion (jump host): the provider connects to it, then to
// the Docker host through it, as ssh -J does. Its host key is verified as
// the target's is, from its own KnownHosts or HostKey, else the user's
// ~/.ssh/known_hosts; it authenticates with its own PrivateKey, else the
// agent.
type SSHJump struct {
	// Address is the bastion's host name or IP, optionally with :port.
	Address    string
	Port       int
	User       string
	PrivateKey string
	Passphrase string
	KnownHosts string
	HostKey    string
}

// SSHDialer keeps one SSH connection per host and opens a stream to the
// remote socket for every HTTP connection the Docker client makes.
type SSHDialer struct {
	target hop
	jump   *hop
	socket string

	mu      sync.Mutex
	client  *ssh.Client
	bastion *ssh.Client
}

// hop is one SSH server on the way: where it is, who logs in and how, and
// how its host key is verified.
type hop struct {
	// what names the hop in errors: "ssh" or "ssh jump host".
	what     string
	address  string
	user     string
	signer   ssh.Signer // nil: the agent at agentSocket
	agent    string
	hostKeys ssh.HostKeyCallback
	algos    []string
}

// NewSSHDialer reaches endpoint (ssh://[user@]host[:port]) with c, which may
// be nil: the agent at SSH_AUTH_SOCK then authenticates and ~/.ssh/known_hosts
// verifies the server. The default host uses it for DOCKER_HOST=ssh://.
func NewSSHDialer(endpoint string, c *SSHConfig) (*SSHDialer, error) {
	return newSSHDialer(endpoint, c)
}

// Socket is the Docker socket on the remote host the dialer reaches.
func (d *SSHDialer) Socket() string { return d.socket }

func newSSHDialer(endpoint string, c *SSHConfig) (*SSHDialer, error) {
	if c == nil {
		c = &SSHConfig{}
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	user := u.User.Username()
	if c.User != "" {
		user = c.User
	}
	if user == "" {
		return nil, errors.New("no SSH user: write the endpoint as ssh://user@host, or set ssh.user")
	}
	port := u.Port()
	if c.Port != 0 {
		port = strconv.Itoa(c.Port)
	}
	if port == "" {
		port = "22"
	}
	target := hop{what: "ssh", address: net.JoinHostPort(u.Hostname(), port), user: user}
	if target.signer, target.agent, err = sshAuth("ssh", c.PrivateKey, c.Passphrase, os.Getenv("SSH_AUTH_SOCK")); err != nil {
		return nil, err
	}
	if target.hostKeys, target.algos, err = sshHostKeys("ssh", target.address, c.HostKey, c.KnownHosts, c.InsecureIgnoreHostKey, userKnownHosts()); err != nil {
		return nil, err
	}
	d := &SSHDialer{target: target, socket: c.Socket}
	if d.socket == "" {
		d.socket = DefaultRemoteSocket
	}
	if c.Jump != nil {
		if d.jump, err = jumpHop(c.Jump, user); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// jumpHop is the bastion's hop; its user defaults to the target's.
func jumpHop(j *SSHJump, targetUser string) (*hop, error) {
	const what = "ssh.jump"
	host, port := j.Address, ""
	if h, p, err := net.SplitHostPort(j.Address); err == nil {
		host, port = h, p
	}
	if host == "" {
		return nil, errors.New("ssh.jump.address is required: the bastion's host name or IP")
	}
	if j.Port != 0 {
		if port != "" && port != strconv.Itoa(j.Port) {
			return nil, fmt.Errorf("ssh.jump: the address %q has port %s and port is %d: give the port once", j.Address, port, j.Port)
		}
		port = strconv.Itoa(j.Port)
	}
	if port == "" {
		port = "22"
	}
	h := &hop{what: "ssh jump host", address: net.JoinHostPort(host, port), user: j.User}
	if h.user == "" {
		h.user = targetUser
	}
	var err error
	if h.signer, h.agent, err = sshAuth(what, j.PrivateKey, j.Passphrase, os.Getenv("SSH_AUTH_SOCK")); err != nil {
		return nil, err
	}
	if h.hostKeys, h.algos, err = sshHostKeys(what, h.address, j.HostKey, j.KnownHosts, false, userKnownHosts()); err != nil {
		return nil, err
	}
	return h, nil
}

// DialContext opens a stream to the remote Docker socket.
func (d *SSHDialer) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, err := d.connect(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := client.Dial("unix", d.socket)
	if err != nil {
		d.reset(client)
		return nil, fmt.Errorf("ssh %s: open the Docker socket %s: %w", d.target.address, d.socket, err)
	}
	return conn, nil
}

func (d *SSHDialer) connect(ctx context.Context) (*ssh.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client != nil {
		return d.client, nil
	}
	var conn net.Conn
	if d.jump != nil {
		if d.bastion == nil {
			tcp, err := dialTCP(ctx, d.jump.address)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", d.jump.what, d.jump.address, err)
			}
			if d.bastion, err = d.jump.handshake(tcp); err != nil {
				return nil, err
			}
		}
		var err error
		if conn, err = d.bastion.Dial("tcp", d.target.address); err != nil {
			_ = d.bastion.Close()
			d.bastion = nil
			return nil, fmt.Errorf("ssh %s through the jump host %s: %w", d.target.address, d.jump.address, err)
		}
	} else {
		var err error
		if conn, err = dialTCP(ctx, d.target.address); err != nil {
			return nil, fmt.Errorf("ssh %s: %w", d.target.address, err)
		}
	}
	client, err := d.target.handshake(conn)
	if err != nil {
		return nil, err
	}
	d.client = client
	return d.client, nil
}

func dialTCP(ctx context.Context, address string) (net.Conn, error) {
	var dialer net.Dialer
	if deadline, ok := ctx.Deadline(); ok {
		dialer.Deadline = deadline
	} else {
		dialer.Timeout = pingTimeout
	}
	return dialer.DialContext(ctx, "tcp", address)
}

// handshake logs in to the hop over conn, within pingTimeout; conn is
// closed on failure.
func (h *hop) handshake(conn net.Conn) (*ssh.Client, error) {
	config, done, err := h.clientConfig()
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("%s %s: %w", h.what, h.address, err)
	}
	defer done()
	// A stream through a jump host has no deadlines: a timer closes it.
	timer := time.AfterFunc(pingTimeout, func() { _ = conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, h.address, config)
	if !timer.Stop() && err == nil {
		err = errors.New("handshake timed out")
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("%s %s: %w", h.what, h.address, err)
	}
	return ssh.NewClient(c, chans, reqs), nil
}

// clientConfig authenticates with the key, else with the agent, whose
// connection done closes once the handshake is over.
func (h *hop) clientConfig() (*ssh.ClientConfig, func(), error) {
	config := &ssh.ClientConfig{User: h.user, HostKeyCallback: h.hostKeys, HostKeyAlgorithms: h.algos, Timeout: pingTimeout}
	if h.signer != nil {
		config.Auth = []ssh.AuthMethod{ssh.PublicKeys(h.signer)}
		return config, func() {}, nil
	}
	conn, err := net.DialTimeout("unix", h.agent, pingTimeout)
	if err != nil {
		return nil, nil, fmt.Errorf("the ssh-agent at SSH_AUTH_SOCK (%s): %w", h.agent, err)
	}
	config.Auth = []ssh.AuthMethod{ssh.PublicKeysCallback(agent.NewClient(conn).Signers)}
	return config, func() { _ = conn.Close() }, nil
}

// reset drops a broken connection so the next dial reconnects.
func (d *SSHDialer) reset(broken *ssh.Client) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client == broken {
		_ = d.client.Close()
		d.client = nil
		if d.bastion != nil {
			_ = d.bastion.Close()
			d.bastion = nil
		}
	}
}

// sshAuth picks how a hop authenticates: the private key when one is
// given, else the agent at agentSocket (SSH_AUTH_SOCK). field names the
// settings in errors ("ssh" or "ssh.jump").
func sshAuth(field, privateKey, passphrase, agentSocket string) (ssh.Signer, string, error) {
	if privateKey == "" {
		switch {
		case passphrase != "":
			return nil, "", fmt.Errorf("%s.passphrase is set without %s.private_key", field, field)
		case agentSocket == "":
			return nil, "", fmt.Errorf("no SSH key for %s: give %s.private_key, or run an ssh-agent holding the key and set SSH_AUTH_SOCK", field, field)
		}
		return nil, agentSocket, nil
	}
	var signer ssh.Signer
	var err error
	if passphrase != "" {
		signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(privateKey), []byte(passphrase))
	} else {
		signer, err = ssh.ParsePrivateKey([]byte(privateKey))
	}
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, "", fmt.Errorf("%s.private_key is encrypted: give %s.passphrase", field, field)
	case err != nil:
		return nil, "", fmt.Errorf("%s.private_key: %w", field, err)
	}
	return signer, "", nil
}

// userKnownHosts is ~/.ssh/known_hosts, or empty without a home directory.
func userKnownHosts() string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ""
	}
	return filepath.Join(home, ".ssh", "known_hosts")
}

// sshHostKeys picks how a hop's host key is verified: the pinned key, else
// the known_hosts contents, else (for the target only, when asked) not at
// all, else the user's known_hosts file. There is no silent way out: with
// none of them, it fails naming the ways to give one. It also returns the
// host key algorithms that known_hosts holds for address, so that the
// server offers a key that can be checked.
func sshHostKeys(field, address, hostKey, knownHosts string, insecure bool, userFile string) (ssh.HostKeyCallback, []string, error) {
	switch {
	case hostKey != "":
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey))
		if err != nil {
			return nil, nil, fmt.Errorf("%s.host_key is not a public key (as in known_hosts or .pub files): %w", field, err)
		}
		return ssh.FixedHostKey(key), nil, nil
	case knownHosts != "":
		cb, err := knownHostsCallback(knownHosts)
		if err != nil {
			return nil, nil, fmt.Errorf("%s.known_hosts: %w", field, err)
		}
		return cb, knownAlgorithms(cb, address), nil
	case insecure:
		return ssh.InsecureIgnoreHostKey(), nil, nil //nolint:gosec // an explicit, documented user choice
	}
	ways := fmt.Sprintf("give %s.known_hosts or %s.host_key", field, field)
	if field == "ssh" {
		ways += " (or, knowingly, ssh.insecure_ignore_host_key = true)"
	}
	if userFile == "" {
		return nil, nil, fmt.Errorf("no way to verify the host key of %s: %s; there is no home directory for ~/.ssh/known_hosts", address, ways)
	}
	if _, err := os.Stat(userFile); err != nil {
		return nil, nil, fmt.Errorf("no way to verify the host key of %s: %s, or add the host to %s (ssh-keyscan prints its keys): %w", address, ways, userFile, err)
	}
	cb, err := knownhosts.New(userFile)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", userFile, err)
	}
	return cb, knownAlgorithms(cb, address), nil
}

// knownAlgorithms asks a known_hosts callback which keys it holds for
// address (by offering a key it cannot hold) and returns their algorithms;
// nil when it holds none, leaving the client's defaults.
func knownAlgorithms(cb ssh.HostKeyCallback, address string) []string {
	placeholder, err := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		return nil
	}
	var keyErr *knownhosts.KeyError
	if err := cb(address, &net.TCPAddr{IP: net.IPv4zero}, placeholder); !errors.As(err, &keyErr) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, k := range keyErr.Want {
		for _, a := range keyAlgorithms(k.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	return algos
}

// keyAlgorithms are the signature algorithms a host key of a type serves.
func keyAlgorithms(keyType string) []string {
	switch keyType {
	case ssh.KeyAlgoRSA:
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	case ssh.CertAlgoRSAv01:
		return []string{ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSAv01}
	}
	return []string{keyType}
}

// knownHostsCallback parses known_hosts contents; the knownhosts package
// reads files only, so the contents pass through a private temporary file.
func knownHostsCallback(contents string) (ssh.HostKeyCallback, error) {
	f, err := os.CreateTemp("", "stateful-known-hosts-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if _, err := f.WriteString(contents + "\n"); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return knownhosts.New(f.Name())
}

// ValidateSSH checks SSH settings without dialling, for plan-time errors.
func ValidateSSH(endpoint string, c *SSHConfig) error {
	_, err := newSSHDialer(endpoint, c)
	return err
}
