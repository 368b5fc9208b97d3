package tcp

// rttSample folds a round-trip time measurement r (ns) into the estimator
// and recomputes the retransmission timeout (RFC 6298 section 2).
func (c *Conn) rttSample(r int64) {
	if r <= 0 {
		r = 1
	}
	if c.srtt == 0 {
		c.srtt, c.rttvar = r, r/2
	} else {
		d := c.srtt - r
		if d < 0 {
			d = -d
		}
		c.rttvar = (3*c.rttvar + d) / 4
		c.srtt = (7*c.srtt + r) / 8
	}
	const granularity = int64(1e6) // 1 ms timestamp clock
	c.rto = c.srtt + max(granularity, 4*c.rttvar)
	c.rto = min(max(c.rto, c.e.cfg.MinRTO), c.e.cfg.MaxRTO)
}

// SRTT returns the smoothed round-trip time in ns (0 before a sample).
func (c *Conn) SRTT() int64 { return c.srtt }

// RTO returns the current retransmission timeout in ns.
func (c *Conn) RTO() int64 { return c.rto }
