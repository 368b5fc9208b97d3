// Package lcpsync is the netlink half of linux-cp: it listens to the
// kernel's routing and neighbour tables in the namespace of the host
// interfaces (the TAPs paired with vecnet interfaces) and mirrors what the
// kernel learns on them into vecnet: IPv4 routes of the main table whose
// next hops are on host interfaces become vecnet routes via the same next
// hops on the paired vecnet interfaces, and the kernel's resolved
// neighbours on them become vecnet neighbours. So routing daemons (BIRD,
// FRR) that program the kernel drive vecnet's FIB unchanged.
//
// Updates are applied in batches: after the first of a burst, everything
// netlink has queued is read, coalesced per prefix (the last update wins)
// and applied with one FIB publication per group of routes sharing next
// hops (fib.Table.AddRoutes). Only routes the mirror installed are ever
// deleted: a configured static route is left alone.
package lcpsync

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/fib"
	"github.com/vecnet/vecnet/l3/neighbor"
)

// Config says where to listen and what to mirror into.
type Config struct {
	// Netns is the namespace of the host interfaces: a name under
	// /run/netns, an absolute path, or "" for the caller's.
	Netns string
	// Links maps a host interface's kernel ifindex to its vecnet
	// interface (the phy).
	Links map[int]uint16
	FIB   *fib.Table
	// Neighbors, when set, receives the kernel's resolved neighbours on
	// the host interfaces.
	Neighbors *neighbor.Table
	// Logf reports what cannot be mirrored (nil: silent).
	Logf func(format string, args ...any)
}

// Stats counts what the mirror did.
type Stats struct {
	RoutesAdded, RoutesDeleted uint64 // FIB operations, one per prefix
	RoutesSkipped              uint64 // kernel routes not mirrored (no next hop on a host interface...)
	RouteErrors                uint64 // FIB updates that failed
	Neighbors                  uint64 // kernel neighbours given to vecnet's table
	Batches                    uint64 // FIB publications
	Installed                  int    // routes the mirror has in the FIB now
}

// Mirror is a running mirror; Close stops it.
type Mirror struct {
	cfg    Config
	done   chan struct{}
	wg     sync.WaitGroup
	routes chan netlink.RouteUpdate
	neighs chan netlink.NeighUpdate

	mu        sync.Mutex
	installed map[netip.Prefix]struct{} // routes this mirror added
	stats     Stats
	closed    atomic.Bool
}

// maxBatch bounds the updates coalesced into one batch.
const maxBatch = 16384

// Start subscribes to the kernel's routes and neighbours in cfg.Netns (the
// existing ones are listed first) and mirrors them until Close.
func Start(cfg Config) (*Mirror, error) {
	if cfg.FIB == nil {
		return nil, errors.New("lcpsync: no FIB")
	}
	m := &Mirror{cfg: cfg, done: make(chan struct{}), installed: map[netip.Prefix]struct{}{},
		routes: make(chan netlink.RouteUpdate, maxBatch), neighs: make(chan netlink.NeighUpdate, 1024)}
	var ns *netns.NsHandle
	if cfg.Netns != "" {
		var h netns.NsHandle
		var err error
		if cfg.Netns[0] == '/' {
			h, err = netns.GetFromPath(cfg.Netns)
		} else {
			h, err = netns.GetFromName(cfg.Netns)
		}
		if err != nil {
			return nil, fmt.Errorf("lcpsync: network namespace %s: %w", cfg.Netns, err)
		}
		defer h.Close() // the subscriptions keep their own sockets
		ns = &h
	}
	onErr := func(err error) {
		if !m.closed.Load() {
			m.logf("netlink: %v", err)
		}
	}
	// A large receive buffer: BIRD installs a full table in a burst.
	if err := netlink.RouteSubscribeWithOptions(m.routes, m.done, netlink.RouteSubscribeOptions{
		Namespace: ns, ListExisting: true, ErrorCallback: onErr, ReceiveBufferSize: 32 << 20, ReceiveBufferForceSize: true,
	}); err != nil {
		return nil, fmt.Errorf("lcpsync: route subscribe: %w", err)
	}
	if err := netlink.NeighSubscribeWithOptions(m.neighs, m.done, netlink.NeighSubscribeOptions{
		Namespace: ns, ListExisting: true, ErrorCallback: onErr,
	}); err != nil {
		close(m.done)
		return nil, fmt.Errorf("lcpsync: neighbour subscribe: %w", err)
	}
	m.wg.Add(1)
	go m.run()
	return m, nil
}

// Close stops the mirror. The routes it installed stay in the FIB.
func (m *Mirror) Close() {
	if m.closed.Swap(true) {
		return
	}
	close(m.done)
	m.wg.Wait()
}

// Stats returns the mirror's counters.
func (m *Mirror) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Installed = len(m.installed)
	return s
}

func (m *Mirror) logf(format string, args ...any) {
	if m.cfg.Logf != nil {
		m.cfg.Logf(format, args...)
	}
}

// op is the last update of one prefix in a batch: hops nil means delete.
type op struct {
	hops []fib.NextHop
}

