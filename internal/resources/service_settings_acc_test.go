package resources_test

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// settingsBody sets every container setting; memory varies between steps.
func settingsBody(network, memory string) string {
	return fmt.Sprintf(`
  memory             = %q
  memory_reservation = "32m"
  memory_swap        = "256m"
  cpus               = "0.5"
  cpu_shares         = 512
  pids_limit         = 100
  shm_size           = "32m"
  ulimit {
    name = "nofile"
    soft = 1024
    hard = 2048
  }
  sysctls      = { "net.core.somaxconn" = "512" }
  tmpfs        = { "/data" = "size=16m", "/scratch" = "" }
  init         = true
  cap_add      = ["net_admin"]
  cap_drop     = ["CAP_MKNOD"]
  security_opt = ["no-new-privileges"]
  read_only    = true
  working_dir  = "/data"
  extra_hosts  = { "db.internal" = "10.1.2.3" }
  dns          = ["10.0.0.2"]
  dns_search   = ["db.internal"]
  dns_options  = ["ndots:1"]
  group_add    = ["1234"]
  log {
    driver  = "json-file"
    options = { max-size = "1m" }
  }
  extra_network {
    name    = %q
    aliases = ["settings-alias"]
  }
`, memory, network)
}

// Every container setting reaches the container (docker inspect) and,
// where a process can see it, the process; import reads them back; a
// changed setting replaces the replicas one at a time and the rollout
// names it; nothing is left to do after each apply.
func TestAccServiceSettings_appliedImportedAndRolledOut(t *testing.T) {
	name := acctest.Name(t, "set")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	network := name + "-extra"
	if err := acctest.Local().CreateNetwork(context.Background(), network); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := acctest.Local().RemoveNetwork(context.Background(), network); err != nil {
			t.Errorf("remove the test's network: %v", err)
		}
	})
	ids := containerIDs{}
	events := newEventLog(t, name)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				Config:           serviceConfig(name, acctest.WorkloadImageV1, 2, settingsBody(network, "128m")),
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkSettingsInspected(name, network, 128<<20),
					checkSettingsSeen(name),
					ids.record(name),
				),
			},
			{
				ResourceName:            address,
				ImportState:             true,
				ImportStateId:           name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "rollout"},
			},
			{
				PreConfig: events.start,
				Config:    serviceConfig(name, acctest.WorkloadImageV1, 2, settingsBody(network, "192m")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
						acctest.ExpectRollout(address, r(1)+": replace (memory)", r(0)+": replace (memory)"),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					ids.replaced(name, r(0), r(1)),
					events.expect(name,
						"destroy "+r(1), "create "+r(1), "start "+r(1),
						"destroy "+r(0), "create "+r(0), "start "+r(0)),
					checkSettingsInspected(name, network, 192<<20),
				),
			},
		},
	})
}

// checkSettingsInspected reads each replica's settings back from docker
// inspect.
func checkSettingsInspected(service, network string, memory int64) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for i := range 2 {
			info, err := acctest.Local().InspectContainer(context.Background(), spec.ReplicaName(service, i))
			if err != nil {
				return err
			}
			if err := settingsOf(info, service, network, memory); err != nil {
				return fmt.Errorf("%s: %w", spec.ReplicaName(service, i), err)
			}
		}
		return nil
	}
}

func settingsOf(info container.InspectResponse, service, network string, memory int64) error {
	h := info.HostConfig
	var ulimits []string
	for _, u := range h.Ulimits {
		ulimits = append(ulimits, fmt.Sprintf("%s=%d:%d", u.Name, u.Soft, u.Hard))
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"memory", h.Memory, memory},
		{"memory reservation", h.MemoryReservation, int64(32 << 20)},
		{"memory swap", h.MemorySwap, int64(256 << 20)},
		{"nano cpus", h.NanoCPUs, int64(5e8)},
		{"cpu shares", h.CPUShares, int64(512)},
		{"pids limit", fmt.Sprint(*h.PidsLimit), "100"},
		{"shm size", h.ShmSize, int64(32 << 20)},
		{"ulimits", strings.Join(ulimits, " "), "nofile=1024:2048"},
		{"sysctls", fmt.Sprint(h.Sysctls), "map[net.core.somaxconn:512]"},
		{"tmpfs", fmt.Sprint(h.Tmpfs), "map[/data:size=16m /scratch:]"},
		{"init", h.Init != nil && *h.Init, true},
		{"cap add", fmt.Sprint(h.CapAdd), "[CAP_NET_ADMIN]"},
		{"cap drop", fmt.Sprint(h.CapDrop), "[CAP_MKNOD]"},
		{"security opt", fmt.Sprint(h.SecurityOpt), "[no-new-privileges]"},
		{"read-only root", h.ReadonlyRootfs, true},
		{"working dir", info.Config.WorkingDir, "/data"},
		{"extra hosts", fmt.Sprint(h.ExtraHosts), "[db.internal:10.1.2.3]"},
		{"dns", fmt.Sprint(h.DNS), "[10.0.0.2]"},
		{"dns search", fmt.Sprint(h.DNSSearch), "[db.internal]"},
		{"dns options", fmt.Sprint(h.DNSOptions), "[ndots:1]"},
		{"log driver", h.LogConfig.Type, "json-file"},
		{"log options", fmt.Sprint(h.LogConfig.Config), "map[max-size:1m]"},
		{"group add", fmt.Sprint(h.GroupAdd), "[1234]"},
		{"network mode", string(h.NetworkMode), spec.NetworkName(service)},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			return fmt.Errorf("%s: got %v, want %v", ch.what, ch.got, ch.want)
		}
	}
	extra, ok := info.NetworkSettings.Networks[network]
	if !ok {
		return fmt.Errorf("not attached to %s: networks %v", network, slices.Sorted(maps.Keys(info.NetworkSettings.Networks)))
	}
	if !slices.Contains(extra.Aliases, "settings-alias") {
		return fmt.Errorf("aliases on %s are %v, want settings-alias among them", network, extra.Aliases)
	}
	return nil
}

