package memif

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/pkt/pkttest"
)

// Attachments a scripted peer sends with a message.
const (
	attachNone     = iota
	attachMemfd    // a sealed memfd of fakeRegion bytes with two valid rings
	attachEventfd  // an eventfd
	attachUnsealed // a memfd not sealed against shrinking
	attachKinds
)

const fakeRegion = 64 << 10

// fakeFD makes the descriptor of an attachment kind; the caller closes it.
func fakeFD(t testing.TB, kind int) int {
	switch kind {
	case attachEventfd:
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		return fd
	case attachMemfd, attachUnsealed:
		fd, err := unix.MemfdCreate("fake", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Ftruncate(fd, fakeRegion); err != nil {
			t.Fatal(err)
		}
		var cookie [4]byte
		binary.LittleEndian.PutUint32(cookie[:], Cookie)
		unix.Pwrite(fd, cookie[:], 0)    // ring at 0
		unix.Pwrite(fd, cookie[:], 4096) // ring at 4096
		if kind == attachMemfd {
			unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK)
		}
		return fd
	}
	return -1
}

// step is one message a scripted peer sends.
type step struct {
	m      Msg
	attach int
	raw    []byte // sent instead of m when set
}

var (
	goodInit   = step{m: Msg{Type: MsgInit, Version: Version, ID: 0, Name: "fake"}}
	goodRegion = step{m: Msg{Type: MsgAddRegion, Index: 0, Size: fakeRegion}, attach: attachMemfd}
	goodS2M    = step{m: Msg{Type: MsgAddRing, Flags: RingFlagS2M, Index: 0, Region: 0, Offset: 0, Log2Size: 4}, attach: attachEventfd}
	goodM2S    = step{m: Msg{Type: MsgAddRing, Index: 0, Region: 0, Offset: 4096, Log2Size: 4}, attach: attachEventfd}
	goodConn   = step{m: Msg{Type: MsgConnect, IfName: "fake0"}}
)

// script plays steps against a server endpoint on sock as a client would,
// reading the server's answer after each, and returns the first
// non-ACK/non-HELLO answer (a DISCONNECT or CONNECTED), or MsgNone if the
// server closed the socket.
func script(t testing.TB, sock string, steps []step) Msg {
	t.Helper()
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	if m, _, err := recvMsg(c, deadline); err != nil || m.Type != MsgHello {
		t.Fatalf("no hello: %v %v", m.Type, err)
	}
	for k, st := range steps {
		b := st.raw
		if b == nil {
			b = st.m.Encode()
		}
		var oob []byte
		if fd := fakeFD(t, st.attach); fd >= 0 {
			oob = unix.UnixRights(fd)
			defer unix.Close(fd)
		}
		if _, _, err := c.WriteMsgUnix(b, oob, nil); err != nil {
			t.Fatal(err)
		}
		m, fd, err := recvMsg(c, deadline)
		if fd >= 0 {
			unix.Close(fd)
		}
		if err != nil {
			return Msg{}
		}
		if m.Type != MsgAck && (m.Type != MsgConnected || k == len(steps)-1) {
			return m
		}
	}
	return Msg{Type: MsgAck}
}

