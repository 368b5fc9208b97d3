package memif

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/pkt"
)

// handshakeTimeout bounds each step of a handshake: a peer that stops
// talking half way is dropped rather than holding the socket.
const handshakeTimeout = 5 * time.Second

// refusal is a protocol error: the session answers it with a DISCONNECT
// message carrying text and counts it under counter.
type refusal struct {
	counter Counter
	text    string
}

func (r *refusal) Error() string { return "memif: " + r.text }

func refuse(c Counter, format string, args ...any) error {
	return &refusal{counter: c, text: fmt.Sprintf(format, args...)}
}

// session is one established connection: the regions both sides map, the
// queue states, and the peer's names.
type session struct {
	conn     *net.UnixConn
	regions  []region
	queues   []*qstate
	fds      []int  // eventfds to close with the session
	peerApp  string // the peer application's name (hello or init)
	peerName string // the peer interface's name (connect or connected)
	log2     uint8
}

func (s *session) close() {
	for _, q := range s.queues {
		if q.zc != nil {
			q.zc.release()
		}
	}
	for i := range s.regions {
		s.regions[i].close()
	}
	for _, fd := range s.fds {
		unix.Close(fd)
	}
	s.regions, s.fds = nil, nil
}

// sendMsg writes one message with an optional descriptor (fd >= 0).
func sendMsg(c *net.UnixConn, m *Msg, fd int) error {
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	_ = c.SetWriteDeadline(time.Now().Add(handshakeTimeout))
	_, _, err := c.WriteMsgUnix(m.Encode(), oob, nil)
	return err
}

// errPeerClosed reports the control socket's end of file.
var errPeerClosed = errors.New("memif: peer closed the control socket")

// recvMsg reads one message and the descriptor that came with it (-1 for
// none). More than one descriptor, a truncated message or control data, or
// an unparsable message is a refusal; descriptors are closed then.
func recvMsg(c *net.UnixConn, deadline time.Time) (Msg, int, error) {
	_ = c.SetReadDeadline(deadline)
	b := make([]byte, MsgSize+1)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, flags, _, err := c.ReadMsgUnix(b, oob)
	fds := []int{}
	if oobn > 0 {
		if cms, perr := unix.ParseSocketControlMessage(oob[:oobn]); perr == nil {
			for _, cm := range cms {
				if r, rerr := unix.ParseUnixRights(&cm); rerr == nil {
					fds = append(fds, r...)
				}
			}
		}
	}
	closeAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	if err != nil {
		closeAll()
		return Msg{}, -1, err
	}
	if n == 0 {
		closeAll()
		return Msg{}, -1, errPeerClosed
	}
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || len(fds) > 1 {
		closeAll()
		return Msg{}, -1, refuse(CountBadMessage, "malformed control message (%d bytes, %d descriptors)", n, len(fds))
	}
	m, err := ParseMsg(b[:n])
	if err != nil {
		closeAll()
		return Msg{}, -1, refuse(CountBadMessage, "%v", err)
	}
	fd := -1
	if len(fds) == 1 {
		fd = fds[0]
	}
	return m, fd, nil
}

// expect reads the next message and refuses it unless it has type t. A
// DISCONNECT from the peer is returned as a refusal with its reason.
func expect(c *net.UnixConn, t MsgType) (Msg, int, error) {
	m, fd, err := recvMsg(c, time.Now().Add(handshakeTimeout))
	if err != nil {
		return m, fd, err
	}
	if m.Type == t {
		return m, fd, nil
	}
	if fd >= 0 {
		unix.Close(fd)
	}
	if m.Type == MsgDisconnect {
		return m, -1, refuse(CountPeerRefused, "peer disconnected: %s (code %d)", m.Reason, m.Code)
	}
	return m, -1, refuse(CountOutOfOrder, "%v message where %v was expected", m.Type, t)
}