// checkSettingsSeen asks the workload what its process sees.
func checkSettingsSeen(service string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		address, err := acctest.Address(service, spec.ReplicaName(service, 0))
		if err != nil {
			return err
		}
		var l struct {
			NofileSoft   int64  `json:"nofile_soft"`
			NofileHard   int64  `json:"nofile_hard"`
			ShmBytes     int64  `json:"shm_bytes"`
			WorkingDir   string `json:"working_dir"`
			Groups       []int  `json:"groups"`
			RootWritable bool   `json:"root_writable"`
			Hosts        string `json:"hosts"`
			PID1         string `json:"pid1"`
		}
		if err := acctest.GetJSON("http://"+address+":8080/limits", &l); err != nil {
			return err
		}
		switch {
		case l.NofileHard != 2048: // Go raises its soft limit itself, toward the hard one
			return fmt.Errorf("the process has nofile %d:%d, want a hard limit of 2048", l.NofileSoft, l.NofileHard)
		case l.ShmBytes != 32<<20:
			return fmt.Errorf("/dev/shm is %d bytes, want %d", l.ShmBytes, 32<<20)
		case l.WorkingDir != "/data":
			return fmt.Errorf("the working directory is %q, want /data", l.WorkingDir)
		case !slices.Contains(l.Groups, 1234):
			return fmt.Errorf("the process's groups %v lack 1234", l.Groups)
		case l.RootWritable:
			return fmt.Errorf("the root file system took a write; read_only is set")
		case !regexp.MustCompile(`(?m)^10\.1\.2\.3\s+db\.internal$`).MatchString(l.Hosts):
			return fmt.Errorf("/etc/hosts lacks db.internal:\n%s", l.Hosts)
		case !strings.Contains(l.PID1, "docker-init"):
			return fmt.Errorf("PID 1 is %q, want docker-init (init = true)", l.PID1)
		}
		// The key-value store writes into /data, a tmpfs on a read-only root.
		if err := acctest.PutKV(address, "k", "v"); err != nil {
			return fmt.Errorf("write to the tmpfs data directory: %w", err)
		}
		return nil
	}
}

// Bad settings fail at plan, at the attribute at fault, with the fix.
func TestAccServiceSettings_invalidConfiguration(t *testing.T) {
	cases := map[string]struct {
		body string
		err  string
	}{
		"memory without a unit": {`memory = "512"`, `(?s)\d+:\s+memory = "512"\n.*not a size; write a number and a unit`},
		"reservation above memory": {`
  memory             = "64m"
  memory_reservation = "128m"`, `(?s)\d+:\s+memory_reservation = "128m"\n.*more than memory`},
		"swap below memory": {`
  memory      = "128m"
  memory_swap = "64m"`, `(?s)\d+:\s+memory_swap = "64m"\n.*less than memory`},
		"no cpus":     {`cpus = "0"`, `(?s)\d+:\s+cpus = "0"\n.*must be more than 0`},
		"shm no unit": {`shm_size = "64"`, `(?s)\d+:\s+shm_size = "64"\n.*not a size`},
		"unknown ulimit": {`
  ulimit {
    name = "files"
    soft = 1
    hard = 1
  }`, `(?s)\d+:\s+name = "files"\n.*not a limit Docker sets`},
		"soft above hard": {`
  ulimit {
    name = "nofile"
    soft = 10
    hard = 5
  }`, `(?s)\d+:\s+soft = 10\n.*above the hard limit 5`},
		"host sysctl":        {`sysctls = { "vm.swappiness" = "10" }`, `(?s)\d+:\s+sysctls = .*is the host's, not the container's`},
		"tmpfs not absolute": {`tmpfs = { "tmp" = "" }`, `(?s)\d+:\s+tmpfs = .*not an absolute path`},
		"tmpfs on a volume": {`
  tmpfs = { "/data" = "" }
  volume {
    name   = "data"
    target = "/data"
    plugin {
      driver = "local"
    }
  }`, `(?s)\d+:\s+tmpfs = .*also volume "data"'s target`},
		"unknown capability": {`cap_add = ["FLY"]`, `(?s)\d+:\s+cap_add = \["FLY"\]\n.*not a Linux capability`},
		"seccomp path":       {`security_opt = ["seccomp=/etc/p.json"]`, `(?s)\d+:\s+security_opt = .*a path is read by the docker CLI`},
		"log without driver": {`
  log {
    options = { max-size = "1m" }
  }`, `(?s)\d+:\s+log \{\n.*give a logging driver`},
		"own network": {`
  extra_network {
    name = "stateful-ok"
  }`, `(?s)\d+:\s+name = "stateful-ok"\n.*the service's own network`},
		"extra host without an address": {`extra_hosts = { "db" = "db.internal" }`, `(?s)\d+:\s+extra_hosts = .*not an IP address`},
		"file on a read-only root": {`
  read_only = true
  file {
    target  = "/etc/app.conf"
    content = "x"
  }`, `(?s)\d+:\s+target\s+= "/etc/app.conf"\n.*read_only\s+=\s+true\s+makes\s+read-only`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			planFails(t, serviceConfig("ok", acctest.WorkloadImageV1, 1, tc.body), regexp.MustCompile(tc.err))
		})
	}
}
