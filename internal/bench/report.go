package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// machine describes where the figures were taken.
type machine struct {
	cpus      int
	docker    string
	terraform string
	runs      int
	slow      string // a note on a slow daemon, if any
}

// render formats the results as Markdown: medians over the runs.
func render(m machine, ns []int, results map[int][]sample) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## stateful_service provider vs Docker floor\n\n")
	fmt.Fprintf(&b, "Machine: nproc %d, Docker %s, %s. Medians of %d run(s), each timing %d no-op plans; floor parallelism %d.\n\n",
		m.cpus, m.docker, m.terraform, m.runs, planRepeats, floorParallelism)
	if m.slow != "" {
		fmt.Fprintf(&b, "**Warning:** %s. Provider figures include this stall; the floor lists no volumes.\n\n", m.slow)
	}
	b.WriteString("| N | operation | provider (s) | floor (s) | provider/floor | provider Docker API calls |\n")
	b.WriteString("|---:|---|---:|---:|---:|---:|\n")
	logged := false
	for _, n := range ns {
		for op := range numOps {
			p, f := medianOf(results[n], func(s sample) float64 { return s.provider[op] }),
				medianOf(results[n], func(s sample) float64 { return s.floor[op] })
			calls := medianOf(results[n], func(s sample) float64 { return float64(s.calls[op]) })
			fmt.Fprintf(&b, "| %d | %s | %.2f | %.3f | %s | %.0f |\n", n, opNames[op], p, f, ratio(p, f), calls)
		}
		logged = logged || slices.ContainsFunc(results[n], func(s sample) bool { return s.logged })
	}
	b.WriteString("\n")
	for _, n := range ns {
		peak := slices.MaxFunc(results[n], func(a, c sample) int { return cmp.Compare(a.peakKB, c.peakKB) }).peakKB
		fmt.Fprintf(&b, "- N=%d: provider peak memory %.1f MB (max VmHWM over all commands and runs)\n", n, float64(peak)/1024)
	}
	if _, ok3 := results[3]; ok3 {
		if _, ok100 := results[100]; ok100 {
			p3 := medianOf(results[3], func(s sample) float64 { return s.provider[opPlan] })
			p100 := medianOf(results[100], func(s sample) float64 { return s.provider[opPlan] })
			fmt.Fprintf(&b, "- plan time N=100 vs N=3: %s (%.2f s vs %.2f s)\n", ratio(p100, p3), p100, p3)
		}
	}
	for _, n := range ns {
		p := medianOf(results[n], func(s sample) float64 { return s.provider[opOrdered] })
		f := medianOf(results[n], func(s sample) float64 { return s.floor[opOrdered] })
		fmt.Fprintf(&b, "- N=%d: ordered create takes %s the floor's one-by-one create, start and check (the command's fixed cost included)\n",
			n, perReplicaGap(p, f, n))
	}
	if !logged {
		b.WriteString("- no `docker API calls` lines in the provider logs: calls are reported as 0\n")
	}
	b.WriteString("\nProvider times are whole terraform commands (CLI start-up, provider launch, state handling included); " +
		"floor times are the Docker API calls alone.\n")
	return b.String()
}

func medianOf(samples []sample, value func(sample) float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	vs := make([]float64, 0, len(samples))
	for _, s := range samples {
		vs = append(vs, value(s))
	}
	return median(vs)
}

// median of vs, which it sorts.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2]
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f×", a/b)
}

// perReplicaGap says how much longer (or shorter: within noise, the
// provider can beat a floor timed in another moment) a command took per
// replica than the floor, in whole milliseconds.
func perReplicaGap(provider, floor float64, n int) string {
	ms := 1000 * (provider - floor) / float64(n)
	if ms < 0 {
		return fmt.Sprintf("%.0f ms per replica less than", -ms)
	}
	return fmt.Sprintf("%.0f ms per replica more than", ms)
}
