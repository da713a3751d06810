package main

import (
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// identity lets tests tell replicas and restarts apart: ordinal and hostname
// identify the replica, mac/addresses its network, pid/started_at the process.
type identity struct {
	Hostname  string   `json:"hostname"`
	Ordinal   int      `json:"ordinal"`
	MAC       string   `json:"mac"`
	Addresses []string `json:"addresses"`
	Version   string   `json:"version"`
	PID       int      `json:"pid"`
	StartedAt string   `json:"started_at"`
}

func currentIdentity(version string) identity {
	hostname, _ := os.Hostname()
	mac, addrs := networkIdentity()
	return identity{
		Hostname:  hostname,
		Ordinal:   ordinalOf(hostname),
		MAC:       mac,
		Addresses: addrs,
		Version:   version,
		PID:       os.Getpid(),
		StartedAt: processStart.Format(time.RFC3339Nano),
	}
}

// ordinalOf parses the trailing "-N" of a replica hostname such as "db-2";
// it returns -1 when there is none.
func ordinalOf(hostname string) int {
	i := strings.LastIndexByte(hostname, '-')
	if i < 0 {
		return -1
	}
	digits := hostname[i+1:]
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return -1
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return -1
	}
	return n
}

// networkIdentity returns the MAC of the first non-loopback interface that
// has one, and every non-loopback IPv4 address.
func networkIdentity() (mac string, addrs []string) {
	addrs = []string{}
	ifaces, err := net.Interfaces()
	if err != nil {
		return "", addrs
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagLoopback != 0 {
			continue
		}
		if mac == "" && len(iface.HardwareAddr) > 0 {
			mac = iface.HardwareAddr.String()
		}
		ifAddrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range ifAddrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
				addrs = append(addrs, ipn.IP.String())
			}
		}
	}
	return mac, addrs
}
