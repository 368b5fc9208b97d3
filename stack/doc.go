// Package stack is the shared core of the host stack, in the graph: what
// every transport uses — endpoint tables (Ports: RCU snapshots and grace
// periods), worker <-> application rings (Ring), the application-side
// buffer cache (AppAlloc/AppFree) and receive budget, the workers' wake-ups
// (Worker.Kick/Signal, TxWaiter) and the layout of originated packets
// (Originate with wire.IPv4Emitter, Originate6 for IPv6). The protocols
// live beside it:
//
//	stack/udp          udp4-input, udp6-input, udp4-socket-output, sockets and in-graph handlers
//	stack/icmp         icmp4-input: ICMP errors handed to the quoted packet's transport
//	stack/tcp          the TCP engine (no graph, no packet buffers)
//	stack/tcp/tcpnode  tcp4-input, tcp6-input, tcp4-output, TCP sockets and in-graph handlers
//	stack/host         the composition the data plane uses (host.New)
//
// A transport attaches itself to a Stack (Attach) and registers its
// protocol into ip4-local's protocol -> node table (Transport.Protocols,
// which the data plane passes to ip4.LocalConfig) and, for IPv6, into
// ip6-local's (Transport6.Protocols6, to ip6.LocalConfig).
//
// # IPv6
//
// One endpoint table serves both families: UDP's ports lead to one
// endpoint whatever the family, which says which families it takes (a
// socket bound to 0.0.0.0 IPv4 only, to an IPv6 address IPv6 only, to ::
// both, as Linux's sockets with bindv6only=0); TCP's connection table is
// keyed by 16-byte addresses (IPv4 as IPv4-mapped). Each transport has one
// input node per family (udp6-input, tcp6-input: the same code with the
// IP header read per family, IPv6 checksums over the RFC 8200
// pseudo-header, zero UDP checksums refused) and one output node that
// sends both, each packet to ip4-lookup or ip6-lookup by its version.
// Sources come from Config.Source6 (RouteSource6: the route's interface
// address); TCP's MSS is the MTU less 60 over IPv6. ip6-local hands the
// host's ICMPv6 errors to icmp6-input (package icmp), which gives a
// destination unreachable to the connected UDP socket it is about, as
// icmp4-input does. Not yet: Packet Too Big applied to TCP's path MTU, and
// IPv6 extension headers on originated packets.
//
// The rest of this comment describes how the transports use the core.
//
// # Receive
//
// udp4-input (package udp) validates the UDP header against the IP payload and the
// checksum, then demultiplexes by destination port through a snapshot of the
// endpoint table: a flat [65536]uint16 port -> endpoint id array and the
// endpoints by id, published through an atomic pointer (RCU: readers load
// it once per vector; writers copy, edit and swap under Stack.mu). Then:
//
//   - a port with an in-graph handler (udp.UDP.Handle): the vector's datagrams for
//     that handler are gathered into a udp.Batch and the handler is called
//     once per vector; it answers in place (Reply), and the answers go on to
//     ip4-lookup without a copy;
//   - a port with a socket (udp.UDP.Open): the buffer index is pushed onto the
//     socket's single-producer single-consumer ring for this worker; the
//     application copies the payload out and frees the buffer;
//   - a closed port: ICMP port unreachable through icmp4-error.
//
// A socket may be connected (Socket.Connect): it then receives only its
// peer's datagrams, and a destination unreachable quoting one of its
// datagrams to the peer becomes the socket's pending error (ECONNREFUSED
// for port unreachable), as Linux does: icmp4-input (package icmp), fed by
// ip4-local with the host's ICMP messages other than echo, hands it to the
// transport registered for the quoted protocol.
//
// # Send
//
// The application builds the whole packet (a placeholder Ethernet header,
// IPv4 and UDP headers with checksums, the payload) in a buffer of its own,
// pushes the index onto the socket's transmit ring on its home worker and
// sets the socket's bit in that worker's two-level "pending" bitmap. The
// udp4-socket-output input node reads one summary word per pass and, only
// when it is non-zero, drains the rings of the sockets whose bits are set
// into ip4-lookup: its cost is O(sockets with pending data). A worker that
// goes to sleep is woken through TxWaiter's eventfd, which applications
// write only after the worker announced the sleep, so a busy worker costs
// senders no system call.
//
// # Buffers and threads
//
// Worker-side code (the nodes, handlers) allocates and frees through the
// worker's pkt.Cache. Application-side code (Socket methods, any goroutine)
// allocates and frees through one pkt.Cache per Stack guarded by a mutex.
// A buffer on a ring belongs to the ring's consumer once published.
//
// Closing a socket or removing a handler publishes a table without it and
// then waits for a grace period: every worker has left the stack's nodes at
// least once (a per-worker sequence counter, odd while inside), so no worker
// still holds the old endpoint; only then are the rings drained and the
// endpoint id reused.
//
// # TCP
//
// With Config.TCP, each worker has a tcp.Engine (package stack/tcp) and
// two more nodes (package stack/tcp/tcpnode). tcp4-input, fed by ip4-local with the host's TCP,
// bounds the segment by the IP length, verifies the checksum unless the
// driver set pkt.FlagL4ChecksumOK, hands the vector's segments to the
// engine in one Engine.Input call and frees the buffers; the engine's
// counters are added to the node's (show errors). The engine's Output
// builds each segment it sends in a packet buffer behind a placeholder
// Ethernet and an IPv4 header: on the worker (Input, the node's Tick) from
// the worker's cache, enqueued straight to ip4-lookup; for an
// application's call (Write, Read's window update, Close ...) from a cache
// of the engine's, queued for the tcp4-output input node, which the call
// wakes like a socket send. One mutex per engine serialises the worker
// (taken once per vector, per tick and per tcp4-output pass that has
// work) and the applications (once per call); the engine's Notify turns
// readiness into one-slot channel signals for the waiters in package sock.
// tcpnode.TCP.Listen listens on every worker's engine (a connection stays on the
// worker that got its SYN); Dial opens on the first worker (with
// several workers the answer must be steered to its queue, which nothing
// does yet).
//
// tcpnode.TCP.Handle is the in-graph alternative for run-to-completion servers
// (tcpapp.go): a Handler's OnAccept, OnData, OnWritable and OnClose run
// on the worker, inside tcp4-input's vector (or its tick) after the
// engine's Input, with the engine's lock already held; OnData is given the
// received bytes in place (tcp.Conn.ReceiveView) and GraphConn.Write
// sends the reply at once from the worker's cache. Such connections hold
// their pure ACKs (tcp.Conn.SetHoldACKs) until the handlers ran, so a
// reply carries the ACK; a handler that panics has its connection reset
// and counted (handler_panic).
package stack
