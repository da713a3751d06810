package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// tempPattern contains '#', which validKey rejects, so in-flight or crashed
// writes can share the kv directory (needed for an atomic rename) without
// ever showing up as keys.
const tempPattern = "put#*"

// kvStore keeps one file per key under DATA_DIR/kv so state lives on the
// container's volume and survives restarts and replacement.
type kvStore struct {
	dir string
}

func openKV(dataDir string) (*kvStore, error) {
	dir := filepath.Join(dataDir, "kv")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return &kvStore{dir: dir}, nil
}

// validKey allows [A-Za-z0-9._-]+ except "." and "..", which would name a
// directory rather than a file.
func validKey(key string) bool {
	if key == "" || key == "." || key == ".." || len(key) > 255 {
		return false
	}
	for _, c := range key {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

func (s *kvStore) get(key string) ([]byte, error) {
	return os.ReadFile(filepath.Join(s.dir, key))
}

// put writes to a temp file, fsyncs it, renames it over the key and fsyncs
// the directory, so readers see the old or new value and never a torn one.
func (s *kvStore) put(key string, value []byte) error {
	tmp, err := os.CreateTemp(s.dir, tempPattern)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(value); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dir, key)); err != nil {
		return err
	}
	return syncDir(s.dir)
}

func (s *kvStore) keys() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	keys := []string{}
	for _, e := range entries {
		if e.Type().IsRegular() && validKey(e.Name()) {
			keys = append(keys, e.Name())
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// syncDir makes a rename durable across a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
