package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/user"
	"path/filepath"

	"github.com/docker/docker/client"
)

// Environment variables the default host reads besides the docker CLI's,
// so that remote runs (Terraform Cloud workspaces) configure it without
// HCL or files: TLS contents for a tcp:// DOCKER_HOST, SSH credentials for
// an ssh:// one.
const (
	EnvContext        = "DOCKER_CONTEXT"
	EnvConfigDir      = "DOCKER_CONFIG"
	EnvCAPEM          = "STATEFUL_DOCKER_CA_PEM"
	EnvCertPEM        = "STATEFUL_DOCKER_CERT_PEM"
	EnvKeyPEM         = "STATEFUL_DOCKER_KEY_PEM"
	EnvSSHPrivateKey  = "STATEFUL_SSH_PRIVATE_KEY"
	EnvSSHPassphrase  = "STATEFUL_SSH_PASSPHRASE" //nolint:gosec // the variable's name, not a credential
	EnvSSHKnownHosts  = "STATEFUL_SSH_KNOWN_HOSTS"
	defaultContext    = "default"
	contextEndpointID = "docker"
)

// environment is where the default host's settings come from: the process
// environment and the user's home, injectable for tests.
type environment struct {
	getenv func(string) string
	home   func() (string, error)
}

func processEnvironment() environment {
	return environment{getenv: os.Getenv, home: os.UserHomeDir}
}

// resolved is the default host as the docker CLI would reach it, and where
// that came from, for error messages: "from DOCKER_HOST",
// `docker context "x", from DOCKER_CONTEXT`, empty for the local socket.
type resolved struct {
	Config
	Source string
}

// resolveDefaultHost finds the default host the way the docker CLI does:
// DOCKER_HOST (the "default" context) beats DOCKER_CONTEXT, which beats
// the currentContext of the Docker config file; the "default" context is
// DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH) or the local
// socket. An ssh:// endpoint, from either, gets the provider's SSH
// transport with credentials from STATEFUL_SSH_*.
func resolveDefaultHost(env environment) (resolved, error) {
	r, err := resolveEndpoint(env)
	if err != nil {
		return r, err
	}
	if u, perr := url.Parse(r.Endpoint); perr == nil && u.Scheme == "ssh" {
		r.TLS = nil
		r.SSH, err = sshFromEnv(env, u)
	}
	return r, err
}

func resolveEndpoint(env environment) (resolved, error) {
	name, source, err := contextName(env)
	if err != nil {
		return resolved{}, err
	}
	if name == defaultContext {
		return defaultContextHost(env)
	}
	dir, err := configDir(env)
	if err != nil {
		return resolved{}, err
	}
	c, err := loadContext(filepath.Join(dir, "contexts"), name)
	if err != nil {
		return resolved{}, fmt.Errorf("docker context %q (%s): %w", name, source, err)
	}
	c.Source = fmt.Sprintf("docker context %q, %s", name, source)
	if envPEMs(env) != "" {
		return resolved{}, fmt.Errorf("%s applies to DOCKER_HOST only, but the default host is %s", envPEMs(env), c.Source)
	}
	return c, nil
}

