package spec

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// OwnerRef is an owner as written: "user" or "user:group", each by name or
// number. A user alone gives its group too: the number itself, or the
// named user's primary group.
type OwnerRef struct {
	User  string
	Group string
}

// ownerName is what names of users and groups may look like (those of
// useradd, and more: Debian allows upper case, dots and a trailing $).
var ownerName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$`)

// ParseOwnerRef checks the syntax of an owner: "postgres",
// "postgres:postgres", "999" or "999:999". Empty is no owner (root).
func ParseOwnerRef(value string) (OwnerRef, error) {
	if value == "" {
		return OwnerRef{}, nil
	}
	user, group, hasGroup := strings.Cut(value, ":")
	if err := checkOwnerPart(user); err != nil || (hasGroup && checkOwnerPart(group) != nil) {
		return OwnerRef{}, fmt.Errorf("owner %q must be a user or user:group, by name or number, such as \"postgres\", \"postgres:postgres\" or \"999:999\"", value)
	}
	if !hasGroup {
		group = ""
	}
	return OwnerRef{User: user, Group: group}, nil
}

func checkOwnerPart(part string) error {
	if isNumber(part) {
		_, err := strconv.ParseUint(part, 10, 32)
		return err
	}
	if !ownerName.MatchString(part) {
		return fmt.Errorf("%q is no user or group name", part)
	}
	return nil
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Named reports whether the owner names a user or group, which only the
// image's /etc/passwd and /etc/group resolve.
func (r OwnerRef) Named() bool {
	return (r.User != "" && !isNumber(r.User)) || (r.Group != "" && !isNumber(r.Group))
}

// Numeric returns the ids of an owner written in numbers ("999" is
// 999:999); false for an owner that names a user or group, or none.
func (r OwnerRef) Numeric() (*Owner, bool) {
	if r.User == "" || r.Named() {
		return nil, false
	}
	uid, _ := strconv.Atoi(r.User)
	gid := uid
	if r.Group != "" {
		gid, _ = strconv.Atoi(r.Group)
	}
	return &Owner{UID: uid, GID: gid}, true
}

// IsNamedOwner reports whether an owner as written names a user or group.
func IsNamedOwner(value string) bool {
	ref, err := ParseOwnerRef(value)
	return err == nil && ref.Named()
}

// Account is a user of an image: its uid and primary gid.
type Account struct{ UID, GID int }

// Accounts are the users and groups of an image, from its /etc/passwd and
// /etc/group.
type Accounts struct {
	Users  map[string]Account
	Groups map[string]int
	// HasPasswd and HasGroup tell whether the image has the files at all
	// (an image FROM scratch has neither).
	HasPasswd, HasGroup bool
}

// ParseAccounts parses an image's /etc/passwd and /etc/group; nil content
// is a missing file. Malformed lines are skipped, as the C library does.
func ParseAccounts(passwd, group []byte) *Accounts {
	a := &Accounts{Users: map[string]Account{}, Groups: map[string]int{}, HasPasswd: passwd != nil, HasGroup: group != nil}
	eachEntry(passwd, 4, func(f []string) {
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if _, dup := a.Users[f[0]]; err1 == nil && err2 == nil && !dup {
			a.Users[f[0]] = Account{UID: int(uid), GID: int(gid)}
		}
	})
	eachEntry(group, 3, func(f []string) {
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if _, dup := a.Groups[f[0]]; err == nil && !dup {
			a.Groups[f[0]] = int(gid)
		}
	})
	return a
}

// eachEntry calls fn with the colon-separated fields of each entry line
// that has at least n of them; comments, blank lines and NIS entries
// (+/-) are skipped.
func eachEntry(content []byte, n int, fn func([]string)) {
	s := bufio.NewScanner(bytes.NewReader(content))
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "+") || strings.HasPrefix(line, "-") {
			continue
		}
		if f := strings.Split(line, ":"); len(f) >= n && f[0] != "" {
			fn(f)
		}
	}
}

// Resolve turns an owner as written into ids: names from the image's
// accounts, numbers as they are. A user alone by name gives its primary
// group.
func (a *Accounts) Resolve(value string) (Owner, error) {
	ref, err := ParseOwnerRef(value)
	if err != nil {
		return Owner{}, err
	}
	if o, ok := ref.Numeric(); ok {
		return *o, nil
	}
	var out Owner
	if isNumber(ref.User) {
		out.UID, _ = strconv.Atoi(ref.User)
		out.GID = out.UID
	} else {
		u, found := a.Users[ref.User]
		switch {
		case !a.HasPasswd:
			return Owner{}, fmt.Errorf("user %q cannot be resolved: the image has no /etc/passwd; write the owner in numbers, such as \"999:999\"", ref.User)
		case !found:
			return Owner{}, fmt.Errorf("user %q is not in the image's /etc/passwd; check the name, or write the owner in numbers, such as \"999:999\"", ref.User)
		}
		out = Owner(u)
	}
	switch {
	case ref.Group == "":
	case isNumber(ref.Group):
		out.GID, _ = strconv.Atoi(ref.Group)
	default:
		gid, found := a.Groups[ref.Group]
		switch {
		case !a.HasGroup:
			return Owner{}, fmt.Errorf("group %q cannot be resolved: the image has no /etc/group; write the group as a number", ref.Group)
		case !found:
			return Owner{}, fmt.Errorf("group %q is not in the image's /etc/group; check the name, or write the group as a number", ref.Group)
		}
		out.GID = gid
	}
	return out, nil
}

// OwnerUse is an owner written by name somewhere in a service: the
// attribute (as "secret[0].owner") and the value.
type OwnerUse struct {
	Attribute string
	Value     string
}

// NamedOwners lists the owners of the service that name a user or group:
// host directories, secrets and config files. They are resolved from the
// image's /etc/passwd and /etc/group on the host a replica runs on.
func (s Service) NamedOwners() []OwnerUse {
	var out []OwnerUse
	for i, v := range s.Volumes {
		if v.Host != nil && IsNamedOwner(v.Host.Owner) {
			out = append(out, OwnerUse{Attribute: fmt.Sprintf("volume[%d].host.owner", i), Value: v.Host.Owner})
		}
	}
	for i, sec := range s.Secrets {
		if IsNamedOwner(sec.Owner) {
			out = append(out, OwnerUse{Attribute: fmt.Sprintf("secret[%d].owner", i), Value: sec.Owner})
		}
	}
	for i, f := range s.Files {
		if IsNamedOwner(f.Owner) {
			out = append(out, OwnerUse{Attribute: fmt.Sprintf("file[%d].owner", i), Value: f.Owner})
		}
	}
	return out
}
