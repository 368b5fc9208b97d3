package daemon_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vecnet/vecnet/control/config"
	"github.com/vecnet/vecnet/daemon"
	"github.com/vecnet/vecnet/driver/memif/app"
	"github.com/vecnet/vecnet/internal/frames"
	"github.com/vecnet/vecnet/wire"
)

// TestMemifRouter routes between two memif interfaces with applications
// attached on the other side — vecnet serving both sockets, or vecnet the
// client of both (zero-copy: the rings carry its arena slots; or copying,
// bind_mode copy): every frame sent to the router arrives at the other
// application with its TTL decremented, both interfaces count exactly, and
// "show interfaces" shows each peer, the data path and its state, down
// again once the application leaves. Stop's pool audit proves every buffer
// the rings held came back.
func TestMemifRouter(t *testing.T) {
	for _, tc := range []struct {
		name, role, bindMode, wantMode string
	}{
		{"vecnet-server", "server", "", "server copy "},
		{"vecnet-client-zerocopy", "client", "", "client zero-copy "},
		{"vecnet-client-copy", "client", "copy", "client copy "},
	} {
		t.Run(tc.name, func(t *testing.T) { testMemifRouter(t, tc.role, tc.bindMode, tc.wantMode) })
	}
}

func testMemifRouter(t *testing.T, role, bindMode, wantMode string) {
	dir := t.TempDir()
	sockA, sockB := filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")
	macA, macB := config.MAC{2, 0, 0, 0, 1, 1}, config.MAC{2, 0, 0, 0, 2, 1}
	hostB := wire.MAC{2, 0, 0, 0, 2, 2}
	cfg := &config.Config{Workers: 1, Interfaces: []config.Interface{
		{Name: "nfa", Driver: "memif", MAC: macA, MTU: 1500, MemifSocket: sockA, MemifRole: role, BindMode: bindMode, Queues: 1, RingSize: 1024,
			Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24")}},
		{Name: "nfb", Driver: "memif", MAC: macB, MTU: 1500, MemifSocket: sockB, MemifRole: role, BindMode: bindMode, Queues: 1, RingSize: 1024,
			Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.2.1/24")}},
	}, Neighbors: []config.Neighbor{{Interface: "nfb", IP: netip.MustParseAddr("10.0.2.2"), MAC: config.MAC(hostB)}}}
	appServer := role == "client"
	attach := func(sock, name string) *app.Conn {
		t.Helper()
		timeout := 5 * time.Second
		if appServer {
			timeout = 0 // vecnet dials once it runs
		}
		c, err := app.Attach(app.Config{Socket: sock, Name: name, Server: appServer}, timeout)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var a, b *app.Conn
	if appServer {
		a, b = attach(sockA, "host-a"), attach(sockB, "host-b")
	}
	d, err := daemon.Start(cfg, daemon.Options{NoCLI: true, Slots: 8192})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	// A memif cannot deliver a partial checksum: both interfaces are marked
	// so that ip4-input skips its test for their frames.
	for _, name := range []string{"nfa", "nfb"} {
		if x := d.DP.Ifaces.Load().ByName(name); x == nil || !x.ChecksumsComplete {
			t.Errorf("interface %s not marked ChecksumsComplete", name)
		}
	}
	if !appServer {
		a, b = attach(sockA, "host-a"), attach(sockB, "host-b")
	}
	defer a.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !a.Connected() || !b.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the applications did not connect")
		}
		time.Sleep(time.Millisecond)
	}
	// The application may count itself connected a moment before vecnet
	// does (as the server it is connected on the client's CONNECT, vecnet
	// on the CONNECTED answer): poll vecnet's own view.
	var show bytes.Buffer
	wants := []string{`state=connected peer="vecnet-app" peer-if="host-a"`, `state=connected peer="vecnet-app" peer-if="host-b"`, wantMode}
	for {
		show.Reset()
		if err := d.CLI.Exec(&show, "show interfaces"); err != nil {
			t.Fatal(err)
		}
		missing := ""
		for _, want := range wants {
			if !strings.Contains(show.String(), want) {
				missing = want
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("show interfaces lacks %s:\n%s", missing, show.String())
		}
		time.Sleep(time.Millisecond) // polling vecnet's state
	}

	const count = 5000
	frame := func(k int) []byte {
		return frames.IPv4(frames.Spec{SrcMAC: wire.MAC{2, 0, 0, 0, 1, 2}, DstMAC: wire.MAC(macA),
			Src: [4]byte{10, 0, 1, 2}, Dst: [4]byte{10, 0, 2, 2}, Payload: 18 + k%1000, ID: uint16(k)})
	}
	bufs, lens := make([][]byte, 64), make([]int, 64)
	for k := range bufs {
		bufs[k] = make([]byte, 2048)
	}
	sent, got := 0, 0
	deadline = time.Now().Add(20 * time.Second)
	for got < count {
		if time.Now().After(deadline) {
			t.Fatalf("host B received %d of %d (sent %d)", got, count, sent)
		}
		var batch [][]byte
		for sent+len(batch) < count && sent+len(batch)-got < 256 && len(batch) < 32 {
			batch = append(batch, frame(sent+len(batch)))
		}
		sent += a.Send(batch)
		n := b.Recv(bufs, lens)
		for k := range n {
			f := bufs[k][:lens[k]]
			want := frame(got)
			ip := wire.IPv4(f[wire.EthernetLen:])
			if !bytes.Equal(f[:6], hostB[:]) || !bytes.Equal(f[6:12], macB[:]) || ip.TTL() != 63 || ip.ID() != uint16(got) || len(f) != len(want) {
				t.Fatalf("frame %d arrived as % x", got, f[:min(len(f), 40)])
			}
			got++
		}
	}
	s := fmt.Sprint(d.PortStats(d.Interfaces[0]), d.PortStats(d.Interfaces[1]))
	if rx, tx := d.PortStats(d.Interfaces[0]).RxPackets, d.PortStats(d.Interfaces[1]).TxPackets; rx != count || tx != count {
		t.Errorf("router counted rx %d on A, tx %d on B, want %d: %s", rx, tx, count, s)
	}
	b.Close()
	deadline = time.Now().Add(5 * time.Second)
	for {
		show.Reset()
		_ = d.CLI.Exec(&show, "show interfaces")
		if strings.Count(show.String(), "state=disconnected") == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host B left, but:\n%s", show.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
