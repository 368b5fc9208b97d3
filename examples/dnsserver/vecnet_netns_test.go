package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	vecnetconfig "github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/examples/dnsserver/dnszone"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/stack/udp"
)

// vecnetCase is one way of serving the zone on vecnet. Host A's veth keeps
// its default offloads (its queries arrive with partial UDP checksums,
// which ip4-input completes) unless offloadsOff is set.
type vecnetCase struct {
	driver, mode string
	offloadsOff  bool
}

var vecnetCases = []vecnetCase{
	{"afxdp", "ingraph", false}, {"afxdp", "sock", false}, {"afpacket", "ingraph", false}, {"afpacket", "sock", false},
	{"afxdp", "ingraph", true},
}

func (c vecnetCase) String() string {
	if c.offloadsOff {
		return c.driver + "/" + c.mode + "/offloads-off"
	}
	return c.driver + "/" + c.mode
}

// serverConfig is vecnet with one interface, the rig's router end toward
// host A, owning topo.RouterAAddr; over AF_XDP the XDP program redirects
// only that address (and ARP for it), the namespace's kernel keeps the rest.
func serverConfig(rig *topo.Rig, driver string) *vecnetconfig.Config {
	c := topo.RouterConfig(rig, driver, "", "")
	c.Interfaces = c.Interfaces[:1]
	if driver == "afxdp" {
		c.Interfaces[0].Match = vecnetconfig.Match{DstIP: []netip.Addr{netip.MustParseAddr(topo.RouterAAddr)}}
	}
	return c
}

// vecnetServer is the example running on vecnet between the rig's
// namespaces: host A is the client, the router namespace the server.
type vecnetServer struct {
	rig  *topo.Rig
	d    *daemon.Daemon
	stop func() *dnszone.Stats // stops run (once), fails the test on its error (leaks)
}

// startVecnetServer builds the rig and runs the server in mode on driver;
// the server is stopped and the namespaces removed when the test ends.
func startVecnetServer(t *testing.T, c vecnetCase) *vecnetServer {
	t.Helper()
	testutil.RequireRoot(t)
	for _, tool := range []string{"dig", "ping", "ethtool"} {
		testutil.RequireTool(t, tool)
	}
	rig, err := topo.NewRig(topo.RigOptions{Prefix: "dn", OffloadsOff: c.offloadsOff})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rig.Close(); err != nil {
			t.Error(err)
		}
	})
	s := &vecnetServer{rig: rig}
	ctx, cancel := context.WithCancel(context.Background())
	st := new(dnszone.Stats)
	readyc := make(chan struct{}, 1)
	errc := make(chan error, 1)
	cfg := config{zone: "testdata/example.zone", origin: "example.test.", mode: c.mode,
		listen: topo.RouterAAddr + ":53", batch: 32, stats: st, vecnet: serverConfig(rig, c.driver),
		log:     slog.New(slog.DiscardHandler),
		started: func(d *daemon.Daemon) { s.d = d },
		ready:   func(net.Addr) { readyc <- struct{}{} }}
	go func() { errc <- run(ctx, cfg) }()
	stopped := false
	s.stop = func() *dnszone.Stats {
		if !stopped {
			stopped = true
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("run: %v", err)
			}
		}
		return st
	}
	t.Cleanup(func() { s.stop() })
	select {
	case <-readyc:
	case err := <-errc:
		stopped = true
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready")
	}
	return s
}

// udpCounter sums udp4-input's counter name over the workers.
func (s *vecnetServer) udpCounter(name string) uint64 {
	var n uint64
	for _, rows := range s.d.Errors() {
		for _, r := range rows {
			if r.Node == udp.InputName && r.Name == name {
				n += r.Count
			}
		}
	}
	return n
}

// completed is every partial checksum vecnet finished: ip4-input's
// l4_checksum_completed summed over the workers, and the drivers' own.
func (s *vecnetServer) completed() uint64 {
	var n uint64
	for _, rows := range s.d.Errors() {
		for _, r := range rows {
			if r.Node == ip4.InputName && r.Name == "l4_checksum_completed" {
				n += r.Count
			}
		}
	}
	for _, row := range s.d.Offload() { // AF_PACKET completes them itself, from the kernel's metadata
		n += row.Counters.Completed
	}
	return n
}

// udpSeen is every datagram udp4-input has disposed of, whatever the way.
func (s *vecnetServer) udpSeen() uint64 {
	var n uint64
	for _, c := range []string{"too_short", "bad_checksum", "no_listener", "socket_queue_full", "delivered",
		"replied", "handler_dropped", "handler_unanswered", "reply_too_long"} {
		n += s.udpCounter(c)
	}
	return n
}

// dig runs dig in host A against the server.
func (s *vecnetServer) dig(args ...string) (string, error) {
	return s.rig.A.Run("dig", append([]string{"@" + topo.RouterAAddr, "+norecurse", "+tries=1", "+time=3"}, args...)...)
}

