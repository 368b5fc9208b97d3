package tcp

import "math"

// CongestionAlgorithm selects a connection's congestion control.
type CongestionAlgorithm uint8

// Congestion control algorithms.
const (
	// CUBIC (RFC 9438) in congestion avoidance, with NewReno's slow start
	// and loss recovery; the default.
	CUBIC CongestionAlgorithm = iota
	// NewReno (RFC 5681, RFC 6582).
	NewReno
)

// congestion is a connection's congestion window state. It is a plain
// struct switched on alg, not an interface, so that an ACK costs no
// indirect call.
type congestion struct {
	alg      CongestionAlgorithm
	mss      int
	cwnd     int
	ssthresh int
	acked    int // bytes acknowledged toward the next congestion avoidance increase

	// CUBIC (RFC 9438 section 4), windows in segments, time in seconds.
	wMax       float64
	k          float64
	epochStart int64 // ns; 0: no epoch
	wEst       float64
}

const cubicC, cubicBeta = 0.4, 0.7

func (cc *congestion) init(alg CongestionAlgorithm, mss int) {
	*cc = congestion{alg: alg, mss: mss, ssthresh: math.MaxInt32}
	// Initial window (RFC 5681 section 3.1 with RFC 6928's 10 segments).
	cc.cwnd = 10 * mss
}

// onAck grows the window for acked newly acknowledged bytes outside
// recovery.
func (cc *congestion) onAck(acked int, now, srtt int64) {
	if cc.cwnd < cc.ssthresh {
		// Slow start by the bytes acknowledged (RFC 3465), without the
		// L limit: the engine and its peers coalesce ACKs per vector
		// (stretch ACKs), and a cap at one or two segments per ACK would
		// make slow start linear. It stops at ssthresh.
		cc.cwnd = min(cc.cwnd+acked, max(cc.ssthresh, cc.cwnd))
		return
	}
	if cc.alg == CUBIC {
		cc.cubicAck(acked, now, srtt)
		return
	}
	cc.acked += acked
	if cc.acked >= cc.cwnd {
		cc.acked -= cc.cwnd
		cc.cwnd += cc.mss
	}
}

// cubicAck is RFC 9438's congestion avoidance: the window follows
// W_cubic(t) = C*(t-K)^3 + W_max, and at least the Reno-friendly estimate.
func (cc *congestion) cubicAck(acked int, now, srtt int64) {
	seg := float64(cc.mss)
	cw := float64(cc.cwnd) / seg
	if cc.epochStart == 0 {
		cc.epochStart = now
		if cw < cc.wMax {
			cc.k = math.Cbrt((cc.wMax - cw) / cubicC)
		} else {
			cc.k, cc.wMax = 0, cw
		}
		cc.wEst = cw
	}
	t := float64(now-cc.epochStart+srtt) / 1e9
	target := cubicC*math.Pow(t-cc.k, 3) + cc.wMax
	target = min(max(target, cw), 1.5*cw)
	cc.wEst += 3 * (1 - cubicBeta) / (1 + cubicBeta) * float64(acked) / seg / cw
	if cc.wEst > target {
		target = cc.wEst
	}
	// Grow by (target - cwnd)/cwnd segments per segment acknowledged.
	cc.acked += int(float64(acked) * (target - cw) / cw)
	if cc.acked >= cc.mss {
		cc.cwnd += cc.acked / cc.mss * cc.mss
		cc.acked %= cc.mss
	}
}

// onLoss reduces the window on entering fast recovery, with flight the
// bytes outstanding, and returns the new ssthresh.
func (cc *congestion) onLoss(flight int) {
	if cc.alg == CUBIC {
		cw := float64(cc.cwnd) / float64(cc.mss)
		if cw < cc.wMax {
			cc.wMax = cw * (1 + cubicBeta) / 2 // fast convergence
		} else {
			cc.wMax = cw
		}
		cc.epochStart = 0
		cc.ssthresh = max(int(float64(flight)*cubicBeta), 2*cc.mss)
	} else {
		cc.ssthresh = max(flight/2, 2*cc.mss)
	}
	cc.acked = 0
}

// onTimeout collapses the window to one segment (RFC 5681 section 3.1).
func (cc *congestion) onTimeout(flight int) {
	cc.onLoss(flight)
	cc.cwnd = cc.mss
}
