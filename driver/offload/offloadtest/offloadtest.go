// Package offloadtest is test support for drivers that take frames from a
// kernel peer at its default offloads: a kernel TCP transfer between two
// namespaces (whose sender, with TSO/GSO and TX checksum offload on, hands
// the link super-frames and partial checksums) and a checker of the frames
// a port delivers for it — each fits a slot, has valid IPv4 and TCP
// checksums and carries the bytes of the stream at its sequence number —
// that reports which part of the stream no frame covered.
package offloadtest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/offload"
	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/pkt"
	"github.com/vecnet/vecnet/wire"
)

// PatternByte is the byte at offset k of every test stream: not periodic
// at any segment size, so a segment carrying the wrong bytes is caught.
func PatternByte(k int) byte { return byte(k ^ k>>8 ^ k>>16 ^ k>>24) }

// RequireOffloads fails t unless dev in ns has TSO and TX checksum offload
// on (the veth defaults the test relies on).
func RequireOffloads(t testing.TB, ns *testutil.NS, dev string) {
	t.Helper()
	out := ns.Run("ethtool", "-k", dev)
	for _, f := range []string{"tcp-segmentation-offload: on", "tx-checksumming: on", "generic-segmentation-offload: on"} {
		if !strings.Contains(out, f) {
			t.Fatalf("%s: want %q (peer at default offloads), ethtool -k says:\n%s", dev, f, out)
		}
	}
}

// Transfer is a kernel TCP connection from a namespace to a listener in
// another, carrying Size bytes of PatternByte.
type Transfer struct {
	Size int
	Port uint16 // the listener's port
	done chan error
}

