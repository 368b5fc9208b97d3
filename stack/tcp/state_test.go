package tcp

import (
	"github.com/vecnet/vecnet/wire"
	"testing"
)

// Setups bring a connection into a state and freeze the link (everything
// sent from then on is recorded and dropped), so that a crafted segment is
// the only input.
type setup func(t *testing.T) (*link, *Conn)

// frozenCfg is the configuration setups use (the fuzz target turns
// timestamps on).
var frozenCfg = Config{NoTimestamps: true}

func frozen(t *testing.T) *link {
	l := newLink(t, 42, frozenCfg)
	l.record = true
	return l
}

func inSynSent(t *testing.T) (*link, *Conn) {
	l := frozen(t)
	l.blackhole()
	c, err := l.hosts[0].e.Dial(l.ap(0, 40000), l.ap(1, 80))
	if err != nil {
		t.Fatal(err)
	}
	return l, c
}

func inSynReceived(t *testing.T) (*link, *Conn) {
	l := frozen(t)
	if _, err := l.hosts[1].e.Listen(l.ap(1, 80), 4); err != nil {
		t.Fatal(err)
	}
	l.drop = func(from int, _ wire.TCP) bool { return from == 1 } // the SYN-ACK is lost
	if _, err := l.hosts[0].e.Dial(l.ap(0, 40000), l.ap(1, 80)); err != nil {
		t.Fatal(err)
	}
	l.step()
	l.blackhole()
	return l, l.serverConn(t, 1)
}

func inEstablished(t *testing.T) (*link, *Conn) {
	l := frozen(t)
	c, _, _ := l.connect(t, 80)
	l.blackhole()
	return l, c
}

func inFinWait1(t *testing.T) (*link, *Conn) {
	l, c := inEstablished(t)
	c.CloseWrite()
	return l, c
}

func runTo(t *testing.T, l *link, c *Conn, s State) {
	t.Helper()
	if !l.run(10e9, func() bool { return c.State() == s }, nil) {
		t.Fatalf("state %v, want %v", c.State(), s)
	}
	l.blackhole()
}

func inFinWait2(t *testing.T) (*link, *Conn) {
	l := frozen(t)
	c, _, _ := l.connect(t, 80)
	c.CloseWrite()
	runTo(t, l, c, StateFinWait2)
	return l, c
}

func inCloseWait(t *testing.T) (*link, *Conn) {
	l := frozen(t)
	c, s, _ := l.connect(t, 80)
	s.CloseWrite()
	runTo(t, l, c, StateCloseWait)
	return l, c
}

func inLastAck(t *testing.T) (*link, *Conn) {
	l, c := inCloseWait(t)
	c.CloseWrite()
	return l, c
}

func inClosing(t *testing.T) (*link, *Conn) {
	l, c := inFinWait1(t)
	l.inject(c, segFields{seq: c.rcvNxt, ack: c.sndMax - 1, flags: flagFIN | flagACK, wnd: 1000})
	if c.State() != StateClosing {
		t.Fatalf("state %v", c.State())
	}
	return l, c
}

func inTimeWait(t *testing.T) (*link, *Conn) {
	l := frozen(t)
	c, s, _ := l.connect(t, 80)
	c.CloseWrite()
	s.CloseWrite()
	runTo(t, l, c, StateTimeWait)
	return l, c
}

