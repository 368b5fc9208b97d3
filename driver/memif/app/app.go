// Package app is the application side of memif: a process that is not
// vecnet — a network function, a traffic generator, a test — attaches to
// vecnet (or to DPDK's net_memif, or to VPP) over a memif socket and sends
// and receives vectors of Ethernet frames as byte slices.
//
//	c, err := app.Attach(app.Config{Socket: "/run/vecnet/nf0.sock", Name: "nf0"}, 5*time.Second)
//	n := c.Recv(bufs, lens)   // frames copied into bufs[:n], lengths in lens
//	c.Send(frames)            // copied onto the ring; returns how many fit
//	c.Wait(10*time.Millisecond) // sleep until frames arrive (interrupt mode)
//
// A Conn is one queue pair, used by one goroutine. It reconnects by itself
// when the peer restarts; while it is disconnected Recv and Send move
// nothing.
package app

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vecnet/vecnet/driver"
	"github.com/vecnet/vecnet/driver/memif"
)

// Config says where and how to attach. Role defaults to client, the side
// that owns the memory (attach to vecnet's or VPP's server); set Server to
// let the other side dial in.
type Config struct {
	Socket string
	Name   string // this interface's name, shown by the peer
	ID     uint32
	Secret string
	Server bool
	// Log2RingSize is log2 of the ring size the client makes (default 10).
	Log2RingSize uint8
}

// Conn is an attached memif queue pair.
type Conn struct {
	e   *memif.Endpoint
	q   *memif.Queue
	pfd [1]unix.PollFd
}

// Attach opens the memif and waits up to timeout for the peer (0: do not
// wait; the connection comes up in the background).
func Attach(cfg Config, timeout time.Duration) (*Conn, error) {
	role := memif.Client
	if cfg.Server {
		role = memif.Server
	}
	name := cfg.Name
	if name == "" {
		name = "app"
	}
	e, err := memif.Open(memif.Config{Name: name, AppName: "vecnet-app", Socket: cfg.Socket, Role: role, ID: cfg.ID,
		Secret: cfg.Secret, Queues: 1, Log2RingSize: cfg.Log2RingSize})
	if err != nil {
		return nil, err
	}
	c := &Conn{e: e, q: e.Queues()[0]}
	c.pfd[0] = unix.PollFd{Fd: int32(c.q.PollFD()), Events: unix.POLLIN}
	if timeout > 0 {
		for deadline := time.Now().Add(timeout); !c.q.Connected(); {
			if time.Now().After(deadline) {
				_, _, lastErr := e.Peer()
				e.Close()
				return nil, fmt.Errorf("memif app: no peer on %s after %v (%s)", cfg.Socket, timeout, lastErr)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return c, nil
}

// Connected reports whether the peer is there now.
func (c *Conn) Connected() bool { return c.q.Connected() }

// Peer returns the peer's application and interface names.
func (c *Conn) Peer() (app, ifName string) {
	app, ifName, _ = c.e.Peer()
	return app, ifName
}

// Recv copies up to len(bufs) frames into bufs, their lengths into lens,
// and returns how many. It does not block or allocate.
func (c *Conn) Recv(bufs [][]byte, lens []int) int { return c.q.Recv(bufs, lens) }

// Send copies frames onto the ring and returns how many it took; the rest
// found the ring full (try again) or no peer. It does not block or
// allocate.
func (c *Conn) Send(frames [][]byte) int { return c.q.Send(frames) }

// Wait sleeps until the peer signals frames, the connection changes, or
// timeout passes. Frames that arrived just before are not waited for.
func (c *Conn) Wait(timeout time.Duration) {
	c.q.PrepareWait()
	_, _ = unix.Poll(c.pfd[:], int(timeout/time.Millisecond))
}

// Stats returns the queue's counters (RxErrors: frames too large for their
// buffer or with descriptors outside the shared memory).
func (c *Conn) Stats() driver.Stats { return c.q.Stats() }

// Close detaches.
func (c *Conn) Close() error { return c.e.Close() }
