package main

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

const probeTimeout = 2 * time.Second

// probe is the HEALTHCHECK for a scratch image, which has no curl or shell.
// Every failure, including bad usage, exits 1 because Docker reserves exit
// code 2 in health checks.
func probe(args []string, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: workload probe URL")
		return 1
	}
	client := &http.Client{Timeout: probeTimeout}
	resp, err := client.Get(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "probe:", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintln(stderr, "probe:", resp.Status)
		return 1
	}
	return 0
}
