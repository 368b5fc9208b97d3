package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vecnet/vecnet/internal/testutil"
	"github.com/vecnet/vecnet/internal/topo"
	"github.com/vecnet/vecnet/sock"
	"github.com/vecnet/vecnet/stack/icmp"
	"github.com/vecnet/vecnet/stack/tcp/tcpnode"
	"github.com/vecnet/vecnet/stack/udp"
)

// The IPv6 addresses of the HTTP rig's A link (only inside its namespaces).
const (
	router6 = "2001:db8:76:1::1"
	host6   = "2001:db8:76:1::2"
)

// startServer6 builds the rig with IPv6 on (kernel defaults, offloads
// included), gives host A router6's link a global address, and runs the
// example in mode on vecnet's interface A (AF_XDP, dual-stack) listening on
// [router6]:80. It returns once the server is ready and vecnet's addresses
// passed DAD.
func startServer6(t *testing.T, mode string) *server {
	t.Helper()
	testutil.RequireRoot(t)
	for _, tool := range []string{"curl", "ethtool"} {
		testutil.RequireTool(t, tool)
	}
	rig, err := topo.NewRig(topo.RigOptions{Prefix: "h6", IPv6: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rig.Close(); err != nil {
			t.Error(err)
		}
	})
	// The router namespace's kernel keeps out of IPv6 on vecnet's device.
	if out, err := rig.R.Run("sysctl", "-qw", "net.ipv6.conf."+topo.RouterA+".disable_ipv6=1"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := rig.A.Run("ip", "-6", "addr", "add", host6+"/64", "dev", topo.HostDev, "nodad"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	vc := topo.RouterConfig(rig, "afxdp", "", "")
	vc.Interfaces = vc.Interfaces[:1]
	vc.Interfaces[0].Addresses = append(vc.Interfaces[0].Addresses, netip.MustParsePrefix(router6+"/64"))
	s := runServer(t, rig, config{mode: mode, listen: "[" + router6 + "]:80", vecnet: vc})
	waitFor(t, 10*time.Second, "DAD of vecnet's addresses", func() bool { return s.d.DP.ND.DADPending() == 0 })
	return s
}

// counter sums a node's counter over the workers.
func (s *server) counter(node, name string) uint64 {
	var n uint64
	for _, rows := range s.d.Errors() {
		for _, r := range rows {
			if r.Node == node && r.Name == name {
				n += r.Count
			}
		}
	}
	return n
}

// TestIPv6BetweenNamespaces: the host stack over IPv6 against host A's
// kernel at its default offloads: curl -6 fetches 4 MiB from net/http on
// sock.ListenTCP("[2001:db8:76:1::1]:80") and posts 1 MiB (digests checked
// both ways), a closed port answers RST, vecnet dials host A's kernel
// listener with sock.DialTCP and moves 1 MiB each way (hashes checked), and
// a kernel UDP client is echoed by a sock.ListenUDP socket.
func TestIPv6BetweenNamespaces(t *testing.T) {
	for _, mode := range []string{"nethttp", "ingraph"} {
		t.Run(mode, func(t *testing.T) {
			s := startServer6(t, mode)
			base := "http://[" + router6 + "]"
			t.Run("curl -6 GET /", func(t *testing.T) {
				out, err := s.curl("-6", "-f", base+"/")
				if err != nil || out != "hello from httpserver\n" {
					t.Fatalf("GET /: %v\n%s", err, out)
				}
			})
			if mode == "ingraph" {
				return // the rest is the same stack; once is enough
			}
			t.Run("curl -6 GET 4 MiB and POST 1 MiB", func(t *testing.T) {
				const n = 4 << 20
				body := filepath.Join(t.TempDir(), "body")
				if out, err := s.curl("-6", "-f", "-o", body, base+"/bytes/"+strconv.Itoa(n)); err != nil {
					t.Fatalf("curl: %v\n%s", err, out)
				}
				got, err := os.ReadFile(body)
				if err != nil {
					t.Fatal(err)
				}
				if sum, want := sha256.Sum256(got), sha256.Sum256(Bytes(n)); len(got) != n || sum != want {
					t.Fatalf("%d bytes with sha256 %x, want %d with %x", len(got), sum, n, want)
				}
				data := Bytes(1<<20 + 333)
				data[4242] ^= 0x77
				f := filepath.Join(t.TempDir(), "post")
				if err := os.WriteFile(f, data, 0o600); err != nil {
					t.Fatal(err)
				}
				out, err := s.curl("-6", "-f", "--data-binary", "@"+f, base+"/sha256")
				if want := sha256.Sum256(data); err != nil || strings.TrimSpace(out) != hex.EncodeToString(want[:]) {
					t.Fatalf("POST: %v, got %q want %x", err, out, want)
				}
			})
			t.Run("closed port refuses", func(t *testing.T) {
				before := s.counter(tcpnode.Input6Name, "no_connection")
				derr := s.rig.A.Do(func() error {
					c, err := net.DialTimeout("tcp6", "["+router6+"]:81", 5*time.Second)
					if err == nil {
						c.Close()
					}
					return err
				})
				if derr == nil || !strings.Contains(derr.Error(), "refused") {
					t.Fatalf("dial a closed port: %v, want connection refused", derr)
				}
				if s.counter(tcpnode.Input6Name, "no_connection") <= before {
					t.Fatal("tcp6-input did not count no_connection")
				}
			})
			t.Run("sock.DialTCP to a kernel listener, 1 MiB each way", func(t *testing.T) {
				const n = 1<<20 + 11
				done := kernelHashPeer(t, s, "tcp6", "["+host6+"]:9000", n)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, err := sock.Dialer(s.d.Stack)(ctx, "tcp6", "["+host6+"]:9000")
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if la := c.LocalAddr().(*net.TCPAddr).AddrPort().Addr(); la != netip.MustParseAddr(router6) {
					t.Fatalf("source address %v, want %s", la, router6)
				}
				data := Bytes(n)
				data[n/2] ^= 0x5a
				exchangeWithHashPeer(t, c.(*sock.TCPConn), data, n, done)
			})
			t.Run("connected UDP socket refused by host A's ICMPv6", func(t *testing.T) {
				c, err := sock.DialUDP(s.d.Stack, netip.AddrPort{}, netip.MustParseAddrPort("["+host6+"]:9999"))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				var rerr error
				for try := 0; try < 10 && !errors.Is(rerr, syscall.ECONNREFUSED); try++ {
					if _, err := c.Write([]byte("anyone?")); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
						t.Fatal(err)
					}
					c.SetReadDeadline(time.Now().Add(time.Second))
					_, rerr = c.Read(make([]byte, 16))
				}
				if !errors.Is(rerr, syscall.ECONNREFUSED) {
					t.Fatalf("Read: %v, want ECONNREFUSED (icmp6-input socket_errors %d)", rerr, s.counter(icmp.Input6Name, "socket_errors"))
				}
			})
			t.Run("UDP echo", func(t *testing.T) {
				pc, err := sock.ListenPacket(s.d.Stack, "udp6", "["+router6+"]:7")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { pc.Close() })
				go func() {
					buf := make([]byte, 2048)
					for {
						n, from, err := pc.ReadFrom(buf)
						if err != nil {
							return
						}
						pc.WriteTo(buf[:n], from)
					}
				}()
				err = s.rig.A.Do(func() error {
					c, err := net.Dial("udp6", "["+router6+"]:7")
					if err != nil {
						return err
					}
					defer c.Close()
					buf := make([]byte, 2048)
					for k := range 20 {
						msg := strings.Repeat(string(rune('a'+k)), 50+k*60) // up to 1190 bytes: no fragments
						c.SetDeadline(time.Now().Add(2 * time.Second))
						if _, err := c.Write([]byte(msg)); err != nil {
							return err
						}
						n, err := c.Read(buf)
						if err != nil {
							return err
						}
						if string(buf[:n]) != msg {
							t.Errorf("echo %d: %d bytes back, want %d", k, n, len(msg))
						}
					}
					return nil
				})
				if err != nil {
					t.Fatalf("UDP echo from host A: %v (udp6-input: %d delivered, errors %+v)", err,
						s.counter(udp.Input6Name, "delivered"), s.d.Errors())
				}
			})
		})
	}
}
