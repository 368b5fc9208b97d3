package afpacket

import (
	"errors"
	"fmt"
	"time"

	"github.com/vecnet/vecnet/pkt"
)

// ErrInvalidConfig is wrapped by the errors Open returns for a Config it
// rejects before asking the kernel.
var ErrInvalidConfig = errors.New("afpacket: invalid config")

// Defaults for the zero values of Config.
const (
	DefaultBlockSize     = 1 << 20 // bytes per RX block
	DefaultBlocks        = 32      // RX blocks per socket
	DefaultRxFrameSize   = 2048    // RingFrames slot size: 16384 slots in the default 32 MiB
	DefaultFrameSize     = 4096    // TX slot size; also tp_frame_size of the block ring
	DefaultTxFrames      = 512     // TX slots per socket
	DefaultRetireTimeout = time.Millisecond
)

// Receive ring kinds for Config.Ring.
const (
	// RingBlocks is the TPACKET_V3 block ring, the default: frames packed
	// into blocks the kernel hands over when full or when RetireTimeout
	// passes. The most packets per second; at low rates every frame waits
	// for the retire timer (1 ms at least).
	RingBlocks = "blocks"
	// RingFrames is the TPACKET_V2 frame ring: one slot per frame, handed
	// over (and the socket woken) as soon as the kernel has written it. No
	// receive latency of its own; on this class of machine about half the
	// forwarding rate of RingBlocks (BENCHMARKS.md 9d).
	RingFrames = "frames"
)

// TX data offsets: a frame's data starts right after the slot's header,
// tpacket3_hdr (48 bytes aligned) with RingBlocks, tpacket2_hdr (32) with
// RingFrames.
const (
	txDataOffV3 = 48
	txDataOffV2 = 32
)

// bigFrameCap is the size of a port's buffer for frames larger than a ring
// slot: a 64 KiB GSO super-frame with its Ethernet and VLAN headers and
// virtio_net_hdr fits.
const bigFrameCap = 1<<16 + 1<<10

// bigQueueBytes is the socket receive buffer asked for (SO_RCVBUFFORCE), in
// which those frames wait for Recv.
const bigQueueBytes = 8 << 20

// Config describes an AF_PACKET interface. The zero value of each numeric
// field means its default.
type Config struct {
	// Device is the kernel interface, in the network namespace of the
	// thread that calls Open.
	Device string
	// Queues is the number of sockets (ports), at least 1. More than one
	// joins them in a PACKET_FANOUT_HASH group.
	Queues int
	// Ring is the receive ring: RingBlocks (the zero value) or RingFrames.
	Ring string
	// BlockSize is the size of one RX block in bytes: a multiple of the
	// page size and of FrameSize and RxFrameSize. With RingBlocks a frame
	// larger than a block is truncated by the kernel and counted as an RX
	// error: keep at least 128 KiB so that the 64 KiB GSO super-frames of a
	// peer with TSO on fit (the default does).
	BlockSize int
	// Blocks is the number of RX blocks per socket.
	Blocks int
	// RxFrameSize is the RingFrames slot size, a power of two >= 2048: the
	// ring has BlockSize/RxFrameSize*Blocks slots. A frame of up to about
	// RxFrameSize-80 bytes is received in its slot, a larger one (a GSO
	// super-frame, a jumbo frame) through the socket, one system call each.
	RxFrameSize int
	// FrameSize is the TX slot size (a frame of up to FrameSize-58 bytes
	// can be sent) and the nominal frame size of the block ring; a power of
	// two >= 2048.
	FrameSize int
	// TxFrames is the number of TX slots per socket.
	TxFrames int
	// RetireTimeout is how long the kernel keeps a partly filled RX block
	// (RingBlocks) before handing it over: the added latency at low rates.
	RetireTimeout time.Duration
	// MAC is the data plane's own address on this link. The zero value
	// derives a locally administered address from the device's, so the
	// kernel stack does not also process the data plane's traffic.
	MAC [6]byte
}

// withDefaults fills zero fields and validates the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Device == "" {
		return c, fmt.Errorf("%w: no device", ErrInvalidConfig)
	}
	if c.Queues == 0 {
		c.Queues = 1
	}
	if c.BlockSize == 0 {
		c.BlockSize = DefaultBlockSize
	}
	if c.Blocks == 0 {
		c.Blocks = DefaultBlocks
	}
	if c.FrameSize == 0 {
		c.FrameSize = DefaultFrameSize
	}
	if c.RxFrameSize == 0 {
		c.RxFrameSize = DefaultRxFrameSize
	}
	if c.RetireTimeout == 0 {
		c.RetireTimeout = DefaultRetireTimeout
	}
	if c.Ring == "" {
		c.Ring = RingBlocks
	}
	if c.TxFrames == 0 {
		c.TxFrames = DefaultTxFrames
	}
	switch {
	case c.Queues < 1 || c.Queues > 64:
		return c, fmt.Errorf("%w: %d queues, want 1..64", ErrInvalidConfig, c.Queues)
	case c.FrameSize < 2048 || c.FrameSize&(c.FrameSize-1) != 0:
		return c, fmt.Errorf("%w: frame size %d, want a power of two >= 2048", ErrInvalidConfig, c.FrameSize)
	case c.RxFrameSize < 2048 || c.RxFrameSize&(c.RxFrameSize-1) != 0:
		return c, fmt.Errorf("%w: rx frame size %d, want a power of two >= 2048", ErrInvalidConfig, c.RxFrameSize)
	case c.BlockSize < pkt.SlotSize || c.BlockSize%pkt.SlotSize != 0 || c.BlockSize%c.RxFrameSize != 0 || c.BlockSize%c.FrameSize != 0:
		return c, fmt.Errorf("%w: block size %d, want a multiple of %d and of the frame sizes", ErrInvalidConfig, c.BlockSize, pkt.SlotSize)
	case c.Ring != RingBlocks && c.Ring != RingFrames:
		return c, fmt.Errorf("%w: ring %q, want %q or %q", ErrInvalidConfig, c.Ring, RingBlocks, RingFrames)
	case c.RetireTimeout < time.Millisecond:
		return c, fmt.Errorf("%w: retire timeout %v, the kernel's unit is 1ms", ErrInvalidConfig, c.RetireTimeout)
	case c.Blocks < 1 || c.TxFrames < 1:
		return c, fmt.Errorf("%w: %d blocks, %d tx frames", ErrInvalidConfig, c.Blocks, c.TxFrames)
	}
	return c, nil
}
