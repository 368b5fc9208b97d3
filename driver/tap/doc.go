// Package tap is a driver.Port over a Linux TAP device (/dev/net/tun with
// IFF_TAP|IFF_NO_PI), for interop with the kernel stack and for the punt
// path: frames the data plane sends appear as received on the kernel's tap
// interface, and frames the kernel transmits on it are what the port
// receives.
//
// Each read(2) or write(2) on a TAP descriptor moves exactly one frame, so
// Recv and Send make one system call per frame; that is inherent to TAP
// without IFF_VNET_HDR batching (not used here), and it bounds a queue at
// roughly 0.5 Mpps receive and 0.2 Mpps transmit on this class of machine.
// Recv reads into fresh pkt buffers at pkt.Headroom (no extra copy) until
// the descriptor reports EAGAIN or the vector is full.
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
