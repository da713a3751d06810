// Package parallel runs independent calls concurrently, within a bound.
package parallel

import (
	"errors"
	"sync"
)

// Run runs fn for 0..n-1, at most limit at once (at least one), waits for
// all of them, and returns errors.Join of every failure, in index order.
func Run(n, limit int, fn func(i int) error) error {
	errs := make([]error, n)
	slots := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			errs[i] = fn(i)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
