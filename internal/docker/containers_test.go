package docker

import (
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

func TestReadiness(t *testing.T) {
	health := func(status container.HealthStatus) *container.Health { return &container.Health{Status: status} }
	cases := map[string]struct {
		info        container.InspectResponse
		wantReady   bool
		wantFailure string
	}{
		"running without health check": {inspect(&container.State{Running: true, Status: "running"}, 0), true, ""},
		"healthy":                      {inspect(&container.State{Running: true, Status: "running", Health: health(container.Healthy)}, 0), true, ""},
		"health starting":              {inspect(&container.State{Running: true, Status: "running", Health: health(container.Starting)}, 0), false, ""},
		"unhealthy":                    {inspect(&container.State{Running: true, Status: "running", Health: health(container.Unhealthy)}, 0), false, "is unhealthy"},
		"created, not yet running":     {inspect(&container.State{Status: "created"}, 0), false, ""},
		"exited":                       {inspect(&container.State{Status: "exited", ExitCode: 3}, 0), false, "exited with code 3"},
		"restarting":                   {inspect(&container.State{Restarting: true, Status: "restarting", ExitCode: 1}, 1), false, "crashed and is restarting"},
		"running after a restart":      {inspect(&container.State{Running: true, Status: "running"}, 2), false, "2 restarts"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ready, failure := readiness(tc.info, 0, time.Now())
			if ready != tc.wantReady {
				t.Errorf("ready = %v, want %v", ready, tc.wantReady)
			}
			if (tc.wantFailure == "") != (failure == "") || !strings.Contains(failure, tc.wantFailure) {
				t.Errorf("failure = %q, want it to contain %q", failure, tc.wantFailure)
			}
		})
	}
}

func inspect(state *container.State, restarts int) container.InspectResponse {
	return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{State: state, RestartCount: restarts}}
}

func TestHealthFromStatus(t *testing.T) {
	cases := map[string]string{
		"Up 3 seconds (healthy)":         "healthy",
		"Up 3 seconds (unhealthy)":       "unhealthy",
		"Up 1 second (health: starting)": "starting",
		"Up 5 minutes":                   "",
		"Exited (0) 2 seconds ago":       "",
	}
	for status, want := range cases {
		if got := healthFromStatus(status); got != want {
			t.Errorf("healthFromStatus(%q) = %q, want %q", status, got, want)
		}
	}
}

func TestContainerConfigPutsTheMACWhereTheAPIVersionExpectsIt(t *testing.T) {
	c := spec.Container{Name: "db-0", Network: "stateful-db", MAC: "02:00:00:00:00:01"}
	config, _, net := containerConfig(c, "1.41")
	if config.MacAddress != c.MAC || net.EndpointsConfig["stateful-db"].MacAddress != "" { //nolint:staticcheck // the field under test
		t.Errorf("API 1.41: container MAC %q, endpoint MAC %q", config.MacAddress, net.EndpointsConfig["stateful-db"].MacAddress) //nolint:staticcheck // the field under test
	}
	config, _, net = containerConfig(c, "1.44")
	if config.MacAddress != "" || net.EndpointsConfig["stateful-db"].MacAddress != c.MAC { //nolint:staticcheck // the field under test
		t.Errorf("API 1.44: container MAC %q, endpoint MAC %q", config.MacAddress, net.EndpointsConfig["stateful-db"].MacAddress) //nolint:staticcheck // the field under test
	}
}

func TestContainerConfigPublishesPortsAndRoundsTheStopTimeoutUp(t *testing.T) {
	c := spec.Container{
		Name: "db-1", Network: "stateful-db", StopTimeout: 1500 * time.Millisecond,
		Ports: []spec.Port{{Internal: 5432, External: 15433, Protocol: "tcp", HostIP: "127.0.0.1"}, {Internal: 53, Protocol: "udp"}},
	}
	config, host, _ := containerConfig(c, "1.41")
	if *config.StopTimeout != 2 {
		t.Errorf("stop timeout = %d, want 2 (rounded up)", *config.StopTimeout)
	}
	tcp := host.PortBindings["5432/tcp"]
	if len(tcp) != 1 || tcp[0].HostIP != "127.0.0.1" || tcp[0].HostPort != "15433" {
		t.Errorf("5432/tcp bindings = %+v", tcp)
	}
	udp := host.PortBindings["53/udp"]
	if len(udp) != 1 || udp[0].HostPort != "" {
		t.Errorf("53/udp bindings = %+v, want one binding to a port Docker chooses", udp)
	}
	if _, ok := config.ExposedPorts["53/udp"]; !ok {
		t.Errorf("53/udp not exposed: %v", config.ExposedPorts)
	}
}

func TestReadinessWithoutHealthCheckWaitsForMinReady(t *testing.T) {
	started := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	info := inspect(&container.State{Running: true, Status: "running", StartedAt: started.Format(time.RFC3339Nano)}, 0)
	if ready, _ := readiness(info, time.Second, started.Add(500*time.Millisecond)); ready {
		t.Error("ready after 500ms with min_ready 1s")
	}
	if ready, _ := readiness(info, time.Second, started.Add(time.Second)); !ready {
		t.Error("not ready after min_ready")
	}
}
