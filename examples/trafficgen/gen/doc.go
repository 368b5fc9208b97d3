// Package gen is vecnet's traffic generator and sink: it crafts
// Ethernet/IPv4/UDP test frames once into the buffers of a packet arena,
// sends them at a target or maximum rate over AF_XDP (a TX-only socket in
// copy mode, frames prebuilt in the UMEM) or AF_PACKET (sendmmsg with
// PACKET_QDISC_BYPASS), and counts them at the far end.
//
// Every frame carries Magic and a 64-bit sequence number at the start of
// its UDP payload. A sender rewrites only the sequence number per frame and
// patches the UDP checksum incrementally (RFC 1624), so frames stay valid.
//
// Two sinks: [XDPCounter], an XDP program that drops every frame in the
// driver and counts it in a per-CPU array (the cheapest sink, for
// benchmarks: the kernel does no protocol work), and [PacketSink], an
// AF_PACKET receiver that checks the magic and tracks sequence gaps,
// reorders and duplicates with a sliding bitmap ([SeqTracker]), for tests.
//
// A Sender or sink is driven by one goroutine; the counters they return
// are plain values.
package gen
