package main

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const (
	maxValueBytes = 8 << 20 // cap on a PUT /kv body
	exitDelay     = 100 * time.Millisecond
)

// processStart approximates when the process started; it is reported by
// /identity so tests can tell a restarted container from the same one.
var processStart = time.Now()

type server struct {
	cfg     config
	log     *log.Logger
	kv      *kvStore
	healthy atomic.Bool
	exit    func(code int) // os.Exit, replaced in tests
	cluster *cluster
}

func newServer(cfg config, logger *log.Logger) (*server, error) {
	kv, err := openKV(cfg.dataDir)
	if err != nil {
		return nil, err
	}
	s := &server{cfg: cfg, log: logger, kv: kv, exit: os.Exit, cluster: newCluster(cfg.clusterSeeds, cfg.port)}
	s.healthy.Store(!cfg.unhealthy)
	return s, nil
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /identity", s.handleIdentity)
	mux.HandleFunc("GET /kv", s.handleKVList)
	mux.HandleFunc("GET /kv/{key}", s.handleKVGet)
	mux.HandleFunc("PUT /kv/{key}", s.handleKVPut)
	mux.HandleFunc("GET /env", s.handleEnv)
	mux.HandleFunc("GET /secrets", s.handleSecrets)
	mux.HandleFunc("GET /files", s.handleFiles)
	mux.HandleFunc("GET /limits", s.handleLimits)
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("POST /healthz/fail", s.setHealth(false))
	mux.HandleFunc("POST /healthz/ok", s.setHealth(true))
	mux.HandleFunc("POST /exit", s.handleExit)
	mux.HandleFunc("GET /cluster/members", s.handleClusterMembers)
	mux.HandleFunc("POST /cluster/join", s.handleClusterJoin)
	return mux
}

func (s *server) handleIdentity(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, currentIdentity(s.cfg.version))
}

func (s *server) handleKVList(w http.ResponseWriter, _ *http.Request) {
	keys, err := s.kv.keys()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"keys": keys})
}

func (s *server) handleKVGet(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !validKey(key) {
		writeError(w, http.StatusBadRequest, "invalid key")
		return
	}
	value, err := s.kv.get(key)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		writeError(w, http.StatusNotFound, "not found")
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, map[string]string{"key": key, "value": string(value)})
	}
}

func (s *server) handleKVPut(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !validKey(key) {
		writeError(w, http.StatusBadRequest, "invalid key")
		return
	}
	// Read fully first so an oversized body never reaches the disk.
	value, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxValueBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	}
	if err := s.kv.put(key, value); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"key": key, "value": string(value)})
}

func (s *server) handleEnv(w http.ResponseWriter, _ *http.Request) {
	env := make(map[string]string)
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	writeJSON(w, http.StatusOK, map[string]any{"env": env})
}

func (s *server) handleSecrets(w http.ResponseWriter, _ *http.Request) {
	files, err := listFiles(s.cfg.secretsDir, func(string) bool { return false })
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"files": files})
}

func (s *server) handleFiles(w http.ResponseWriter, r *http.Request) {
	dir := r.URL.Query().Get("dir")
	if !filepath.IsAbs(dir) {
		writeError(w, http.StatusBadRequest, "dir must be an absolute path")
		return
	}
	wantContent := r.URL.Query().Get("content") == "1"
	files, err := listFiles(filepath.Clean(dir), func(path string) bool {
		return wantContent && !isWithin(path, s.cfg.secretsDir)
	})
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"files": files})
}

func (s *server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	if !s.healthy.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "failing"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) setHealth(healthy bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.healthy.Store(healthy)
		s.handleHealth(w, r)
	}
}

func (s *server) handleExit(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.URL.Query().Get("code"))
	if err != nil || code < 0 || code > 255 {
		writeError(w, http.StatusBadRequest, "code must be an integer in 0..255")
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"exiting": code})
	// Delay so the response reaches the client before the process dies.
	time.AfterFunc(exitDelay, func() {
		s.log.Printf("exiting with code %d as requested", code)
		s.exit(code)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
