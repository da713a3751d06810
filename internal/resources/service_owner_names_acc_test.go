package resources_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// usersImage is the workload image with an /etc/passwd and /etc/group (the
// workload image itself is FROM scratch and has neither): user dbuser is
// 4321, group dbgroup 4322, and dbuser's primary group is 4323.
const usersImage = "stateful-workload:users"

const (
	dbUID        = 4321
	dbGID        = 4322
	dbPrimaryGID = 4323
)

var (
	usersImageOnce sync.Once
	errUsersImage  error
)

// buildUsersImage builds usersImage from the workload image, once.
func buildUsersImage(t *testing.T) {
	t.Helper()
	usersImageOnce.Do(func() {
		files := map[string]string{
			"Dockerfile": "FROM " + acctest.WorkloadImageV1 + "\nCOPY passwd /etc/passwd\nCOPY group /etc/group\n",
			"passwd":     fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\ndbuser:x:%d:%d:database:/data:/sbin/nologin\n", dbUID, dbPrimaryGID),
			"group":      fmt.Sprintf("root:x:0:\ndbgroup:x:%d:dbuser\ndbprimary:x:%d:\n", dbGID, dbPrimaryGID),
		}
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for name, content := range files {
			_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Now()})
			_, _ = tw.Write([]byte(content))
		}
		_ = tw.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		errUsersImage = acctest.Local().BuildImage(ctx, &buf, []string{usersImage}, nil)
	})
	if errUsersImage != nil {
		t.Fatalf("build %s: %v", usersImage, errUsersImage)
	}
}

// ownerNamesConfig runs the workload as dbuser, with a host directory, a
// secret and a config file owned by names.
func ownerNamesConfig(name, base, volumeOwner, secretOwner, fileOwner string) string {
	return serviceConfig(name, usersImage, 1, fmt.Sprintf(`
  user = "dbuser"

  volume {
    name   = "data"
    target = "/data"
    host {
      path  = "%s/{{.Name}}"
      owner = %q
      mode  = "0700"
    }
  }

  secret {
    name     = "db_password"
    value_wo = "s3cret"
    owner    = %q
  }

  file {
    target  = "/etc/app/app.conf"
    content = "member={{.Name}}\n"
    mode    = "0600"
    owner   = %q
  }
`, base, volumeOwner, secretOwner, fileOwner))
}

func TestAccServiceOwnerNames_resolvedFromTheImage(t *testing.T) {
	buildUsersImage(t)
	name := acctest.Name(t, "own")
	base := scratch(t)
	replica := spec.ReplicaName(name, 0)
	check := func(*terraform.State) error {
		info, err := os.Stat(filepath.Join(base, replica))
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		if st.Uid != dbUID || st.Gid != dbGID || info.Mode().Perm() != 0o700 {
			return fmt.Errorf("host directory: owner %d:%d, mode %o; want %d:%d, 0700", st.Uid, st.Gid, info.Mode().Perm(), dbUID, dbGID)
		}
		address, err := acctest.Address(name, replica)
		if err != nil {
			return err
		}
		secrets, err := acctest.FilesOf(address, "")
		if err != nil {
			return err
		}
		// A user alone gives its primary group.
		if s, ok := secrets["db_password"]; !ok || s.UID != dbUID || s.GID != dbPrimaryGID || s.SHA256 != sha("s3cret") {
			return fmt.Errorf("secret db_password = %+v (found %v); want owner %d:%d and its value", s, ok, dbUID, dbPrimaryGID)
		}
		files, err := acctest.FilesOf(address, "/etc/app")
		if err != nil {
			return err
		}
		if f, ok := files["app.conf"]; !ok || f.UID != dbUID || f.GID != dbGID || f.Content == nil || *f.Content != "member="+replica+"\n" {
			return fmt.Errorf("config file app.conf = %+v (found %v); want owner %d:%d", f, ok, dbUID, dbGID)
		}
		// The replica runs as dbuser, and writes its data directory.
		if err := acctest.PutKV(address, "k", "v"); err != nil {
			return fmt.Errorf("the replica, running as dbuser, cannot write /data: %w", err)
		}
		return nil
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				Config:           ownerNamesConfig(name, base, "dbuser:dbgroup", "dbuser", "dbuser:dbgroup"),
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check:            check,
			},
			{
				// The same owners in numbers are other strings: the secret
				// and file owners are part of the replica, so it is
				// replaced, and its files keep their owners.
				Config: ownerNamesConfig(name, base, fmt.Sprintf("%d:%d", dbUID, dbGID), fmt.Sprintf("%d:%d", dbUID, dbPrimaryGID),
					fmt.Sprintf("%d:dbgroup", dbUID)),
				ConfigPlanChecks: expectUpdate(),
				Check:            check,
			},
		},
	})
}

func TestAccServiceOwnerNames_unknownNameFailsThePlan(t *testing.T) {
	buildUsersImage(t)
	base := scratch(t)
	cases := map[string]struct {
		volume, secret, file string
		err                  string
	}{
		"host directory": {"nobodyhere", "dbuser", "dbuser",
			`volume[0].host.owner = "nobodyhere": user "nobodyhere" is not in the image's /etc/passwd`},
		"secret": {"dbuser", "nobodyhere", "dbuser",
			`secret[0].owner = "nobodyhere": user "nobodyhere" is not in the image's /etc/passwd`},
		"file group": {"dbuser", "dbuser", "dbuser:nogroup",
			`file[0].owner = "dbuser:nogroup": group "nogroup" is not in the image's /etc/group`},
	}
	for label, tc := range cases {
		t.Run(label, func(t *testing.T) {
			name := acctest.Name(t, "nob")
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.ProviderFactories,
				CheckDestroy:             acctest.CheckGone(name),
				Steps: []resource.TestStep{{
					Config:      ownerNamesConfig(name, base, tc.volume, tc.secret, tc.file),
					ExpectError: wrapped(tc.err),
				}},
			})
			// The plan failed: nothing was made.
			if err := acctest.CheckGone(name)(nil); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(base, spec.ReplicaName(name, 0))); !os.IsNotExist(err) {
				t.Fatalf("the host directory was made: %v", err)
			}
		})
	}
}

// The workload image has no /etc/passwd: a name fails the plan, numbers
// work as ever.
func TestAccServiceOwnerNames_imageWithoutPasswd(t *testing.T) {
	planFails(t, serviceConfig("nopasswd", acctest.WorkloadImageV1, 1, `
  secret {
    name     = "pw"
    value_wo = "x"
    owner    = "postgres"
  }
`), wrapped(`secret[0].owner = "postgres": user "postgres" cannot be resolved: the image has no /etc/passwd`))
}

func TestAccServiceOwnerNames_ownerConflictsWithUID(t *testing.T) {
	planFails(t, serviceConfig("conflict", acctest.WorkloadImageV1, 1, `
  secret {
    name     = "pw"
    value_wo = "x"
    owner    = "postgres"
    uid      = 999
  }
`), wrapped(`Attribute "secret[0].uid" cannot be specified when "secret[0].owner" is specified`))
}