func TestVecnetBetweenNamespaces(t *testing.T) {
	for _, c := range vecnetCases {
		t.Run(c.String(), func(t *testing.T) {
			s := startVecnetServer(t, c)
			t.Run("dig every type", func(t *testing.T) {
				completed0 := s.completed()
				for _, tc := range kernelCases {
					out, err := s.dig(tc.name, dns.TypeToString[tc.qtype])
					if err != nil {
						t.Fatalf("dig: %v\n%s", err, out)
					}
					checkDig(t, out, tc.name+"/"+dns.TypeToString[tc.qtype], tc.rcode, tc.want)
				}
				out, err := s.dig("+bufsize=1232", "many.example.test.", "A")
				if err != nil || !strings.Contains(out, "ANSWER: 40,") {
					t.Errorf("40 A records over EDNS: %v\n%s", err, out)
				}
				// Host A's queries left with partial checksums, which
				// vecnet completed (with its offloads at defaults).
				if n := s.completed() - completed0; !c.offloadsOff && n < uint64(len(kernelCases)) {
					t.Errorf("vecnet completed %d partial checksums for %d queries", n, len(kernelCases)+1)
				}
			})
			t.Run("ping", func(t *testing.T) {
				out, err := s.rig.A.Run("ping", "-c", "3", "-i", "0.1", "-W", "3", topo.RouterAAddr)
				if err != nil || !strings.Contains(out, "3 received") {
					t.Fatalf("ping %s: %v\n%s", topo.RouterAAddr, err, out)
				}
			})
			t.Run("closed port", func(t *testing.T) {
				before := s.udpCounter("no_listener")
				out, _ := s.dig("-p", "5353", "www.example.test.", "A")
				if !strings.Contains(out, "connection refused") {
					t.Errorf("dig to a closed port, want \"connection refused\":\n%s", out)
				}
				if after := s.udpCounter("no_listener"); after <= before {
					t.Errorf("no_listener %d -> %d, want an increase", before, after)
				}
			})
			if c.driver == "afxdp" {
				t.Run("malformed queries", func(t *testing.T) { malformed(t, s, c) })
			}
			st := s.stop()
			if st.Queries == 0 || st.Queries != st.Outcomes() {
				t.Errorf("stats: %d queries, %d outcomes", st.Queries, st.Outcomes())
			}
		})
	}
}

// malformedCount is how many bad queries the malformed test sends.
const malformedCount = 10000

// malformed sends malformedCount mutated or random datagrams from a kernel
// UDP socket in host A, in bursts that the server must have taken in full
// before the next one (so none is lost to a full ring), then checks that a
// valid query is still answered and that every datagram is accounted for by
// the stack's counters and, once stopped, by the zone's.
func malformed(t *testing.T, s *vecnetServer, c vecnetCase) {
	seen0 := s.udpSeen()
	valid := new(dns.Msg).SetQuestion("www.example.test.", dns.TypeA)
	vb, err := valid.Pack()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	datagram := func(i int) []byte {
		switch i % 4 {
		case 0: // random bytes, 0..600 of them
			b := make([]byte, rng.IntN(601))
			for k := range b {
				b[k] = byte(rng.Uint32())
			}
			return b
		case 1: // a valid query truncated
			return append([]byte(nil), vb[:rng.IntN(len(vb))]...)
		default: // a valid query with 1..4 bytes changed, maybe grown
			b := append([]byte(nil), vb...)
			for range 1 + rng.IntN(4) {
				b[rng.IntN(len(b))] = byte(rng.Uint32())
			}
			if i%4 == 3 {
				b = append(b, make([]byte, rng.IntN(64))...)
			}
			return b
		}
	}
	const burst = 250
	err = s.rig.A.Do(func() error {
		conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(topo.RouterAAddr+":53")))
		if err != nil {
			return err
		}
		defer conn.Close()
		for sent := 0; sent < malformedCount; {
			for k := 0; k < burst && sent < malformedCount; k++ {
				if _, err := conn.Write(datagram(sent)); err != nil {
					return err
				}
				sent++
			}
			want := seen0 + uint64(sent)
			testutil.Eventually(t, 5*time.Second, "the server took the burst", func() bool { return s.udpSeen() >= want })
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.dig("www.example.test.", "A")
	if err != nil {
		t.Fatalf("valid query after %d bad ones: %v\n%s", malformedCount, err, out)
	}
	checkDig(t, out, "www/A after malformed", dns.RcodeSuccess, []string{"192.0.2.80"})
	seen := s.udpSeen() - seen0 - 1 // the dig above
	if seen != malformedCount {
		t.Errorf("%s disposed of %d datagrams, sent %d", udp.InputName, seen, malformedCount)
	}
	if n := s.udpCounter("socket_queue_full") + s.udpCounter("handler_unanswered") + s.udpCounter("reply_too_long"); n != 0 {
		t.Errorf("%d datagrams lost in the stack (queue full, unanswered, too long)", n)
	}
	// Every datagram reached the zone: the earlier subtests' queries plus
	// these; all of them counted once, as an answer or a drop.
	handled := s.udpCounter("replied") + s.udpCounter("handler_dropped")
	if c.mode == "sock" {
		handled = s.udpCounter("delivered")
	}
	handlerDropped := s.udpCounter("handler_dropped")
	st := s.stop()
	if st.Queries != handled || st.Outcomes() != st.Queries {
		t.Errorf("zone counted %d queries (%d outcomes), the stack handed it %d", st.Queries, st.Outcomes(), handled)
	}
	if c.mode == "ingraph" {
		if dropped := st.DroppedShort + st.DroppedResponse + st.DroppedNoSpace; dropped != handlerDropped {
			t.Errorf("zone dropped %d, stack counted handler_dropped %d", dropped, handlerDropped)
		}
	}
	t.Logf("%d bad queries: %+v", malformedCount, *st)
}
