package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// testPKI is a throw-away CA and a client certificate it signed, as PEM.
type testPKI struct {
	caPEM, certPEM, keyPEM, otherKeyPEM string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	encodeKey := func(k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	}
	encodeCert := func(der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	now := time.Now()

	caKey := newKey()
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}

	clientKey := newKey()
	clientTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "terraform"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, clientTemplate, ca, &clientKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return testPKI{
		caPEM:       encodeCert(caDER),
		certPEM:     encodeCert(clientDER),
		keyPEM:      encodeKey(clientKey),
		otherKeyPEM: encodeKey(newKey()),
	}
}

// describe renders diagnostics as "path: summary" lines.
func describe(diags diag.Diagnostics) []string {
	out := []string{}
	for _, d := range diags {
		line := d.Summary()
		if withPath, ok := d.(diag.DiagnosticWithPath); ok {
			line = withPath.Path().String() + ": " + line
		}
		if d.Severity() != diag.SeverityError {
			line += " [" + d.Severity().String() + "]"
		}
		out = append(out, line)
	}
	return out
}

func hostBlock(name, endpoint string) hostModel {
	return hostModel{Name: types.StringValue(name), Endpoint: types.StringValue(endpoint)}
}

func TestValidateHosts(t *testing.T) {
	unknownName := hostModel{Name: types.StringUnknown(), Endpoint: types.StringValue("tcp://10.0.0.9:2376")}
	cases := map[string]struct {
		hosts []hostModel
		want  []string
	}{
		"no hosts": {nil, []string{}},
		"distinct hosts": {
			[]hostModel{hostBlock("a", "unix:///var/run/docker.sock"), hostBlock("b", "tcp://10.0.0.2:2376")},
			[]string{},
		},
		"duplicate host names": {
			[]hostModel{hostBlock("a", "tcp://10.0.0.1:2376"), hostBlock("b", "tcp://10.0.0.2:2376"), hostBlock("a", "tcp://10.0.0.3:2376")},
			[]string{"host[2].name: Duplicate host name"},
		},
		"empty name": {
			[]hostModel{hostBlock("", "tcp://10.0.0.1:2376")},
			[]string{"host[0].name: Empty host name"},
		},
		"two empty names are not duplicates": {
			[]hostModel{hostBlock("", "tcp://10.0.0.1:2376"), hostBlock("", "tcp://10.0.0.2:2376")},
			[]string{"host[0].name: Empty host name", "host[1].name: Empty host name"},
		},
		"bad endpoint": {
			[]hostModel{hostBlock("a", "http://10.0.0.1:2375")},
			[]string{"host[0].endpoint: Invalid Docker endpoint"},
		},
		"each host checked": {
			[]hostModel{hostBlock("a", "tcp://10.0.0.1"), hostBlock("", "unix://"), hostBlock("a", "tcp://10.0.0.1:2376")},
			[]string{"host[0].endpoint: Invalid Docker endpoint", "host[1].name: Empty host name", "host[1].endpoint: Invalid Docker endpoint", "host[2].name: Duplicate host name"},
		},
		"unknown name skipped": {
			[]hostModel{unknownName, unknownName, hostBlock("a", "tcp://10.0.0.1:2376")},
			[]string{},
		},
		"null name skipped": {
			[]hostModel{{Name: types.StringNull(), Endpoint: types.StringValue("tcp://10.0.0.1:2376")}},
			[]string{},
		},
		"unknown endpoint skipped": {
			[]hostModel{{Name: types.StringValue("a"), Endpoint: types.StringUnknown()}},
			[]string{},
		},
		"null endpoint skipped": {
			[]hostModel{{Name: types.StringValue("a"), Endpoint: types.StringNull()}},
			[]string{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := describe(validateHosts(tc.hosts)); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("diagnostics:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestValidateHostsNamesBothDuplicateBlocks(t *testing.T) {
	diags := validateHosts([]hostModel{hostBlock("a", "tcp://10.0.0.1:2376"), hostBlock("b", "tcp://10.0.0.2:2376"), hostBlock("a", "tcp://10.0.0.3:2376")})
	if len(diags) != 1 {
		t.Fatalf("diagnostics = %v", describe(diags))
	}
	if want := `Host blocks 0 and 2 are both named "a"; host names must be unique.`; diags[0].Detail() != want {
		t.Fatalf("detail = %q, want %q", diags[0].Detail(), want)
	}
}

func TestEndpointScheme(t *testing.T) {
	good := map[string]string{
		"unix:///var/run/docker.sock":  "unix",
		"unix:///run/user/1000/d.sock": "unix",
		"tcp://10.0.0.2:2376":          "tcp",
		"tcp://docker.internal:2375":   "tcp",
		"tcp://[::1]:2376":             "tcp",
	}
	for endpoint, want := range good {
		t.Run(endpoint, func(t *testing.T) {
			got, err := endpointScheme(endpoint)
			if err != nil || got != want {
				t.Fatalf("endpointScheme(%q) = %q, %v; want %q", endpoint, got, err, want)
			}
		})
	}
	bad := map[string]string{
		"unix://":               "does not name an absolute socket path",
		"unix:":                 "does not name an absolute socket path",
		"tcp://10.0.0.2":        "needs a host and a port",
		"tcp://:2376":           "needs a host and a port",
		"tcp://10.0.0.2:":       "needs a host and a port",
		"http://10.0.0.2:2375":  "the scheme must be unix://, tcp:// or ssh://",
		"https://10.0.0.2:2376": "the scheme must be unix://, tcp:// or ssh://",
		"ssh://":                "needs a host",
		"/var/run/docker.sock":  "the scheme must be unix://, tcp:// or ssh://",
		"10.0.0.2:2376":         "is not a URL",
		"":                      "the scheme must be unix://, tcp:// or ssh://",
		"tcp://10.0.0.2:23 76":  "is not a URL",
	}
	for endpoint, want := range bad {
		t.Run("bad "+endpoint, func(t *testing.T) {
			got, err := endpointScheme(endpoint)
			if err == nil {
				t.Fatalf("endpointScheme(%q) = %q, want an error", endpoint, got)
			}
			if got != "" {
				t.Errorf("scheme %q returned with an error", got)
			}
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), endpoint) {
				t.Fatalf("error %q, want it to quote the endpoint and say %q", err, want)
			}
		})
	}
}

func TestValidateTLS(t *testing.T) {
	pki := newTestPKI(t)
	at := path.Root("host").AtListIndex(0).AtName("tls")
	str := types.StringValue
	null := types.StringNull()
	cases := map[string]struct {
		scheme string
		tls    tlsModel
		want   []string
		detail string // fragment of the first diagnostic's detail
	}{
		"good CA and client pair": {
			scheme: "tcp", tls: tlsModel{CAPEM: str(pki.caPEM), CertPEM: str(pki.certPEM), KeyPEM: str(pki.keyPEM)},
			want: []string{},
		},
		"CA only": {
			scheme: "tcp", tls: tlsModel{CAPEM: str(pki.caPEM), CertPEM: null, KeyPEM: null},
			want: []string{},
		},
		"client pair without CA": {
			scheme: "tcp", tls: tlsModel{CAPEM: null, CertPEM: str(pki.certPEM), KeyPEM: str(pki.keyPEM)},
			want: []string{},
		},
		"empty block": {
			scheme: "tcp", tls: tlsModel{CAPEM: null, CertPEM: null, KeyPEM: null},
			want: []string{},
		},
		"on a unix endpoint": {
			scheme: "unix", tls: tlsModel{CAPEM: str(pki.caPEM), CertPEM: null, KeyPEM: null},
			want:   []string{"host[0].tls: TLS on a unix socket"},
			detail: "does not use TLS",
		},
		"cert without key": {
			scheme: "tcp", tls: tlsModel{CAPEM: null, CertPEM: str(pki.certPEM), KeyPEM: null},
			want:   []string{"host[0].tls: Incomplete TLS client certificate"},
			detail: "cert_pem and key_pem go together",
		},
		"key without cert": {
			scheme: "tcp", tls: tlsModel{CAPEM: null, CertPEM: null, KeyPEM: str(pki.keyPEM)},
			want: []string{"host[0].tls: Incomplete TLS client certificate"},
		},
		"CA is not PEM": {
			scheme: "tcp", tls: tlsModel{CAPEM: str("not a certificate"), CertPEM: null, KeyPEM: null},
			want:   []string{"host[0].tls: Invalid TLS material"},
			detail: "tls.ca_pem holds no PEM certificate",
		},
		"CA is a key": {
			scheme: "tcp", tls: tlsModel{CAPEM: str(pki.keyPEM), CertPEM: null, KeyPEM: null},
			want:   []string{"host[0].tls: Invalid TLS material"},
			detail: "tls.ca_pem holds no PEM certificate",
		},
		"cert is not PEM": {
			scheme: "tcp", tls: tlsModel{CAPEM: null, CertPEM: str("garbage"), KeyPEM: str(pki.keyPEM)},
			want:   []string{"host[0].tls: Invalid TLS material"},
			detail: "tls.cert_pem and tls.key_pem do not form a key pair",
		},
		"key of another cert": {
			scheme: "tcp", tls: tlsModel{CAPEM: str(pki.caPEM), CertPEM: str(pki.certPEM), KeyPEM: str(pki.otherKeyPEM)},
			want:   []string{"host[0].tls: Invalid TLS material"},
			detail: "do not form a key pair",
		},
		"bad material on a unix endpoint reports both": {
			scheme: "unix", tls: tlsModel{CAPEM: str("nope"), CertPEM: null, KeyPEM: null},
			want: []string{"host[0].tls: TLS on a unix socket", "host[0].tls: Invalid TLS material"},
		},
		"unknown cert skips material checks": {
			scheme: "tcp", tls: tlsModel{CAPEM: str("nope"), CertPEM: types.StringUnknown(), KeyPEM: null},
			want: []string{},
		},
		"unknown key skips material checks": {
			scheme: "tcp", tls: tlsModel{CAPEM: null, CertPEM: str("garbage"), KeyPEM: types.StringUnknown()},
			want: []string{},
		},
		"unknown CA still flags a unix endpoint": {
			scheme: "unix", tls: tlsModel{CAPEM: types.StringUnknown(), CertPEM: null, KeyPEM: null},
			want: []string{"host[0].tls: TLS on a unix socket"},
		},
		"unknown endpoint scheme is not unix": {
			scheme: "", tls: tlsModel{CAPEM: str(pki.caPEM), CertPEM: null, KeyPEM: null},
			want: []string{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tlsBlock := tc.tls
			diags := validateTLS(at, tc.scheme, &tlsBlock)
			if got := describe(diags); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("diagnostics:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if tc.detail != "" && !strings.Contains(diags[0].Detail(), tc.detail) {
				t.Fatalf("detail %q, want it to contain %q", diags[0].Detail(), tc.detail)
			}
		})
	}
}

func TestValidateHostsChecksTLSAgainstTheEndpoint(t *testing.T) {
	pki := newTestPKI(t)
	withTLS := func(name, endpoint string, tls tlsModel) hostModel {
		h := hostBlock(name, endpoint)
		h.TLS = &tls
		return h
	}
	good := tlsModel{CAPEM: types.StringValue(pki.caPEM), CertPEM: types.StringValue(pki.certPEM), KeyPEM: types.StringValue(pki.keyPEM)}
	noKey := tlsModel{CAPEM: types.StringNull(), CertPEM: types.StringValue(pki.certPEM), KeyPEM: types.StringNull()}
	cases := map[string]struct {
		hosts []hostModel
		want  []string
	}{
		"tls on tcp": {
			[]hostModel{withTLS("a", "tcp://10.0.0.1:2376", good)},
			[]string{},
		},
		"tls on unix": {
			[]hostModel{withTLS("a", "unix:///var/run/docker.sock", good)},
			[]string{"host[0].tls: TLS on a unix socket"},
		},
		"tls with an unknown endpoint": {
			[]hostModel{{Name: types.StringValue("a"), Endpoint: types.StringUnknown(), TLS: &good}},
			[]string{},
		},
		"incomplete pair on the second host": {
			[]hostModel{withTLS("a", "tcp://10.0.0.1:2376", good), withTLS("b", "tcp://10.0.0.2:2376", noKey)},
			[]string{"host[1].tls: Incomplete TLS client certificate"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := describe(validateHosts(tc.hosts)); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("diagnostics:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// The docker client splits an endpoint at "://" and dials what follows as
// the socket path, so an endpoint must have exactly that form to work.
func TestEndpointSchemeRejectsUnixEndpointsTheClientCannotDial(t *testing.T) {
	for _, endpoint := range []string{"unix:/var/run/docker.sock", "unix://var/run/docker.sock"} {
		t.Run(endpoint, func(t *testing.T) {
			if scheme, err := endpointScheme(endpoint); err == nil {
				t.Fatalf("endpointScheme(%q) = %q, want an error saying to write unix:///var/run/docker.sock", endpoint, scheme)
			}
		})
	}
}
