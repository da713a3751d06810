package realsoftware_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os/exec"
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

// etcdConfig is a 3-member etcd cluster bootstrapped statically from the
// cluster block's member list; roll changes only an environment variable,
// to force a rolling replacement of every member.
func etcdConfig(name string, roll int) string {
	return fmt.Sprintf(`
resource "stateful_service" "test" {
  name              = %q
  image             = %q
  replicas          = 3
  bootstrap         = "parallel" # the health check needs quorum: members must start together
  user              = "etcd"
  command           = ["etcd"]
  stop_grace_period = "5s"

  env = {
    ETCD_NAME                        = "{{.Name}}"
    ETCD_DATA_DIR                    = "/var/lib/etcd/data"
    ETCD_LISTEN_PEER_URLS            = "http://0.0.0.0:2380"
    ETCD_LISTEN_CLIENT_URLS          = "http://0.0.0.0:2379"
    ETCD_INITIAL_ADVERTISE_PEER_URLS = "http://{{.Name}}:2380"
    ETCD_ADVERTISE_CLIENT_URLS       = "http://{{.Name}}:2379"
    ETCD_INITIAL_CLUSTER_STATE       = "new"
    ETCD_INITIAL_CLUSTER_TOKEN       = "{{.Service}}"
    ROLL                             = "%d"
  }

  cluster {
    seeds       = 3
    port        = 2380
    format      = "{{.Name}}=http://{{.Address}}:{{.Port}}"
    members_env = "ETCD_INITIAL_CLUSTER"
  }

  volume {
    name   = "data"
    target = "/var/lib/etcd"
    plugin {
      driver = "local"
    }
  }

  health {
    test     = ["CMD", "etcdctl", "endpoint", "health"]
    interval = "1s"
    timeout  = "5s"
    retries  = 30
  }

  update {
    max_unavailable = 1
  }
}
`, name, acctest.RealImage(), roll)
}

// etcdMembers returns "name started" per member, as etcdctl on replica
// reports them, sorted, and the member IDs; a learner (a member not
// promoted yet) is "name started learner".
func etcdMembers(replica string) (members, ids []string, err error) {
	out, err := run(replica, "", "etcdctl", "member", "list")
	if err != nil {
		return nil, nil, err
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		// 8e9e05c52164694d, started, etcd-0, http://etcd-0:2380, http://etcd-0:2379, false
		f := strings.Split(line, ", ")
		if len(f) < 3 {
			return nil, nil, fmt.Errorf("etcdctl member list: unexpected line %q", line)
		}
		member := f[2] + " " + f[1]
		if len(f) > 5 && f[5] == "true" {
			member += " learner"
		}
		members = append(members, member)
		ids = append(ids, f[0])
	}
	slices.Sort(members)
	slices.Sort(ids)
	return members, ids, nil
}

// checkEtcdMembers checks that every replica sees the same three started
// members, and records their IDs in ids (or compares with them when set:
// a rolled member rejoins with its data, it is not a new member).
func checkEtcdMembers(name string, ids *[]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		var want []string
		for i := range 3 {
			want = append(want, spec.ReplicaName(name, i)+" started")
		}
		for i := range 3 {
			replica := spec.ReplicaName(name, i)
			var members, got []string
			err := eventually(20*time.Second, func() error {
				var err error
				members, got, err = etcdMembers(replica)
				if err == nil && !slices.Equal(members, want) {
					err = fmt.Errorf("etcdctl member list on %s: %v, want %v", replica, members, want)
				}
				return err
			})
			if err != nil {
				return err
			}
			if *ids == nil {
				*ids = got
			} else if !slices.Equal(*ids, got) {
				return fmt.Errorf("member IDs on %s are %v, were %v", replica, got, *ids)
			}
		}
		return nil
	}
}

