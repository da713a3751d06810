package resources_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
	"github.com/statefulhq/terraform-provider-stateful/internal/spec"
)

// Issue 15: lifecycle hooks, run through Docker exec in the real-software
// image (the workload image has no shell). Each hook appends a line to a
// host directory all replicas share, naming the hook point, the replica it
// is about, the replica it ran in (its hostname) and that replica's MODE
// (which tells an old container from its replacement).

// realService renders a service of the real-software image that runs a
// long-lived process and stops at once. Its timeouts are short, so that a
// hung apply fails the test instead of outlasting it.
func realService(name, image string, replicas int, body string) string {
	return serviceConfig(name, image, replicas, `
  command     = ["sleep", "infinity"]
  stop_signal = "SIGKILL"
  timeouts {
    create = "5m"
    update = "5m"
    delete = "5m"
  }
`+body)
}

// hookLogVolume is the host directory all replicas append hook lines to.
func hookLogVolume(dir string) string {
	return fmt.Sprintf(`
  volume {
    name        = "log"
    target      = "/log"
    per_replica = false
    host { path = %q }
  }`, dir)
}

// logHook renders a hook block whose command appends a line to /log/hooks.
func logHook(point, extra string) string {
	return fmt.Sprintf(`
    %s {
      command = ["sh", "-c", "echo %s {{.Name}} in $(cat /etc/hostname) $MODE >> /log/hooks"]%s
    }`, point, point, extra)
}

// hookLog is the hook lines a test expects in the shared log, so far.
type hookLog struct {
	path string
	want []string
}

// expect checks that the log holds exactly what it held before and then
// lines, in this order.
func (l *hookLog) expect(lines ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		l.want = append(l.want, lines...)
		return l.unchanged()(nil)
	}
}

// unchanged checks that no hook ran since the last expect.
func (l *hookLog) unchanged() resource.TestCheckFunc {
	return func(*terraform.State) error {
		b, err := os.ReadFile(l.path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) == 0 {
			got = nil
		}
		if !slices.Equal(got, l.want) {
			return fmt.Errorf("hook log %s:\n  %s\nwant:\n  %s", l.path, strings.Join(got, "\n  "), strings.Join(l.want, "\n  "))
		}
		return nil
	}
}

// rolloutThen expects an update whose rollout is exactly lines, and an
// empty plan after it.
func rolloutThen(lines ...string) resource.ConfigPlanChecks {
	return resource.ConfigPlanChecks{
		PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate), acctest.ExpectRollout(address, lines...)},
		PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
	}
}

// execIn runs a command in a container and returns its standard output; a
// non-zero exit is an error carrying its output.
func execIn(container string, cmd ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := acctest.Local().Exec(ctx, container, "", cmd...)
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return res.Stdout, fmt.Errorf("%s in %s exited %d: %s%s", strings.Join(cmd, " "), container, res.ExitCode, res.Stdout, res.Stderr)
	}
	return res.Stdout, nil
}

// running checks that a replica's container is the one recorded and runs.
func running(ids containerIDs, replica string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		info, err := acctest.Local().InspectContainer(context.Background(), replica)
		if err != nil {
			return fmt.Errorf("%s should still exist: %w", replica, err)
		}
		if ids[replica] != "" && info.ID != ids[replica] {
			return fmt.Errorf("%s was replaced (%s -> %s)", replica, short(ids[replica]), short(info.ID))
		}
		if info.State == nil || !info.State.Running {
			return fmt.Errorf("%s exists but does not run (%+v)", replica, info.State)
		}
		return nil
	}
}

// wrappedAll matches phrases in this order, however Terraform wraps them.
func wrappedAll(phrases ...string) *regexp.Regexp {
	parts := make([]string, len(phrases))
	for i, p := range phrases {
		parts[i] = wrapped(p).String()
	}
	return regexp.MustCompile(strings.Join(parts, ".*"))
}

