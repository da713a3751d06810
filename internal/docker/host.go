// Package docker is the only package that talks to Docker daemons. It
// connects to the configured hosts and offers the few operations the
// provider needs, in the provider's own terms.
package docker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/client"
	"github.com/docker/go-connections/sockets"
)

// DefaultHostName names the host used when the provider has no host blocks.
const DefaultHostName = "default"

// pingTimeout bounds how long a first contact may take before the host is
// reported unreachable.
const pingTimeout = 15 * time.Second

// Config describes how to reach one Docker daemon.
type Config struct {
	Name string
	// Endpoint is unix:// or tcp://; empty means the docker CLI environment
	// (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, else the local socket).
	Endpoint string
	TLS      *TLSConfig
	SSH      *SSHConfig
	// AdvertiseAddress is how replicas on other hosts reach this host's
	// published ports; empty means the endpoint's host name, if it has one.
	AdvertiseAddress string
	// Registries holds the credentials every pull on this host uses (nil:
	// anonymous pulls); the provider shares one among its hosts.
	Registries *Registries
}

// TLSConfig holds PEM contents, so no local files are needed, or a
// directory in the docker CLI's layout (ca.pem, cert.pem, key.pem).
type TLSConfig struct {
	CAPEM              string
	CertPEM            string
	KeyPEM             string
	CertPath           string
	InsecureSkipVerify bool
}

// Host is a lazily connected Docker daemon: nothing is dialled until a
// resource needs the host, so plans that don't touch it never fail on it.
type Host struct {
	cfg   Config
	once  sync.Once
	cli   *client.Client
	err   error
	calls atomic.Int64
}

// NewHost returns an unconnected host.
func NewHost(cfg Config) *Host { return &Host{cfg: cfg} }

// Name is the host's name in the provider configuration.
func (h *Host) Name() string { return h.cfg.Name }

// AdvertiseAddress is the address replicas on other hosts reach this
// host's published ports at: the configured one, else the host part of a
// tcp:// or ssh:// endpoint; empty for a local socket.
func (h *Host) AdvertiseAddress() string {
	if h.cfg.AdvertiseAddress != "" {
		return h.cfg.AdvertiseAddress
	}
	u, err := url.Parse(h.cfg.Endpoint)
	if err != nil || (u.Scheme != "tcp" && u.Scheme != "ssh") {
		return ""
	}
	return u.Hostname()
}

// Endpoint is the configured endpoint, or a description of the environment
// default.
func (h *Host) Endpoint() string {
	if h.cfg.Endpoint != "" {
		return h.cfg.Endpoint
	}
	r, err := resolveDefaultHost(processEnvironment())
	if err != nil || r.Endpoint == "" {
		return "the docker CLI's environment"
	}
	if r.Source == "" {
		return r.Endpoint
	}
	return r.Endpoint + " (" + r.Source + ")"
}

// client connects and negotiates the API version on first use.
func (h *Host) client(ctx context.Context) (*client.Client, error) {
	h.once.Do(func() {
		h.cli, h.err = h.connect(ctx)
	})
	return h.cli, h.err
}