// TestServerRefusesBadControl plays malformed and out-of-order control
// messages at a server: each is answered with DISCONNECT and counted under
// its name, and the server then still serves a good client.
func TestServerRefusesBadControl(t *testing.T) {
	pool := pkttest.NewPool(t, 256)
	c := pool.NewCache()
	defer c.Flush()
	sock := filepath.Join(t.TempDir(), "s")
	srv := open(t, Config{Socket: sock})
	short := make([]byte, 64)
	unknown := make([]byte, MsgSize)
	binary.LittleEndian.PutUint16(unknown, 99)
	badName := (&Msg{Type: MsgInit, Version: Version}).Encode()
	badName[33] = 0x07
	for _, tc := range []struct {
		name    string
		steps   []step
		counter Counter
	}{
		{"short message", []step{{raw: short}}, CountBadMessage},
		{"unknown type", []step{{raw: unknown}}, CountBadMessage},
		{"control characters in a name", []step{{raw: badName}}, CountBadMessage},
		{"region before init", []step{goodRegion}, CountOutOfOrder},
		{"hello from a client", []step{{m: Msg{Type: MsgHello}}}, CountOutOfOrder},
		{"version 1", []step{{m: Msg{Type: MsgInit, Version: 1 << 8}}}, CountBadVersion},
		{"wrong id", []step{{m: Msg{Type: MsgInit, Version: Version, ID: 9}}}, CountBadID},
		{"ip mode", []step{{m: Msg{Type: MsgInit, Version: Version, Mode: 1}}}, CountBadMode},
		{"region without memory", []step{goodInit, {m: goodRegion.m}}, CountBadRegion},
		{"region larger than its file", []step{goodInit, {m: Msg{Type: MsgAddRegion, Size: fakeRegion * 2}, attach: attachMemfd}}, CountBadRegion},
		{"unsealed region", []step{goodInit, {m: goodRegion.m, attach: attachUnsealed}}, CountBadRegion},
		{"eventfd as region", []step{goodInit, {m: goodRegion.m, attach: attachEventfd}}, CountBadRegion},
		{"region 1 first", []step{goodInit, {m: Msg{Type: MsgAddRegion, Index: 1, Size: fakeRegion}, attach: attachMemfd}}, CountBadRegion},
		{"ring without region", []step{goodInit, goodS2M}, CountBadRing},
		{"ring without eventfd", []step{goodInit, goodRegion, {m: goodS2M.m}}, CountBadRing},
		{"ring past its region", []step{goodInit, goodRegion, {m: Msg{Type: MsgAddRing, Flags: RingFlagS2M, Offset: fakeRegion - 128, Log2Size: 4}, attach: attachEventfd}}, CountBadRing},
		{"ring too large", []step{goodInit, goodRegion, {m: Msg{Type: MsgAddRing, Flags: RingFlagS2M, Log2Size: 15}, attach: attachEventfd}}, CountBadRing},
		{"second queue beyond config", []step{goodInit, goodRegion, goodS2M, {m: Msg{Type: MsgAddRing, Flags: RingFlagS2M, Index: 1, Log2Size: 4}, attach: attachEventfd}}, CountBadRing},
		{"connect without rings", []step{goodInit, goodRegion, goodConn}, CountBadRing},
		{"ring without cookie", []step{goodInit, goodRegion, goodS2M, {m: Msg{Type: MsgAddRing, Offset: 8192, Log2Size: 4}, attach: attachEventfd}, goodConn}, CountBadRing},
		{"message after connect", []step{goodInit, goodRegion, goodS2M, goodM2S, goodConn, {m: Msg{Type: MsgAck}}}, CountOutOfOrder},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.Count(tc.counter)
			got := script(t, sock, tc.steps)
			testutil.Eventually(t, 5*time.Second, CounterNames[tc.counter]+" counted", func() bool { return srv.Count(tc.counter) == before+1 })
			if got.Type != MsgDisconnect || got.Reason == "" {
				t.Fatalf("answer %v %q, want a disconnect with a reason", got.Type, got.Reason)
			}
		})
	}
	testutil.Eventually(t, 5*time.Second, "server listening again", func() bool { return srv.State() == Disconnected })
	cli := open(t, Config{Socket: sock, Role: Client})
	testutil.Eventually(t, 5*time.Second, "a good client connects after all that", func() bool { return cli.State() == Connected })
	frames := [][]byte{testFrame(1, 100)}
	checkFrames(t, exchange(t, c, cli.Ports()[0], srv.Ports()[0], frames), frames)
}

// TestClientRefusesBadServer: a server that speaks another version, or
// sends garbage, is refused, counted, and dialled again later.
func TestClientRefusesBadServer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hello   []byte
		counter Counter
	}{
		{"version 1", (&Msg{Type: MsgHello, MinVersion: 1 << 8, MaxVersion: 1 << 8, MaxLog2RingSize: 10}).Encode(), CountBadVersion},
		{"no rings", (&Msg{Type: MsgHello, MinVersion: Version, MaxVersion: Version}).Encode(), CountBadRing},
		{"ack first", (&Msg{Type: MsgAck}).Encode(), CountOutOfOrder},
		{"garbage", []byte("not memif"), CountBadMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "s")
			ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: sock, Net: "unixpacket"})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			cli := open(t, Config{Socket: sock, Role: Client, Retry: 10 * time.Millisecond})
			for round := range 2 { // refused, then dialled again
				c, err := ln.AcceptUnix()
				if err != nil {
					t.Fatal(err)
				}
				c.Write(tc.hello)
				m, _, err := recvMsg(c, time.Now().Add(5*time.Second))
				if err != nil && !errors.Is(err, errPeerClosed) {
					t.Fatalf("round %d: %v", round, err)
				}
				if err == nil && m.Type != MsgDisconnect {
					t.Fatalf("round %d: client answered %v", round, m.Type)
				}
				c.Close()
			}
			if cli.Count(tc.counter) == 0 || cli.State() == Connected {
				t.Fatalf("%s not counted (%d)", CounterNames[tc.counter], cli.Count(tc.counter))
			}
		})
	}
}

