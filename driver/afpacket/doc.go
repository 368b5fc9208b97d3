// Package afpacket is a driver.Port over Linux AF_PACKET sockets, for
// interfaces where AF_XDP is unavailable.
//
// Each port is one AF_PACKET socket bound to the device with two rings
// mapped into the process:
//
//   - RX, Config.Ring = RingBlocks (the default): a TPACKET_V3 block ring.
//     The kernel fills blocks of Config.BlockSize bytes with variable-size
//     frames and hands a block over (block_status TP_STATUS_USER) when it
//     is full or when Config.RetireTimeout passes. Recv walks ready blocks
//     frame by frame without a system call, copies each frame into a fresh
//     pkt buffer at pkt.Headroom (a copy is inherent: the ring is not
//     pkt.Arena memory), and hands a block back only once every frame in it
//     has been consumed. The most frames per second, but at low rates each
//     frame waits for the retire timer: 1 ms at least.
//   - RX, Config.Ring = RingFrames: a TPACKET_V2 frame ring of
//     BlockSize/RxFrameSize*Blocks slots. The kernel writes each frame into
//     the next free slot, marks it TP_STATUS_USER and wakes the socket at
//     once: no receive latency of its own (p50 round trip through the
//     router 118 µs instead of 1.2 ms on the bench rig), but each frame
//     takes a slot of its own, and the forwarding rate was about half of
//     RingBlocks' on this class of machine (BENCHMARKS.md 9d). A frame
//     larger than a slot (a GSO super-frame of up to 64 KiB, a jumbo frame)
//     comes with PACKET_COPY_THRESH: its head in the slot, marked
//     TP_STATUS_COPY, the whole frame queued on the socket, where Recv
//     reads it with one recvfrom into the port's own buffer.
//   - Offloads: the socket has PACKET_VNET_HDR, so each RX frame comes with
//     a virtio_net_hdr (the kernel writes it just before tp_mac, or first
//     in what recvfrom returns). A peer at its default offloads hands the
//     link TSO/GSO super-frames and frames whose L4 checksum is partial;
//     Recv segments the former and completes the latter with package
//     offload while copying into slots, and marks what it checked with
//     pkt.FlagL4ChecksumOK. Each TX frame starts with a zero
//     virtio_net_hdr (no offload asked).
//   - TX: a frame ring of Config.TxFrames slots of Config.FrameSize bytes.
//     Send copies a vector into consecutive free slots, marks them
//     TP_STATUS_SEND_REQUEST and flushes them with one sendto(MSG_DONTWAIT):
//     one system call per vector. PACKET_QDISC_BYPASS hands frames straight
//     to the driver.
//
// PACKET_IGNORE_OUTGOING keeps a port from receiving its own transmissions,
// and the device is put in promiscuous mode (PACKET_MR_PROMISC) because the
// data plane answers to its own MAC address, distinct from the kernel's: the
// kernel stack also processes every frame addressed to its own MAC and IP,
// which halves AF_PACKET throughput on this class of machine.
//
// With Config.Queues > 1 the sockets join one PACKET_FANOUT group in
// PACKET_FANOUT_HASH mode: the kernel spreads frames by flow hash, so a flow
// always reaches the same port and therefore the same worker, which keeps
// per-flow order and lets per-worker flow state (NAT, stateful ACL) work
// without sharing. (PACKET_FANOUT_CPU would follow the CPU that ran the
// receive softirq instead, which reorders flows when that CPU changes.)
//
// A Port is owned by one worker and is not safe for concurrent use; an
// Interface's Ports may each be driven by a different worker.
package afpacket
