package docker

import "fmt"

// Hosts is the set of Docker hosts a provider instance is configured with,
// in configuration order.
type Hosts struct {
	list []*Host
}

// NewHosts connects nothing yet; hosts dial on first use.
func NewHosts(configs []Config) *Hosts {
	hs := &Hosts{}
	for _, c := range configs {
		hs.list = append(hs.list, NewHost(c))
	}
	return hs
}

// Default is the host services run on until placement chooses among
// several: the first configured one.
func (hs *Hosts) Default() *Host { return hs.list[0] }

// Get returns the host with the given name.
func (hs *Hosts) Get(name string) (*Host, error) {
	for _, h := range hs.list {
		if h.Name() == name {
			return h, nil
		}
	}
	return nil, fmt.Errorf("no host named %q is configured in the provider", name)
}
