package parallel

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// gauge counts the calls running at once and keeps the highest count.
type gauge struct{ running, peak atomic.Int32 }

// enter counts one more running call and returns what ends it.
func (g *gauge) enter() func() {
	n := g.running.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	return func() { g.running.Add(-1) }
}

func TestRunNeverExceedsTheLimit(t *testing.T) {
	for _, limit := range []int{1, 3, 20} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			var g gauge
			var calls atomic.Int32
			err := Run(10, limit, func(int) error {
				defer g.enter()()
				calls.Add(1)
				time.Sleep(5 * time.Millisecond)
				return nil
			})
			if err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
			if calls.Load() != 10 {
				t.Errorf("fn ran %d times, want 10", calls.Load())
			}
			if want := int32(min(limit, 10)); g.peak.Load() > want {
				t.Errorf("%d calls at once, want at most %d", g.peak.Load(), want)
			}
		})
	}
}

func TestRunReportsEveryFailureInIndexOrder(t *testing.T) {
	errs := map[int]error{1: errors.New("one"), 4: errors.New("four"), 5: errors.New("five")}
	err := Run(6, 2, func(i int) error {
		if i == 1 {
			time.Sleep(10 * time.Millisecond) // finishes last, still reported first
		}
		return errs[i]
	})
	for _, e := range errs {
		if !errors.Is(err, e) {
			t.Errorf("Run = %v, missing %v", err, e)
		}
	}
	if got, want := fmt.Sprint(err), "one\nfour\nfive"; got != want {
		t.Errorf("Run = %q, want %q", got, want)
	}
}

func TestRunWithNothingToRun(t *testing.T) {
	if err := Run(0, 4, func(int) error { t.Fatal("fn called"); return nil }); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestRunTreatsALimitBelowOneAsOne(t *testing.T) {
	var g gauge
	err := Run(4, 0, func(int) error {
		defer g.enter()()
		time.Sleep(time.Millisecond)
		return nil
	})
	if err != nil || g.peak.Load() != 1 {
		t.Fatalf("Run = %v with %d at once, want nil with 1", err, g.peak.Load())
	}
}