// clientHandshake runs the client (slave) side: it owns the memory. It
// answers HELLO with INIT, adds its one region and its rings, and connects.
func clientHandshake(c *net.UnixConn, cfg *Config) (*session, error) {
	h, _, err := expect(c, MsgHello)
	if err != nil {
		return nil, err
	}
	if h.MinVersion > Version || h.MaxVersion < Version {
		return nil, refuse(CountBadVersion, "server speaks memif %#x..%#x, not %#x", h.MinVersion, h.MaxVersion, Version)
	}
	nq := min(cfg.Queues, int(h.MaxS2M)+1, int(h.MaxM2S)+1)
	log2 := min(cfg.Log2RingSize, h.MaxLog2RingSize)
	if log2 == 0 || nq < 1 {
		return nil, refuse(CountBadRing, "server offers no usable rings")
	}
	s := &session{conn: c, peerApp: h.Name, log2: log2}
	if err := s.layout(nq, log2, uint32(cfg.BufferSize), cfg.Pool); err != nil {
		s.close()
		return nil, err
	}
	steps := []struct {
		m  Msg
		fd int
	}{{Msg{Type: MsgInit, Version: Version, ID: cfg.ID, Secret: cfg.Secret, Name: cfg.AppName}, -1}}
	for i, r := range s.regions {
		steps = append(steps, struct {
			m  Msg
			fd int
		}{Msg{Type: MsgAddRegion, Index: uint16(i), Size: uint64(len(r.mem))}, r.fd})
	}
	size := uint32(ringBytes(log2))
	for i := range 2 * nq {
		flags := uint16(0)
		if i < nq {
			flags = RingFlagS2M
		}
		steps = append(steps, struct {
			m  Msg
			fd int
		}{Msg{Type: MsgAddRing, Flags: flags, Index: uint16(i % nq), Region: 0, Offset: uint32(i) * size, Log2Size: log2}, s.fds[i]})
	}
	for _, st := range steps {
		if err := sendMsg(c, &st.m, st.fd); err != nil {
			s.close()
			return nil, err
		}
		if _, _, err := expect(c, MsgAck); err != nil {
			s.close()
			return nil, err
		}
	}
	if err := sendMsg(c, &Msg{Type: MsgConnect, IfName: cfg.Name}, -1); err != nil {
		s.close()
		return nil, err
	}
	m, _, err := expect(c, MsgConnected)
	if err != nil {
		s.close()
		return nil, err
	}
	s.peerName = m.IfName
	return s, nil
}

// layout makes the client's region: 2*nq rings (s2m 0..nq-1, then m2s),
// then one buffer per descriptor; and an eventfd per ring. Zero-copy (a
// pool): region 0 holds only the rings, region 1 is the pool's arena, and
// the receive ring starts stocked with slots taken from the pool.
func (s *session) layout(nq int, log2 uint8, bufSize uint32, pool *pkt.Pool) error {
	rb := ringBytes(log2)
	ringsEnd := (2*nq*rb + 127) &^ 127
	slots := 1 << log2
	size := ringsEnd + 2*nq*slots*int(bufSize)
	if pool != nil {
		size = ringsEnd
	}
	if size > MaxRegionSize-1 {
		return fmt.Errorf("memif: region of %d bytes is too large", size)
	}
	r, err := newRegion("memif region 0", size)
	if err != nil {
		return err
	}
	s.regions = []region{r}
	if pool != nil {
		a := pool.Arena()
		s.regions = append(s.regions, region{mem: a.Memory(), fd: a.FD(), borrowed: true})
	}
	for range 2 * nq {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			return err
		}
		s.fds = append(s.fds, fd)
	}
	bufs := func(i int) uint32 { return uint32(ringsEnd + i*slots*int(bufSize)) }
	for q := range nq {
		tx := newRing(r.mem, q*rb, log2)
		rx := newRing(r.mem, (nq+q)*rb, log2)
		qs := &qstate{client: true, regions: s.regions, rx: rx, tx: tx, rxFD: s.fds[nq+q], txFD: s.fds[q],
			txBufs: bufs(q), rxBufs: bufs(nq + q), bufSize: bufSize}
		if pool != nil {
			qs.tx.init()
			qs.rx.init()
			qs.rx.setFlags(ringFlagMaskInt)
			qs.zc = newZCState(pool, slots)
			qs.zc.stock(&qs.rx)
			s.queues = append(s.queues, qs)
			continue
		}
		for _, rg := range []struct {
			r    *ring
			base uint32
		}{{&qs.tx, qs.txBufs}, {&qs.rx, qs.rxBufs}} {
			rg.r.init()
			for j := range uint16(slots) {
				d := rg.r.desc(j)
				d.Region, d.Offset, d.Length = 0, rg.base+uint32(j)*bufSize, bufSize
			}
		}
		qs.rx.setFlags(ringFlagMaskInt) // polling until the worker sleeps
		qs.rx.setHead(uint16(slots))    // every receive buffer is the server's to fill
		s.queues = append(s.queues, qs)
	}
	return nil
}

