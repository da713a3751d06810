package main

import (
	"net/http"
	"os"
	"strings"
)

// limits is what a process can see of its container's settings, so tests
// check that they reached it: resource limits, /dev/shm, the working
// directory, groups, whether the root file system takes writes, and the
// name resolution files.
type limits struct {
	NofileSoft   int64  `json:"nofile_soft"`
	NofileHard   int64  `json:"nofile_hard"`
	ShmBytes     int64  `json:"shm_bytes"`
	WorkingDir   string `json:"working_dir"`
	Groups       []int  `json:"groups"`
	RootWritable bool   `json:"root_writable"`
	Hosts        string `json:"hosts"`
	ResolvConf   string `json:"resolv_conf"`
	PID1         string `json:"pid1"`
}

func currentLimits() limits {
	var l limits
	l.NofileSoft, l.NofileHard = nofile()
	l.ShmBytes = fsBytes("/dev/shm")
	l.WorkingDir, _ = os.Getwd()
	l.Groups, _ = os.Getgroups()
	if f, err := os.CreateTemp("/", ".write-probe-"); err == nil {
		l.RootWritable = true
		_ = f.Close()
		_ = os.Remove(f.Name())
	}
	hosts, _ := os.ReadFile("/etc/hosts")
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	cmdline, _ := os.ReadFile("/proc/1/cmdline")
	l.Hosts, l.ResolvConf = string(hosts), string(resolv)
	l.PID1 = strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")
	return l
}

func (s *server) handleLimits(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, currentLimits())
}
