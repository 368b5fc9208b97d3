package stack_test

import (
	"fmt"
	"net/netip"

	"github.com/vecnet/vecnet/graph"
	"github.com/vecnet/vecnet/l3/ip4"
	"github.com/vecnet/vecnet/l3/ip6"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/host"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/stack/udp"
	"github.com/vecnet/vecnet/wire"
)

// The host stack on one worker's graph, without a driver: its nodes, plus
// an "ip4-lookup" and an "icmp4-error" of our own that print what the stack
// sends. An in-graph handler answers UDP port 7 in place, on the worker; a
// socket on port 9000 receives a datagram and sends one, which the
// udp4-socket-output input node hands to ip4-lookup on the next Poll.
func Example() {
	arena, err := pkt.NewArena(256)
	if err != nil {
		panic(err)
	}
	pool := pkt.NewPool(arena)
	st := host.New(pool, stack.Config{}) // the shared core with UDP and ICMP
	u := udp.Of(st)
	printer := func(name string) graph.Registration {
		return graph.Registration{Name: name, Func: func(n *graph.Node, v *pkt.Vector) int {
			for _, i := range v.Idx[:v.Len] {
				m, d := n.Arena().Packet(i)
				ip := wire.IPv4(d[m.L3:])
				u := wire.UDP(ip[ip.HeaderLen():])
				fmt.Printf("%s: %v:%d -> %v:%d %q\n", name, netip.AddrFrom4(ip.Src()), u.SrcPort(),
					netip.AddrFrom4(ip.Dst()), u.DstPort(), u.Payload())
			}
			k := v.Len
			n.Cache().FreeN(v.Idx[:v.Len])
			v.Reset()
			return k
		}}
	}
	cache := pool.NewCache()
	g, err := graph.Build(cache, append(st.Registrations(), printer(ip4.LookupName), printer(ip4.ICMPErrorName), printer(ip6.LookupName), printer(ip6.ICMPErrorName)))
	if err != nil {
		panic(err)
	}
	deliver := func(i pkt.Index) { // as ip4-local would
		var v pkt.Vector
		v.Append(i)
		g.Inject(udp.InputName, &v)
		g.Dispatch()
	}
	client := netip.MustParseAddrPort("10.0.0.2:40000")
	echo := netip.MustParseAddrPort("10.0.0.1:7")
	app := netip.MustParseAddrPort("10.0.0.1:9000")

	// Echo, in the graph: the whole vector's datagrams in one call.
	if err := u.Handle(echo.Port(), func(b *udp.Batch) {
		for k := range b.Len() {
			b.Reply(k, len(b.Payload(k)))
		}
	}); err != nil {
		panic(err)
	}
	deliver(stacktest.Frame(cache, client, echo, []byte("ping")))

	// A socket, from an application goroutine.
	so, err := u.Open(app)
	if err != nil {
		panic(err)
	}
	deliver(stacktest.Frame(cache, client, app, []byte("hello")))
	buf := make([]byte, 1500)
	n, from, ok := so.Recv(buf)
	fmt.Printf("socket got %q from %v (%v)\n", buf[:n], from, ok)
	if err := so.Send([]byte("hello yourself"), from); err != nil {
		panic(err)
	}
	g.Poll()

	// Nothing on port 9: port unreachable, through icmp4-error.
	deliver(stacktest.Frame(cache, client, netip.MustParseAddrPort("10.0.0.1:9"), []byte("anyone?")))

	so.Close()
	g.Close()
	st.Flush()
	cache.Flush()
	if err := pool.Close(); err != nil {
		panic(err)
	}
	// Output:
	// ip4-lookup: 10.0.0.1:7 -> 10.0.0.2:40000 "ping"
	// socket got "hello" from 10.0.0.2:40000 (true)
	// ip4-lookup: 10.0.0.1:9000 -> 10.0.0.2:40000 "hello yourself"
	// icmp4-error: 10.0.0.2:40000 -> 10.0.0.1:9 "anyone?"
}