// contextName is the context the docker CLI would use, and why.
func contextName(env environment) (name, source string, err error) {
	if env.getenv(client.EnvOverrideHost) != "" {
		return defaultContext, "DOCKER_HOST", nil
	}
	if name := env.getenv(EnvContext); name != "" {
		return name, "from DOCKER_CONTEXT", nil
	}
	dir, err := configDir(env)
	if err != nil {
		return "", "", err
	}
	file := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return defaultContext, "", nil
	case err != nil:
		return "", "", fmt.Errorf("read the Docker config file: %w", err)
	}
	var cfg struct {
		CurrentContext string `json:"currentContext"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return "", "", fmt.Errorf("the Docker config file %s: %w", file, err)
	}
	if cfg.CurrentContext == "" {
		return defaultContext, "", nil
	}
	return cfg.CurrentContext, "current context in " + file, nil
}

// configDir is DOCKER_CONFIG, else ~/.docker.
func configDir(env environment) (string, error) {
	if dir := env.getenv(EnvConfigDir); dir != "" {
		return dir, nil
	}
	home, err := env.home()
	if err != nil {
		return "", fmt.Errorf("find the Docker config directory (set DOCKER_CONFIG): %w", err)
	}
	return filepath.Join(home, ".docker"), nil
}

// contextID is the directory name the docker CLI's context store gives a
// context: the hex SHA-256 of its name.
func contextID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// loadContext reads a context from the store in the docker CLI's layout:
// meta/<id>/meta.json for the endpoint, tls/<id>/docker/*.pem for its TLS
// material.
func loadContext(store, name string) (resolved, error) {
	id := contextID(name)
	file := filepath.Join(store, "meta", id, "meta.json")
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return resolved{}, fmt.Errorf("no such context in %s (docker context ls lists them)", store)
	}
	if err != nil {
		return resolved{}, err
	}
	var meta struct {
		Name      string
		Endpoints map[string]struct {
			Host          string
			SkipTLSVerify bool
		}
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return resolved{}, fmt.Errorf("%s: %w", file, err)
	}
	ep, ok := meta.Endpoints[contextEndpointID]
	if !ok {
		return resolved{}, fmt.Errorf("%s has no docker endpoint", file)
	}
	r := resolved{Config: Config{Endpoint: ep.Host}}
	if r.Endpoint == "" {
		r.Endpoint = client.DefaultDockerHost
	}
	// As the docker CLI: TLS when the context stores TLS material or skips
	// verification; each file is optional.
	dir := filepath.Join(store, "tls", id, contextEndpointID)
	t := &TLSConfig{InsecureSkipVerify: ep.SkipTLSVerify}
	found := false
	for _, f := range []struct {
		name string
		dst  *string
	}{{"ca.pem", &t.CAPEM}, {"cert.pem", &t.CertPEM}, {"key.pem", &t.KeyPEM}} {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return resolved{}, err
		default:
			*f.dst, found = string(b), true
		}
	}
	if found || ep.SkipTLSVerify {
		r.TLS = t
	}
	return r, nil
}

// defaultContextHost is the docker CLI's "default" context: DOCKER_HOST,
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, else the local socket; TLS
// contents in STATEFUL_DOCKER_*_PEM take the place of DOCKER_CERT_PATH.
func defaultContextHost(env environment) (resolved, error) {
	r := resolved{Config: Config{Endpoint: env.getenv(client.EnvOverrideHost)}, Source: "from DOCKER_HOST"}
	if r.Endpoint == "" {
		r.Endpoint, r.Source = client.DefaultDockerHost, ""
	}
	if names := envPEMs(env); names != "" {
		if u, err := url.Parse(r.Endpoint); err != nil || u.Scheme != "tcp" {
			return resolved{}, fmt.Errorf("%s applies to a tcp:// DOCKER_HOST, but the default host is %s", names, r.Endpoint)
		}
		if (env.getenv(EnvCertPEM) == "") != (env.getenv(EnvKeyPEM) == "") {
			return resolved{}, fmt.Errorf("%s and %s go together: set both for a client certificate, or neither", EnvCertPEM, EnvKeyPEM)
		}
		// Contents are always verified: against the CA given, else the
		// system's CAs.
		r.TLS = &TLSConfig{CAPEM: env.getenv(EnvCAPEM), CertPEM: env.getenv(EnvCertPEM), KeyPEM: env.getenv(EnvKeyPEM)}
		return r, nil
	}
	certPath, verify := env.getenv(client.EnvOverrideCertPath), env.getenv(client.EnvTLSVerify) != ""
	if certPath == "" && verify {
		home, err := env.home()
		if err != nil {
			return resolved{}, fmt.Errorf("DOCKER_TLS_VERIFY without DOCKER_CERT_PATH reads ~/.docker: %w", err)
		}
		certPath = filepath.Join(home, ".docker")
	}
	if certPath == "" {
		return r, nil
	}
	t, err := tlsFromDir(certPath, verify)
	r.TLS = t
	return r, err
}

// envPEMs names the STATEFUL_DOCKER_*_PEM variables that are set.
func envPEMs(env environment) string {
	out := ""
	for _, name := range []string{EnvCAPEM, EnvCertPEM, EnvKeyPEM} {
		if env.getenv(name) == "" {
			continue
		}
		if out != "" {
			out += ", "
		}
		out += name
	}
	return out
}

// sshFromEnv is the SSH transport's configuration for an ssh:// default
// host: the key from STATEFUL_SSH_PRIVATE_KEY, else the ssh-agent at
// SSH_AUTH_SOCK; the server's key checked against STATEFUL_SSH_KNOWN_HOSTS,
// else ~/.ssh/known_hosts; the user from the endpoint, else the local user,
// as ssh does.
func sshFromEnv(env environment, u *url.URL) (*SSHConfig, error) {
	c := &SSHConfig{
		PrivateKey: env.getenv(EnvSSHPrivateKey),
		Passphrase: env.getenv(EnvSSHPassphrase),
		KnownHosts: env.getenv(EnvSSHKnownHosts),
	}
	if c.PrivateKey == "" && env.getenv("SSH_AUTH_SOCK") == "" {
		return nil, fmt.Errorf("the default host %s is an ssh:// endpoint: set %s to the private key's contents, or run an ssh-agent holding the key and set SSH_AUTH_SOCK",
			u.Redacted(), EnvSSHPrivateKey)
	}
	if u.User.Username() == "" {
		if me, err := user.Current(); err == nil {
			c.User = me.Username
		}
	}
	return c, nil
}