func (h *Host) connect(ctx context.Context) (*client.Client, error) {
	opts, err := h.clientOptions()
	if err != nil {
		return nil, h.errorf("configure client: %w", err)
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, h.errorf("configure client: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	ping, err := cli.Ping(pingCtx)
	if err != nil {
		_ = cli.Close()
		return nil, h.errorf("cannot reach the Docker daemon: %w (%s)", err, likelyCause(err))
	}
	// Negotiating from this ping saves the second one NegotiateAPIVersion makes.
	cli.NegotiateAPIVersionPing(ping)
	return cli, nil
}

// clientOptions builds the client on a transport of our own, which counts
// API calls; the default host is configured from the environment the way
// the docker CLI does.
func (h *Host) clientOptions() ([]client.Opt, error) {
	cfg := h.cfg
	if cfg.Endpoint == "" {
		env, err := configFromEnv()
		if err != nil {
			return nil, err
		}
		cfg.Endpoint, cfg.TLS, cfg.SSH = env.Endpoint, env.TLS, env.SSH
	}
	if cfg.SSH != nil {
		opts, err := sshClientOptions(cfg, &h.calls)
		if err != nil && h.cfg.Endpoint == "" {
			err = fmt.Errorf("%w (for the default host, %s, %s and %s stand for ssh.private_key, ssh.passphrase and ssh.known_hosts)",
				err, EnvSSHPrivateKey, EnvSSHPassphrase, EnvSSHKnownHosts)
		}
		return opts, err
	}
	hostURL, err := client.ParseHostURL(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	transport := &http.Transport{}
	if err := sockets.ConfigureTransport(transport, hostURL.Scheme, hostURL.Host); err != nil {
		return nil, err
	}
	scheme := "http"
	if cfg.TLS != nil {
		tlsConfig, err := cfg.TLS.build()
		if err != nil {
			return nil, err
		}
		transport.TLSClientConfig = tlsConfig
		scheme = "https"
	}
	return []client.Opt{
		client.WithAPIVersionNegotiation(),
		client.WithHost(cfg.Endpoint),
		client.WithHTTPClient(&http.Client{Transport: countingTransport{next: transport, calls: &h.calls}}),
		client.WithScheme(scheme),
		client.WithVersionFromEnv(),
	}, nil
}

// sshClientOptions reaches the remote socket through the provider's own
// SSH connection; the client talks HTTP over unix-socket semantics.
func sshClientOptions(cfg Config, calls *atomic.Int64) ([]client.Opt, error) {
	dialer, err := newSSHDialer(cfg.Endpoint, cfg.SSH)
	if err != nil {
		return nil, err
	}
	transport := &http.Transport{DialContext: dialer.DialContext, DisableCompression: true}
	return []client.Opt{
		client.WithAPIVersionNegotiation(),
		client.WithHost("unix://" + dialer.socket),
		client.WithHTTPClient(&http.Client{Transport: countingTransport{next: transport, calls: calls}}),
		client.WithVersionFromEnv(),
	}, nil
}

// configFromEnv configures the default host as the docker CLI finds its
// daemon: DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), else
// DOCKER_CONTEXT, else the Docker config's current context, else the local
// socket; see resolveDefaultHost in context.go.
func configFromEnv() (Config, error) {
	r, err := resolveDefaultHost(processEnvironment())
	return r.Config, err
}

// tlsFromDir reads ca.pem, cert.pem and key.pem from a directory, as the
// docker CLI does; ca.pem is required when verifying.
func tlsFromDir(dir string, verify bool) (*TLSConfig, error) {
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		return string(b), err
	}
	t := &TLSConfig{InsecureSkipVerify: !verify}
	var err error
	if t.CAPEM, err = read("ca.pem"); err != nil && verify {
		return nil, fmt.Errorf("TLS verification needs %w", err)
	}
	if t.CertPEM, err = read("cert.pem"); err == nil {
		if t.KeyPEM, err = read("key.pem"); err != nil {
			return nil, fmt.Errorf("cert.pem needs its key: %w", err)
		}
	}
	return t, nil
}

// countingTransport counts the Docker API calls a host serves, so that
// operations can report them (and the benchmark read them).
type countingTransport struct {
	next  http.RoundTripper
	calls *atomic.Int64
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.calls.Add(1)
	return t.next.RoundTrip(req)
}

// Calls is the number of Docker API calls made to the host so far.
func (h *Host) Calls() int64 { return h.calls.Load() }

func (t *TLSConfig) build() (*tls.Config, error) {
	if t.CertPath != "" {
		loaded, err := tlsFromDir(t.CertPath, !t.InsecureSkipVerify)
		if err != nil {
			return nil, err
		}
		t = loaded
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // an explicit, documented user choice
	if t.CAPEM != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(t.CAPEM)) {
			return nil, errors.New("tls.ca_pem holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	if t.CertPEM != "" || t.KeyPEM != "" {
		pair, err := tls.X509KeyPair([]byte(t.CertPEM), []byte(t.KeyPEM))
		if err != nil {
			return nil, fmt.Errorf("tls.cert_pem and tls.key_pem do not form a key pair: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// ValidateTLS checks PEM material without dialling, for plan-time errors.
func ValidateTLS(t *TLSConfig) error {
	_, err := t.build()
	return err
}

// errorf prefixes errors with the host's name and endpoint, so a user with
// several hosts knows which one failed.
func (h *Host) errorf(format string, args ...any) error {
	return fmt.Errorf("docker host %q at %s: %w", h.cfg.Name, h.Endpoint(), fmt.Errorf(format, args...))
}

func likelyCause(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "no such file or directory"), strings.Contains(msg, "connection refused"):
		return "is the daemon running, and is the endpoint right?"
	case strings.Contains(msg, "permission denied"):
		return "the user running Terraform may not access the Docker socket"
	case strings.Contains(msg, "knownhosts"), strings.Contains(msg, "host key"):
		return "the SSH server's host key is not the one expected: check ssh.known_hosts or ssh.host_key (else ~/.ssh/known_hosts)"
	case strings.Contains(msg, "unable to authenticate"):
		return "SSH authentication failed: check the user and ssh.private_key (else the keys of the ssh-agent at SSH_AUTH_SOCK)"
	case strings.Contains(msg, "certificate"), strings.Contains(msg, "tls:"):
		return "TLS failed: check the CA, the client certificate and the server name"
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time: a firewall or a wrong address?"
	}
	return "check the endpoint and that the daemon runs"
}