func TestAccServiceHooks_lifecycle(t *testing.T) {
	image := acctest.NeedRealImage(t)
	name := acctest.Name(t, "hook")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	dir := scratch(t)
	log := &hookLog{path: filepath.Join(dir, "hooks")}
	ids := containerIDs{}
	config := func(replicas int, mode, decommissionIn string) string {
		return realService(name, image, replicas, fmt.Sprintf(`
  env = { MODE = %q }
%s
  hooks {%s%s%s%s
  }`, mode, hookLogVolume(dir),
			logHook(spec.HookBeforeCreate, ""),
			logHook(spec.HookAfterReady, ""),
			logHook(spec.HookBeforeStop, ""),
			logHook(spec.HookDecommission, fmt.Sprintf("\n      run_in  = %q", decommissionIn))))
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				// First create: nothing runs yet, so no before_create; each
				// replica runs after_ready itself, in ordinal order.
				Config: config(2, "one", "self"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{acctest.ExpectRollout(address,
						r(0)+": create (hooks: after_ready)",
						r(1)+": create (hooks: after_ready)")},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeTestCheckFunc(
					log.expect(
						"after_ready "+r(0)+" in "+r(0)+" one",
						"after_ready "+r(1)+" in "+r(1)+" one"),
					ids.record(name)),
			},
			{
				// Scale-up: before_create about the new replica runs in the
				// lowest running peer before it is created, then after_ready
				// in the new replica. Nobody else is touched.
				Config:           config(3, "one", "self"),
				ConfigPlanChecks: rolloutThen(r(2) + ": create (hooks: before_create in a peer, after_ready)"),
				Check: resource.ComposeTestCheckFunc(
					log.expect(
						"before_create "+r(2)+" in "+r(0)+" one",
						"after_ready "+r(2)+" in "+r(2)+" one"),
					ids.unchanged(name, r(0), r(1)),
					ids.record(name)),
			},
			{
				// A rolling update: before_stop in the old container (MODE
				// one), then after_ready in its replacement (MODE two), one
				// replica at a time, highest ordinal first.
				Config: config(3, "two", "self"),
				ConfigPlanChecks: rolloutThen(
					r(2)+": replace (env; hooks: before_stop, after_ready)",
					r(1)+": replace (env; hooks: before_stop, after_ready)",
					r(0)+": replace (env; hooks: before_stop, after_ready)"),
				Check: resource.ComposeTestCheckFunc(
					log.expect(
						"before_stop "+r(2)+" in "+r(2)+" one",
						"after_ready "+r(2)+" in "+r(2)+" two",
						"before_stop "+r(1)+" in "+r(1)+" one",
						"after_ready "+r(1)+" in "+r(1)+" two",
						"before_stop "+r(0)+" in "+r(0)+" one",
						"after_ready "+r(0)+" in "+r(0)+" two"),
					ids.replaced(name, r(0), r(1), r(2)),
					ids.record(name)),
			},
			{
				// Scale-down: decommission in the leaving replica itself.
				Config:           config(2, "two", "self"),
				ConfigPlanChecks: rolloutThen(r(2) + ": remove (scale down; hooks: decommission)"),
				Check: resource.ComposeTestCheckFunc(
					log.expect("decommission "+r(2)+" in "+r(2)+" two"),
					ids.unchanged(name, r(0), r(1))),
			},
			{
				// The same, in a peer. Changing a hook replaces nobody.
				Config:           config(1, "two", "peer"),
				ConfigPlanChecks: rolloutThen(r(1) + ": remove (scale down; hooks: decommission in a peer)"),
				Check: resource.ComposeTestCheckFunc(
					log.expect("decommission "+r(1)+" in "+r(0)+" two"),
					ids.unchanged(name, r(0))),
			},
			{
				// A hook change alone is no change to the replicas.
				Config:           config(1, "two", "self"),
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check:            resource.ComposeTestCheckFunc(log.unchanged(), ids.unchanged(name, r(0))),
			},
			{
				// Destroy runs no hook.
				Config: noResources,
				Check:  resource.ComposeTestCheckFunc(acctest.CheckGone(name), log.unchanged()),
			},
		},
	})
}

