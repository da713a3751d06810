package docker

import (
	"context"
	"sort"
)

// Info describes a Docker host, for modules that validate before they place.
type Info struct {
	Hostname       string
	EngineVersion  string
	APIVersion     string
	OS             string
	Arch           string
	KernelVersion  string
	CPUs           int
	MemoryBytes    int64
	VolumeDrivers  []string
	NetworkDrivers []string
}

// Describe reads the daemon's version and info (two calls).
func (h *Host) Describe(ctx context.Context) (Info, error) {
	cli, err := h.client(ctx)
	if err != nil {
		return Info{}, err
	}
	version, err := cli.ServerVersion(ctx)
	if err != nil {
		return Info{}, h.errorf("read version: %w", err)
	}
	info, err := cli.Info(ctx)
	if err != nil {
		return Info{}, h.errorf("read info: %w", err)
	}
	volumes := append([]string(nil), info.Plugins.Volume...)
	networks := append([]string(nil), info.Plugins.Network...)
	sort.Strings(volumes)
	sort.Strings(networks)
	return Info{
		Hostname: info.Name, EngineVersion: version.Version, APIVersion: cli.ClientVersion(),
		OS: version.Os, Arch: version.Arch, KernelVersion: version.KernelVersion,
		CPUs: info.NCPU, MemoryBytes: info.MemTotal, VolumeDrivers: volumes, NetworkDrivers: networks,
	}, nil
}
