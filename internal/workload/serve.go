package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const shutdownTimeout = 5 * time.Second

// serve runs the HTTP server until SIGTERM/SIGINT and returns the exit code.
func serve(cfg config, stdout, stderr io.Writer) int {
	logger := log.New(stdout, "workload: ", log.LstdFlags|log.LUTC)
	srv, err := newServer(cfg, logger)
	if err != nil {
		fmt.Fprintln(stderr, "workload:", err)
		return 1
	}
	// Listen before logging the start line so the line means "ready".
	ln, err := net.Listen("tcp", ":"+cfg.port)
	if err != nil {
		fmt.Fprintln(stderr, "workload:", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	if cfg.exitAfter > 0 {
		time.AfterFunc(cfg.exitAfter, func() {
			logger.Printf("EXIT_AFTER=%s elapsed, exiting with code 3", cfg.exitAfter)
			os.Exit(3)
		})
	}

	hostname, _ := os.Hostname()
	logger.Printf("started hostname=%s version=%s pid=%d addr=%s", hostname, cfg.version, os.Getpid(), ln.Addr())

	go srv.cluster.run(ctx)

	httpSrv := &http.Server{Handler: srv.routes(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()

	select {
	case err := <-errc:
		fmt.Fprintln(stderr, "workload: server failed:", err)
		return 1
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = httpSrv.Shutdown(shutdownCtx)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Printf("shutdown on signal finished with error: %v", err)
	} else {
		logger.Printf("shutdown on signal complete")
	}
	return 0
}