// A failing decommission stops the scale-down before the replica is
// touched: it keeps running with its data, even with when_scaled =
// "delete"; the error carries the hook's output. Fixed, the next apply
// converges.
func TestAccServiceHooks_failingDecommissionKeepsReplica(t *testing.T) {
	image := acctest.NeedRealImage(t)
	name := acctest.Name(t, "hookfail")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	base := scratch(t)
	ids := containerIDs{}
	config := func(replicas int, decommission string) string {
		return realService(name, image, replicas, fmt.Sprintf(`
  volume {
    name   = "data"
    target = "/data"
    host { path = "%s/{{.Name}}" }
  }
  retention { when_scaled = "delete" }
  hooks {
    decommission {
      command = ["sh", "-c", %q]
    }
  }`, base, decommission))
	}
	const refuse = "echo refusing to leave {{.Name}}; exit 3"
	marker := filepath.Join(base, r(1), "marker")
	markerIntact := func(*terraform.State) error {
		b, err := os.ReadFile(marker)
		if err != nil {
			return fmt.Errorf("the data of %s is gone: %w", r(1), err)
		}
		if string(b) != "marker of "+r(1)+"\n" {
			return fmt.Errorf("%s holds %q", marker, b)
		}
		return nil
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				Config: config(2, refuse),
				Check: resource.ComposeTestCheckFunc(
					func(*terraform.State) error {
						_, err := execIn(r(1), "sh", "-c", "echo marker of "+r(1)+" > /data/marker")
						return err
					},
					markerIntact,
					ids.record(name)),
			},
			{
				Config: config(1, refuse),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					acctest.ExpectRollout(address, r(1)+": remove (scale down; hooks: decommission)"),
				}},
				ExpectError: wrappedAll("decommission hook in "+r(1)+" failed", "exited 3", "refusing to leave "+r(1)),
			},
			{
				// After the failure: the replica still runs, in the same
				// container, and its data is intact. The plan still removes it.
				PreConfig: func() {
					for _, check := range []resource.TestCheckFunc{running(ids, r(1)), running(ids, r(0)), markerIntact} {
						if err := check(nil); err != nil {
							t.Error(err)
						}
					}
				},
				Config:             config(1, refuse),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config:           config(1, "echo leaving {{.Name}}"),
				ConfigPlanChecks: rolloutThen(r(1) + ": remove (scale down; hooks: decommission)"),
				Check: resource.ComposeTestCheckFunc(
					ids.unchanged(name, r(0)),
					func(*terraform.State) error {
						if _, err := acctest.Local().InspectContainer(context.Background(), r(1)); err == nil {
							return fmt.Errorf("%s still exists", r(1))
						}
						entries, err := os.ReadDir(filepath.Join(base, r(1)))
						if err != nil && !os.IsNotExist(err) {
							return err
						}
						if len(entries) != 0 {
							return fmt.Errorf("the data of %s was not deleted: %d entries left", r(1), len(entries))
						}
						return nil
					}),
			},
		},
	})
}

