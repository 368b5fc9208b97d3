package tcp

import (
	"testing"
)

func TestHandshake(t *testing.T) {
	l := newLink(t, 1, Config{})
	l.record = true
	c, s, _ := l.connect(t, 80)
	if s.State() != StateEstablished || c.MSS() != 1460 || s.MSS() != 1460 {
		t.Fatalf("client %v mss %d, server %v mss %d", c.State(), c.MSS(), s.State(), s.MSS())
	}
	if !c.tsOK || !s.tsOK || !c.sackOK || !s.sackOK || !c.wsOK || c.sndShift != s.rcvShift || s.sndShift != c.rcvShift || c.rcvShift == 0 {
		t.Fatalf("options not negotiated: ts %v/%v sack %v/%v ws %v shift %d/%d", c.tsOK, s.tsOK, c.sackOK, s.sackOK, c.wsOK, c.sndShift, s.rcvShift)
	}
	if c.SRTT() < 9*ms || c.SRTT() > 11*ms {
		t.Fatalf("client SRTT %d, want ~10ms", c.SRTT())
	}
	// SYN, SYN-ACK, ACK and nothing else.
	if len(l.hosts[0].sent) != 2 || len(l.hosts[1].sent) != 1 {
		t.Fatalf("sent %d and %d segments", len(l.hosts[0].sent), len(l.hosts[1].sent))
	}
}
