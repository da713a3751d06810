//go:build linux

package main

import "syscall"

func nofile() (soft, hard int64) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return -1, -1
	}
	return int64(r.Cur), int64(r.Max) // RLIM_INFINITY reads as -1
}

func fsBytes(path string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return -1
	}
	return int64(st.Blocks) * st.Bsize
}
