package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// contentType is what Docker's plugin client speaks (it sends
// Accept: application/vnd.docker.plugins.v1.2+json).
const contentType = "application/vnd.docker.plugins.v1.2+json"

// allowedOptions are the only driver options Create accepts; anything else
// fails with "unknown option X" so callers can exercise that error path.
var allowedOptions = map[string]bool{
	"size":        true, // accepted and recorded, not enforced
	"label":       true, // accepted and recorded
	"fail_create": true, // Create fails with the option's value as the error
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// checkName rejects names that could escape the volumes directory.
func checkName(name string) error {
	if name == "" {
		return errors.New("volume name is required")
	}
	if len(name) > 255 || !validName.MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("invalid volume name %q: must match [A-Za-z0-9_.-]+", name)
	}
	return nil
}

// Plugin is a Docker legacy volume plugin that keeps each volume as a
// directory: <root>/volumes/<name>/data, with the create options in
// <root>/volumes/<name>/options.json. All state is on disk, so a restarted
// plugin still knows its volumes.
type Plugin struct {
	dir string // <root>/volumes
	log *log.Logger
	mu  sync.Mutex
}

// NewPlugin creates <root>/volumes if needed. Calls are logged to logw, one
// line each.
func NewPlugin(root string, logw io.Writer) (*Plugin, error) {
	dir := filepath.Join(root, "volumes")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &Plugin{dir: dir, log: log.New(logw, "testplugin: ", log.LstdFlags)}, nil
}

// request is the union of the bodies Docker sends.
type request struct {
	Name string
	ID   string
	Opts map[string]string
}

type volume struct {
	Name       string
	Mountpoint string         `json:",omitempty"`
	CreatedAt  string         `json:",omitempty"`
	Status     map[string]any `json:",omitempty"`
}

type errResponse struct {
	Err string
}

type mountResponse struct {
	Mountpoint string
	Err        string
}

type getResponse struct {
	Volume *volume
	Err    string
}

type listResponse struct {
	Volumes []volume
	Err     string
}

// Handler serves the plugin protocol. Every endpoint is a POST with a JSON
// body; failures are HTTP 500 with {"Err": "..."}.
func (p *Plugin) Handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(method string, fn func(request) (any, error)) {
		mux.HandleFunc("/"+method, func(w http.ResponseWriter, r *http.Request) {
			var req request
			var err error
			var resp any
			if r.Method != http.MethodPost {
				err = fmt.Errorf("method %s not allowed", r.Method)
			} else {
				err = decodeBody(w, r, &req)
			}
			if err == nil {
				p.mu.Lock()
				resp, err = fn(req)
				p.mu.Unlock()
			}
			p.logCall(method, req, err)
			w.Header().Set("Content-Type", contentType)
			if err != nil {
				w.WriteHeader(http.StatusInternalServerError)
				resp = errResponse{Err: err.Error()}
			}
			_ = json.NewEncoder(w).Encode(resp)
		})
	}
	handle("Plugin.Activate", func(request) (any, error) {
		return map[string][]string{"Implements": {"VolumeDriver"}}, nil
	})
	handle("VolumeDriver.Capabilities", func(request) (any, error) {
		return map[string]any{"Capabilities": map[string]string{"Scope": "local"}}, nil
	})
	handle("VolumeDriver.Create", p.create)
	handle("VolumeDriver.Remove", p.remove)
	handle("VolumeDriver.Mount", p.mount)
	handle("VolumeDriver.Path", p.path)
	handle("VolumeDriver.Unmount", p.unmount)
	handle("VolumeDriver.Get", p.get)
	handle("VolumeDriver.List", p.list)
	return mux
}

// decodeBody reads at most 1 MiB and accepts an empty body (Activate, List
// and Capabilities may send none).
func decodeBody(w http.ResponseWriter, r *http.Request, req *request) error {
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(req)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("bad request body: %w", err)
	}
	return nil
}

func (p *Plugin) volDir(name string) string   { return filepath.Join(p.dir, name) }
func (p *Plugin) dataDir(name string) string  { return filepath.Join(p.dir, name, "data") }
func (p *Plugin) optsFile(name string) string { return filepath.Join(p.dir, name, "options.json") }
func noSuchVolume(name string) error          { return fmt.Errorf("no such volume: %s", name) }

