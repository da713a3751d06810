package provider

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
)

// validateHosts checks host blocks at plan time: unique names, endpoints
// the provider can dial, TLS material that is complete and parses.
// Unknown values are skipped; they are checked once known.
func validateHosts(hosts []hostModel) diag.Diagnostics {
	var diags diag.Diagnostics
	seen := map[string]int{}
	for i, h := range hosts {
		at := path.Root("host").AtListIndex(i)
		if !h.Name.IsUnknown() && !h.Name.IsNull() {
			name := h.Name.ValueString()
			if name == "" {
				diags.AddAttributeError(at.AtName("name"), "Empty host name", "Give every host block a name; replicas report it in instances[*].host.")
			} else if first, dup := seen[name]; dup {
				diags.AddAttributeError(at.AtName("name"), "Duplicate host name",
					fmt.Sprintf("Host blocks %d and %d are both named %q; host names must be unique.", first, i, name))
			} else {
				seen[name] = i
			}
		}
		scheme := ""
		if !h.Endpoint.IsUnknown() && !h.Endpoint.IsNull() {
			var err error
			if scheme, err = endpointScheme(h.Endpoint.ValueString()); err != nil {
				diags.AddAttributeError(at.AtName("endpoint"), "Invalid Docker endpoint", err.Error())
			}
		}
		if h.TLS != nil {
			diags.Append(validateTLS(at.AtName("tls"), scheme, h.TLS)...)
		}
		diags.Append(validateSSH(at, scheme, h)...)
	}
	return diags
}

func endpointScheme(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL: %w; use unix:///var/run/docker.sock or tcp://host:2376", endpoint, err)
	}
	switch u.Scheme {
	case "unix":
		if !strings.HasPrefix(endpoint, "unix://") || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return "", fmt.Errorf("%q does not name an absolute socket path; write it with three slashes, as unix:///var/run/docker.sock", endpoint)
		}
	case "tcp":
		if u.Hostname() == "" || u.Port() == "" {
			return "", fmt.Errorf("%q needs a host and a port, as tcp://10.0.0.2:2376", endpoint)
		}
	case "ssh":
		if u.Hostname() == "" {
			return "", fmt.Errorf("%q needs a host, as ssh://deploy@10.0.0.3 (the user may also come from ssh.user)", endpoint)
		}
	default:
		return "", fmt.Errorf("%q: the scheme must be unix://, tcp:// or ssh://", endpoint)
	}
	return u.Scheme, nil
}

func validateTLS(at path.Path, scheme string, t *tlsModel) diag.Diagnostics {
	var diags diag.Diagnostics
	if scheme == "unix" {
		diags.AddAttributeError(at, "TLS on a unix socket", "A unix:// endpoint does not use TLS; remove the tls block or use a tcp:// endpoint.")
	}
	if t.CertPEM.IsUnknown() || t.KeyPEM.IsUnknown() || t.CAPEM.IsUnknown() || t.CertPath.IsUnknown() {
		return diags
	}
	if !t.CertPath.IsNull() {
		if !t.CAPEM.IsNull() || !t.CertPEM.IsNull() || !t.KeyPEM.IsNull() {
			diags.AddAttributeError(at.AtName("cert_path"), "Conflicting TLS material", "Give either cert_path or the ca_pem/cert_pem/key_pem contents, not both.")
			return diags
		}
		if err := docker.ValidateTLS(&docker.TLSConfig{CertPath: t.CertPath.ValueString(), InsecureSkipVerify: t.InsecureSkipVerify.ValueBool()}); err != nil {
			diags.AddAttributeError(at.AtName("cert_path"), "Invalid TLS directory", err.Error())
		}
		return diags
	}
	if t.CertPEM.IsNull() != t.KeyPEM.IsNull() {
		diags.AddAttributeError(at, "Incomplete TLS client certificate",
			"cert_pem and key_pem go together: give both to authenticate with a client certificate, or neither.")
		return diags
	}
	err := docker.ValidateTLS(&docker.TLSConfig{
		CAPEM: t.CAPEM.ValueString(), CertPEM: t.CertPEM.ValueString(), KeyPEM: t.KeyPEM.ValueString(),
	})
	if err != nil {
		diags.AddAttributeError(at, "Invalid TLS material", err.Error())
	}
	return diags
}

// validateSSH checks that only ssh:// endpoints have an ssh block, and that
// they have a key that parses (or an agent) and a way to verify the server
// (and the jump host, if any). Without an ssh block, the agent and
// ~/.ssh/known_hosts must serve.
func validateSSH(at path.Path, scheme string, h hostModel) diag.Diagnostics {
	var diags diag.Diagnostics
	switch {
	case scheme == "ssh" && h.SSH == nil && h.TLS == nil:
		if err := docker.ValidateSSH(h.Endpoint.ValueString(), nil); err != nil {
			diags.AddAttributeError(at.AtName("endpoint"), "Invalid SSH settings",
				err.Error()+". Without an ssh block, the ssh-agent at SSH_AUTH_SOCK and ~/.ssh/known_hosts must serve; an ssh block can give the key and the host key instead.")
		}
	case scheme != "" && scheme != "ssh" && h.SSH != nil:
		diags.AddAttributeError(at.AtName("ssh"), "SSH on a non-SSH endpoint", "The ssh block applies to ssh:// endpoints only; remove it or change the endpoint.")
	case scheme == "ssh" && h.TLS != nil:
		diags.AddAttributeError(at.AtName("tls"), "TLS on an SSH endpoint", "An ssh:// endpoint is secured by SSH; remove the tls block.")
	case scheme == "ssh" && !anyUnknown(h.SSH.PrivateKey, h.SSH.Passphrase, h.SSH.KnownHosts, h.SSH.HostKey, h.SSH.User) && !h.SSH.Port.IsUnknown() &&
		!h.SSH.Jump.anyUnknown():
		if err := docker.ValidateSSH(h.Endpoint.ValueString(), h.SSH.config()); err != nil {
			diags.AddAttributeError(at.AtName("ssh"), "Invalid SSH settings", err.Error())
		}
	}
	return diags
}

func (j *sshJumpModel) anyUnknown() bool {
	return j != nil && (anyUnknown(j.Address, j.User, j.PrivateKey, j.Passphrase, j.KnownHosts, j.HostKey) || j.Port.IsUnknown())
}

func anyUnknown(values ...types.String) bool {
	for _, v := range values {
		if v.IsUnknown() {
			return true
		}
	}
	return false
}
