// Package acctest is the harness of the acceptance tests: the provider
// under test, the local Docker daemon, the workload image, and helpers that
// observe what really runs.
package acctest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/statefulhq/terraform-provider-stateful/internal/docker"
	"github.com/statefulhq/terraform-provider-stateful/internal/provider"
	"github.com/statefulhq/terraform-provider-stateful/internal/reconcile"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// ProviderFactories serves the provider in-process to the Terraform CLI.
var ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"stateful": providerserver.NewProtocol6WithError(provider.New("test")()),
}

var (
	localHost     *docker.Host
	localHostOnce sync.Once
)

// Docker is the local daemon, reached the way the provider's default host
// reaches it.
func Docker() *docker.Host {
	localHostOnce.Do(func() { localHost = docker.NewHost(docker.Config{Name: docker.DefaultHostName}) })
	return localHost
}

// Setup prepares a package's acceptance tests and returns how to undo it.
type Setup func(context.Context) (cleanup func(), err error)

// Main runs a package's tests. With TF_ACC set it first requires a Docker
// daemon, builds the workload image and runs the setups; without a daemon
// it fails loudly instead of letting acceptance tests skip.
func Main(m *testing.M, setups ...Setup) {
	if os.Getenv("TF_ACC") == "" {
		os.Exit(m.Run())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	err := Local().Ping(ctx)
	if err == nil {
		err = BuildWorkloadImages(ctx, Local())
	}
	var cleanups []func()
	for _, setup := range setups {
		if err != nil {
			break
		}
		var cleanup func()
		cleanup, err = setup(ctx)
		cleanups = append(cleanups, cleanup)
	}
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: acceptance tests need a Docker daemon, the workload image and their fixtures: %v\nStart a daemon with scripts/docker-up (make test does).\n", err)
		os.Exit(1)
	}
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	os.Exit(code)
}

// Name returns a fresh service name with the given prefix. Whatever of the
// service is left when the test ends (a test that failed half-way) is
// removed, after the test's own destroy checks have run.
func Name(t *testing.T, prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := prefix + "-" + hex.EncodeToString(b)
	if os.Getenv("TF_ACC") != "" {
		t.Cleanup(func() { removeLeftovers(t, name) })
	}
	return name
}

func removeLeftovers(t *testing.T, service string) {
	ctx := context.Background()
	observed, err := Docker().ListReplicas(ctx, service)
	if err != nil {
		t.Logf("cleanup of %s: %v", service, err)
		return
	}
	for _, o := range observed {
		if err := Docker().RemoveContainer(ctx, o.ID, 0); err != nil {
			t.Logf("cleanup of %s: %v", service, err)
		}
	}
	if err := Docker().RemoveNetwork(ctx, service); err != nil {
		t.Logf("cleanup of %s: %v", service, err)
	}
	volumes, err := Docker().ListVolumes(ctx, service)
	if err != nil {
		t.Logf("cleanup of %s: %v", service, err)
	}
	for _, v := range volumes {
		if err := Docker().RemoveVolume(ctx, v.Name); err != nil {
			t.Logf("cleanup of %s: %v", service, err)
		}
	}
}

// PutKV stores a key in a replica's data directory, through its HTTP API.
func PutKV(address, key, value string) error {
	req, err := http.NewRequest(http.MethodPut, "http://"+address+":8080/kv/"+key, strings.NewReader(value))
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT %s: status %d", req.URL, resp.StatusCode)
	}
	return nil
}

// GetKV reads a key back from a replica; found is false on 404.
func GetKV(address, key string) (value string, found bool, err error) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + address + ":8080/kv/" + key)
	if err != nil {
		return "", false, err
	}
	defer func() { _ = resp.Body.Close() }()
	switch resp.StatusCode {
	case http.StatusNotFound:
		return "", false, nil
	case http.StatusOK:
		var body struct {
			Value string `json:"value"`
		}
		err := json.NewDecoder(resp.Body).Decode(&body)
		return body.Value, true, err
	}
	return "", false, fmt.Errorf("GET %s: status %d", resp.Request.URL, resp.StatusCode)
}

// Address returns the service-network address of a running replica.
func Address(service, replica string) (string, error) {
	replicas, err := Replicas(service)
	if err != nil {
		return "", err
	}
	r, ok := replicas[replica]
	if !ok || r.Address == "" {
		return "", fmt.Errorf("replica %s is not running", replica)
	}
	return r.Address, nil
}

// Replicas lists the service's containers on the local daemon, by name.
func Replicas(service string) (map[string]reconcile.Observed, error) {
	observed, err := Docker().ListReplicas(context.Background(), service)
	if err != nil {
		return nil, err
	}
	out := map[string]reconcile.Observed{}
	for _, o := range observed {
		out[o.Name] = o
	}
	return out, nil
}

// GetJSON fetches url and decodes its JSON body into out, retrying briefly
// while the replica's server comes up.
func GetJSON(url string, out any) error {
	var lastErr error
	client := &http.Client{Timeout: 3 * time.Second}
	for attempt := 0; attempt < 50; attempt++ {
		if attempt > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		resp, err := client.Get(url)
		if err != nil {
			lastErr = err
			continue
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		if resp.StatusCode != http.StatusOK {
			lastErr = fmt.Errorf("GET %s: status %d, body %q", url, resp.StatusCode, body)
			continue
		}
		return json.Unmarshal(body, out)
	}
	return lastErr
}

// Identity is what the workload reports about itself.
type Identity struct {
	Hostname string `json:"hostname"`
	Ordinal  int    `json:"ordinal"`
	MAC      string `json:"mac"`
	Version  string `json:"version"`
}

// IdentityOf asks a replica, at its address on the service network, who it
// is.
func IdentityOf(address string) (Identity, error) {
	var id Identity
	err := GetJSON("http://"+address+":8080/identity", &id)
	return id, err
}

// EnvOf asks a replica for its environment.
func EnvOf(address string) (map[string]string, error) {
	var body struct {
		Env map[string]string `json:"env"`
	}
	err := GetJSON("http://"+address+":8080/env", &body)
	return body.Env, err
}

// CheckGone verifies that nothing of the service is left on the daemon.
func CheckGone(service string) func(*terraform.State) error {
	return func(*terraform.State) error {
		ctx := context.Background()
		observed, err := Docker().ListReplicas(ctx, service)
		if err != nil {
			return err
		}
		if len(observed) > 0 {
			return fmt.Errorf("after destroy, %d containers of %s remain", len(observed), service)
		}
		exists, err := Docker().NetworkExists(ctx, service)
		if err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("after destroy, network %s remains", spec.NetworkName(service))
		}
		return nil
	}
}

// FileInfo is what the workload reports about a file: never a secret's
// content.
type FileInfo struct {
	Name    string  `json:"name"`
	SHA256  string  `json:"sha256"`
	Mode    string  `json:"mode"`
	UID     int     `json:"uid"`
	GID     int     `json:"gid"`
	Content *string `json:"content"`
}

// FilesOf lists the files a replica sees under dir (its secrets directory
// when dir is empty), by name; content only for non-secret directories.
func FilesOf(address, dir string) (map[string]FileInfo, error) {
	url := "http://" + address + ":8080/secrets"
	if dir != "" {
		url = "http://" + address + ":8080/files?content=1&dir=" + dir
	}
	var body struct {
		Files []FileInfo `json:"files"`
	}
	if err := GetJSON(url, &body); err != nil {
		return nil, err
	}
	out := map[string]FileInfo{}
	for _, f := range body.Files {
		out[f.Name] = f
	}
	return out, nil
}
