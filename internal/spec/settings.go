package spec

import (
	"fmt"
	"maps"
	"math/big"
	"net"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Settings are the container settings real workloads need beyond image,
// command and environment: resource limits, kernel and security settings,
// name resolution, logging and extra networks. Sizes and CPU counts stay
// strings as written, so that import round-trips them. Every field is
// omitted from JSON when unset, so a service that sets none has the
// definition and fingerprint it had before they existed.
type Settings struct {
	Memory            string            `json:"memory,omitempty"`
	MemoryReservation string            `json:"memory_reservation,omitempty"`
	MemorySwap        string            `json:"memory_swap,omitempty"`
	CPUs              string            `json:"cpus,omitempty"`
	CPUShares         int64             `json:"cpu_shares,omitempty"`
	PidsLimit         int64             `json:"pids_limit,omitempty"`
	ShmSize           string            `json:"shm_size,omitempty"`
	Ulimits           []Ulimit          `json:"ulimit,omitempty"`
	Sysctls           map[string]string `json:"sysctls,omitempty"`
	Tmpfs             map[string]string `json:"tmpfs,omitempty"`
	Init              bool              `json:"init,omitempty"`
	CapAdd            []string          `json:"cap_add,omitempty"`
	CapDrop           []string          `json:"cap_drop,omitempty"`
	SecurityOpt       []string          `json:"security_opt,omitempty"`
	ReadOnly          bool              `json:"read_only,omitempty"`
	WorkingDir        string            `json:"working_dir,omitempty"`
	ExtraHosts        map[string]string `json:"extra_hosts,omitempty"`
	DNS               []string          `json:"dns,omitempty"`
	DNSSearch         []string          `json:"dns_search,omitempty"`
	DNSOptions        []string          `json:"dns_options,omitempty"`
	Log               *Log              `json:"log,omitempty"`
	GroupAdd          []string          `json:"group_add,omitempty"`
	Networks          []Network         `json:"extra_network,omitempty"`
}

// Ulimit is a process resource limit; -1 is unlimited.
type Ulimit struct {
	Name string `json:"name"`
	Soft int64  `json:"soft"`
	Hard int64  `json:"hard"`
}

// Log is the container's logging driver and its options.
type Log struct {
	Driver  string            `json:"driver"`
	Options map[string]string `json:"options,omitempty"`
}

// Network is an existing network replicas join besides the service's own.
type Network struct {
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
}

// ContainerSettings are Settings rendered for Docker: sizes in bytes, CPUs
// in billionths, capabilities normalised and sets sorted, so that equal
// settings written differently give one fingerprint.
type ContainerSettings struct {
	Memory            int64             `json:"memory,omitempty"`
	MemoryReservation int64             `json:"memory_reservation,omitempty"`
	MemorySwap        int64             `json:"memory_swap,omitempty"`
	NanoCPUs          int64             `json:"nano_cpus,omitempty"`
	CPUShares         int64             `json:"cpu_shares,omitempty"`
	PidsLimit         int64             `json:"pids_limit,omitempty"`
	ShmSize           int64             `json:"shm_size,omitempty"`
	Ulimits           []Ulimit          `json:"ulimits,omitempty"`
	Sysctls           map[string]string `json:"sysctls,omitempty"`
	Tmpfs             map[string]string `json:"tmpfs,omitempty"`
	Init              bool              `json:"init,omitempty"`
	CapAdd            []string          `json:"cap_add,omitempty"`
	CapDrop           []string          `json:"cap_drop,omitempty"`
	SecurityOpt       []string          `json:"security_opt,omitempty"`
	ReadOnly          bool              `json:"read_only,omitempty"`
	WorkingDir        string            `json:"working_dir,omitempty"`
	ExtraHosts        []string          `json:"extra_hosts,omitempty"`
	DNS               []string          `json:"dns,omitempty"`
	DNSSearch         []string          `json:"dns_search,omitempty"`
	DNSOptions        []string          `json:"dns_options,omitempty"`
	Log               *Log              `json:"log,omitempty"`
	GroupAdd          []string          `json:"group_add,omitempty"`
	ExtraNetworks     []Network         `json:"extra_networks,omitempty"`
}

// MinMemory is the smallest memory limit Docker accepts.
const MinMemory = 6 << 20

// UlimitNames are the limits Docker sets (as `docker run --ulimit` names them).
var UlimitNames = []string{
	"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime",
	"sigpending", "stack",
}

// Capabilities are the Linux capability names, without the CAP_ prefix.
var Capabilities = []string{
	"AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE", "CHOWN", "DAC_OVERRIDE",
	"DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN",
	"MAC_OVERRIDE", "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID",
	"SETPCAP", "SETUID", "SYSLOG", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT",
	"SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "WAKE_ALARM",
}

// securityOptions are the keys Docker takes in security_opt.
var securityOptions = []string{"apparmor", "label", "no-new-privileges", "seccomp", "systempaths"}

// namespacedSysctls are the kernel settings a container has its own copy
// of; Docker refuses the rest, which belong to the host.
var namespacedSysctls = []string{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}

var (
	sizePattern   = regexp.MustCompile(`^(?i)(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$`)
	sysctlPattern = regexp.MustCompile(`^[a-z0-9_]+(\.[a-zA-Z0-9_/-]+)+$`)
	hostPattern   = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$`)
)

// ParseSize parses a size with a binary unit as Docker writes it: "512m",
// "2g", "1.5G", "64MiB", "100k" or "4096b". A bare number is refused: in
// Docker it would mean bytes, which is rarely what was meant.
func ParseSize(attribute, value string) (int64, error) {
	m := sizePattern.FindStringSubmatch(strings.TrimSpace(value))
	if m == nil || (m[2] == "" && m[3] == "") {
		return 0, fmt.Errorf("%s: %q is not a size; write a number and a unit such as \"512m\", \"2g\" or \"64k\" (b, k, m, g, t; powers of 1024)", attribute, value)
	}
	n, ok := new(big.Rat).SetString(m[1])
	if !ok {
		return 0, fmt.Errorf("%s: %q is not a size", attribute, value)
	}
	shift := strings.Index("kmgt", strings.ToLower(m[2])) + 1
	if m[2] == "" {
		shift = 0
	}
	n.Mul(n, new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), uint(10*shift))))
	if !n.IsInt() || !n.Num().IsInt64() {
		return 0, fmt.Errorf("%s: %q is not a whole number of bytes below 8 EiB", attribute, value)
	}
	return n.Num().Int64(), nil
}

// ParseCPUs parses a CPU count such as "1.5" into billionths of a CPU.
func ParseCPUs(value string) (int64, error) {
	n, ok := new(big.Rat).SetString(value)
	if !ok || strings.ContainsAny(value, "/eE") {
		return 0, fmt.Errorf("cpus: %q is not a number of CPUs; write it like \"0.5\", \"1\" or \"2.5\"", value)
	}
	if n.Sign() <= 0 {
		return 0, fmt.Errorf("cpus: %q must be more than 0", value)
	}
	n.Mul(n, big.NewRat(1e9, 1))
	if !n.IsInt() || !n.Num().IsInt64() {
		return 0, fmt.Errorf("cpus: %q has more than 9 decimal places or is too large", value)
	}
	return n.Num().Int64(), nil
}

// NormalizeCapability writes a capability as Docker reports it: upper
// case with the CAP_ prefix; ALL stays ALL.
func NormalizeCapability(name string) string {
	upper := strings.ToUpper(strings.TrimSpace(name))
	if upper == "ALL" {
		return upper
	}
	return "CAP_" + strings.TrimPrefix(upper, "CAP_")
}

// ValidateCapability accepts a Linux capability with or without CAP_, in
// any case, and ALL.
func ValidateCapability(name string) error {
	upper := strings.ToUpper(name)
	if upper == "ALL" || slices.Contains(Capabilities, strings.TrimPrefix(upper, "CAP_")) {
		return nil
	}
	return fmt.Errorf("%q is not a Linux capability: write a name such as NET_ADMIN or CAP_SYS_NICE (see capabilities(7)), or ALL", name)
}

// dockerSettings turns the settings into what Docker takes. The settings must
// have passed validateSettings; errors name the attribute.
func (s Settings) dockerSettings() (ContainerSettings, error) {
	out := ContainerSettings{
		CPUShares: s.CPUShares, PidsLimit: s.PidsLimit, Init: s.Init, ReadOnly: s.ReadOnly, WorkingDir: s.WorkingDir,
		Ulimits: s.Ulimits, Sysctls: s.Sysctls, Tmpfs: s.Tmpfs, DNS: s.DNS, DNSSearch: s.DNSSearch, DNSOptions: s.DNSOptions, Log: s.Log, ExtraNetworks: s.Networks,
		SecurityOpt: sortedCopy(s.SecurityOpt), GroupAdd: sortedCopy(s.GroupAdd),
	}
	sizes := []struct {
		name  string
		value string
		into  *int64
	}{
		{"memory", s.Memory, &out.Memory},
		{"memory_reservation", s.MemoryReservation, &out.MemoryReservation},
		{"shm_size", s.ShmSize, &out.ShmSize},
	}
	for _, f := range sizes {
		if f.value == "" {
			continue
		}
		n, err := ParseSize(f.name, f.value)
		if err != nil {
			return ContainerSettings{}, err
		}
		*f.into = n
	}
	if s.MemorySwap == "-1" {
		out.MemorySwap = -1
	} else if s.MemorySwap != "" {
		n, err := ParseSize("memory_swap", s.MemorySwap)
		if err != nil {
			return ContainerSettings{}, err
		}
		out.MemorySwap = n
	}
	if s.CPUs != "" {
		n, err := ParseCPUs(s.CPUs)
		if err != nil {
			return ContainerSettings{}, err
		}
		out.NanoCPUs = n
	}
	out.CapAdd, out.CapDrop = capabilities(s.CapAdd), capabilities(s.CapDrop)
	for _, host := range slices.Sorted(maps.Keys(s.ExtraHosts)) {
		out.ExtraHosts = append(out.ExtraHosts, host+":"+s.ExtraHosts[host])
	}
	return out, nil
}

func capabilities(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, NormalizeCapability(n))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func sortedCopy(values []string) []string {
	if len(values) == 0 {
		return nil
	}
	return slices.Sorted(slices.Values(values))
}

// validateSettings checks the container settings; each error starts with
// the attribute it is about.
func (s Service) validateSettings() []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	st := s.Settings
	add(st.validateMemory())
	if st.CPUs != "" {
		_, err := ParseCPUs(st.CPUs)
		add(err)
	}
	if st.CPUShares != 0 && (st.CPUShares < 2 || st.CPUShares > 262144) {
		add(fmt.Errorf("cpu_shares: %d must be between 2 and 262144 (1024 is one CPU's default weight)", st.CPUShares))
	}
	if st.PidsLimit != 0 && st.PidsLimit < -1 {
		add(fmt.Errorf("pids_limit: %d must be at least 1, or -1 for no limit", st.PidsLimit))
	}
	if st.ShmSize != "" {
		if n, err := ParseSize("shm_size", st.ShmSize); err != nil {
			add(err)
		} else if n <= 0 {
			add(fmt.Errorf("shm_size: %q must be more than 0", st.ShmSize))
		}
	}
	errs = append(errs, st.validateUlimits()...)
	for _, k := range slices.Sorted(maps.Keys(st.Sysctls)) {
		add(validateSysctl(k))
	}
	errs = append(errs, s.validateTmpfs()...)
	errs = append(errs, st.validateCapabilities()...)
	for _, o := range slices.Sorted(slices.Values(st.SecurityOpt)) {
		add(validateSecurityOpt(o))
	}
	if d := st.WorkingDir; d != "" && !path.IsAbs(d) {
		add(fmt.Errorf("working_dir: %q must be an absolute path in the container, such as /app", d))
	}
	for _, host := range slices.Sorted(maps.Keys(st.ExtraHosts)) {
		ip := st.ExtraHosts[host]
		if !hostPattern.MatchString(host) {
			add(fmt.Errorf("extra_hosts: %q is not a host name; use letters, digits, '.' and '-'", host))
		}
		if net.ParseIP(ip) == nil && ip != "host-gateway" {
			add(fmt.Errorf("extra_hosts: %s maps to %q, which is not an IP address (or host-gateway, the Docker host's address)", host, ip))
		}
	}
	for _, d := range st.DNS {
		if net.ParseIP(d) == nil {
			add(fmt.Errorf("dns: %q is not an IP address; list name servers by address, such as 10.0.0.2", d))
		}
	}
	for _, d := range st.DNSSearch {
		if !hostPattern.MatchString(d) {
			add(fmt.Errorf("dns_search: %q is not a domain; write it like example.internal", d))
		}
	}
	for _, o := range st.DNSOptions {
		if strings.TrimSpace(o) == "" || strings.ContainsAny(o, " \t\n") {
			add(fmt.Errorf("dns_options: %q is not a resolver option; write one per entry, such as ndots:2", o))
		}
	}
	if st.Log != nil && strings.TrimSpace(st.Log.Driver) == "" {
		add(fmt.Errorf("log.driver: give a logging driver such as json-file, local, syslog or journald"))
	}
	for _, g := range st.GroupAdd {
		if strings.TrimSpace(g) == "" {
			add(fmt.Errorf("group_add: a group is empty; give a group name or number"))
		}
	}
	errs = append(errs, s.validateNetworks()...)
	errs = append(errs, s.validateReadOnly()...)
	return errs
}

func (s Settings) validateMemory() error {
	sizes := map[string]int64{}
	for _, f := range []struct{ name, value string }{{"memory", s.Memory}, {"memory_reservation", s.MemoryReservation}} {
		if f.value == "" {
			continue
		}
		n, err := ParseSize(f.name, f.value)
		if err != nil {
			return err
		}
		if n < MinMemory {
			return fmt.Errorf("%s: %q is below Docker's minimum of 6m", f.name, f.value)
		}
		sizes[f.name] = n
	}
	memory, limited := sizes["memory"]
	if r, set := sizes["memory_reservation"]; set && limited && r > memory {
		return fmt.Errorf("memory_reservation: %q is more than memory %q; the reservation is a soft limit below the hard one", s.MemoryReservation, s.Memory)
	}
	if s.MemorySwap == "" || s.MemorySwap == "-1" {
		if s.MemorySwap != "" && !limited {
			return fmt.Errorf("memory_swap: it limits memory plus swap and needs memory set")
		}
		return nil
	}
	swap, err := ParseSize("memory_swap", s.MemorySwap)
	if err != nil {
		return fmt.Errorf("%w; or -1 for unlimited swap", err)
	}
	switch {
	case !limited:
		return fmt.Errorf("memory_swap: it limits memory plus swap and needs memory set")
	case swap < memory:
		return fmt.Errorf("memory_swap: %q is less than memory %q; it limits memory plus swap, so set it to at least memory (equal: no swap), or -1 for unlimited swap", s.MemorySwap, s.Memory)
	}
	return nil
}

func (s Settings) validateUlimits() []error {
	var errs []error
	seen := map[string]bool{}
	for i, u := range s.Ulimits {
		at := fmt.Sprintf("ulimit[%d]", i)
		switch {
		case !slices.Contains(UlimitNames, u.Name):
			errs = append(errs, fmt.Errorf("%s.name: %q is not a limit Docker sets; use one of %s", at, u.Name, strings.Join(UlimitNames, ", ")))
		case seen[u.Name]:
			errs = append(errs, fmt.Errorf("%s.name: %q is limited twice; give each limit once", at, u.Name))
		}
		seen[u.Name] = true
		switch {
		case u.Soft < -1 || u.Hard < -1:
			errs = append(errs, fmt.Errorf("%s: limits must be at least 0, or -1 for unlimited", at))
		case u.Hard != -1 && (u.Soft == -1 || u.Soft > u.Hard):
			errs = append(errs, fmt.Errorf("%s.soft: %d is above the hard limit %d; the soft limit may be raised only up to the hard one", at, u.Soft, u.Hard))
		}
	}
	return errs
}

func validateSysctl(key string) error {
	if !sysctlPattern.MatchString(key) {
		return fmt.Errorf("sysctls: %q is not a kernel setting name; write it dotted, such as net.core.somaxconn", key)
	}
	if strings.HasPrefix(key, "net.") || strings.HasPrefix(key, "fs.mqueue.") || slices.Contains(namespacedSysctls, key) {
		return nil
	}
	return fmt.Errorf("sysctls: %q is the host's, not the container's: a container can set only net.*, fs.mqueue.*, kernel.msg*, kernel.sem and kernel.shm* (set the rest on the host)", key)
}

func (s Service) validateTmpfs() []error {
	var errs []error
	volumes := map[string]string{}
	for _, v := range s.Volumes {
		volumes[path.Clean(v.Target)] = v.Name
	}
	seen := map[string]string{}
	for _, target := range slices.Sorted(maps.Keys(s.Tmpfs)) {
		clean := path.Clean(target)
		switch {
		case !path.IsAbs(target):
			errs = append(errs, fmt.Errorf("tmpfs: %q is not an absolute path in the container", target))
		case clean == "/":
			errs = append(errs, fmt.Errorf("tmpfs: / is the container's root file system; mount tmpfs at a directory such as /tmp"))
		case volumes[clean] != "":
			errs = append(errs, fmt.Errorf("tmpfs: %s is also volume %q's target; give each its own path", target, volumes[clean]))
		case seen[clean] != "":
			errs = append(errs, fmt.Errorf("tmpfs: %q and %q are the same path; list it once", seen[clean], target))
		}
		seen[clean] = target
		for _, o := range strings.Split(s.Tmpfs[target], ",") {
			if s.Tmpfs[target] != "" && strings.TrimSpace(o) == "" {
				errs = append(errs, fmt.Errorf("tmpfs: the options of %s have an empty entry; write them like \"size=64m,mode=1777\"", target))
				break
			}
		}
	}
	return errs
}

func (s Settings) validateCapabilities() []error {
	var errs []error
	added := map[string]bool{}
	for _, c := range s.CapAdd {
		if err := ValidateCapability(c); err != nil {
			errs = append(errs, fmt.Errorf("cap_add: %w", err))
		}
		added[NormalizeCapability(c)] = true
	}
	for _, c := range s.CapDrop {
		if err := ValidateCapability(c); err != nil {
			errs = append(errs, fmt.Errorf("cap_drop: %w", err))
		} else if n := NormalizeCapability(c); added[n] && n != "ALL" {
			errs = append(errs, fmt.Errorf("cap_drop: %s is also in cap_add; keep it in one of them", c))
		}
	}
	return errs
}

func validateSecurityOpt(o string) error {
	key, value, hasValue := strings.Cut(o, "=")
	if !hasValue {
		key, value, hasValue = strings.Cut(o, ":")
	}
	if !slices.Contains(securityOptions, key) {
		return fmt.Errorf("security_opt: %q is not a security option; write key=value with key one of %s", o, strings.Join(securityOptions, ", "))
	}
	switch {
	case key == "no-new-privileges":
		if hasValue {
			if _, err := strconv.ParseBool(value); err != nil {
				return fmt.Errorf("security_opt: %q: no-new-privileges takes true or false", o)
			}
		}
	case !hasValue || value == "":
		return fmt.Errorf("security_opt: %q needs a value: write it as %s=<value>", o, key)
	case key == "seccomp" && value != "unconfined" && !strings.HasPrefix(strings.TrimSpace(value), "{"):
		return fmt.Errorf("security_opt: %q: give seccomp=unconfined or the profile's JSON itself (file(\"profile.json\")); a path is read by the docker CLI, not the daemon", o)
	}
	return nil
}

func (s Service) validateNetworks() []error {
	var errs []error
	seen := map[string]bool{}
	for i, n := range s.Networks {
		at := fmt.Sprintf("extra_network[%d]", i)
		switch {
		case strings.TrimSpace(n.Name) == "":
			errs = append(errs, fmt.Errorf("%s.name: give the name of an existing network", at))
		case n.Name == NetworkName(s.Name):
			errs = append(errs, fmt.Errorf("%s.name: %s is the service's own network, which every replica joins already; remove this block", at, n.Name))
		case seen[n.Name]:
			errs = append(errs, fmt.Errorf("%s.name: network %s is listed twice; list each network once", at, n.Name))
		}
		seen[n.Name] = true
		for _, a := range n.Aliases {
			if strings.TrimSpace(a) == "" {
				errs = append(errs, fmt.Errorf("%s.aliases: an alias is empty", at))
			}
		}
	}
	return errs
}

// validateReadOnly catches config files a read-only root file system
// would refuse: Docker writes them before start, and only into volumes.
func (s Service) validateReadOnly() []error {
	if !s.ReadOnly {
		return nil
	}
	var errs []error
	writable := func(p string) bool {
		for _, v := range s.Volumes {
			if !v.ReadOnly && (p == path.Clean(v.Target) || strings.HasPrefix(p, path.Clean(v.Target)+"/")) {
				return true
			}
		}
		return false
	}
	for i, f := range s.Files {
		if path.IsAbs(f.Target) && !writable(path.Clean(f.Target)) {
			errs = append(errs, fmt.Errorf("file[%d].target: %s is on the root file system, which read_only = true makes read-only; put the file in a writable volume, or drop read_only", i, f.Target))
		}
	}
	if s.Cluster != nil && s.Cluster.File != "" && path.IsAbs(s.Cluster.File) && !writable(path.Clean(s.Cluster.File)) {
		errs = append(errs, fmt.Errorf("cluster.file: %s is on the root file system, which read_only = true makes read-only; put the file in a writable volume, or drop read_only", s.Cluster.File))
	}
	return errs
}
