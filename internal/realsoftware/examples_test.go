package realsoftware_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// applyExample applies examples/<dir>/main.tf as written, through a build
// of the provider (dev_overrides), with vars substituted (-var k=v): the
// local image instead of the official one, and a fresh service name. It
// destroys it when the test ends and checks that a second plan is empty.
func applyExample(t *testing.T, dir string, vars map[string]string) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	example, err := os.ReadFile(filepath.Join(acctest.RepoRoot(), "examples", dir, "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	cli := acctest.NewCLI(t, acctest.BuildProvider(t, ""))
	cli.Write("main.tf", string(example))
	var args []string
	for k, v := range vars {
		args = append(args, "-var", k+"="+v)
	}
	t.Cleanup(func() {
		cli.MustRun(append([]string{"destroy", "-auto-approve", "-input=false"}, args...)...)
		if err := acctest.CheckGone(vars["name"])(nil); err != nil {
			t.Error(err)
		}
	})
	cli.MustRun(append([]string{"apply", "-auto-approve", "-input=false"}, args...)...)
	if out, code := cli.Run(append([]string{"plan", "-detailed-exitcode", "-input=false"}, args...)...); code != 0 {
		t.Fatalf("the plan after applying examples/%s is not empty (exit %d):\n%s", dir, code, out)
	}
}

// TestAccRealExamples_postgresql applies examples/postgresql with Debian's
// PostgreSQL: only the image differs from the official one (the example's
// start script needs nothing else, and the postgres user's uid, 102 here
// and 999 there, is resolved from the image).
func TestAccRealExamples_postgresql(t *testing.T) {
	t.Parallel()
	name := acctest.Name(t, "expg")
	password := strings.ReplaceAll(acctest.Name(t, "pw"), "-", "")
	applyExample(t, "postgresql", map[string]string{
		"image":                acctest.RealImage(),
		"name":                 name,
		"postgres_password":    password,
		"replication_password": password + "r",
	})
	if err := insertRow(name, "example")(nil); err != nil {
		t.Fatal(err)
	}
	if err := checkReplicated(name, "example")(nil); err != nil {
		t.Fatal(err)
	}
	// The superuser password from the secret file guards TCP connections.
	standby := spec.ReplicaName(name, 1)
	primary := spec.ReplicaName(name, 0)
	if _, err := run(standby, "", "env", "PGPASSWORD="+password, "psql", "-X", "-h", primary, "-tAc", "SELECT 1"); err != nil {
		t.Fatalf("the superuser password from the secret: %v", err)
	}
	if _, err := run(standby, "", "env", "PGPASSWORD=wrong", "psql", "-X", "-h", primary, "-tAc", "SELECT 1"); err == nil {
		t.Fatal("a wrong password was accepted over TCP")
	}
}

// TestAccRealExamples_etcd applies examples/etcd with Debian's etcd.
func TestAccRealExamples_etcd(t *testing.T) {
	t.Parallel()
	name := acctest.Name(t, "exetcd")
	applyExample(t, "etcd", map[string]string{"image": acctest.RealImage(), "name": name})
	var ids []string
	if err := checkEtcdMembers(name, &ids)(nil); err != nil {
		t.Fatal(err)
	}
}

// TestAccRealExamples_redis applies examples/redis with Debian's Redis.
func TestAccRealExamples_redis(t *testing.T) {
	t.Parallel()
	name := acctest.Name(t, "exredis")
	applyExample(t, "redis", map[string]string{"image": acctest.RealImage(), "name": name})
	if err := setOwnName(name)(nil); err != nil {
		t.Fatal(err)
	}
	if err := checkOwnName(name)(nil); err != nil {
		t.Fatal(err)
	}
}
