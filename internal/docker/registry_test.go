package docker

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/registry"
)

func TestRegistryOf(t *testing.T) {
	for ref, want := range map[string]string{
		"postgres:16":                       "docker.io",
		"library/redis":                     "docker.io",
		"127.0.0.1:5000/workload:v1":        "127.0.0.1:5000",
		"ghcr.io/org/app@sha256:" + zeros64: "ghcr.io",
		"registry.example.com/a/b/c:tag":    "registry.example.com",
	} {
		got, err := RegistryOf(ref)
		if err != nil || got != want {
			t.Errorf("RegistryOf(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}
	for address, want := range map[string]string{
		"https://index.docker.io/v1/": "docker.io",
		"registry-1.docker.io":        "docker.io",
		"Registry.Example.com":        "registry.example.com",
		"http://127.0.0.1:5000/v2/":   "127.0.0.1:5000",
	} {
		if got := NormalizeRegistry(address); got != want {
			t.Errorf("NormalizeRegistry(%q) = %q; want %q", address, got, want)
		}
	}
}

const zeros64 = "0000000000000000000000000000000000000000000000000000000000000000"

func TestRegistriesAuthFor(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx := context.Background()
	basic := base64.StdEncoding.EncodeToString([]byte("cfguser:cfgpass"))
	r := NewRegistries([]RegistryAuth{
		{Address: "registry.example.com", Username: "u", Password: "p"},
		{Address: "https://index.docker.io/v1/", ConfigJSON: `{"auths":{"https://index.docker.io/v1/":{"auth":"` + basic + `"}}}`},
	})
	auth, err := r.authFor(ctx, "registry.example.com/app:1")
	if err != nil || auth == nil || auth.Username != "u" || auth.Password != "p" || auth.ServerAddress != "registry.example.com" {
		t.Fatalf("block credentials: %+v, %v", auth, err)
	}
	auth, err = r.authFor(ctx, "postgres:16")
	if err != nil || auth == nil || auth.Username != "cfguser" || auth.Password != "cfgpass" || auth.ServerAddress != hubServerAddress {
		t.Fatalf("config_json credentials: %+v, %v", auth, err)
	}
	if auth, err := r.authFor(ctx, "ghcr.io/org/app:1"); err != nil || auth != nil {
		t.Fatalf("no credentials should mean an anonymous pull: %+v, %v", auth, err)
	}
	var nilRegistries *Registries
	if auth, err := nilRegistries.authFor(ctx, "postgres"); err != nil || auth != nil {
		t.Fatalf("nil registries: %+v, %v", auth, err)
	}
}

func TestRegistriesFallBackToDockerConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	basic := base64.StdEncoding.EncodeToString([]byte("fileuser:filepass"))
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{"127.0.0.1:5000":{"auth":"`+basic+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := NewRegistries(nil)
	auth, err := r.authFor(context.Background(), "127.0.0.1:5000/workload:v1")
	if err != nil || auth == nil || auth.Username != "fileuser" || auth.Password != "filepass" {
		t.Fatalf("config.json credentials: %+v, %v", auth, err)
	}
}

func TestRegistriesBadConfigJSONKeepsSecrets(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	r := NewRegistries([]RegistryAuth{{Address: "docker.io", ConfigJSON: `{"auths": {"x": "s3cret-token`}})
	_, err := r.authFor(context.Background(), "postgres")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("want an error without the contents, got %v", err)
	}
}

func TestCredentialHelper(t *testing.T) {
	dir := t.TempDir()
	helper := filepath.Join(dir, "docker-credential-fake")
	script := "#!/bin/sh\nread server\nif [ \"$server\" = \"registry.example.com\" ]; then echo '{\"ServerURL\":\"registry.example.com\",\"Username\":\"helperuser\",\"Secret\":\"helpersecret\"}'; else echo 'credentials not found in native keychain'; exit 1; fi\n"
	if err := os.WriteFile(helper, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	r := NewRegistries([]RegistryAuth{{Address: "registry.example.com", ConfigJSON: `{"credHelpers":{"registry.example.com":"fake"}}`}})
	auth, err := r.authFor(context.Background(), "registry.example.com/app:1")
	if err != nil || auth == nil || auth.Username != "helperuser" || auth.Password != "helpersecret" {
		t.Fatalf("helper credentials: %+v, %v", auth, err)
	}
	r = NewRegistries([]RegistryAuth{{Address: "other.example.com", ConfigJSON: `{"credsStore":"fake"}`}})
	if _, err := r.authFor(context.Background(), "other.example.com/app:1"); err == nil || !strings.Contains(err.Error(), "no credentials for other.example.com") {
		t.Fatalf("a helper without the server's credentials: %v", err)
	}
}

func TestRedactAuth(t *testing.T) {
	auth := &registry.AuthConfig{Username: "u", Password: "hunter2-long", ServerAddress: "r.example.com"}
	encoded, _ := registry.EncodeAuthConfig(*auth)
	basic := base64.StdEncoding.EncodeToString([]byte("u:hunter2-long"))
	err := redactAuth(errors.New("failed with hunter2-long and "+encoded+" and "+basic), auth)
	for _, secret := range []string{"hunter2-long", encoded, basic} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error still holds a secret: %v", err)
		}
	}
	plain := errors.New("unauthorized: authentication required")
	if got := redactAuth(plain, auth); got.Error() != plain.Error() {
		t.Fatal("an error without secrets should pass unchanged")
	}
}