// FuzzParseMsg: any bytes parse or are refused without a panic; what parses
// encodes back to a message that parses the same, but for names that filled
// their whole field, which encoding cuts to leave a NUL.
func FuzzParseMsg(f *testing.F) {
	for _, m := range []Msg{goodInit.m, goodRegion.m, goodS2M.m, goodConn.m,
		{Type: MsgHello, Name: "DPDK 22.11", MinVersion: Version, MaxVersion: Version, MaxLog2RingSize: 14},
		{Type: MsgDisconnect, Code: 3, Reason: "incorrect secret"}, {Type: MsgConnected, IfName: "memif0"}} {
		f.Add(m.Encode())
	}
	f.Add([]byte{})
	f.Add(make([]byte, 129))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMsg(b)
		if err != nil {
			return
		}
		m2, err := ParseMsg(m.Encode())
		if err != nil {
			t.Fatalf("%+v re-encodes unparsably: %v", m, err)
		}
		cut := func(s string, n int) string { return s[:min(len(s), n-1)] }
		m.Name, m.Secret, m.IfName, m.Reason = cut(m.Name, NameSize), cut(m.Secret, SecretSize), cut(m.IfName, NameSize), cut(m.Reason, 96)
		if m2 != m {
			t.Fatalf("%+v re-encodes as %+v", m, m2)
		}
	})
}

// FuzzServerHandshake plays arbitrary message sequences (with memfds and
// eventfds attached at the fuzzer's choice) at the server's handshake over
// a socket pair: it must end with a session or a refusal, never a panic,
// and leave no descriptor or mapping behind.
func FuzzServerHandshake(f *testing.F) {
	rec := func(steps ...step) []byte {
		var b []byte
		for _, s := range steps {
			b = append(b, byte(s.attach))
			b = append(b, s.m.Encode()...)
		}
		return b
	}
	f.Add(rec(goodInit, goodRegion, goodS2M, goodM2S, goodConn))
	f.Add(rec(goodInit, goodRegion, goodS2M, goodConn))
	f.Add(rec(goodInit, goodS2M, goodRegion))
	f.Add(rec(goodRegion, goodInit))
	f.Add([]byte{1, 2, 3})
	cfg := Config{Queues: 2, AppName: "fuzz"}
	f.Fuzz(func(t *testing.T, data []byte) {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		server, peer := unixConn(t, fds[0]), unixConn(t, fds[1])
		defer server.Close()
		type result struct {
			s   *session
			err error
		}
		done := make(chan result, 1)
		go func() {
			s, err := serverHandshake(server, &cfg)
			done <- result{s, err}
		}()
		for len(data) > 0 && len(data) < 16*(MsgSize+1) {
			kind := int(data[0]) % attachKinds
			n := min(len(data)-1, MsgSize)
			var oob []byte
			if fd := fakeFD(t, kind); fd >= 0 {
				oob = unix.UnixRights(fd)
				defer unix.Close(fd)
			}
			if _, _, err := peer.WriteMsgUnix(data[1:1+n], oob, nil); err != nil {
				break
			}
			data = data[1+n:]
		}
		peer.Close()
		r := <-done
		if r.s != nil {
			r.s.close()
		} else if r.err == nil {
			t.Fatal("no session and no error")
		}
	})
}

func unixConn(t testing.TB, fd int) *net.UnixConn {
	f := os.NewFile(uintptr(fd), "memif-fuzz")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	return c.(*net.UnixConn)
}
