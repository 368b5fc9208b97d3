package afpacket

import (
	"errors"
	"fmt"

	"github.com/vecnet/vecnet/pkt"
)

// ErrInvalidConfig is wrapped by the errors Open returns for a Config it
// rejects before asking the kernel.
var ErrInvalidConfig = errors.New("afpacket: invalid config")

// Defaults for the zero values of Config.
const (
	DefaultBlockSize   = 1 << 20 // bytes per RX block
	DefaultBlocks      = 32      // RX blocks per socket
	DefaultRxFrameSize = 2048    // RX slot size: 16384 slots in the default 32 MiB
	DefaultFrameSize   = 4096    // TX slot size
	DefaultTxFrames    = 512     // TX slots per socket
)

// txDataOff is where a frame's data starts in a TX slot: TPACKET_V2 puts it
// right after the tpacket2_hdr.
const txDataOff = 32

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
	// BlockSize is the size of one RX block in bytes, the unit in which the
	// kernel allocates the ring: a multiple of the page size and of
	// RxFrameSize. The RX ring has BlockSize/RxFrameSize*Blocks slots.
	BlockSize int
	// Blocks is the number of RX blocks per socket.
	Blocks int
	// RxFrameSize is the RX slot size, a power of two >= 2048. A frame of
	// up to about RxFrameSize-80 bytes is received in its slot, a larger
	// one (a GSO super-frame of a peer with TSO on, a jumbo frame) through
	// the socket, one system call each. The slot count is what absorbs a
	// worker's scheduling stalls: the default ring holds 16384 frames, as
	// many as the AF_XDP driver's.
	RxFrameSize int
	// FrameSize is the TX slot size, a power of two >= 2048: a frame of up
	// to FrameSize-42 bytes can be sent.
	FrameSize int
	// TxFrames is the number of TX slots per socket.
	TxFrames int
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
	case c.BlockSize < pkt.SlotSize || c.BlockSize%pkt.SlotSize != 0 || c.BlockSize%c.RxFrameSize != 0:
		return c, fmt.Errorf("%w: block size %d, want a multiple of %d and of the rx frame size", ErrInvalidConfig, c.BlockSize, pkt.SlotSize)
	case c.Blocks < 1 || c.TxFrames < 1:
		return c, fmt.Errorf("%w: %d blocks, %d tx frames", ErrInvalidConfig, c.Blocks, c.TxFrames)
	}
	return c, nil
}
