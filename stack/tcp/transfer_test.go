package tcp

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// pipe writes data into w (then CloseWrite) and reads r to the end of the
// stream; pump does one round of both, done reports the end.
type pipe struct {
	w, r   *Conn
	data   []byte
	off    int
	got    bytes.Buffer
	eof    bool
	err    error
	closed bool
	buf    [8192]byte
}

func (p *pipe) pump() {
	for p.off < len(p.data) {
		n, err := p.w.Write(p.data[p.off:min(len(p.data), p.off+20000)])
		p.off += n
		if err != nil {
			break
		}
	}
	if p.off == len(p.data) && !p.closed {
		p.closed = true
		p.w.CloseWrite()
	}
	for !p.eof && p.err == nil {
		n, err := p.r.Read(p.buf[:])
		p.got.Write(p.buf[:n])
		switch {
		case err == ErrWouldBlock:
			return
		case err != nil:
			p.err = err
		case n == 0:
			p.eof = true
		}
	}
}

func (p *pipe) done() bool { return p.eof || p.err != nil }

func randomData(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestBulkTransfer(t *testing.T) {
	cases := []struct {
		name                      string
		loss, dup, reorder, noBuf float64
		cfg                       Config
		size                      int
		seed                      uint64
	}{
		{name: "clean", size: 4 << 20, seed: 1},
		{name: "loss1%", loss: 0.01, size: 4 << 20, seed: 2},
		{name: "loss5%", loss: 0.05, size: 2 << 20, seed: 3},
		{name: "loss5%-reorder-dup", loss: 0.05, dup: 0.02, reorder: 0.05, size: 2 << 20, seed: 4},
		{name: "loss1%-newreno-nosack", loss: 0.01, size: 2 << 20, seed: 5, cfg: Config{Congestion: NewReno, NoSACK: true}},
		{name: "loss5%-newreno-nosack-nots", loss: 0.05, size: 1 << 20, seed: 6, cfg: Config{Congestion: NewReno, NoSACK: true, NoTimestamps: true}},
		{name: "loss1%-no-buffer2%", loss: 0.01, noBuf: 0.02, size: 1 << 20, seed: 8},
		{name: "small-buffers", loss: 0.02, size: 1 << 20, seed: 7, cfg: Config{SendBuffer: 8 << 10, RecvBuffer: 6 << 10}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLink(t, tc.seed, tc.cfg)
			c, s, _ := l.connect(t, 80)
			l.loss, l.dup, l.reorder, l.noBuf = tc.loss, tc.dup, tc.reorder, tc.noBuf
			data := randomData(tc.seed, tc.size)
			p := &pipe{w: c, r: s, data: data}
			start := l.clock.t
			if !l.run(600e9, p.done, p.pump) {
				t.Fatalf("transfer stalled at %d/%d bytes written, %d read; client %v una %d nxt %d wnd %d cwnd %d",
					p.off, len(data), p.got.Len(), c.State(), c.sndUna-c.iss, c.sndNxt-c.iss, c.sndWnd, c.cc.cwnd)
			}
			if p.err != nil {
				t.Fatalf("read error %v", p.err)
			}
			if sha256.Sum256(p.got.Bytes()) != sha256.Sum256(data) {
				t.Fatalf("received %d bytes, hash differs from the %d sent", p.got.Len(), len(data))
			}
			el := float64(l.clock.t-start) / 1e9
			ec := &l.hosts[0].e.Counters
			t.Logf("%d bytes in %.2fs virtual (%.1f Mbit/s), dropped %d, retransmits %d, fast %d, timeouts %d",
				len(data), el, float64(len(data))*8/el/1e6, l.dropped, ec[StatRetransmit], ec[StatFastRetransmit], ec[StatTimeout])
		})
	}
}

// BenchmarkLossSweep moves 1 MiB over the simulated link for 30 seeds per
// fault mix and reports the virtual time and the sender's retransmissions,
// timeouts and probes per transfer (deterministic figures, BENCHMARKS.md
// 6d): go test -run X -bench LossSweep -benchtime 1x ./stack/tcp
func BenchmarkLossSweep(b *testing.B) {
	for _, tc := range []struct {
		name               string
		loss, dup, reorder float64
	}{{"loss1%", 0.01, 0, 0}, {"loss5%", 0.05, 0, 0}, {"loss5%-reorder5%-dup2%", 0.05, 0.02, 0.05}} {
		b.Run(tc.name, func(b *testing.B) {
			var vt float64
			var ec [NumCounters]uint64
			n := 0
			for b.Loop() {
				for seed := uint64(100); seed < 130; seed++ {
					l := newLink(b, seed, Config{})
					c, s, _ := l.connect(b, 80)
					l.loss, l.dup, l.reorder = tc.loss, tc.dup, tc.reorder
					data := randomData(seed, 1<<20)
					p := &pipe{w: c, r: s, data: data}
					start := l.clock.t
					if !l.run(600e9, p.done, p.pump) {
						b.Fatal("transfer stalled")
					}
					vt += float64(l.clock.t-start) / 1e9
					for i, v := range l.hosts[0].e.Counters {
						ec[i] += v
					}
					n++
				}
			}
			b.ReportMetric(vt/float64(n), "virtual-s/transfer")
			b.ReportMetric(float64(ec[StatRetransmit])/float64(n), "retransmits/transfer")
			b.ReportMetric(float64(ec[StatTimeout])/float64(n), "timeouts/transfer")
			b.ReportMetric(float64(ec[StatTailLossProbe])/float64(n), "probes/transfer")
		})
	}
}
