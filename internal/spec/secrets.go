package spec

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// SecretsRoot is the directory on the Docker host under which replicas'
// secret files are staged: tmpfs on Linux hosts, so secrets stay in memory.
const SecretsRoot = "/dev/shm/stateful" //nolint:gosec // a directory, not a credential

// Defaults for secret and config files.
const (
	DefaultSecretTarget = "/run/secrets"
	DefaultSecretMode   = "0400"
	DefaultFileMode     = "0644"
)

// Secret is one secret file, delivered to a replica before its process
// starts. Its value is never serialised: labels, fingerprints and state see
// only its version or a keyed digest.
type Secret struct {
	Name     string `json:"name"`
	Target   string `json:"target"`
	Mode     string `json:"mode,omitempty"`
	UID      int    `json:"uid,omitempty"`
	GID      int    `json:"gid,omitempty"`
	Owner    string `json:"owner,omitempty"`
	Version  int64  `json:"version,omitempty"`
	FromEnv  string `json:"from_env,omitempty"`
	FromFile string `json:"from_file,omitempty"`
	// Value is resolved by the caller for apply; Digest, a keyed hash of a
	// value known at plan time, stands for it in fingerprints.
	Value  []byte `json:"-"`
	Digest string `json:"-"`
}

// ConfigFile is a non-secret file written into each replica's container,
// templated per replica.
type ConfigFile struct {
	Target  string `json:"target"`
	Content string `json:"content"`
	Mode    string `json:"mode,omitempty"`
	Owner   string `json:"owner,omitempty"`
}

// SecretFile is a rendered secret of one replica.
type SecretFile struct {
	Name string `json:"name"`
	Dir  string `json:"dir"`
	Mode uint32 `json:"mode"`
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
	// Owner is the owner as written when it names a user or group: it
	// stands for the ids in fingerprints, and the Docker layer resolves it
	// from the image into UID and GID.
	Owner string `json:"owner,omitempty"`
	Token string `json:"token"`
	Value []byte `json:"-"`
}

// SecretDir binds a staged host directory at a secrets target.
type SecretDir struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

// File is a rendered config file of one replica.
type File struct {
	Path    string `json:"path"`
	Content string `json:"content"`
	Mode    uint32 `json:"mode"`
	// UID and GID own the file; Owner is as SecretFile's.
	UID   int    `json:"uid,omitempty"`
	GID   int    `json:"gid,omitempty"`
	Owner string `json:"owner,omitempty"`
}

// SecretDigest is the keyed hash that stands for a secret value known at
// plan time: HMAC-SHA256 under a random per-resource key, so equal values
// in different resources differ and no plain hash of a secret exists.
func SecretDigest(key, value []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(value)
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// token is what stands for a secret's value: its version for write-only
// values, its digest for values read at plan time.
func (s Secret) token() string {
	if s.FromEnv == "" && s.FromFile == "" {
		return "v" + strconv.FormatInt(s.Version, 10)
	}
	return "h" + s.Digest
}

// PlanTimeSecrets reports whether any secret value is read at plan time
// (from the environment or a file), and so needs a digest key.
func (s Service) PlanTimeSecrets() bool {
	for _, sec := range s.Secrets {
		if sec.FromEnv != "" || sec.FromFile != "" {
			return true
		}
	}
	return false
}

// secretsFor renders the secrets and their staging directories of one
// replica; each distinct target directory is one read-only bind.
func (s Service) secretsFor(replica string) ([]SecretFile, []SecretDir, error) {
	if len(s.Secrets) == 0 {
		return nil, nil, nil
	}
	var files []SecretFile
	dirs := map[string]bool{}
	for _, sec := range s.Secrets {
		mode, err := ParseMode(orDefault(sec.Mode, DefaultSecretMode))
		if err != nil {
			return nil, nil, fmt.Errorf("secret %q: %w", sec.Name, err)
		}
		dir := orDefault(sec.Target, DefaultSecretTarget)
		dirs[dir] = true
		f := SecretFile{Name: sec.Name, Dir: dir, Mode: mode, UID: sec.UID, GID: sec.GID, Token: sec.token(), Value: sec.Value}
		if err := renderOwner(sec.Owner, &f.UID, &f.GID, &f.Owner); err != nil {
			return nil, nil, fmt.Errorf("secret %q: %w", sec.Name, err)
		}
		files = append(files, f)
	}
	targets := make([]string, 0, len(dirs))
	for d := range dirs {
		targets = append(targets, d)
	}
	sort.Strings(targets)
	out := make([]SecretDir, len(targets))
	for i, t := range targets {
		out[i] = SecretDir{Source: SecretStage(s.Name, replica, i), Target: t}
	}
	return files, out, nil
}

// SecretStage is the host directory staging one secrets target of a replica.
func SecretStage(service, replica string, index int) string {
	return path.Join(SecretsRoot, service, replica, strconv.Itoa(index))
}

// filesFor renders the config files of one replica.
func (s Service) filesFor(id Identity) ([]File, error) {
	out := make([]File, 0, len(s.Files))
	for _, f := range s.Files {
		content, err := renderTemplate("file.content", f.Content, id)
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", f.Target, err)
		}
		mode, err := ParseMode(orDefault(f.Mode, DefaultFileMode))
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", f.Target, err)
		}
		file := File{Path: f.Target, Content: content, Mode: mode}
		if err := renderOwner(f.Owner, &file.UID, &file.GID, &file.Owner); err != nil {
			return nil, fmt.Errorf("file %s: %w", f.Target, err)
		}
		out = append(out, file)
	}
	return out, nil
}