func (m *Mirror) run() {
	defer m.wg.Done()
	batch := map[netip.Prefix]op{}
	for {
		select {
		case <-m.done:
			return
		case u, ok := <-m.routes:
			if !ok {
				m.logf("netlink: route subscription ended")
				m.routes = nil
				continue
			}
			m.collect(batch, u)
			// Take whatever else is queued, then apply the lot.
		drain:
			for n := 1; n < maxBatch; n++ {
				select {
				case u, ok := <-m.routes:
					if !ok {
						break drain
					}
					m.collect(batch, u)
				default:
					break drain
				}
			}
			m.apply(batch)
			clear(batch)
		case u, ok := <-m.neighs:
			if !ok {
				m.logf("netlink: neighbour subscription ended")
				m.neighs = nil
				continue
			}
			m.neighbor(u)
		}
	}
}

// collect records update u in batch (or counts it skipped).
func (m *Mirror) collect(batch map[netip.Prefix]op, u netlink.RouteUpdate) {
	p, hops, ok := m.convert(u.Route)
	if !ok {
		m.mu.Lock()
		m.stats.RoutesSkipped++
		m.mu.Unlock()
		return
	}
	if u.Type == unix.RTM_DELROUTE {
		hops = nil
	}
	batch[p] = op{hops: hops}
}

// convert returns the prefix and vecnet next hops of a kernel route, or
// false when it is not one to mirror: not IPv4 unicast in the main table,
// or with a next hop that is not a gateway on a host interface (connected
// routes: vecnet has its own).
func (m *Mirror) convert(r netlink.Route) (netip.Prefix, []fib.NextHop, bool) {
	if r.Family != unix.AF_INET && r.Family != 0 || r.Table != unix.RT_TABLE_MAIN || r.Type != unix.RTN_UNICAST {
		return netip.Prefix{}, nil, false
	}
	p := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	if r.Dst != nil {
		a, ok := netip.AddrFromSlice(r.Dst.IP)
		ones, bits := r.Dst.Mask.Size()
		if !ok || bits != 32 {
			return netip.Prefix{}, nil, false
		}
		p = netip.PrefixFrom(a.Unmap(), ones)
	}
	var hops []fib.NextHop
	add := func(link int, gw net.IP) bool {
		port, ok := m.cfg.Links[link]
		a, ok2 := netip.AddrFromSlice(gw)
		if !ok || !ok2 || !a.Unmap().Is4() {
			return false
		}
		hops = append(hops, fib.NextHop{Addr: a.Unmap(), Port: int(port)})
		return true
	}
	if len(r.MultiPath) > 0 {
		for _, nh := range r.MultiPath {
			if !add(nh.LinkIndex, nh.Gw) {
				return netip.Prefix{}, nil, false
			}
		}
	} else if !add(r.LinkIndex, r.Gw) {
		return netip.Prefix{}, nil, false
	}
	return p.Masked(), hops, true
}

// apply makes the FIB agree with batch: deletions first, then additions
// grouped by identical next hops, one publication per group.
func (m *Mirror) apply(batch map[netip.Prefix]op) {
	groups := map[string][]netip.Prefix{}
	hopsOf := map[string][]fib.NextHop{}
	var added, deleted, batches, failed uint64
	var dels []netip.Prefix
	m.mu.Lock()
	defer m.mu.Unlock()
	for p, o := range batch {
		if o.hops == nil {
			if _, ours := m.installed[p]; ours {
				delete(m.installed, p)
				dels = append(dels, p)
			}
			continue
		}
		k := hopKey(o.hops)
		groups[k] = append(groups[k], p)
		hopsOf[k] = o.hops
	}
	if len(dels) > 0 {
		deleted = uint64(len(dels))
		if err := m.cfg.FIB.DelRoutes(dels); err != nil {
			m.logf("deleting %d routes: %v", len(dels), err)
			failed++
		}
		batches++
	}
	for k, ps := range groups {
		if err := m.cfg.FIB.AddRoutes(ps, hopsOf[k]); err != nil {
			failed += uint64(len(ps))
			m.logf("%d routes via %s: %v", len(ps), k, err)
			continue
		}
		for _, p := range ps {
			m.installed[p] = struct{}{}
		}
		added += uint64(len(ps))
		batches++
	}
	m.stats.RoutesAdded += added
	m.stats.RoutesDeleted += deleted
	m.stats.RouteErrors += failed
	m.stats.Batches += batches
}

// hopKey names a set of next hops (order-independent).
func hopKey(hops []fib.NextHop) string {
	s := make([]string, len(hops))
	for i, h := range hops {
		s[i] = fmt.Sprintf("%v@%d", h.Addr, h.Port)
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

// neighbor gives a resolved kernel neighbour on a host interface to
// vecnet's table (vecnet ages it like one it learned itself).
func (m *Mirror) neighbor(u netlink.NeighUpdate) {
	n := u.Neigh
	port, ok := m.cfg.Links[n.LinkIndex]
	if !ok || m.cfg.Neighbors == nil || u.Type != unix.RTM_NEWNEIGH || len(n.HardwareAddr) != 6 ||
		n.State&(unix.NUD_REACHABLE|unix.NUD_PERMANENT|unix.NUD_NOARP) == 0 {
		return
	}
	ip := n.IP.To4()
	if ip == nil {
		return
	}
	m.cfg.Neighbors.Learn(port, [4]byte(ip), [6]byte(n.HardwareAddr), graph.Monotonic())
	m.mu.Lock()
	m.stats.Neighbors++
	m.mu.Unlock()
}
