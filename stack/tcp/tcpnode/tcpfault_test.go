package tcpnode_test

import (
	"slices"
	"testing"

	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/stack"
	"github.com/vecnet/vecnet/stack/stacktest"
	"github.com/vecnet/vecnet/stack/tcp"
	"github.com/vecnet/vecnet/stack/tcp/tcpnode"
	"github.com/vecnet/vecnet/wire"
)

// TestTCPFault runs a vector of SYNs to a closed port (each answered with a
// RST) through tcp4-input with each fault at certainty: loss drops every
// segment received, duplication doubles them in both directions, reordering
// permutes them in both directions; the stats count each fault, the RSTs
// still answer the SYNs they should, and every buffer returns to the pool
// (the rig's Close checks). Without a fault config nothing is counted.
func TestTCPFault(t *testing.T) {
	const n = 8
	cases := []struct {
		name  string
		fault *stack.TCPFault
		rsts  int
		want  tcpnode.FaultStats
	}{
		{name: "off", rsts: n},
		{name: "loss", fault: &stack.TCPFault{Loss: 1}, rsts: 0, want: tcpnode.FaultStats{RxLost: n}},
		{name: "duplicate", fault: &stack.TCPFault{Duplicate: 1}, rsts: 4 * n,
			want: tcpnode.FaultStats{RxDuplicated: n, TxDuplicated: 2 * n}},
		{name: "reorder", fault: &stack.TCPFault{Reorder: 1}, rsts: n,
			want: tcpnode.FaultStats{RxReordered: n - 1, TxReordered: n / 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := stacktest.New(t, 256, stack.Config{TCP: &tcp.Config{}, TCPFault: tc.fault})
			defer r.Close()
			var idx []pkt.Index
			for k := range n {
				idx = append(idx, tcpFrame(r.Caches[0], tcpPeer, tcpLocal, wire.TCPFlagSYN, uint32(1000*k), nil))
			}
			r.DeliverTo(0, tcpnode.InputName, idx...)
			out := r.TakeLookup()
			if len(out) != tc.rsts {
				t.Fatalf("%d RSTs sent, want %d", len(out), tc.rsts)
			}
			var acks []uint32
			for _, c := range out {
				seg := checkTCPOut(t, c, tcpLocal, tcpPeer)
				if seg.Flags()&wire.TCPFlagRST == 0 {
					t.Fatalf("flags %#x, want RST", seg.Flags())
				}
				acks = append(acks, seg.Ack())
			}
			if got := r.TCP.FaultStats(); got != tc.want {
				t.Errorf("stats %+v, want %+v", got, tc.want)
			}
			if tc.name == "reorder" {
				if slices.IsSorted(acks) {
					t.Errorf("acks %v in order, want reordered", acks)
				}
				slices.Sort(acks)
				for k, a := range acks {
					if a != uint32(1000*k+1) {
						t.Fatalf("acks %v, want each SYN answered once", acks)
					}
				}
			}
		})
	}
}
