// Package tap is a driver.Port over a Linux TAP device (/dev/net/tun with
// IFF_TAP|IFF_NO_PI), for interop with the kernel stack and for the punt
// path: frames the data plane sends appear as received on the kernel's tap
// interface, and frames the kernel transmits on it are what the port
// receives.
//
// Each read(2) or write(2) on a TAP descriptor moves exactly one frame, so
// Recv and Send make one system call per frame, which bounds a queue at
// roughly 0.5 Mpps receive and 0.2 Mpps transmit on this class of machine.
//
// The device is opened with IFF_VNET_HDR and TUNSETOFFLOAD (checksum, TSOv4
// with ECN, USOv4): the kernel hands TCP and UDP super-frames of up to
// 64 KiB and partial checksums over as they are, described by the
// virtio_net_hdr before each frame, instead of segmenting and summing them
// in software on its side. Recv reads a frame into the port's read buffer
// and delivers it with package offload: segmented into slots, checksum
// completed, or copied whole (one copy of at most a slot: the syscall
// dominates). Send pushes a zero virtio_net_hdr into the packet's headroom.
//
// With Config.Queues > 1 the device is opened with IFF_MULTI_QUEUE, one
// descriptor per queue; the kernel spreads its transmissions over the
// queues by flow.
//
// The data plane uses its own MAC address on the link (Interface.MAC),
// distinct from the kernel tap interface's, as a real peer on a wire would.
//
// A Port is owned by one worker and is not safe for concurrent use.
package tap
