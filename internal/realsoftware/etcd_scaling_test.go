package realsoftware_test

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// etcdScalingConfig is an etcd cluster of replicas members that scales
// the way etcd's runtime reconfiguration guide says: a new member is added
// (member add in a running member) before it starts with
// initial-cluster-state=existing and the members that exist when it joins;
// a removed member is removed from the cluster (member remove) before its
// container goes, and its data is archived before it is deleted.
func etcdScalingConfig(name string, replicas int, backups string) string {
	return fmt.Sprintf(`
resource "stateful_service" "test" {
  name              = %q
  image             = %q
  replicas          = %d
  bootstrap         = "parallel" # the health check needs quorum: the seeds must start together
  user              = "etcd"
  command           = ["etcd"]
  stop_grace_period = "5s"

  env = {
    ETCD_NAME                        = "{{.Name}}"
    ETCD_DATA_DIR                    = "/var/lib/etcd/data"
    ETCD_LISTEN_PEER_URLS            = "http://0.0.0.0:2380"
    ETCD_LISTEN_CLIENT_URLS          = "http://0.0.0.0:2379"
    ETCD_INITIAL_ADVERTISE_PEER_URLS = "http://{{.Address}}:2380"
    ETCD_ADVERTISE_CLIENT_URLS       = "http://{{.Address}}:2379"
    ETCD_INITIAL_CLUSTER_STATE       = "{{if .Seed}}new{{else}}existing{{end}}"
    ETCD_INITIAL_CLUSTER_TOKEN       = "{{.Service}}"
  }

  cluster {
    seeds       = 3
    port        = 2380
    format      = "{{.Name}}=http://{{.Address}}:{{.Port}}"
    members_env = "ETCD_INITIAL_CLUSTER"
    scaling     = "join"
  }

  hooks {
    # A new member joins as a learner: it counts toward no quorum until it
    # has caught up and is promoted, so adding it never leaves the cluster
    # one stalled member away from losing quorum. An unstarted member has
    # no name yet: look it up by its peer URL, so that a retried apply does
    # not add it twice. etcd refuses member add ("unhealthy cluster") until
    # the member it asks has been connected to every member for 5s, as
    # right after the previous member joined: retry.
    before_create {
      command = ["sh", "-c", <<-EOT
        for i in $(seq 30); do
          etcdctl member list | grep -qF 'http://{{.Address}}:{{.Port}},' && exit 0
          etcdctl member add {{.Name}} --learner --peer-urls=http://{{.Address}}:{{.Port}} && exit 0
          sleep 1
        done
        exit 1
      EOT
      ]
      timeout = "1m"
    }
    # Promote the learner once it runs. etcd refuses ("can only promote a
    # learner member which is in sync with leader") until it has caught up:
    # retry. A voting member (a seed, a replaced member) is left alone.
    after_ready {
      command = ["sh", "-c", <<-EOT
        for i in $(seq 100); do
          line=$(etcdctl member list | grep -F 'http://{{.Address}}:{{.Port}},')
          case "$line" in
            "") ;;
            *", true") etcdctl member promote "$(echo "$line" | cut -d, -f1)" && exit 0 ;;
            *) exit 0 ;;
          esac
          sleep 1
        done
        exit 1
      EOT
      ]
      run_in  = "peer"
      timeout = "2m"
    }
    decommission {
      command = ["sh", "-c", <<-EOT
        for i in $(seq 30); do
          id=$(etcdctl member list | grep -F 'http://{{.Address}}:{{.Port}},' | cut -d, -f1)
          [ -z "$id" ] && exit 0
          etcdctl member remove "$id" && exit 0
          sleep 1
        done
        exit 1
      EOT
      ]
      run_in  = "peer"
      timeout = "1m"
    }
  }

  volume {
    name   = "data"
    target = "/var/lib/etcd"
    plugin {
      driver = "local"
    }
  }

  retention {
    when_scaled = "delete"
  }

  backup {
    host_path = %q
  }

  # A learner serves no reads, so endpoint health fails on it until it is
  # promoted: a learner is ready once it runs, and after_ready promotes it.
  health {
    test     = ["CMD-SHELL", "etcdctl endpoint health || etcdctl endpoint status -w fields | grep -qF '\"IsLearner\" : true'"]
    interval = "1s"
    timeout  = "5s"
    retries  = 30
  }

  update {
    max_unavailable = 1
  }
}
`, name, acctest.RealImage(), replicas, backups)
}