// etcdWriter writes keys in a loop through etcd's HTTP gateway, as a
// client configured with every member's endpoint does: an attempt that
// fails moves on to the next member, and a write fails only when no
// member took it within writeDeadline.
type etcdWriter struct {
	service string
	stop    chan struct{}
	done    chan struct{}

	mu        sync.Mutex
	acked     int
	failed    []string
	diagnoses []string // what the members logged when a write failed
	retried   int      // attempts that failed, each followed by another
	slowest   time.Duration
	startOnce sync.Once
}

const writeDeadline = 10 * time.Second

func newEtcdWriter(service string) *etcdWriter {
	return &etcdWriter{service: service, stop: make(chan struct{}), done: make(chan struct{})}
}

func (w *etcdWriter) start() {
	w.startOnce.Do(func() { go w.loop() })
}

func (w *etcdWriter) loop() {
	defer close(w.done)
	client := &http.Client{Timeout: 2 * time.Second}
	for i := 0; ; i++ {
		select {
		case <-w.stop:
			return
		default:
		}
		key := fmt.Sprintf("roll/%06d", i)
		began := time.Now()
		var lastErr error
		attempt := 0
		for ; time.Since(began) < writeDeadline; attempt++ {
			endpoints := w.endpoints()
			if len(endpoints) == 0 {
				lastErr = fmt.Errorf("no member is running")
				time.Sleep(100 * time.Millisecond)
				continue
			}
			lastErr = etcdPut(client, endpoints[(i+attempt)%len(endpoints)], key, "v")
			if lastErr == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		took := time.Since(began)
		w.mu.Lock()
		w.retried += attempt
		w.slowest = max(w.slowest, took)
		if lastErr == nil {
			w.acked++
		} else {
			w.failed = append(w.failed, fmt.Sprintf("%s at %s: %v", key, time.Now().UTC().Format("15:04:05"), lastErr))
		}
		diagnose := lastErr != nil && len(w.diagnoses) < 2
		w.mu.Unlock()
		if diagnose {
			d := etcdDiagnosis(w.service)
			w.mu.Lock()
			w.diagnoses = append(w.diagnoses, d)
			w.mu.Unlock()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// etcdLogEvent matches what etcd logs when the cluster stalls: elections,
// lost leaders, slow disk syncs and slow requests.
var etcdLogEvent = regexp.MustCompile(`election|leader|took too long|fdatasync|heartbeat|unhealthy|lost|became|removed|promot`)

// etcdDiagnosis is what each member logged in the last half minute that
// tells why writes stall, so that a failure under load can be understood
// from the test output alone.
func etcdDiagnosis(service string) string {
	replicas, err := acctest.Replicas(service)
	if err != nil {
		return "diagnosis: " + err.Error()
	}
	names := slices.Sorted(maps.Keys(replicas))
	var b strings.Builder
	fmt.Fprintf(&b, "what the members logged by %s:", time.Now().UTC().Format("15:04:05"))
	for _, n := range names {
		out, err := exec.Command("docker", "logs", "--since", "30s", replicas[n].ID).CombinedOutput()
		if err != nil {
			fmt.Fprintf(&b, "\n  %s: docker logs: %v", n, err)
			continue
		}
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if etcdLogEvent.MatchString(l) {
				lines = append(lines, l)
			}
		}
		fmt.Fprintf(&b, "\n  %s: %d lines of note", n, len(lines))
		for _, l := range lines[max(0, len(lines)-12):] {
			fmt.Fprintf(&b, "\n    %s", l)
		}
	}
	return b.String()
}

func (w *etcdWriter) endpoints() []string { return etcdEndpoints(w.service) }

// etcdEndpoints are the running members' client URLs on the service
// network, looked up afresh: a replaced member has a new address.
func etcdEndpoints(service string) []string {
	replicas, err := acctest.Replicas(service)
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range replicas {
		if r.Address != "" {
			out = append(out, "http://"+r.Address+":2379")
		}
	}
	slices.Sort(out)
	return out
}

// finish stops the loop and reports what it saw; every acknowledged key
// must be in the cluster.
func (w *etcdWriter) finish() error {
	w.startOnce.Do(func() { close(w.done) })
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.failed) > 0 {
		return fmt.Errorf("%d of %d writes during the rollout failed on every member for %s (quorum lost?): %v\n%s", len(w.failed), w.acked+len(w.failed), writeDeadline, w.failed, strings.Join(w.diagnoses, "\n"))
	}
	if w.acked < 10 {
		return fmt.Errorf("only %d writes during the rollout: the writer did not run", w.acked)
	}
	count, err := etcdCount(w.service, "roll/")
	if err != nil {
		return err
	}
	if count != w.acked {
		return fmt.Errorf("%d writes acknowledged during the rollout, %d keys in the cluster after it", w.acked, count)
	}
	return nil
}

func (w *etcdWriter) summary() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprintf("%d writes acknowledged, none failed; %d attempts failed and moved on to another member; slowest write %s", w.acked, w.retried, w.slowest.Round(time.Millisecond))
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func etcdPost(client *http.Client, url string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := client.Post(url, "application/json", bytes.NewReader(data))
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: status %d: %s", url, resp.StatusCode, strings.TrimSpace(buf.String()))
	}
	if out != nil {
		return json.Unmarshal(buf.Bytes(), out)
	}
	return nil
}

func etcdPut(client *http.Client, endpoint, key, value string) error {
	return etcdPost(client, endpoint+"/v3/kv/put", map[string]string{"key": b64(key), "value": b64(value)}, nil)
}

// etcdCount counts the keys under prefix, with a linearizable read through
// any running member.
func etcdCount(service, prefix string) (int, error) {
	end := []byte(prefix)
	end[len(end)-1]++
	client := &http.Client{Timeout: 5 * time.Second}
	lastErr := fmt.Errorf("no member is running")
	for _, endpoint := range etcdEndpoints(service) {
		var body struct {
			Count string `json:"count"`
		}
		lastErr = etcdPost(client, endpoint+"/v3/kv/range", map[string]any{"key": b64(prefix), "range_end": b64(string(end)), "count_only": true}, &body)
		if lastErr == nil {
			var n int
			_, err := fmt.Sscan(body.Count, &n)
			if body.Count == "" {
				n, err = 0, nil
			}
			return n, err
		}
	}
	return 0, fmt.Errorf("count %s: %w", prefix, lastErr)
}

// TestAccRealEtcd_clusterRollingUpdate forms a 3-member etcd cluster from
// the cluster block, writes a key, rolls every member (an environment
// change) while a client writes in a loop, and checks that no write failed,
// every acknowledged one is there, the key is read on every member and the
// same three members are started.
func TestAccRealEtcd_clusterRollingUpdate(t *testing.T) {
	name := acctest.Name(t, "etcd")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	var ids []string
	writer := newEtcdWriter(name)
	t.Cleanup(func() { _ = writer.finish() })
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{{
			Config: etcdConfig(name, 1),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkEtcdMembers(name, &ids),
				func(*terraform.State) error {
					_, err := run(r(0), "", "etcdctl", "put", "greeting", "written before the rollout")
					return err
				},
			),
		}, {
			PreConfig: writer.start,
			Config:    etcdConfig(name, 2),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate),
					acctest.ExpectRollout(address, r(2)+": replace (env)", r(1)+": replace (env)", r(0)+": replace (env)"),
				},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				func(*terraform.State) error {
					if err := writer.finish(); err != nil {
						return err
					}
					t.Logf("etcd rolling update: %s", writer.summary())
					return nil
				},
				checkEtcdMembers(name, &ids),
				func(*terraform.State) error {
					for i := range 3 {
						out, err := run(r(i), "", "etcdctl", "get", "--print-value-only", "greeting")
						if err != nil {
							return err
						}
						if got := strings.TrimSpace(out); got != "written before the rollout" {
							return fmt.Errorf("etcdctl get greeting on %s: %q", r(i), got)
						}
					}
					return nil
				},
			),
		}},
	})
}