// StartTransfer listens on addr:port in nsRecv, connects from nsSend and
// sends size bytes; the receiver checks every byte. Wait reports the
// outcome; the goroutines end by then or at t's cleanup.
func StartTransfer(t testing.TB, nsRecv, nsSend *testutil.NS, addr string, port uint16, size int) *Transfer {
	t.Helper()
	tr := &Transfer{Size: size, Port: port, done: make(chan error, 2)}
	var ln net.Listener
	if err := nsRecv.Do(func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf("%s:%d", addr, port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() { tr.done <- receive(ln, size) }()
	// Dial in the sender's goroutine: the path may run through a port the
	// caller drives only after StartTransfer returns.
	go func() {
		var conn net.Conn
		err := nsSend.Do(func() (err error) {
			conn, err = net.DialTimeout("tcp4", fmt.Sprintf("%s:%d", addr, port), 10*time.Second)
			return err
		})
		if err != nil {
			ln.Close()
			tr.done <- err
			return
		}
		buf := make([]byte, 1<<16)
		for off := 0; off < size && err == nil; off += len(buf) {
			n := min(len(buf), size-off)
			for k := range n {
				buf[k] = PatternByte(off + k)
			}
			conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
			_, err = conn.Write(buf[:n])
		}
		conn.Close()
		tr.done <- err
	}()
	return tr
}

// receive accepts one connection and checks it carries size pattern bytes.
func receive(ln net.Listener, size int) error {
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(15 * time.Second))
	c, err := ln.Accept()
	ln.Close()
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(40 * time.Second))
	buf := make([]byte, 1<<16)
	got := 0
	for {
		n, err := c.Read(buf)
		for k := range n {
			if buf[k] != PatternByte(got+k) {
				return fmt.Errorf("receiver: byte %d differs", got+k)
			}
		}
		got += n
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if got != size {
		return fmt.Errorf("receiver got %d of %d bytes", got, size)
	}
	return nil
}

// Wait returns when both ends are done (or timeout passes) with the first
// error.
func (tr *Transfer) Wait(timeout time.Duration) error {
	deadline := time.After(timeout)
	var first error
	for range 2 {
		select {
		case err := <-tr.done:
			if first == nil {
				first = err
			}
		case <-deadline:
			return errors.New("transfer timed out")
		}
	}
	return first
}

// Stream checks the frames a port delivers for one Transfer.
type Stream struct {
	Port              uint16 // TCP destination port of the data
	Size              int    // stream length in bytes
	isn               uint32
	haveISN           bool
	covered           []bool
	Frames            int // data-direction TCP frames checked
	MaxLen            int // longest frame seen
	ChecksumOKFlagged int // frames that carried pkt.FlagL4ChecksumOK
	// AllowPartial accepts a frame whose TCP checksum is left partial (the
	// pseudo-header sum, as a sender with checksum offload hands it over)
	// when the port had no metadata to complete it (AF_XDP): ip4-input
	// completes those. Segments of a super-frame must still be complete.
	AllowPartial bool
	// MaxFrame, if set, is the longest frame accepted: MTU + 14 for a port
	// that must deliver only what the egress link can carry.
	MaxFrame int
	Partial  int // frames accepted with a partial checksum
}

// IsPartial reports whether the TCP checksum of segment th between src and
// dst is the partial one a sender with checksum offload leaves: the folded
// pseudo-header sum.
func IsPartial(th wire.TCP, src, dst [4]byte, length uint16) bool {
	return th.Checksum() == uint16(wire.PseudoHeaderSum(src, dst, wire.IPProtoTCP, length))
}

// NewStream checks frames toward port for a stream of size bytes.
func NewStream(port uint16, size int) *Stream {
	return &Stream{Port: port, Size: size, covered: make([]bool, size)}
}

// Frame checks one delivered frame (Ethernet first) with its Meta flags.
// Frames that are not TCP toward Port are ignored.
func (s *Stream) Frame(d []byte, flags uint16) error {
	if len(d) > pkt.DataCap {
		return fmt.Errorf("frame of %d bytes does not fit a slot (%d)", len(d), pkt.DataCap)
	}
	if len(d) < 14+20 || binary.BigEndian.Uint16(d[12:]) != 0x0800 {
		return nil
	}
	ip, ipErr := wire.ParseIPv4(d[14:])
	if ipErr != 0 || ip.Protocol() != wire.IPProtoTCP || int(ip.TotalLen()) > len(d)-14 {
		return nil
	}
	l4 := d[14+ip.HeaderLen() : 14+int(ip.TotalLen())]
	th, ok := wire.ParseTCP(l4)
	if !ok || th.DstPort() != s.Port {
		return nil
	}
	s.Frames++
	s.MaxLen = max(s.MaxLen, len(d))
	if s.MaxFrame > 0 && len(d) > s.MaxFrame {
		return fmt.Errorf("frame %d: %d bytes, longer than %d (a super-frame left whole)", s.Frames, len(d), s.MaxFrame)
	}
	if flags&pkt.FlagL4ChecksumOK != 0 {
		s.ChecksumOKFlagged++
	}
	if !ip.ChecksumValid() {
		return fmt.Errorf("frame %d: bad IPv4 header checksum", s.Frames)
	}
	if s.AllowPartial && IsPartial(th, ip.Src(), ip.Dst(), uint16(len(l4))) && len(d) <= 1514 {
		s.Partial++
	} else if !th.ChecksumValid(ip.Src(), ip.Dst(), uint16(len(l4))) {
		return fmt.Errorf("frame %d (seq %d, %d bytes): bad TCP checksum", s.Frames, th.Seq(), len(l4))
	}
	if th.Flags()&0x02 != 0 { // SYN
		s.isn, s.haveISN = th.Seq(), true
		return nil
	}
	payload := th.Payload()
	if len(payload) == 0 {
		return nil
	}
	if !s.haveISN {
		return fmt.Errorf("data before the SYN")
	}
	off := int(th.Seq() - s.isn - 1)
	if off < 0 || off+len(payload) > s.Size {
		return fmt.Errorf("frame %d: payload [%d, %d) outside the stream", s.Frames, off, off+len(payload))
	}
	for k, b := range payload {
		if b != PatternByte(off+k) {
			return fmt.Errorf("frame %d: byte %d of the stream differs", s.Frames, off+k)
		}
		s.covered[off+k] = true
	}
	return nil
}

// Missing returns how many stream bytes no frame carried, and the first.
func (s *Stream) Missing() (n, first int) {
	first = -1
	for k, c := range s.covered {
		if !c {
			if first < 0 {
				first = k
			}
			n++
		}
	}
	return n, first
}

// Port is what Collect needs of a driver's port: its receive call and the
// descriptor that becomes readable when frames wait.
type Port interface {
	Recv(c *pkt.Cache, v *pkt.Vector) int
	PollFD() int
}

// Collect runs one kernel TCP transfer of size bytes from nsSend to
// addr:port in nsRecv (see StartTransfer) while it checks every frame p
// delivers against the stream (frames of at most 1514 bytes: MTU 1500),
// until the transfer has finished and the stream is covered, or no frame
// came for a second after it finished. It reports the stream and whether
// the transfer finished.
func Collect(t testing.TB, nsRecv, nsSend *testutil.NS, addr string, port uint16, size int, p Port, c *pkt.Cache) (*Stream, bool) {
	t.Helper()
	arena := c.Arena()
	tr := StartTransfer(t, nsRecv, nsSend, addr, port, size)
	s := NewStream(port, size)
	s.MaxFrame = 1514
	done := make(chan error, 1)
	go func() { done <- tr.Wait(60 * time.Second) }()
	wait := func() {
		fds := []unix.PollFd{{Fd: int32(p.PollFD()), Events: unix.POLLIN}}
		_, _ = unix.Poll(fds, 10)
	}
	var v pkt.Vector
	finished := false
	deadline := time.Now().Add(90 * time.Second)
	var idleSince time.Time
	for time.Now().Before(deadline) {
		v.Reset()
		if p.Recv(c, &v) == 0 {
			if !finished {
				wait()
			} else if missing, _ := s.Missing(); missing == 0 {
				break
			} else if idleSince.IsZero() {
				idleSince = time.Now()
			} else if time.Since(idleSince) > time.Second {
				break
			} else {
				wait()
			}
		} else {
			idleSince = time.Time{}
		}
		var bad error
		for _, i := range v.Slice() {
			if m, d := arena.Packet(i); bad == nil {
				bad = s.Frame(d, m.Flags)
			}
		}
		c.FreeN(v.Slice())
		if bad != nil {
			t.Fatal(bad)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("transfer: %v", err)
			}
			finished = true
		default:
		}
	}
	return s, finished
}

