// Command workload is a small stateful test program used by the provider's
// acceptance tests and demo. It ships alone in a FROM scratch image, so it
// relies on nothing but itself: no shell, no /tmp, no other files.
//
// Usage:
//
//	workload [serve]     run the HTTP server (default)
//	workload probe URL   GET URL; exit 0 on 2xx, 1 otherwise (for HEALTHCHECK)
//	workload version     print the version
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, err := loadConfig(os.Getenv)
		if err != nil {
			fmt.Fprintln(stderr, "workload:", err)
			return 2
		}
		return serve(cfg, stdout, stderr)
	case "probe":
		return probe(args, stderr)
	case "version":
		fmt.Fprintln(stdout, versionFrom(os.Getenv))
		return 0
	default:
		fmt.Fprintf(stderr, "workload: unknown command %q (want serve, probe URL or version)\n", cmd)
		return 2
	}
}
