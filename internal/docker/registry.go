package docker

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/registry"
)

// RegistryAuth is the credentials for one registry, from a provider
// `registry_auth` block: a username and password, or the contents of a
// Docker config.json whose entry for Address is used.
type RegistryAuth struct {
	// Address is the registry's host[:port] ("docker.io" for Docker Hub).
	Address    string
	Username   string
	Password   string
	ConfigJSON string
}

// Registries finds the credentials for an image's registry: the provider's
// registry_auth blocks first, else the docker CLI's config.json
// (DOCKER_CONFIG, else ~/.docker), its `auths` entries and credential
// helpers. A nil *Registries means anonymous pulls.
type Registries struct {
	auths []RegistryAuth

	once     sync.Once
	cliCfg   *dockerConfigFile
	cliErr   error
	cliPath  string
	helperMu sync.Mutex
}

// NewRegistries keeps the configured credentials; the docker CLI's
// configuration is read on the first pull that needs it.
func NewRegistries(auths []RegistryAuth) *Registries {
	return &Registries{auths: auths}
}

// dockerConfigFile is the part of a docker CLI config.json that holds
// credentials.
type dockerConfigFile struct {
	Auths       map[string]dockerConfigAuth `json:"auths"`
	CredsStore  string                      `json:"credsStore"`
	CredHelpers map[string]string           `json:"credHelpers"`
}

type dockerConfigAuth struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
}

// RegistryOf is the registry an image reference pulls from, in the form
// registry_auth addresses take ("docker.io" for Docker Hub).
func RegistryOf(ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", err
	}
	return reference.Domain(named), nil
}

// NormalizeRegistry turns the ways registries are written (a URL as in
// config.json, Docker Hub's several names) into host[:port].
func NormalizeRegistry(address string) string {
	a := strings.TrimSpace(address)
	if strings.Contains(a, "://") {
		if u, err := url.Parse(a); err == nil {
			a = u.Host
		}
	}
	a, _, _ = strings.Cut(a, "/")
	a = strings.ToLower(a)
	switch a {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return "docker.io"
	}
	return a
}

// hubServerAddress is how the docker CLI names Docker Hub in config.json
// and to credential helpers.
const hubServerAddress = "https://index.docker.io/v1/"

// authFor returns the credentials for the registry of ref, or nil for an
// anonymous pull.
func (r *Registries) authFor(ctx context.Context, ref string) (*registry.AuthConfig, error) {
	if r == nil {
		return nil, nil
	}
	domain, err := RegistryOf(ref)
	if err != nil {
		return nil, nil //nolint:nilerr // the daemon reports a bad reference better
	}
	for _, a := range r.auths {
		if NormalizeRegistry(a.Address) != domain {
			continue
		}
		if a.ConfigJSON != "" {
			var cfg dockerConfigFile
			if err := json.Unmarshal([]byte(a.ConfigJSON), &cfg); err != nil {
				return nil, fmt.Errorf("registry_auth %q: config_json is not a Docker config.json: %w", a.Address, redactJSONError(err))
			}
			auth, found, err := cfg.lookup(ctx, domain, "registry_auth config_json")
			if err != nil || found {
				return auth, err
			}
			return nil, fmt.Errorf("registry_auth %q: config_json has no credentials for %s", a.Address, domain)
		}
		return &registry.AuthConfig{Username: a.Username, Password: a.Password, ServerAddress: serverAddress(domain)}, nil
	}
	r.once.Do(r.loadCLIConfig)
	if r.cliErr != nil {
		return nil, r.cliErr
	}
	if r.cliCfg == nil {
		return nil, nil
	}
	r.helperMu.Lock()
	defer r.helperMu.Unlock()
	auth, _, err := r.cliCfg.lookup(ctx, domain, r.cliPath)
	return auth, err
}

// loadCLIConfig reads the docker CLI's config.json, if there is one.
func (r *Registries) loadCLIConfig() {
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return
		}
		dir = filepath.Join(home, ".docker")
	}
	r.cliPath = filepath.Join(dir, "config.json")
	b, err := os.ReadFile(r.cliPath)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		r.cliErr = fmt.Errorf("read registry credentials from %s: %w", r.cliPath, err)
		return
	}
	var cfg dockerConfigFile
	if err := json.Unmarshal(b, &cfg); err != nil {
		r.cliErr = fmt.Errorf("read registry credentials from %s: %w", r.cliPath, redactJSONError(err))
		return
	}
	r.cliCfg = &cfg
}