// checkEtcdMembersOf checks that each of the service's first n replicas
// lists the same n started members, named after the replicas.
func checkEtcdMembersOf(name string, n int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		var want []string
		for i := range n {
			want = append(want, spec.ReplicaName(name, i)+" started")
		}
		slices.Sort(want)
		for i := range n {
			replica := spec.ReplicaName(name, i)
			err := eventually(20*time.Second, func() error {
				members, _, err := etcdMembers(replica)
				if err == nil && !slices.Equal(members, want) {
					err = fmt.Errorf("etcdctl member list on %s: %v, want %v", replica, members, want)
				}
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// containerLife is what tells a container that ran on from one that was
// replaced or restarted.
type containerLife struct {
	ID           string
	StartedAt    string
	RestartCount int
}

// containerLives records the life of the service's first n replicas.
func containerLives(name string, n int) (map[string]containerLife, error) {
	replicas, err := acctest.Replicas(name)
	if err != nil {
		return nil, err
	}
	out := map[string]containerLife{}
	for i := range n {
		r, ok := replicas[spec.ReplicaName(name, i)]
		if !ok {
			return nil, fmt.Errorf("replica %s does not exist", spec.ReplicaName(name, i))
		}
		info, err := acctest.Local().InspectContainer(context.Background(), r.ID)
		if err != nil {
			return nil, err
		}
		if info.State == nil || !info.State.Running {
			return nil, fmt.Errorf("replica %s is not running", r.Name)
		}
		out[r.Name] = containerLife{ID: r.ID, StartedAt: info.State.StartedAt, RestartCount: info.RestartCount}
	}
	return out, nil
}

// recordLives records the first n replicas' lives into lives, or, once
// recorded, checks that they ran on: same container, never restarted.
func recordLives(name string, n int, lives *map[string]containerLife) resource.TestCheckFunc {
	return func(*terraform.State) error {
		now, err := containerLives(name, n)
		if err != nil {
			return err
		}
		if *lives == nil {
			*lives = now
			return nil
		}
		for replica, was := range *lives {
			if got := now[replica]; got != was {
				return fmt.Errorf("%s did not run on: it was %+v, it is %+v", replica, was, got)
			}
		}
		return nil
	}
}

// checkVolumesGone checks that the data volumes of the given ordinals are
// deleted and those of the others remain.
func checkVolumesGone(name string, kept int, gone ...int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		volumes, err := acctest.Docker().ListVolumes(context.Background(), name)
		if err != nil {
			return err
		}
		var names []string
		for _, v := range volumes {
			names = append(names, v.Name)
		}
		for _, i := range gone {
			if v := spec.VolumeName(name, "data", i, true); slices.Contains(names, v) {
				return fmt.Errorf("volume %s of a removed replica remains (volumes: %v)", v, names)
			}
		}
		for i := range kept {
			if v := spec.VolumeName(name, "data", i, true); !slices.Contains(names, v) {
				return fmt.Errorf("volume %s of a kept replica is gone (volumes: %v)", v, names)
			}
		}
		return nil
	}
}

// checkEtcdBackups checks that dir holds exactly one archive per removed
// replica, named <service>.<replica>.data.<time>.tar, each a tar of the
// data volume that holds the etcd member directory.
func checkEtcdBackups(t *testing.T, name, dir string, ordinals ...int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("the backup directory: %w", err)
		}
		var files []string
		for _, e := range entries {
			files = append(files, e.Name())
		}
		if len(files) != len(ordinals) {
			return fmt.Errorf("backups %v, want one per removed replica %v", files, ordinals)
		}
		for _, i := range ordinals {
			pattern := regexp.MustCompile(`^` + regexp.QuoteMeta(name+"."+spec.ReplicaName(name, i)+".data.") + `\d{8}T\d{6}Z\.tar$`)
			var file string
			for _, f := range files {
				if pattern.MatchString(f) {
					file = f
				}
			}
			if file == "" {
				return fmt.Errorf("no backup of %s matches %s among %v", spec.ReplicaName(name, i), pattern, files)
			}
			entries, size, err := tarEntries(filepath.Join(dir, file))
			if err != nil {
				return fmt.Errorf("backup %s: %w", file, err)
			}
			if !slices.ContainsFunc(entries, func(e string) bool {
				return strings.HasPrefix(strings.TrimPrefix(e, "./"), "data/member/")
			}) {
				return fmt.Errorf("backup %s holds no etcd member directory (data/member/...): %v", file, entries)
			}
			t.Logf("backup of %s: %s, %d bytes, %d entries", spec.ReplicaName(name, i), file, size, len(entries))
		}
		return nil
	}
}

// tarEntries lists an archive's entries; an empty file is an error.
func tarEntries(path string) (entries []string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = f.Close() }()
	info, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if info.Size() == 0 {
		return nil, 0, errors.New("the archive is empty")
	}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return entries, info.Size(), nil
		}
		if err != nil {
			return entries, info.Size(), err
		}
		entries = append(entries, h.Name)
	}
}

// rolloutIs checks the planned rollout, logging what it is: exactly lines,
// in order, each after its rollout number.
type rolloutIs struct {
	t     *testing.T
	step  string
	lines []string
}

var rolloutNumber = regexp.MustCompile(`^#\d+ `)