// renderOwner renders an owner as written into a file's ids when written in
// numbers, or keeps it as written when it names a user or group (resolved
// from the image by the Docker layer); empty leaves the ids as they are.
func renderOwner(value string, uid, gid *int, named *string) error {
	ref, err := ParseOwnerRef(value)
	if err != nil {
		return err
	}
	if o, ok := ref.Numeric(); ok {
		*uid, *gid = o.UID, o.GID
	} else if ref.Named() {
		*named = value
	}
	return nil
}

// renderEnv renders environment values per replica, adds the given
// (already rendered) ones, and sorts them by name.
func (s Service) renderEnv(id Identity, extra map[string]string) ([]string, error) {
	out := make([]string, 0, len(s.Env)+len(extra))
	for k, v := range s.Env {
		value, err := renderTemplate("env."+k, v, id)
		if err != nil {
			return nil, err
		}
		out = append(out, k+"="+value)
	}
	for k, v := range extra {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out, nil
}

// validateSecretsAndFiles checks names, paths and modes of secret and config
// files, and that no two land on one path.
func (s Service) validateSecretsAndFiles() []error {
	var errs []error
	paths := map[string]string{}
	claim := func(p, what string) {
		if other, dup := paths[p]; dup {
			errs = append(errs, fmt.Errorf("%s and %s both write %s; give each its own path", other, what, p))
		}
		paths[p] = what
	}
	for i, sec := range s.Secrets {
		at := fmt.Sprintf("secret[%d]", i)
		dir := orDefault(sec.Target, DefaultSecretTarget)
		switch {
		case sec.Name == "" || strings.ContainsAny(sec.Name, "/\x00") || sec.Name == "." || sec.Name == "..":
			errs = append(errs, fmt.Errorf("%s.name: %q must be a plain file name (no '/')", at, sec.Name))
		case !path.IsAbs(dir) || path.Clean(dir) != dir || dir == "/":
			errs = append(errs, fmt.Errorf("%s.target: %q must be a clean absolute directory below /, such as /run/secrets", at, dir))
		default:
			claim(path.Join(dir, sec.Name), fmt.Sprintf("%s (%s)", at, sec.Name))
		}
		if _, err := ParseMode(orDefault(sec.Mode, DefaultSecretMode)); err != nil {
			errs = append(errs, fmt.Errorf("%s.%w", at, err))
		}
		// owner with uid or gid is refused by the schema's validators.
		if _, err := ParseOwnerRef(sec.Owner); err != nil {
			errs = append(errs, fmt.Errorf("%s.%w", at, err))
		}
	}
	secretDirs := map[string]bool{}
	volumeAt := map[string]string{}
	for _, v := range s.Volumes {
		volumeAt[path.Clean(v.Target)] = v.Name
	}
	for i, sec := range s.Secrets {
		dir := orDefault(sec.Target, DefaultSecretTarget)
		if v, clash := volumeAt[dir]; clash && !secretDirs[dir] {
			errs = append(errs, fmt.Errorf("secret[%d].target: %s is also where volume %q is mounted; secrets get a read-only directory of their own, so move one of them", i, dir, v))
		}
		secretDirs[dir] = true
	}
	for i, f := range s.Files {
		at := fmt.Sprintf("file[%d]", i)
		if !path.IsAbs(f.Target) || path.Clean(f.Target) != f.Target || f.Target == "/" {
			errs = append(errs, fmt.Errorf("%s.target: %q must be a clean absolute file path", at, f.Target))
			continue
		}
		_, duplicate := paths[f.Target]
		claim(f.Target, at)
		if dir := underAny(f.Target, secretDirs); dir != "" && !duplicate {
			errs = append(errs, fmt.Errorf("%s.target: %s is inside the secrets directory %s, which is mounted read-only; put the file elsewhere", at, f.Target, dir))
		}
		if _, err := ParseMode(orDefault(f.Mode, DefaultFileMode)); err != nil {
			errs = append(errs, fmt.Errorf("%s.%w", at, err))
		}
		if _, err := ParseOwnerRef(f.Owner); err != nil {
			errs = append(errs, fmt.Errorf("%s.%w", at, err))
		}
	}
	return errs
}

func orDefault(value, def string) string {
	if value == "" {
		return def
	}
	return value
}

// underAny returns the directory of dirs that p is, or is inside.
func underAny(p string, dirs map[string]bool) string {
	for d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return d
		}
	}
	return ""
}
