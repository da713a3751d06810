package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// DefaultRemoteSocket is the Docker socket an SSH host reaches by default.
const DefaultRemoteSocket = "/var/run/docker.sock"

// SSHConfig reaches a remote daemon's socket through an SSH connection made
// by the provider itself: no local ssh or docker binary is needed.
type SSHConfig struct {
	PrivateKey string
	Passphrase string
	// KnownHosts (known_hosts lines) or HostKey (one public key) verify the
	// server; InsecureIgnoreHostKey is the explicit way out.
	KnownHosts            string
	HostKey               string
	InsecureIgnoreHostKey bool
	// Socket is the daemon's socket on the remote host.
	Socket string
	// User and Port, when set, take the place of the endpoint's.
	User string
	Port int
}

// sshDialer keeps one SSH connection per host and opens a stream to the
// remote socket for every HTTP connection the Docker client makes.
type sshDialer struct {
	address string
	config  *ssh.ClientConfig
	socket  string

	mu     sync.Mutex
	client *ssh.Client
}

func newSSHDialer(endpoint string, c *SSHConfig) (*sshDialer, error) {
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
	auth, err := sshAuth(c)
	if err != nil {
		return nil, err
	}
	hostKeys, err := sshHostKeys(c)
	if err != nil {
		return nil, err
	}
	socket := c.Socket
	if socket == "" {
		socket = DefaultRemoteSocket
	}
	return &sshDialer{
		address: net.JoinHostPort(u.Hostname(), port),
		config:  &ssh.ClientConfig{User: user, Auth: auth, HostKeyCallback: hostKeys, Timeout: pingTimeout},
		socket:  socket,
	}, nil
}

// DialContext opens a stream to the remote Docker socket.
func (d *sshDialer) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, err := d.connect(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := client.Dial("unix", d.socket)
	if err != nil {
		d.reset(client)
		return nil, fmt.Errorf("ssh %s: open the Docker socket %s: %w", d.address, d.socket, err)
	}
	return conn, nil
}

func (d *sshDialer) connect(ctx context.Context) (*ssh.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client != nil {
		return d.client, nil
	}
	var dialer net.Dialer
	if deadline, ok := ctx.Deadline(); ok {
		dialer.Deadline = deadline
	} else {
		dialer.Timeout = pingTimeout
	}
	conn, err := dialer.DialContext(ctx, "tcp", d.address)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", d.address, err)
	}
	_ = conn.SetDeadline(time.Now().Add(pingTimeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, d.address, d.config)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("ssh %s: %w", d.address, err)
	}
	_ = conn.SetDeadline(time.Time{})
	d.client = ssh.NewClient(c, chans, reqs)
	return d.client, nil
}

// reset drops a broken connection so the next dial reconnects.
func (d *sshDialer) reset(broken *ssh.Client) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client == broken {
		_ = d.client.Close()
		d.client = nil
	}
}

func sshAuth(c *SSHConfig) ([]ssh.AuthMethod, error) {
	if c.PrivateKey == "" {
		return nil, errors.New("ssh.private_key is required")
	}
	var signer ssh.Signer
	var err error
	if c.Passphrase != "" {
		signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(c.PrivateKey), []byte(c.Passphrase))
	} else {
		signer, err = ssh.ParsePrivateKey([]byte(c.PrivateKey))
	}
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, errors.New("ssh.private_key is encrypted: give ssh.passphrase")
	case err != nil:
		return nil, fmt.Errorf("ssh.private_key: %w", err)
	}
	return []ssh.AuthMethod{ssh.PublicKeys(signer)}, nil
}

func sshHostKeys(c *SSHConfig) (ssh.HostKeyCallback, error) {
	switch {
	case c.HostKey != "":
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(c.HostKey))
		if err != nil {
			return nil, fmt.Errorf("ssh.host_key is not a public key (as in known_hosts or .pub files): %w", err)
		}
		return ssh.FixedHostKey(key), nil
	case c.KnownHosts != "":
		return knownHostsCallback(c.KnownHosts)
	case c.InsecureIgnoreHostKey:
		return ssh.InsecureIgnoreHostKey(), nil //nolint:gosec // an explicit, documented user choice
	}
	return nil, errors.New("give ssh.known_hosts or ssh.host_key to verify the server (or, knowingly, ssh.insecure_ignore_host_key = true)")
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
	cb, err := knownhosts.New(f.Name())
	if err != nil {
		return nil, fmt.Errorf("ssh.known_hosts: %w", err)
	}
	return cb, nil
}

// ValidateSSH checks SSH settings without dialling, for plan-time errors.
func ValidateSSH(endpoint string, c *SSHConfig) error {
	_, err := newSSHDialer(endpoint, c)
	return err
}