func (c rolloutIs) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != address || rc.Change == nil {
			continue
		}
		object, _ := rc.Change.After.(map[string]any)
		list, _ := object["rollout"].([]any)
		var got []string
		for _, v := range list {
			s, _ := v.(string)
			c.t.Logf("%s: planned rollout line %q", c.step, s)
			if !rolloutNumber.MatchString(s) {
				resp.Error = fmt.Errorf("rollout line %q has no rollout number", s)
				return
			}
			got = append(got, rolloutNumber.ReplaceAllString(s, ""))
		}
		for _, l := range got {
			if strings.Contains(l, ": replace") {
				resp.Error = fmt.Errorf("the rollout replaces a running replica: %q (rollout %q)", l, got)
				return
			}
		}
		if !slices.Equal(got, c.lines) {
			resp.Error = fmt.Errorf("rollout %q, want %q", got, c.lines)
		}
		return
	}
	resp.Error = fmt.Errorf("%s is not in the plan", address)
}

// applyTimer measures each step's apply: from the plan checks before it
// to the step's first check, which runs right after it.
type applyTimer struct {
	t     *testing.T
	mu    sync.Mutex
	began time.Time
	took  []string
}

type timerStart struct{ timer *applyTimer }

func (c timerStart) CheckPlan(context.Context, plancheck.CheckPlanRequest, *plancheck.CheckPlanResponse) {
	c.timer.mu.Lock()
	defer c.timer.mu.Unlock()
	c.timer.began = time.Now()
}

// checks are a step's plan checks, preApply then the timer's start, and an
// empty plan after the apply.
func (a *applyTimer) checks(preApply ...plancheck.PlanCheck) resource.ConfigPlanChecks {
	return resource.ConfigPlanChecks{
		PreApply:             append(preApply, timerStart{timer: a}),
		PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
	}
}

// stop is a step's first check: it records how long the apply took.
func (a *applyTimer) stop(step string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		took := time.Since(a.began).Round(100 * time.Millisecond)
		a.took = append(a.took, fmt.Sprintf("%s %s", step, took))
		a.t.Logf("apply %s took %s", step, took)
		return nil
	}
}

// TestAccRealEtcd_scaling3to5to3 scales a real etcd cluster 3 → 5 → 3 with
// membership hooks while a client writes in a loop: the plan names the
// hooks and backups, no running member is replaced or restarted, every
// member lists the replicas as started members after each apply, the data
// of removed members is archived before it is deleted, and no write fails.
func TestAccRealEtcd_scaling3to5to3(t *testing.T) {
	name := acctest.Name(t, "etcds")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	backups := filepath.Join(t.TempDir(), "backups") // created by the first backup
	writer := newEtcdWriter(name)
	t.Cleanup(func() { _ = writer.finish() })
	timer := &applyTimer{t: t}
	var lives map[string]containerLife
	scaleUpLine := func(i int) string { return r(i) + ": create (hooks: before_create in a peer, after_ready in a peer)" }
	scaleDownLine := func(i int) string {
		return r(i) + ": remove (scale down; hooks: decommission in a peer; backup of " +
			spec.VolumeName(name, "data", i, true) + " to " + backups + " first)"
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{{
			Config:           etcdScalingConfig(name, 3, backups),
			ConfigPlanChecks: timer.checks(),
			Check: resource.ComposeTestCheckFunc(
				timer.stop("create 3"),
				checkEtcdMembersOf(name, 3),
				recordLives(name, 3, &lives),
			),
		}, {
			PreConfig: writer.start,
			Config:    etcdScalingConfig(name, 5, backups),
			ConfigPlanChecks: timer.checks(
				plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
				rolloutIs{t: t, step: "scale 3 → 5", lines: []string{scaleUpLine(3), scaleUpLine(4)}},
			),
			Check: resource.ComposeTestCheckFunc(
				timer.stop("scale 3 → 5"),
				checkEtcdMembersOf(name, 5),
				recordLives(name, 3, &lives),
			),
		}, {
			Config: etcdScalingConfig(name, 3, backups),
			ConfigPlanChecks: timer.checks(
				plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
				rolloutIs{t: t, step: "scale 5 → 3", lines: []string{scaleDownLine(4), scaleDownLine(3)}},
			),
			Check: resource.ComposeTestCheckFunc(
				timer.stop("scale 5 → 3"),
				checkEtcdMembersOf(name, 3),
				recordLives(name, 3, &lives),
				checkVolumesGone(name, 3, 3, 4),
				checkEtcdBackups(t, name, backups, 3, 4),
				func(*terraform.State) error {
					if err := writer.finish(); err != nil {
						return err
					}
					t.Logf("etcd scaling 3 → 5 → 3: %s", writer.summary())
					return nil
				},
			),
		}},
	})
	t.Logf("applies: %s", strings.Join(timer.took, "; "))
}
