// Package sock adapts the graph's UDP stack to Go's net interfaces:
// *UDPConn is a net.PacketConn (plus ReadFromUDPAddrPort,
// WriteToUDPAddrPort and batched ReadBatch/WriteBatch) over a udp.Socket;
// one made by DialUDP is connected and is also a net.Conn whose Read and
// Write fail with syscall.ECONNREFUSED after an ICMP port unreachable.
//
// Data path: received datagrams sit on the socket's per-worker lock-free
// rings as packet buffers; a read copies the payload out and frees the
// buffer into the stack's application-side cache (pkt.Cache under a mutex).
// A write allocates a buffer from that cache, builds the IPv4/UDP or
// IPv6/UDP packet (the destination's family) in
// it with checksums and pushes it onto the transmit ring of the socket's
// home worker. Buffers never stay with the application: after Close every
// queued buffer is freed, so the pool's InUse returns to zero.
//
// Blocking: a reader that finds nothing registers as waiting and sleeps on
// a one-slot channel; the worker sends on it only when a reader is waiting
// (once per vector), so the fast path has no channel operation. Deadlines
// are channels closed by a timer; changing a deadline wakes blocked readers
// so they re-evaluate it. Errors are *net.OpError wrapping
// os.ErrDeadlineExceeded or net.ErrClosed as in package net.
//
// IPv6: every constructor takes IPv6 addresses (0.0.0.0 binds IPv4 only,
// :: both families); Listen and ListenPacket take net.Listen's network
// strings (tcp, tcp4, tcp6, udp, udp4, udp6) and Dialer tcp6.
//
// TCP: ListenTCP returns a *TCPListener (net.Listener) and DialTCP (or
// Dialer, for http.Transport.DialContext) a *TCPConn (net.Conn) over the
// stack's TCP engines. Read returns io.EOF after the peer's FIN; a failed
// connection reports *net.OpError wrapping syscall.ECONNREFUSED,
// ECONNRESET or ETIMEDOUT; deadlines and Close behave as above. Readers
// and writers wait on one-slot channels the engine signals at the end of
// the vector or call that changed the connection.
package sock
