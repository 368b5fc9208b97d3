// Package tcp is vecnet's TCP (RFC 9293) protocol engine: one Engine per
// worker holds that worker's connections and listeners and shares nothing
// with other workers (Seastar, mTCP), so nothing in it takes a lock. It is
// a library of its own; package stack wires it into the graph (its
// tcp4-input node validates the checksum and hands the engine a vector of
// segments, Engine.Input; its Output gives the engine a buffer, the engine
// writes the TCP header, options, payload and checksum, the stack adds IP
// and sends), and package sock turns the readiness callbacks
// (Config.Notify) into waiters under net.Conn. IPv4 and IPv6 are handled
// (tcp6-input; connection keys of 16-byte addresses, checksums and MSS per
// family).
//
// # What is built
//
//   - The state machine of RFC 9293 section 3.10: active and passive open,
//     simultaneous open and close, half-close (CloseWrite), TIME-WAIT for
//     2*MSL with safe reuse by a SYN above the old sequence space or with
//     a newer timestamp (RFC 6191), abort (RST), and RST and SYN checks
//     with challenge ACKs under a global rate limit (RFC 5961). ISNs are
//     RFC 6528's (a 4 µs clock plus a keyed SHA-256 of the 4-tuple).
//   - Options (wire/tcpopt.go): MSS, window scaling and timestamps with
//     PAWS and RTT measurement (RFC 7323), SACK-permitted and SACK blocks
//     (RFC 2018).
//   - ICMP errors (icmp.go, Engine.ICMPError, fed by package icmp through
//     tcpnode), validated as RFC 5927 asks (quoted sequence number in
//     SND.UNA..SND.NXT): fragmentation needed (RFC 1191, with its plateau
//     table when the MTU field is 0) and IPv6 packet too big (RFC 8201)
//     lower the MSS and resend the flight at the new size (DF stays set;
//     MTUs below 576/1280 or not below the path's are ignored); port and
//     protocol unreachable abort a connect (RFC 1122 4.2.3.9); the other
//     unreachables are soft errors, the error of a later timeout (Linux's
//     sk_err_soft) unless data was acknowledged since.
//   - Data: per-connection send and receive byte rings reserved from a
//     per-worker Budget; the window advertised is the receive ring's free
//     space (so a slow reader throttles its sender and never drains a
//     pool); out-of-order data is kept in the ring and SACKed; receiver and
//     sender silly window avoidance; Nagle (on by default, SetNoDelay);
//     delayed ACKs (every second segment, or DelayedACK later; the ACKs
//     of one input vector are coalesced, up to 64 KiB each, as Linux's GRO
//     does; duplicate ACKs are not coalesced).
//   - Loss: RTO per RFC 6298 with Karn's rule and exponential backoff;
//     fast retransmit and NewReno recovery (RFC 6582) with Limited
//     Transmit (RFC 3042); with SACK, RACK-TLP (RFC 8985, rack.go) beside
//     RFC 6675 loss recovery (IsLost, pipe, NextSeg rules 1 and 2). RACK
//     keeps the send time of what is in flight (ranges in a fixed array
//     per connection: what one entry point sends shares a time; split at
//     SACK edges and retransmissions, merged by nearest send time when
//     full), with a retransmitted flag for Karn's rule; the most
//     recently sent segment delivered gives RACK.xmit_ts and RACK.rtt, a
//     segment sent before it is lost once RACK.rtt plus the reordering
//     window (a quarter of the minimum RTT; none in a recovery until
//     reordering was seen; times the rounds of D-SACKs, RFC 8985 6.2)
//     has passed since it was sent, and the reordering timer fires when
//     the next suspect's window ends. Lost segments (lost
//     retransmissions too) start or continue a recovery, and NextSeg
//     resends them first, without waiting for three duplicate ACKs or
//     the RTO; pipe leaves them out. Tail loss probes (section 7) are
//     sent when no reordering timer is armed. The receiver reports data
//     it got twice with a D-SACK block (RFC 2883), and the sender counts
//     the D-SACKs it receives. Congestion control is CUBIC (RFC 9438)
//     with NewReno as the alternative (Config.Congestion); slow start
//     counts the bytes acknowledged, as coalesced ACKs need.
//   - Timers: zero-window probes and the sender SWS override (persist
//     timer with backoff), keepalive (SetKeepAlive), FIN-WAIT-2 timeout.
//     Time is injected (Config.Clock); a connection's earliest deadline is
//     an entry in a timer wheel of 1 ms slots that Tick runs (NextDeadline
//     says when the next is due). The engine starts no goroutine and never
//     reads the wall clock.
//   - Listeners with a bounded backlog (SYN-RECEIVED plus not yet
//     accepted) and, past it, SYN cookies (Config.SynCookies) carrying the
//     MSS; a connection made from a cookie has no window scaling, SACK or
//     timestamps.
//   - Demux: an open-addressed hash table keyed by the 4-tuple with a
//     secret seed; listeners by port. Errors are named counters
//     (Engine.Counters, Counter.String), like VPP's "show errors".
//   - No allocation per segment in steady state (data in, ACK out); closed
//     connections' ring buffers serve the next ones (bufpool.go), and
//     TIME-WAIT keeps none once all was read.
//   - For run-to-completion applications (view.go): the received bytes in
//     place (ReceiveView, Consume) and pure ACKs held until the
//     application answered (SetHoldACKs, FlushACKs).
//
// # What is not (yet)
//
// Urgent data (the URG flag and pointer are ignored); F-RTO and undo of
// spurious retransmissions (a D-SACK only widens RACK's reordering
// window); RACK-TLP's detection of losses repaired by a probe (RFC 8985
// section 7.4: no window reduction follows); a tail loss probe within a
// recovery (so a retransmission lost with all that was sent after it
// still waits for the RTO); RFC 6675 rule 3 and 4 of NextSeg; ECN; a
// positive linger time (the socket layer's to wait for); port allocation
// for Dial (the stack's DialTCP picks ephemeral ports). A learnt path MTU
// lives in its connection only (no per-destination cache, so the next
// connection learns it again), is never raised again (RFC 1191 section
// 6.3's periodic increase, RFC 4821's PLPMTUD), and a black hole that
// sends no ICMP stalls the connection; ICMP errors do not revert the RTO
// backoff (RFC 6069); ICMP source quench and time exceeded are ignored.
//
// # Threads
//
// Nothing in the engine is safe for concurrent use: Input, Tick and the
// Conn and Listener methods must be serialised. Package stack does it with
// one mutex per engine, which the worker takes once per vector or tick and
// applications take for each call. Calls made on the worker right after
// an entry point (in-graph handlers) can be deferred to one output batch
// (DeferCalls, FlushACKs).
package tcp
