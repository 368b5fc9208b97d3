package mem

import "github.com/vecnet/vecnet/pkt"

// chance reports true with probability prob, drawing from the port's PCG.
func (p *Port) chance(prob float64) bool {
	if prob <= 0 {
		return false
	}
	return float64(p.rng.Uint64()>>11)*0x1p-53 < prob
}

// intn returns a number in [0, n) for 0 < n < 1<<32 (multiply-shift; the
// bias is far below what a test can see).
func (p *Port) intn(n int) int {
	return int((p.rng.Uint64() >> 32) * uint64(n) >> 32)
}

// reorder swaps neighbours of idx with probability Reorder; a frame that
// moved is not considered again, so each swap is one reordering event.
func (p *Port) reorder(idx []pkt.Index) {
	for k := 0; k+1 < len(idx); k++ {
		if p.chance(p.cfg.Reorder) {
			idx[k], idx[k+1] = idx[k+1], idx[k]
			p.faults.Reordered++
			k++
		}
	}
}

// sendFaulty transmits one frame through the fault model and reports false
// if the link was full. A lost frame counts as transmitted.
func (p *Port) sendFaulty(pr *producer, d []byte) bool {
	if p.chance(p.cfg.Loss) {
		p.faults.Lost++
		return true
	}
	if !pr.put(d) {
		return false
	}
	if len(d) > 0 && p.chance(p.cfg.Corrupt) {
		f := pr.last()
		f[p.intn(len(f))] ^= byte(1 + p.intn(255))
		p.faults.Corrupted++
	}
	if len(d) > 0 && p.chance(p.cfg.Truncate) {
		pr.setLastLen(p.intn(len(d)))
		p.faults.Truncated++
	}
	if p.chance(p.cfg.Duplicate) && pr.put(pr.last()) {
		p.faults.Duplicated++
	}
	return true
}
