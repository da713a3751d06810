package realsoftware_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/statefulhq/terraform-provider-stateful/internal/acctest"
)

func TestMain(m *testing.M) { acctest.Main(m, acctest.BuildRealImages) }

const address = "stateful_service.test"

// run runs a command in a replica's container as user and returns its
// standard output; a non-zero exit is an error carrying its output.
func run(replica, user string, cmd ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := acctest.Local().Exec(ctx, replica, user, cmd...)
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return res.Stdout, fmt.Errorf("%s in %s exited %d: %s%s", strings.Join(cmd, " "), replica, res.ExitCode, res.Stdout, res.Stderr)
	}
	return res.Stdout, nil
}

// eventually retries check every 250ms until it succeeds or within passes.
func eventually(within time.Duration, check func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}
