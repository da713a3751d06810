package main

import (
	"fmt"
	"time"
)

// config is read from the environment so the provider can drive the workload
// purely through container settings.
type config struct {
	port       string
	dataDir    string
	secretsDir string
	version    string
	unhealthy  bool          // start with /healthz failing
	exitAfter  time.Duration // crash (exit 3) after this long; 0 disables
	// clusterSeeds is the comma-separated host:port list of seeds to
	// register with (CLUSTER_SEEDS).
	clusterSeeds string
}

func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{
		port:         envOr(getenv, "PORT", "8080"),
		dataDir:      envOr(getenv, "DATA_DIR", "/data"),
		secretsDir:   envOr(getenv, "SECRETS_DIR", "/run/secrets"),
		version:      versionFrom(getenv),
		unhealthy:    getenv("UNHEALTHY") == "1",
		clusterSeeds: getenv("CLUSTER_SEEDS"),
	}
	if s := getenv("EXIT_AFTER"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return config{}, fmt.Errorf("invalid EXIT_AFTER %q: want a positive Go duration such as 2s", s)
		}
		cfg.exitAfter = d
	}
	return cfg, nil
}

func versionFrom(getenv func(string) string) string {
	return envOr(getenv, "WORKLOAD_VERSION", "dev")
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
