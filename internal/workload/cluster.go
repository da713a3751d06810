package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// gossipInterval is how often a member re-registers with its seeds and
// learns the members they know.
const gossipInterval = 300 * time.Millisecond

// cluster is a toy membership protocol for acceptance tests: members
// register with the seeds from CLUSTER_SEEDS and learn the members the
// seeds know, until everyone knows everyone.
type cluster struct {
	self  string
	seeds []string

	mu      sync.Mutex
	members map[string]bool
}

func newCluster(seedList, port string) *cluster {
	hostname, _ := os.Hostname()
	c := &cluster{self: hostname + ":" + port, members: map[string]bool{}}
	c.members[c.self] = true
	for _, s := range strings.Split(seedList, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.seeds = append(c.seeds, s)
		}
	}
	return c
}

func (c *cluster) add(members ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range members {
		if m != "" {
			c.members[m] = true
		}
	}
}

func (c *cluster) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.members))
	for m := range c.members {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// run gossips with the seeds until ctx ends.
func (c *cluster) run(ctx context.Context) {
	if len(c.seeds) == 0 {
		return
	}
	client := &http.Client{Timeout: time.Second}
	ticker := time.NewTicker(gossipInterval)
	defer ticker.Stop()
	for {
		for _, seed := range c.seeds {
			if seed != c.self {
				c.exchange(ctx, client, seed)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// exchange registers with one seed and merges the members it knows.
func (c *cluster) exchange(ctx context.Context, client *http.Client, seed string) {
	body, _ := json.Marshal(map[string]string{"member": c.self})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+seed+"/cluster/join", bytes.NewReader(body))
	if err != nil {
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		return // the seed is not up yet: try again next round
	}
	defer func() { _ = resp.Body.Close() }()
	var known struct {
		Members []string `json:"members"`
	}
	if json.NewDecoder(resp.Body).Decode(&known) == nil {
		c.add(known.Members...)
	}
}

func (s *server) handleClusterMembers(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"self": s.cluster.self, "seeds": s.cluster.seeds, "members": s.cluster.list()})
}

func (s *server) handleClusterJoin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Member string `json:"member"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || req.Member == "" {
		writeError(w, http.StatusBadRequest, "want {\"member\": \"host:port\"}")
		return
	}
	s.cluster.add(req.Member)
	s.handleClusterMembers(w, r)
}