func serverAddress(domain string) string {
	if domain == "docker.io" {
		return hubServerAddress
	}
	return domain
}

// lookup finds the credentials for domain: a credential helper for it,
// else an `auths` entry, else the default credential store.
func (c *dockerConfigFile) lookup(ctx context.Context, domain, source string) (*registry.AuthConfig, bool, error) {
	for key, helper := range c.CredHelpers {
		if NormalizeRegistry(key) == domain {
			return credentialHelper(ctx, helper, key, source)
		}
	}
	for key, entry := range c.Auths {
		if NormalizeRegistry(key) != domain {
			continue
		}
		auth := &registry.AuthConfig{Username: entry.Username, Password: entry.Password, IdentityToken: entry.IdentityToken, ServerAddress: serverAddress(domain)}
		if entry.Auth != "" {
			decoded, err := base64.StdEncoding.DecodeString(entry.Auth)
			if err != nil {
				return nil, false, fmt.Errorf("%s: the auth entry for %s is not base64", source, key)
			}
			user, pass, ok := strings.Cut(string(decoded), ":")
			if !ok {
				return nil, false, fmt.Errorf("%s: the auth entry for %s is not user:password", source, key)
			}
			auth.Username, auth.Password = user, pass
		}
		if auth.Username == "" && auth.Password == "" && auth.IdentityToken == "" && c.CredsStore != "" {
			break // an empty entry: docker login stored it in the credential store
		}
		return auth, true, nil
	}
	if c.CredsStore != "" {
		return credentialHelper(ctx, c.CredsStore, serverAddress(domain), source)
	}
	return nil, false, nil
}

// helperTimeout bounds one credential helper run.
const helperTimeout = 30 * time.Second

// credentialHelper runs `docker-credential-<helper> get` as the docker CLI
// does. A helper that knows nothing of the server means an anonymous pull.
func credentialHelper(ctx context.Context, helper, server, source string) (*registry.AuthConfig, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, helperTimeout)
	defer cancel()
	program := "docker-credential-" + helper
	cmd := exec.CommandContext(ctx, program, "get")
	cmd.Stdin = strings.NewReader(server)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stdout.String() + " " + stderr.String())
		if strings.Contains(strings.ToLower(msg), "credentials not found") {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("%s: credential helper %s for %s failed: %w", source, program, server, err)
	}
	var out struct {
		Username string `json:"Username"`
		Secret   string `json:"Secret"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, false, fmt.Errorf("%s: credential helper %s for %s answered no credentials JSON", source, program, server)
	}
	domain := NormalizeRegistry(server)
	if out.Username == "<token>" {
		return &registry.AuthConfig{IdentityToken: out.Secret, ServerAddress: serverAddress(domain)}, true, nil
	}
	return &registry.AuthConfig{Username: out.Username, Password: out.Secret, ServerAddress: serverAddress(domain)}, true, nil
}

// redactJSONError keeps a JSON syntax error's position but never the
// bytes around it, which may be secret.
func redactJSONError(err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Errorf("invalid JSON at byte %d", syntax.Offset)
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Errorf("field %q has the wrong type", typeErr.Field)
	}
	return errors.New("invalid JSON")
}

// redactAuth removes any credential bytes from an error message: the
// password, identity token and the encodings the daemon could echo.
func redactAuth(err error, auth *registry.AuthConfig) error {
	if err == nil || auth == nil {
		return err
	}
	msg := err.Error()
	secrets := []string{auth.Password, auth.IdentityToken, auth.RegistryToken}
	if auth.Password != "" {
		secrets = append(secrets, base64.StdEncoding.EncodeToString([]byte(auth.Username+":"+auth.Password)))
	}
	if encoded, encErr := registry.EncodeAuthConfig(*auth); encErr == nil {
		secrets = append(secrets, encoded)
	}
	changed := false
	for _, s := range secrets {
		if len(s) >= 1 && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return errors.New(msg)
}
