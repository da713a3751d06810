package provider

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestValidateTLSCertPath(t *testing.T) {
	pki := newTestPKI(t)
	full := t.TempDir()
	for name, content := range map[string]string{"ca.pem": pki.caPEM, "cert.pem": pki.certPEM, "key.pem": pki.keyPEM} {
		if err := os.WriteFile(filepath.Join(full, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	empty := t.TempDir()
	null := types.StringNull()
	cases := map[string]struct {
		tls    tlsModel
		detail string // empty: valid
	}{
		"docker CLI layout":         {tlsModel{CertPath: types.StringValue(full), CAPEM: null, CertPEM: null, KeyPEM: null}, ""},
		"no ca.pem while verifying": {tlsModel{CertPath: types.StringValue(empty), CAPEM: null, CertPEM: null, KeyPEM: null}, "TLS verification needs"},
		"no ca.pem, not verifying":  {tlsModel{CertPath: types.StringValue(empty), CAPEM: null, CertPEM: null, KeyPEM: null, InsecureSkipVerify: types.BoolValue(true)}, ""},
		"path and contents":         {tlsModel{CertPath: types.StringValue(full), CAPEM: types.StringValue(pki.caPEM), CertPEM: null, KeyPEM: null}, "either cert_path or"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			diags := validateTLS(path.Root("host").AtListIndex(0).AtName("tls"), "tcp", &tc.tls)
			switch {
			case tc.detail == "" && diags.HasError():
				t.Fatalf("unexpected errors: %v", diags)
			case tc.detail != "" && (!diags.HasError() || !strings.Contains(diags[0].Detail(), tc.detail)):
				t.Fatalf("diags = %v, want an error containing %q", diags, tc.detail)
			}
		})
	}
}
