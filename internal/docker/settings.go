package docker

import (
	"github.com/docker/docker/api/types/container"

	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// applySettings sets the container settings of spec.ContainerSettings on
// the create request; what is unset keeps Docker's default. Extra networks
// are connected by CreateContainer.
func applySettings(config *container.Config, hostConfig *container.HostConfig, s spec.ContainerSettings) {
	config.WorkingDir = s.WorkingDir
	r := &hostConfig.Resources
	r.Memory, r.MemoryReservation, r.MemorySwap = s.Memory, s.MemoryReservation, s.MemorySwap
	r.NanoCPUs, r.CPUShares = s.NanoCPUs, s.CPUShares
	if s.PidsLimit != 0 {
		limit := s.PidsLimit
		r.PidsLimit = &limit
	}
	for _, u := range s.Ulimits {
		r.Ulimits = append(r.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	hostConfig.ShmSize = s.ShmSize
	hostConfig.Sysctls = s.Sysctls
	hostConfig.Tmpfs = s.Tmpfs
	if s.Init {
		init := true
		hostConfig.Init = &init
	}
	hostConfig.CapAdd, hostConfig.CapDrop = s.CapAdd, s.CapDrop
	hostConfig.SecurityOpt = s.SecurityOpt
	hostConfig.ReadonlyRootfs = s.ReadOnly
	hostConfig.ExtraHosts = s.ExtraHosts
	hostConfig.DNS, hostConfig.DNSSearch, hostConfig.DNSOptions = s.DNS, s.DNSSearch, s.DNSOptions
	hostConfig.GroupAdd = s.GroupAdd
	if s.Log != nil {
		hostConfig.LogConfig = container.LogConfig{Type: s.Log.Driver, Config: s.Log.Options}
	}
}