func TestStateTransitions(t *testing.T) {
	const A, S, F, R = flagACK, flagSYN, flagFIN, flagRST
	cases := []struct {
		name  string
		from  setup
		flags uint8
		dSeq  int // from rcvNxt
		dAck  int // from sndMax
		data  int
		want  State
		reply uint8 // flags of the answer; 0: none
		err   error
	}{
		{"syn-sent/syn-ack", inSynSent, S | A, 5000, 0, 0, StateEstablished, A, nil},
		{"syn-sent/syn (simultaneous open)", inSynSent, S, 5000, 0, 0, StateSynReceived, S | A, nil},
		{"syn-sent/rst-ack (refused)", inSynSent, R | A, 0, 0, 0, StateClosed, 0, ErrRefused},
		{"syn-sent/rst without ack ignored", inSynSent, R, 0, 0, 0, StateSynSent, 0, nil},
		{"syn-sent/bad ack", inSynSent, A, 0, 100, 0, StateSynSent, R, nil},
		{"syn-received/ack", inSynReceived, A, 0, 0, 0, StateEstablished, 0, nil},
		{"syn-received/bad ack", inSynReceived, A, 0, 7, 0, StateSynReceived, R, nil},
		{"syn-received/rst", inSynReceived, R, 0, 0, 0, StateClosed, 0, ErrReset},
		{"syn-received/syn again", inSynReceived, S, -1, 0, 0, StateSynReceived, S | A, nil},
		{"established/data", inEstablished, A, 0, 0, 100, StateEstablished, 0, nil},
		{"established/fin", inEstablished, F | A, 0, 0, 0, StateCloseWait, A, nil},
		{"established/data+fin", inEstablished, F | A, 0, 0, 10, StateCloseWait, A, nil},
		{"established/out-of-order fin waits", inEstablished, F | A, 10, 0, 0, StateEstablished, A, nil},
		{"established/rst exact", inEstablished, R, 0, 0, 0, StateClosed, 0, ErrReset},
		{"established/rst in window: challenge", inEstablished, R, 100, 0, 0, StateEstablished, A, nil},
		{"established/rst out of window dropped", inEstablished, R, 1 << 30, 0, 0, StateEstablished, 0, nil},
		{"established/syn: challenge", inEstablished, S, 0, 0, 0, StateEstablished, A, nil},
		{"established/syn-ack old: challenge", inEstablished, S | A, -1, 0, 0, StateEstablished, A, nil},
		{"established/ack of unsent", inEstablished, A, 0, 10, 0, StateEstablished, A, nil},
		{"established/ack too old: challenge", inEstablished, A, 0, -1 << 20, 0, StateEstablished, A, nil},
		{"established/data out of window", inEstablished, A, 1 << 30, 0, 10, StateEstablished, A, nil},
		{"established/old duplicate data", inEstablished, A, -50, 0, 10, StateEstablished, A, nil},
		{"established/no ack flag", inEstablished, 0, 0, 0, 10, StateEstablished, 0, nil},
		{"fin-wait-1/ack of fin", inFinWait1, A, 0, 0, 0, StateFinWait2, 0, nil},
		{"fin-wait-1/fin (simultaneous close)", inFinWait1, F | A, 0, -1, 0, StateClosing, A, nil},
		{"fin-wait-1/fin+ack of fin", inFinWait1, F | A, 0, 0, 0, StateTimeWait, A, nil},
		{"fin-wait-1/data still read", inFinWait1, A, 0, -1, 10, StateFinWait1, 0, nil},
		{"fin-wait-2/fin", inFinWait2, F | A, 0, 0, 0, StateTimeWait, A, nil},
		{"close-wait/ack", inCloseWait, A, 0, 0, 0, StateCloseWait, 0, nil},
		{"close-wait/rst", inCloseWait, R, 0, 0, 0, StateClosed, 0, ErrReset},
		{"closing/ack of fin", inClosing, A, 0, 0, 0, StateTimeWait, 0, nil},
		{"closing/rst", inClosing, R, 0, 0, 0, StateClosed, 0, nil},
		{"last-ack/ack of fin", inLastAck, A, 0, 0, 0, StateClosed, 0, nil},
		{"last-ack/old ack", inLastAck, A, 0, -1, 0, StateLastAck, 0, nil},
		{"time-wait/fin again", inTimeWait, F | A, -1, 0, 0, StateTimeWait, A, nil},
		{"time-wait/rst", inTimeWait, R, 0, 0, 0, StateClosed, 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, c := tc.from(t)
			sent := l.inject(c, segFields{seq: c.rcvNxt.Add(tc.dSeq), ack: c.sndMax.Add(tc.dAck), flags: tc.flags,
				wnd: 1000, payload: make([]byte, tc.data)})
			if c.State() != tc.want {
				t.Fatalf("state %v, want %v", c.State(), tc.want)
			}
			var got uint8
			if len(sent) > 0 {
				got = sent[len(sent)-1].Flags() &^ flagPSH
			}
			if got != tc.reply {
				t.Fatalf("answer flags %#x, want %#x (%d segments)", got, tc.reply, len(sent))
			}
			if c.Err() != tc.err {
				t.Fatalf("err %v, want %v", c.Err(), tc.err)
			}
			checkInvariants(t, c)
		})
	}
}