// A hook that outlasts its timeout fails the apply, naming the timeout,
// well before the command would have ended; the replica stays.
func TestAccServiceHooks_timeout(t *testing.T) {
	image := acctest.NeedRealImage(t)
	name := acctest.Name(t, "hookslow")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	ids := containerIDs{}
	config := func(replicas int) string {
		return realService(name, image, replicas, `
  hooks {
    decommission {
      command = ["sleep", "30"]
      timeout = "2s"
    }
  }`)
	}
	var started time.Time
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{Config: config(2), Check: ids.record(name)},
			{
				PreConfig:   func() { started = time.Now() },
				Config:      config(1),
				ExpectError: regexp.MustCompile(`(?s)decommission\s+hook\s+in\s+` + regexp.QuoteMeta(r(1)) + `\s+failed.*did\s+not\s+finish\s+within\s+2s`),
			},
			{
				PreConfig: func() {
					if took := time.Since(started); took > 25*time.Second {
						t.Errorf("the failed apply took %s: the 2s timeout did not stop the hook", took)
					}
					if err := running(ids, r(1))(nil); err != nil {
						t.Error(err)
					}
				},
				Config:             config(1),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

func TestAccServiceHooks_invalidConfiguration(t *testing.T) {
	hooks := func(body string) string {
		return serviceConfig("badhook", acctest.WorkloadImageV1, 2, "\n  hooks {\n"+body+"\n  }")
	}
	cases := map[string]struct {
		body string
		err  *regexp.Regexp
	}{
		"before_create has no run_in": {`    before_create {
      command = ["true"]
      run_in  = "self"
    }`, wrappedAll(`Unsupported argument`, `An argument named "run_in" is not expected here`)},
		"run_in neither self nor peer": {`    decommission {
      command = ["true"]
      run_in  = "elsewhere"
    }`, wrappedAll(`run_in`, `"self"`, `"peer"`)},
		"template that cannot be rendered": {`    after_ready {
      command = ["sh", "-c", "echo {{.Nme}}"]
    }`, wrappedAll(`hooks.after_ready.command[2]`, `cannot be rendered`)},
		"template that does not parse": {`    before_stop {
      command = ["echo", "{{.Name"]
    }`, wrappedAll(`hooks.before_stop.command[1]`, `is not a valid template`)},
		"timeout that is no duration": {`    decommission {
      command = ["true"]
      timeout = "abc"
    }`, wrappedAll(`Invalid Time Duration String Value`, `timeout = "abc"`)},
		"timeout under a second": {`    after_ready {
      command = ["true"]
      timeout = "500ms"
    }`, wrappedAll(`hooks.after_ready.timeout`, `shorter than a second`)},
		"no command": {`    after_ready {
      timeout = "5s"
    }`, wrappedAll(`hooks.after_ready.command`)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) { planFails(t, hooks(tc.body), tc.err) })
	}
}

// A failed after_ready hook leaves its replica running and ready; the next
// plan runs the hook again in that same container, and says so.
func TestAccServiceHooks_failedAfterReadyRunsAgain(t *testing.T) {
	image := acctest.NeedRealImage(t)
	name := acctest.Name(t, "hookready")
	r := func(i int) string { return spec.ReplicaName(name, i) }
	dir := scratch(t)
	allow := filepath.Join(dir, "allow")
	log := &hookLog{path: filepath.Join(dir, "hooks")}
	ids := containerIDs{}
	config := func(replicas int) string {
		return realService(name, image, replicas, hookLogVolume(dir)+`
  hooks {
    after_ready {
      command = ["sh", "-c", "test -e /log/allow || { echo not allowed yet; exit 4; }; echo after_ready {{.Name}} >> /log/hooks"]
    }
  }`)
	}
	setAllowed := func(allowed bool) func() {
		return func() {
			var err error
			if allowed {
				err = os.WriteFile(allow, nil, 0o644)
			} else {
				err = os.Remove(allow)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             acctest.CheckGone(name),
		Steps: []resource.TestStep{
			{
				PreConfig: setAllowed(true),
				Config:    config(1),
				Check:     resource.ComposeTestCheckFunc(log.expect("after_ready "+r(0)), ids.record(name)),
			},
			{
				PreConfig:   setAllowed(false),
				Config:      config(2),
				ExpectError: wrappedAll("after_ready hook in "+r(1)+" failed", "exited 4", "not allowed yet"),
			},
			{
				PreConfig: func() {
					setAllowed(true)()
					if err := ids.record(name)(nil); err != nil {
						t.Fatal(err)
					}
				},
				Config: config(2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{acctest.ExpectRollout(address,
						r(1)+": run hooks (after_ready failed in an earlier apply; hooks: after_ready)")},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeTestCheckFunc(log.expect("after_ready "+r(1)), ids.unchanged(name, r(0), r(1))),
			},
		},
	})
}
