package tcp

// Counter indexes Engine.Counters. The Err counters name why a segment was
// dropped (VPP's "show errors"); the Stat counters count protocol events.
type Counter int

// Counters.
const (
	ErrBadHeader           Counter = iota // data offset out of bounds
	ErrFamily                             // address family not supported
	ErrBadOptions                         // malformed TCP options
	ErrBadFlags                           // SYN with FIN or RST
	ErrNoConnection                       // no connection or listener (answered with RST)
	ErrOutOfWindow                        // sequence number outside the receive window
	ErrPAWS                               // timestamp older than TS.Recent (RFC 7323 PAWS)
	ErrBadACK                             // ACK outside what was sent
	ErrRSTInvalid                         // RST outside the window, dropped
	ErrNoACK                              // segment without ACK in a synchronized state
	ErrBacklogFull                        // SYN dropped: listener backlog full, no cookies
	ErrBadCookie                          // ACK to a listener with no valid SYN cookie
	ErrNoBuffer                           // Output had no buffer
	ErrBudget                             // buffer budget exhausted: connection refused
	ErrChallengeACKLimited                // challenge ACK suppressed by the rate limit
	ErrDataAfterClose                     // data for a closed socket (answered with RST)
	ErrICMPBadQuote                       // ICMP error quoting no TCP segment the engine can read (each engine offered it counts it)
	ErrICMPBadSeq                         // ICMP error quoting a sequence number outside SND.UNA..SND.NXT (RFC 5927)
	ErrPMTUIgnored                        // packet too big with an MTU below the minimum or not below the path MTU
	StatChallengeACK                      // challenge ACKs sent (RFC 5961)
	StatRetransmit                        // segments retransmitted
	StatTimeout                           // retransmission timeouts
	StatFastRetransmit                    // fast retransmits (3 duplicate ACKs or SACK loss)
	StatSynCookieSent                     // SYN-ACKs carrying a cookie
	StatSynCookieOK                       // connections made from a valid cookie
	StatZeroWindowProbe                   // zero-window probes sent
	StatKeepalive                         // keepalive probes sent
	StatRSTSent                           // resets sent
	StatOutOfOrder                        // segments queued out of order
	StatTimeWaitReuse                     // TIME_WAIT connections replaced by a new SYN
	StatTailLossProbe                     // tail loss probes sent (RFC 8985 section 7)
	StatLostRetransmit                    // retransmissions found lost by later data's SACK (RFC 8985's rule), resent without an RTO
	StatPMTU                              // path MTU lowered by an ICMP fragmentation needed or packet too big
	StatICMPAbort                         // connects aborted by an ICMP port or protocol unreachable
	StatICMPSoftError                     // ICMP unreachables recorded as a connection's soft error
	StatRACKLost                          // sent ranges found lost by RACK's time-based rule (RFC 8985 section 6.2)
	StatReorderTimeout                    // RACK reordering timer expiries (RFC 8985 section 6.3)
	StatDSACK                             // D-SACKs received: data the peer got twice (RFC 2883)
	NumCounters                           // number of counters
)

var counterNames = [NumCounters]string{
	"bad-header", "not-ipv4", "bad-options", "bad-flags", "no-connection", "out-of-window", "paws",
	"bad-ack", "rst-invalid", "no-ack", "backlog-full", "bad-cookie", "no-buffer", "budget",
	"challenge-ack-limited", "data-after-close", "icmp-bad-quote", "icmp-bad-seq", "pmtu-ignored",
	"challenge-ack", "retransmit", "timeout", "fast-retransmit", "syn-cookie-sent", "syn-cookie-ok",
	"zero-window-probe", "keepalive", "rst-sent", "out-of-order", "time-wait-reuse",
	"tail-loss-probe", "lost-retransmit", "pmtu", "icmp-abort", "icmp-soft-error",
	"rack-lost", "reorder-timeout", "dsack",
}

// String returns the counter's name.
func (c Counter) String() string {
	if c < 0 || c >= NumCounters {
		return "unknown"
	}
	return counterNames[c]
}

// Budget is a worker's buffer budget in bytes, shared by its connections:
// each reserves its send and receive buffers when it is made and returns
// them when it leaves, so a worker's connections never hold more than the
// budget. It is used by one worker only.
type Budget struct {
	limit, used int
}

// NewBudget returns a budget of limit bytes.
func NewBudget(limit int) *Budget { return &Budget{limit: limit} }

// Used returns the bytes reserved.
func (b *Budget) Used() int { return b.used }

func (b *Budget) reserve(n int) bool {
	if b.used+n > b.limit {
		return false
	}
	b.used += n
	return true
}

func (b *Budget) release(n int) { b.used -= n }
