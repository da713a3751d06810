package docker

import (
	"reflect"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

func TestContainerConfigAppliesSettings(t *testing.T) {
	c := spec.Container{Name: "db-0", Network: "stateful-db", ContainerSettings: spec.ContainerSettings{
		Memory: 512 << 20, MemoryReservation: 256 << 20, MemorySwap: -1, NanoCPUs: 15e8, CPUShares: 512, PidsLimit: 100, ShmSize: 64 << 20,
		Ulimits: []spec.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}}, Sysctls: map[string]string{"net.core.somaxconn": "1024"},
		Tmpfs: map[string]string{"/tmp": "size=1m"}, Init: true, CapAdd: []string{"CAP_NET_ADMIN"}, CapDrop: []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges"}, ReadOnly: true, WorkingDir: "/data", ExtraHosts: []string{"db:10.0.0.5"},
		DNS: []string{"10.0.0.2"}, Log: &spec.Log{Driver: "local", Options: map[string]string{"max-size": "1m"}}, GroupAdd: []string{"disk"},
	}}
	config, host, _ := containerConfig(c, "1.41")
	checks := []struct {
		what      string
		got, want any
	}{
		{"memory", host.Memory, int64(512 << 20)},
		{"memory reservation", host.MemoryReservation, int64(256 << 20)},
		{"memory swap", host.MemorySwap, int64(-1)},
		{"nano cpus", host.NanoCPUs, int64(15e8)},
		{"cpu shares", host.CPUShares, int64(512)},
		{"pids limit", *host.PidsLimit, int64(100)},
		{"shm size", host.ShmSize, int64(64 << 20)},
		{"ulimits", *host.Ulimits[0], container.Ulimit{Name: "nofile", Soft: 1024, Hard: 2048}},
		{"sysctls", host.Sysctls, map[string]string{"net.core.somaxconn": "1024"}},
		{"tmpfs", host.Tmpfs, map[string]string{"/tmp": "size=1m"}},
		{"init", *host.Init, true},
		{"cap add", []string(host.CapAdd), []string{"CAP_NET_ADMIN"}},
		{"cap drop", []string(host.CapDrop), []string{"ALL"}},
		{"security opt", host.SecurityOpt, []string{"no-new-privileges"}},
		{"read only", host.ReadonlyRootfs, true},
		{"working dir", config.WorkingDir, "/data"},
		{"extra hosts", host.ExtraHosts, []string{"db:10.0.0.5"}},
		{"dns", host.DNS, []string{"10.0.0.2"}},
		{"log", host.LogConfig, container.LogConfig{Type: "local", Config: map[string]string{"max-size": "1m"}}},
		{"group add", host.GroupAdd, []string{"disk"}},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s: got %v, want %v", ch.what, ch.got, ch.want)
		}
	}
}

// Unset settings leave Docker's defaults: nothing is sent.
func TestContainerConfigWithoutSettingsSendsNone(t *testing.T) {
	config, host, _ := containerConfig(spec.Container{Name: "db-0", Network: "stateful-db"}, "1.41")
	if host.PidsLimit != nil || host.Init != nil || host.LogConfig.Type != "" || host.ReadonlyRootfs || config.WorkingDir != "" ||
		host.Memory != 0 || host.NanoCPUs != 0 || host.ShmSize != 0 || len(host.Ulimits) != 0 || host.CapAdd != nil {
		t.Fatalf("settings sent with none configured: %+v", host)
	}
}
