// Package xdpprog builds, loads and attaches the XDP program that steers
// data-plane traffic into AF_XDP sockets.
//
// The program is assembled in Go with cilium/ebpf's asm package (no C
// compiler, no generated objects). It owns two maps:
//
//	xsks   XSKMAP, one slot per device queue: the AF_XDP socket of that queue
//	addrs  hash of IPv4 address (network byte order) → 1: the data plane's own
//	       addresses (absent when the match is All)
//
// For each frame it decides "ours" or "the kernel's". Ours is redirected with
// bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS): when no socket sits
// in the queue's slot, the XDP_PASS in the flags hands the frame to the
// kernel. Everything else returns XDP_PASS, so taking a port never cuts the
// host off the network.
//
// A frame is ours when the Match is All, or when it is
//
//   - IPv4 to one of Match.DstIP, of protocol Match.Proto (if set), to
//     destination port Match.DstPort (if set; the port is read only from the
//     first fragment, later fragments go to the kernel), or
//   - ARP (Ethernet/IPv4) whose target protocol address is one of
//     Match.DstIP, whatever Proto and DstPort say, so the data plane answers
//     ARP for its own addresses.
//
// One VLAN tag (802.1Q or 802.1ad) and an 802.1Q tag after it (QinQ) are
// looked through, as VLAN sub-interfaces take them (the match applies to
// the inner EtherType); deeper stacks go to the kernel. Every read is preceded
// by a bounds check against data_end, as the verifier requires.
//
// Attach with [Program.Attach] creates a bpf_link: the kernel detaches the
// program when the link's last file descriptor closes, so a process that
// crashes or is killed leaves no program behind.
package xdpprog