// serverHandshake runs the server (master) side: HELLO, then the client's
// INIT, regions and rings, each checked and acknowledged, then CONNECT.
func serverHandshake(c *net.UnixConn, cfg *Config) (*session, error) {
	hello := Msg{Type: MsgHello, Name: cfg.AppName, MinVersion: Version, MaxVersion: Version,
		MaxRegion: MaxRegions - 1, MaxM2S: uint16(cfg.Queues - 1), MaxS2M: uint16(cfg.Queues - 1),
		MaxLog2RingSize: MaxLog2RingSize}
	if err := sendMsg(c, &hello, -1); err != nil {
		return nil, err
	}
	in, _, err := expect(c, MsgInit)
	if err != nil {
		return nil, err
	}
	switch {
	case in.Version != Version:
		return nil, refuse(CountBadVersion, "client speaks memif %#x, not %#x", in.Version, Version)
	case in.ID != cfg.ID:
		return nil, refuse(CountBadID, "no interface with id %d", in.ID)
	case subtle.ConstantTimeCompare([]byte(in.Secret), []byte(cfg.Secret)) != 1:
		return nil, refuse(CountBadSecret, "incorrect secret")
	case in.Mode != 0:
		return nil, refuse(CountBadMode, "interface mode %d is not ethernet", in.Mode)
	}
	s := &session{conn: c, peerApp: in.Name}
	fail := func(err error) (*session, error) { s.close(); return nil, err }
	if err := sendMsg(c, &Msg{Type: MsgAck}, -1); err != nil {
		return fail(err)
	}
	type ringMsg struct {
		m  Msg
		fd int
	}
	var s2m, m2s []ringMsg
	for {
		m, fd, err := recvMsg(c, time.Now().Add(handshakeTimeout))
		if err != nil {
			return fail(err)
		}
		if fd >= 0 && m.Type != MsgAddRegion && m.Type != MsgAddRing {
			unix.Close(fd)
		}
		switch m.Type {
		case MsgAddRegion:
			if int(m.Index) != len(s.regions) || m.Index >= MaxRegions || fd < 0 {
				if fd >= 0 {
					unix.Close(fd)
				}
				return fail(refuse(CountBadRegion, "region %d out of order or without its memory", m.Index))
			}
			r, err := mapRegion(fd, m.Size)
			if err != nil {
				return fail(refuse(CountBadRegion, "region %d: %v", m.Index, err))
			}
			s.regions = append(s.regions, r)
		case MsgAddRing:
			if fd < 0 {
				return fail(refuse(CountBadRing, "ring %d without its eventfd", m.Index))
			}
			s.fds = append(s.fds, fd)
			list := &m2s
			if m.Flags&RingFlagS2M != 0 {
				list = &s2m
			}
			switch {
			case int(m.Index) != len(*list) || int(m.Index) >= cfg.Queues:
				return fail(refuse(CountBadRing, "ring %d out of order or beyond %d queues", m.Index, cfg.Queues))
			case m.Log2Size == 0 || m.Log2Size > MaxLog2RingSize:
				return fail(refuse(CountBadRing, "ring %d: log2 size %d outside 1..%d", m.Index, m.Log2Size, MaxLog2RingSize))
			case int(m.Region) >= len(s.regions):
				return fail(refuse(CountBadRing, "ring %d in unknown region %d", m.Index, m.Region))
			case m.Offset%8 != 0 || uint64(m.Offset)+uint64(ringBytes(m.Log2Size)) > uint64(len(s.regions[m.Region].mem)):
				return fail(refuse(CountBadRing, "ring %d at offset %d does not fit its region", m.Index, m.Offset))
			case m.PrivateHdr != 0:
				return fail(refuse(CountBadRing, "ring %d: private headers are not supported", m.Index))
			}
			*list = append(*list, ringMsg{m, fd})
		case MsgConnect:
			if len(s2m) == 0 || len(s2m) != len(m2s) {
				return fail(refuse(CountBadRing, "connect with %d s2m and %d m2s rings", len(s2m), len(m2s)))
			}
			for q := range s2m {
				rx := newRing(s.regions[s2m[q].m.Region].mem, int(s2m[q].m.Offset), s2m[q].m.Log2Size)
				tx := newRing(s.regions[m2s[q].m.Region].mem, int(m2s[q].m.Offset), m2s[q].m.Log2Size)
				if rx.cookie() != Cookie || tx.cookie() != Cookie {
					return fail(refuse(CountBadRing, "queue %d: ring without the memif cookie", q))
				}
				rx.setFlags(ringFlagMaskInt)
				s.queues = append(s.queues, &qstate{regions: s.regions, rx: rx, tx: tx, rxFD: s2m[q].fd, txFD: m2s[q].fd,
					rxPos: rx.tail(), txPos: tx.tail()})
			}
			s.log2 = s2m[0].m.Log2Size
			s.peerName = m.IfName
			if err := sendMsg(c, &Msg{Type: MsgConnected, IfName: cfg.Name}, -1); err != nil {
				return fail(err)
			}
			return s, nil
		case MsgDisconnect:
			return fail(refuse(CountPeerRefused, "peer disconnected: %s (code %d)", m.Reason, m.Code))
		default:
			return fail(refuse(CountOutOfOrder, "%v message during the handshake", m.Type))
		}
		if err := sendMsg(c, &Msg{Type: MsgAck}, -1); err != nil {
			return fail(err)
		}
	}
}
