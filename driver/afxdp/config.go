package afxdp

import (
	"errors"
	"fmt"

	"github.com/vecnet/vecnet/internal/xdpprog"
	"github.com/vecnet/vecnet/internal/xsk"
)

// ErrInvalidConfig is wrapped by errors Open returns for a Config it rejects.
var ErrInvalidConfig = errors.New("afxdp: invalid config")

// XDP attach modes for Config.Mode.
const (
	ModeAuto    = ""        // generic on a one-queue veth, native otherwise
	ModeNative  = "native"  // in the driver
	ModeGeneric = "generic" // on the skb (skb mode)
)

// Default ring sizes.
const (
	// DefaultRingSize is the fill and RX ring size: large enough that a few
	// milliseconds of scheduling stall at about 1 Mpps do not empty the fill
	// ring.
	DefaultRingSize = 16384
	// DefaultTXRingSize is the TX and completion ring size.
	DefaultTXRingSize = 4096
)

// Config describes one AF_XDP interface. The zero value of a field means its
// default.
type Config struct {
	// Device is the kernel interface name, in the network namespace of the
	// thread that calls Open.
	Device string
	// Queues is how many device queues to take, 0..Queues-1, one socket
	// and one Port each. Default 1.
	Queues int
	// Mode is the XDP attach mode: ModeNative, ModeGeneric or ModeAuto.
	// Generic mode on veth delivers every frame on queue 0, so with
	// Queues > 1 on veth use native (which ModeAuto picks).
	Mode string
	// ZeroCopy asks for zero-copy binding, falling back to copy mode when the
	// driver has none. Copy forces copy mode. With neither, the kernel
	// chooses. Ignored with Shared (a shared UMEM inherits the mode).
	ZeroCopy, Copy bool
	// RingSize is the fill and RX ring size (power of two). Default
	// DefaultRingSize. Each port keeps up to RingSize buffers in its fill
	// ring, so size the arena for Queues*(RingSize+TXRingSize) per interface
	// plus what the workers hold.
	RingSize uint32
	// TXRingSize is the TX and completion ring size (power of two). Default
	// DefaultTXRingSize.
	TXRingSize uint32
	// Match selects the traffic the XDP program steers to the sockets; the
	// rest goes to the kernel. The zero Match means xdpprog.Match{All: true}.
	Match xdpprog.Match
	// Shared, if set, is an open Interface over the same arena whose UMEM
	// the new interface's sockets share. Close the sharing interface first.
	Shared *Interface
	// BusyPoll sets the sockets' busy-poll options (SO_BUSY_POLL and
	// friends); the zero value leaves busy polling off.
	BusyPoll xsk.BusyPoll
	// Logf, if set, receives one line saying which XDP and bind modes were
	// chosen.
	Logf func(format string, args ...any)
}

func (c *Config) setDefaults() error {
	if c.Device == "" {
		return fmt.Errorf("%w: no device", ErrInvalidConfig)
	}
	if c.Queues == 0 {
		c.Queues = 1
	}
	if c.Queues < 0 || c.Queues > 256 {
		return fmt.Errorf("%w: %d queues", ErrInvalidConfig, c.Queues)
	}
	switch c.Mode {
	case ModeAuto, ModeNative, ModeGeneric:
	default:
		return fmt.Errorf("%w: XDP mode %q (want native, generic or empty)", ErrInvalidConfig, c.Mode)
	}
	if c.ZeroCopy && c.Copy {
		return fmt.Errorf("%w: ZeroCopy and Copy both set", ErrInvalidConfig)
	}
	if c.RingSize == 0 {
		c.RingSize = DefaultRingSize
	}
	if c.TXRingSize == 0 {
		c.TXRingSize = DefaultTXRingSize
	}
	if c.BusyPoll.Usecs < 0 || c.BusyPoll.Budget < 0 || c.BusyPoll.Budget > 65535 {
		return fmt.Errorf("%w: busy poll %d µs, budget %d", ErrInvalidConfig, c.BusyPoll.Usecs, c.BusyPoll.Budget)
	}
	if !c.Match.All && len(c.Match.DstIP) == 0 && c.Match.Proto == 0 && c.Match.DstPort == 0 {
		c.Match.All = true
	}
	return c.Match.Validate()
}