// load returns the saved options of an existing volume. A volume exists
// once its options.json is written (the last step of create).
func (p *Plugin) load(name string) (map[string]string, time.Time, error) {
	if err := checkName(name); err != nil {
		return nil, time.Time{}, err
	}
	f := p.optsFile(name)
	b, err := os.ReadFile(f)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, time.Time{}, noSuchVolume(name)
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	opts := map[string]string{}
	if err := json.Unmarshal(b, &opts); err != nil {
		return nil, time.Time{}, fmt.Errorf("volume %s: corrupt %s: %w", name, f, err)
	}
	var created time.Time
	if fi, err := os.Stat(f); err == nil {
		created = fi.ModTime()
	}
	return opts, created, nil
}

func (p *Plugin) create(req request) (any, error) {
	if err := checkName(req.Name); err != nil {
		return nil, err
	}
	keys := sortedKeys(req.Opts)
	for _, k := range keys {
		if !allowedOptions[k] {
			return nil, fmt.Errorf("unknown option %s", k)
		}
	}
	if msg, ok := req.Opts["fail_create"]; ok {
		if msg == "" {
			msg = "create failed (fail_create)"
		}
		return nil, errors.New(msg)
	}
	if _, _, err := p.load(req.Name); err == nil {
		return errResponse{}, nil // already exists: idempotent, keeps the original options
	}
	if err := os.MkdirAll(p.dataDir(req.Name), 0o755); err != nil {
		return nil, err
	}
	opts := req.Opts
	if opts == nil {
		opts = map[string]string{}
	}
	b, err := json.MarshalIndent(opts, "", "  ")
	if err != nil {
		return nil, err
	}
	tmp := p.optsFile(req.Name) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return nil, err
	}
	return errResponse{}, os.Rename(tmp, p.optsFile(req.Name))
}

// remove deletes the volume and its data. Removing an unknown volume
// succeeds, so cleanup never gets stuck.
func (p *Plugin) remove(req request) (any, error) {
	if err := checkName(req.Name); err != nil {
		return nil, err
	}
	return errResponse{}, os.RemoveAll(p.volDir(req.Name))
}

func (p *Plugin) mount(req request) (any, error) {
	if _, _, err := p.load(req.Name); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(p.dataDir(req.Name), 0o755); err != nil {
		return nil, err
	}
	return mountResponse{Mountpoint: p.dataDir(req.Name)}, nil
}

func (p *Plugin) unmount(req request) (any, error) {
	if _, _, err := p.load(req.Name); err != nil {
		return nil, err
	}
	return errResponse{}, nil
}

func (p *Plugin) path(req request) (any, error) {
	if _, _, err := p.load(req.Name); err != nil {
		return nil, err
	}
	return mountResponse{Mountpoint: p.dataDir(req.Name)}, nil
}

func (p *Plugin) get(req request) (any, error) {
	opts, created, err := p.load(req.Name)
	if err != nil {
		return nil, err
	}
	v := &volume{Name: req.Name, Mountpoint: p.dataDir(req.Name), Status: map[string]any{"options": opts}}
	if !created.IsZero() {
		v.CreatedAt = created.UTC().Format(time.RFC3339)
	}
	return getResponse{Volume: v}, nil
}

func (p *Plugin) list(request) (any, error) {
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return nil, err
	}
	vols := []volume{}
	for _, e := range entries {
		if _, _, err := p.load(e.Name()); err == nil {
			vols = append(vols, volume{Name: e.Name(), Mountpoint: p.dataDir(e.Name())})
		}
	}
	return listResponse{Volumes: vols}, nil
}

// logCall writes one line per call. Values of options whose key contains
// "pass" or "secret" are masked.
func (p *Plugin) logCall(method string, req request, err error) {
	var b strings.Builder
	b.WriteString(method)
	if req.Name != "" {
		fmt.Fprintf(&b, " name=%q", req.Name)
	}
	if req.ID != "" {
		fmt.Fprintf(&b, " id=%q", req.ID)
	}
	if len(req.Opts) > 0 {
		parts := make([]string, 0, len(req.Opts))
		for _, k := range sortedKeys(req.Opts) {
			v := req.Opts[k]
			if lk := strings.ToLower(k); strings.Contains(lk, "pass") || strings.Contains(lk, "secret") {
				v = "***"
			}
			parts = append(parts, fmt.Sprintf("%s=%q", k, v))
		}
		fmt.Fprintf(&b, " opts={%s}", strings.Join(parts, " "))
	}
	if err != nil {
		fmt.Fprintf(&b, " -> error: %v", err)
	} else {
		b.WriteString(" -> ok")
	}
	p.log.Print(b.String())
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
