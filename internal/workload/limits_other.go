//go:build !linux

package main

func nofile() (soft, hard int64) { return -1, -1 }

func fsBytes(string) int64 { return -1 }