// WatchedPort is the port of a TSO peer test: a Port with the driver's
// statistics and offload counters.
type WatchedPort interface {
	Port
	Stats() driver.Stats
	OffloadErrors() offload.Counters
}

// TSOPeer is a port's TestRecvFromTSOPeer: a kernel sender at the veth
// defaults in NSSend, a listener at Addr in NSRecv, and the port watching
// the frames between them.
type TSOPeer struct {
	NSRecv, NSSend *testutil.NS
	Addr           string // the listener's address in NSRecv
	Port           WatchedPort
	Cache          *pkt.Cache
	// Drops reads the count of frames lost before the port could take
	// them (ring or queue overflow); DropsName says what counts them.
	Drops     func() uint64
	DropsName string
	// Describe, when set, returns more to report when the stream has a
	// gap after three attempts.
	Describe func() string
}

// Run collects a transfer of size bytes (Collect) and checks that the
// port delivered all of it, with no offload or receive error, and that
// some of it came as super-frames the port segmented. The port only
// watches: the kernel's TCP goes on whether or not the port keeps up, so a
// port starved of CPU on a loaded machine loses frames for good. Such a
// loss must be counted by Drops (else the test fails); the transfer is
// then tried again, up to three times. Run returns the stream and the
// offload counters for the caller's own checks.
func (tp TSOPeer) Run(t *testing.T, size int) (*Stream, offload.Counters) {
	t.Helper()
	var s *Stream
	var finished bool
	var missing, first int
	for attempt := range 3 {
		drops0 := tp.Drops()
		s, finished = Collect(t, tp.NSRecv, tp.NSSend, tp.Addr, uint16(5201+attempt), size, tp.Port, tp.Cache)
		missing, first = s.Missing()
		dropped := tp.Drops() - drops0
		if missing == 0 || !finished {
			break
		}
		if dropped == 0 {
			t.Fatalf("%d stream bytes never delivered, the first at %d, and no drop counted", missing, first)
		}
		t.Logf("attempt %d: %d stream bytes missed, %d frames dropped (%s, counted): retrying", attempt, missing, dropped, tp.DropsName)
	}
	oc := tp.Port.OffloadErrors()
	st := tp.Port.Stats()
	t.Logf("frames %d (longest %d B, %d flagged checksum-OK); super-frames segmented %d into %d; checksums completed %d; stats %+v",
		s.Frames, s.MaxLen, s.ChecksumOKFlagged, oc.Segmented, oc.Segments, oc.Completed, st)
	oc.Each(func(name string, n uint64) { t.Errorf("offload error %s: %d", name, n) })
	if !finished {
		t.Fatal("transfer did not finish")
	}
	if missing != 0 {
		more := ""
		if tp.Describe != nil {
			more = "\n" + tp.Describe()
		}
		t.Fatalf("%d stream bytes never delivered, the first at %d (three attempts)%s", missing, first, more)
	}
	if oc.Segmented == 0 {
		t.Error("no super-frame was segmented: the peer's TSO did not reach the port")
	}
	if st.RxErrors != 0 {
		t.Errorf("RxErrors %d", st.RxErrors)
	}
	return s, oc
}
