package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// fileEntry describes one file so tests can check what was mounted without
// seeing secret values: the hash proves the content, mode/uid/gid the access.
type fileEntry struct {
	Name    string  `json:"name"`
	SHA256  string  `json:"sha256"`
	Mode    string  `json:"mode"`
	UID     int     `json:"uid"`
	GID     int     `json:"gid"`
	Size    int64   `json:"size"`
	Content *string `json:"content,omitempty"`
	Error   string  `json:"error,omitempty"` // e.g. unreadable for this user
}

// listFiles describes every regular file under root (following symlinks to
// files, not to directories), sorted by name. A missing root gives an empty
// list. Content is included only where withContent reports true.
func listFiles(root string, withContent func(path string) bool) ([]fileEntry, error) {
	files := []fileEntry{}
	info, err := os.Stat(root)
	if errors.Is(err, fs.ErrNotExist) {
		return files, nil
	}
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", root)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Stat(path) // follows symlinks
		if err != nil || !info.Mode().IsRegular() {
			return nil // directories, dangling links, devices, ...
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files = append(files, describeFile(path, filepath.ToSlash(rel), info, withContent(path)))
		return nil
	})
	// WalkDir visits in lexical order, so files is already sorted by name.
	return files, err
}

func describeFile(path, name string, info fs.FileInfo, withContent bool) fileEntry {
	uid, gid := owner(info)
	e := fileEntry{
		Name: name,
		Mode: fmt.Sprintf("%04o", info.Mode().Perm()),
		UID:  uid,
		GID:  gid,
		Size: info.Size(),
	}
	sum, content, err := hashFile(path, withContent)
	if err != nil {
		e.Error = err.Error()
		return e
	}
	e.SHA256 = sum
	if withContent {
		e.Content = &content
	}
	return e
}

// hashFile streams the file through sha256 and keeps the bytes only when the
// caller asked for them, so secret values are never held longer than needed.
func hashFile(path string, keep bool) (sum, content string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	h := sha256.New()
	var buf strings.Builder
	w := io.Writer(h)
	if keep {
		w = io.MultiWriter(h, &buf)
	}
	if _, err := io.Copy(w, f); err != nil {
		return "", "", err
	}
	return hex.EncodeToString(h.Sum(nil)), buf.String(), nil
}

// isWithin reports whether path is dir or lies under it, checking both the
// literal path and the symlink-resolved one so a link elsewhere that points
// into dir is still caught.
func isWithin(path, dir string) bool {
	for _, p := range []string{path, resolve(path)} {
		for _, d := range []string{dir, resolve(dir)} {
			rel, err := filepath.Rel(d, p)
			if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return true
			}
		}
	}
	return false
}

func resolve(path string) string {
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	return filepath.Clean(path)
}
