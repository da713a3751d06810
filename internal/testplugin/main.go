// Command testplugin is a minimal Docker legacy volume plugin for acceptance
// tests. It listens on <socket-dir>/<name>.sock, where the Docker daemon
// discovers it as volume driver <name>, and stores each volume as a
// directory under <root>/volumes.
//
//	sudo testplugin -name stateful-test -root /tmp/stp-root
//	docker volume create -d stateful-test -o size=1 v1
//
// Create accepts only the options "size", "label" and "fail_create"; any
// other option fails with "unknown option X", and fail_create=MSG makes
// Create fail with MSG.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	name := flag.String("name", "stateful-test", "driver name; the socket is <socket-dir>/<name>.sock")
	root := flag.String("root", "/var/lib/stateful-testplugin", "directory holding the volumes")
	socketDir := flag.String("socket-dir", "/run/docker/plugins", "directory Docker scans for plugin sockets")
	flag.Parse()
	log.SetPrefix("testplugin: ")
	if err := run(*name, *root, *socketDir); err != nil {
		log.Fatal(err)
	}
}

func run(name, root, socketDir string) error {
	if !validName.MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("invalid -name %q: must match [A-Za-z0-9_.-]+", name)
	}
	p, err := NewPlugin(root, os.Stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(socketDir, 0o755); err != nil {
		return err
	}
	sock := filepath.Join(socketDir, name+".sock")
	if err := os.Remove(sock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing stale socket: %w", err)
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		return err
	}
	defer os.Remove(sock)

	srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	log.Printf("driver %q listening on %s, volumes in %s", name, sock, filepath.Join(root, "volumes"))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Printf("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
