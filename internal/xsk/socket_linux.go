package xsk

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Default ring sizes. Fill and RX are large because a VM's scheduling stalls
// of a few milliseconds otherwise empty the fill ring at about 1 Mpps.
const (
	DefaultFillSize = 16384
	DefaultRXSize   = 16384
	DefaultCompSize = 4096
	DefaultTXSize   = 4096
)

// ErrInvalidConfig is wrapped by errors Open and OpenShared return for
// arguments they reject before asking the kernel.
var ErrInvalidConfig = errors.New("xsk: invalid config")

// Config describes one socket. The zero value of each size means its default.
type Config struct {
	// Ifindex is the index of the device, in the network namespace of the
	// thread that calls Open.
	Ifindex int
	// Queue is the device receive/transmit queue to bind to.
	Queue int
	// FillSize, CompSize, RXSize and TXSize are ring sizes in entries; each
	// must be a power of two, or 0 for the default.
	FillSize, CompSize, RXSize, TXSize uint32
	// ZeroCopy asks for zero-copy mode and falls back to copy mode when the
	// driver does not support it.
	ZeroCopy bool
	// Copy forces copy mode. ZeroCopy and Copy are mutually exclusive; with
	// neither, the kernel picks (zero-copy if the driver supports it).
	Copy bool
	// NoNeedWakeup turns the need-wakeup protocol off, so the kernel polls
	// the fill and TX rings by itself (costing kernel CPU). Need-wakeup is on
	// by default.
	NoNeedWakeup bool
	// SG asks for multi-buffer receive (XDP_USE_SG, kernel >= 6.6): a frame
	// larger than a chunk arrives as several RX descriptors, every one but
	// the last with XDP_PKT_CONTD in Options, instead of being dropped. A
	// kernel that refuses it binds without; Socket.SG reports which.
	SG bool
	// BusyPoll, when its Usecs is set, turns the kernel's busy polling on
	// for the socket (SO_BUSY_POLL, SO_BUSY_POLL_BUDGET,
	// SO_PREFER_BUSY_POLL): the socket's wake-up system calls then run the
	// device's NAPI poll in the calling thread for up to Usecs.
	BusyPoll BusyPoll
}

// BusyPoll are an AF_XDP socket's busy-poll options (the kernel's
// Documentation/networking/af_xdp.rst, "busy polling"). The zero value
// leaves busy polling off.
type BusyPoll struct {
	// Usecs is SO_BUSY_POLL: how long a system call on the socket may poll
	// the device's NAPI context, in µs; 0 off.
	Usecs int
	// Budget is SO_BUSY_POLL_BUDGET, the packets one busy poll may
	// process; 0 the kernel's default (8).
	Budget int
	// Prefer is SO_PREFER_BUSY_POLL: while the application busy-polls, the
	// kernel defers the device's softirq processing to it (pair it with the
	// device's napi_defer_hard_irqs and gro_flush_timeout).
	Prefer bool
}

// apply sets the options on fd.
func (b BusyPoll) apply(fd int) error {
	if b.Usecs <= 0 {
		return nil
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BUSY_POLL, b.Usecs); err != nil {
		return fmt.Errorf("xsk: SO_BUSY_POLL %d: %w", b.Usecs, err)
	}
	if b.Budget > 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BUSY_POLL_BUDGET, b.Budget); err != nil {
			return fmt.Errorf("xsk: SO_BUSY_POLL_BUDGET %d: %w", b.Budget, err)
		}
	}
	if b.Prefer {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PREFER_BUSY_POLL, 1); err != nil {
			return fmt.Errorf("xsk: SO_PREFER_BUSY_POLL: %w", err)
		}
	}
	return nil
}

// Mode is how a socket was bound.
type Mode int

const (
	// ModeCopy: the kernel copies frames between its buffers and the UMEM.
	ModeCopy Mode = iota
	// ModeZeroCopy: the driver receives into and sends from the UMEM.
	ModeZeroCopy
)

// String returns "copy" or "zerocopy".
func (m Mode) String() string {
	if m == ModeZeroCopy {
		return "zerocopy"
	}
	return "copy"
}

// Stats are the kernel's per-socket counters (XDP_STATISTICS).
type Stats struct {
	RXDropped            uint64 // frames dropped for lack of room other than below
	RXInvalidDescs       uint64 // frames dropped because of invalid descriptors
	TXInvalidDescs       uint64 // TX descriptors rejected as invalid
	RXRingFull           uint64 // frames dropped because the RX ring was full
	RXFillRingEmptyDescs uint64 // times the kernel found the fill ring empty
	TXRingEmptyDescs     uint64 // times the kernel found the TX ring empty
}

// Socket is one bound AF_XDP socket and its mapped rings. Its methods are
// safe to call from any goroutine, but each ring must be driven by one
// goroutine at a time. Close it before unmapping the UMEM, and close sockets
// opened with OpenShared before the socket they share with.
type Socket struct {
	fd      int
	ifindex int
	queue   int
	mode    Mode

	fill *FillRing
	comp *CompRing
	rx   *RXRing
	tx   *TXRing
	// ownFillComp reports whether fill and comp were mapped on this socket
	// (false for a shared socket on the primary's device and queue, which
	// uses the primary's rings).
	ownFillComp bool
	// sg reports that the socket was bound with XDP_USE_SG.
	sg bool

	// pfd is the poll(2) argument, kept here so Poll does not allocate.
	pfd [1]unix.PollFd
}

// Open creates an AF_XDP socket, registers umem as its UMEM (chunk size
// ChunkSize, headroom 0), creates and maps the four rings and binds to
// cfg.Ifindex/cfg.Queue. umem is owned by the caller, must be page-aligned
// and a non-zero multiple of ChunkSize long, and must stay mapped until the
// socket (and every socket sharing it) is closed. The fill ring starts
// empty: the caller hands chunks to the kernel. The socket and its device
// live in the network namespace of the calling thread.
func Open(umem []byte, cfg Config) (*Socket, error) {
	if len(umem) == 0 || len(umem)%ChunkSize != 0 {
		return nil, fmt.Errorf("%w: umem length %d is not a non-zero multiple of %d", ErrInvalidConfig, len(umem), ChunkSize)
	}
	if uintptr(unsafe.Pointer(unsafe.SliceData(umem)))%uintptr(unix.Getpagesize()) != 0 {
		return nil, fmt.Errorf("%w: umem is not page-aligned", ErrInvalidConfig)
	}
	if cfg.ZeroCopy && cfg.Copy {
		return nil, fmt.Errorf("%w: ZeroCopy and Copy both set", ErrInvalidConfig)
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	var flags uint16
	switch {
	case cfg.Copy:
		flags |= unix.XDP_COPY
	case cfg.ZeroCopy:
		flags |= unix.XDP_ZEROCOPY
	}
	if !cfg.NoNeedWakeup {
		flags |= unix.XDP_USE_NEED_WAKEUP
	}
	if cfg.SG {
		flags |= unix.XDP_USE_SG
	}
	s, err := open(umem, nil, cfg, flags)
	if err != nil && flags&unix.XDP_USE_SG != 0 && (errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL)) {
		flags &^= unix.XDP_USE_SG // a kernel before 6.6, or a driver without it
		s, err = open(umem, nil, cfg, flags)
	}
	if err != nil && cfg.ZeroCopy && errors.Is(err, unix.EOPNOTSUPP) {
		// A failed bind leaves the socket half set up; start again.
		s, err = open(umem, nil, cfg, flags&^unix.XDP_ZEROCOPY|unix.XDP_COPY)
	}
	return s, err
}

// OpenShared creates a socket that shares primary's UMEM (XDP_SHARED_UMEM),
// bound to cfg.Ifindex/cfg.Queue. On another device or queue it gets its own
// fill and completion rings (cfg.FillSize, cfg.CompSize); on primary's device
// and queue it uses primary's, so Fill and Comp return the same rings and
// the caller must drive them from one goroutine. The bind mode and
// need-wakeup are inherited from primary; cfg.ZeroCopy, cfg.Copy and
// cfg.NoNeedWakeup are ignored. Close the shared socket before primary.
func OpenShared(primary *Socket, cfg Config) (*Socket, error) {
	if primary == nil || primary.fd < 0 {
		return nil, fmt.Errorf("%w: primary socket is closed", ErrInvalidConfig)
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return open(nil, primary, cfg, unix.XDP_SHARED_UMEM)
}

func (c *Config) setDefaults() error {
	for _, f := range []struct {
		size *uint32
		def  uint32
		name string
	}{
		{&c.FillSize, DefaultFillSize, "FillSize"},
		{&c.CompSize, DefaultCompSize, "CompSize"},
		{&c.RXSize, DefaultRXSize, "RXSize"},
		{&c.TXSize, DefaultTXSize, "TXSize"},
	} {
		if *f.size == 0 {
			*f.size = f.def
		}
		if *f.size&(*f.size-1) != 0 {
			return fmt.Errorf("%w: %s %d is not a power of two", ErrInvalidConfig, f.name, *f.size)
		}
	}
	if c.Ifindex <= 0 || c.Queue < 0 {
		return fmt.Errorf("%w: ifindex %d queue %d", ErrInvalidConfig, c.Ifindex, c.Queue)
	}
	return nil
}

// open does the work of Open (umem != nil) and OpenShared (primary != nil).
func open(umem []byte, primary *Socket, cfg Config, flags uint16) (*Socket, error) {
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("xsk: socket: %w", err)
	}
	s := &Socket{fd: fd, ifindex: cfg.Ifindex, queue: cfg.Queue, ownFillComp: true}
	s.pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	if err := s.setup(umem, primary, cfg, flags); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Socket) setup(umem []byte, primary *Socket, cfg Config, flags uint16) error {
	if err := cfg.BusyPoll.apply(s.fd); err != nil {
		return err
	}
	if umem != nil {
		reg := unix.XDPUmemReg{
			Addr: uint64(uintptr(unsafe.Pointer(unsafe.SliceData(umem)))),
			Len:  uint64(len(umem)),
			Size: ChunkSize,
		}
		if err := setsockopt(s.fd, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
			return fmt.Errorf("xsk: XDP_UMEM_REG: %w", err)
		}
	}
	if primary != nil && primary.ifindex == cfg.Ifindex && primary.queue == cfg.Queue {
		s.ownFillComp = false
		s.fill, s.comp = primary.fill, primary.comp
	}
	if s.ownFillComp {
		if err := unix.SetsockoptInt(s.fd, unix.SOL_XDP, unix.XDP_UMEM_FILL_RING, int(cfg.FillSize)); err != nil {
			return fmt.Errorf("xsk: XDP_UMEM_FILL_RING %d: %w", cfg.FillSize, err)
		}
		if err := unix.SetsockoptInt(s.fd, unix.SOL_XDP, unix.XDP_UMEM_COMPLETION_RING, int(cfg.CompSize)); err != nil {
			return fmt.Errorf("xsk: XDP_UMEM_COMPLETION_RING %d: %w", cfg.CompSize, err)
		}
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_XDP, unix.XDP_RX_RING, int(cfg.RXSize)); err != nil {
		return fmt.Errorf("xsk: XDP_RX_RING %d: %w", cfg.RXSize, err)
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_XDP, unix.XDP_TX_RING, int(cfg.TXSize)); err != nil {
		return fmt.Errorf("xsk: XDP_TX_RING %d: %w", cfg.TXSize, err)
	}
	var off unix.XDPMmapOffsets
	if err := getsockopt(s.fd, unix.XDP_MMAP_OFFSETS, unsafe.Pointer(&off), unsafe.Sizeof(off)); err != nil {
		return fmt.Errorf("xsk: XDP_MMAP_OFFSETS: %w", err)
	}
	if s.ownFillComp {
		mem, err := mapRing(s.fd, unix.XDP_UMEM_PGOFF_FILL_RING, off.Fr, cfg.FillSize, 8)
		if err != nil {
			return fmt.Errorf("xsk: mmap fill ring: %w", err)
		}
		s.fill = newFillRing(mem, off.Fr, cfg.FillSize)
		s.fill.mem = mem
		if mem, err = mapRing(s.fd, unix.XDP_UMEM_PGOFF_COMPLETION_RING, off.Cr, cfg.CompSize, 8); err != nil {
			return fmt.Errorf("xsk: mmap completion ring: %w", err)
		}
		s.comp = newCompRing(mem, off.Cr, cfg.CompSize)
		s.comp.mem = mem
	}
	const descSize = unsafe.Sizeof(unix.XDPDesc{})
	mem, err := mapRing(s.fd, unix.XDP_PGOFF_RX_RING, off.Rx, cfg.RXSize, descSize)
	if err != nil {
		return fmt.Errorf("xsk: mmap rx ring: %w", err)
	}
	s.rx = newRXRing(mem, off.Rx, cfg.RXSize)
	s.rx.mem = mem
	if mem, err = mapRing(s.fd, unix.XDP_PGOFF_TX_RING, off.Tx, cfg.TXSize, descSize); err != nil {
		return fmt.Errorf("xsk: mmap tx ring: %w", err)
	}
	s.tx = newTXRing(mem, off.Tx, cfg.TXSize)
	s.tx.mem = mem

	sa := &unix.SockaddrXDP{Flags: flags, Ifindex: uint32(cfg.Ifindex), QueueID: uint32(cfg.Queue)}
	if primary != nil {
		sa.SharedUmemFD = uint32(primary.fd)
	}
	if err := unix.Bind(s.fd, sa); err != nil {
		return fmt.Errorf("xsk: bind ifindex %d queue %d flags %#x: %w", cfg.Ifindex, cfg.Queue, flags, err)
	}
	s.sg = flags&unix.XDP_USE_SG != 0
	if primary != nil {
		s.sg = primary.sg // a shared socket inherits the UMEM's
	}
	var opts struct{ flags uint32 }
	if err := getsockopt(s.fd, unix.XDP_OPTIONS, unsafe.Pointer(&opts), unsafe.Sizeof(opts)); err != nil {
		return fmt.Errorf("xsk: XDP_OPTIONS: %w", err)
	}
	if opts.flags&unix.XDP_OPTIONS_ZEROCOPY != 0 {
		s.mode = ModeZeroCopy
	}
	return nil
}

func mapRing(fd int, pgoff int64, off unix.XDPRingOffset, size uint32, entry uintptr) ([]byte, error) {
	n := int(off.Desc) + int(size)*int(entry)
	return unix.Mmap(fd, pgoff, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
}

func setsockopt(fd, opt int, p unsafe.Pointer, n uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(p), n, 0)
	if e != 0 {
		return e
	}
	return nil
}

func getsockopt(fd, opt int, p unsafe.Pointer, n uintptr) error {
	l := uint32(n)
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(p), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// FD returns the socket's file descriptor, for registering it in an XSKMAP.
// It stays owned by the Socket.
func (s *Socket) FD() int { return s.fd }

// Ifindex returns the device index the socket is bound to.
func (s *Socket) Ifindex() int { return s.ifindex }

// Queue returns the queue the socket is bound to.
func (s *Socket) Queue() int { return s.queue }

// Mode reports whether the socket was bound in copy or zero-copy mode.
func (s *Socket) Mode() Mode { return s.mode }

// Fill returns the fill ring.
func (s *Socket) Fill() *FillRing { return s.fill }

// Comp returns the completion ring.
func (s *Socket) Comp() *CompRing { return s.comp }

// RX returns the RX ring.
func (s *Socket) RX() *RXRing { return s.rx }

// TX returns the TX ring.
func (s *Socket) TX() *TXRing { return s.tx }

// Wakeup kicks the kernel to send what was submitted on the TX ring
// (sendto with MSG_DONTWAIT). Transient refusals (EAGAIN, EBUSY, ENOBUFS,
// ENETDOWN) are not errors: the caller retries on its next batch. Call it
// when [TXRing.NeedsWakeup] says so. Does not allocate.
//
// It is a raw system call: it never blocks (MSG_DONTWAIT), so the Go
// scheduler need not hand the caller's P to another thread during it, and
// a worker calling it once per busy pass would otherwise keep the
// runtime's sysmon thread waking every 20 µs (see worker's pollSleep).
func (s *Socket) Wakeup() error {
	_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	switch e {
	case 0, unix.EAGAIN, unix.EBUSY, unix.ENOBUFS, unix.ENETDOWN:
		return nil
	}
	return e
}

// WakeupRX kicks the kernel to pick up fill-ring entries (recvfrom with
// MSG_DONTWAIT), for a busy-polling receiver whose [FillRing.NeedsWakeup]
// is set; an idle receiver calls Poll instead. Transient refusals are not
// errors. Does not allocate. A raw system call, as Wakeup.
func (s *Socket) WakeupRX() error {
	_, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	switch e {
	case 0, unix.EAGAIN, unix.EBUSY, unix.ENOBUFS, unix.ENETDOWN:
		return nil
	}
	return e
}

// Poll sleeps until the RX ring has entries or timeout passes (negative:
// no limit), and reports whether it has entries. Polling also serves as the
// fill-ring wake-up. An interrupted poll returns false and no error. Poll
// must not be called from two goroutines at once. Does not allocate.
func (s *Socket) Poll(timeout time.Duration) (bool, error) {
	ms := -1
	if timeout >= 0 {
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	n, err := unix.Poll(s.pfd[:], ms)
	if err == unix.EINTR {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return n > 0 && s.pfd[0].Revents&unix.POLLIN != 0, nil
}

// Stats reads the kernel's counters for the socket.
func (s *Socket) Stats() (Stats, error) {
	var st unix.XDPStatistics
	if err := getsockopt(s.fd, unix.XDP_STATISTICS, unsafe.Pointer(&st), unsafe.Sizeof(st)); err != nil {
		return Stats{}, fmt.Errorf("xsk: XDP_STATISTICS: %w", err)
	}
	return Stats{
		RXDropped:            st.Rx_dropped,
		RXInvalidDescs:       st.Rx_invalid_descs,
		TXInvalidDescs:       st.Tx_invalid_descs,
		RXRingFull:           st.Rx_ring_full,
		RXFillRingEmptyDescs: st.Rx_fill_ring_empty_descs,
		TXRingEmptyDescs:     st.Tx_ring_empty_descs,
	}, nil
}

// Close unmaps the rings and closes the socket. The rings must not be used
// afterwards. Calling Close again is a no-op.
func (s *Socket) Close() error {
	if s.fd < 0 {
		return nil
	}
	var errs []error
	if s.rx != nil {
		errs = append(errs, s.rx.unmap())
	}
	if s.tx != nil {
		errs = append(errs, s.tx.unmap())
	}
	if s.ownFillComp {
		if s.fill != nil {
			errs = append(errs, s.fill.unmap())
		}
		if s.comp != nil {
			errs = append(errs, s.comp.unmap())
		}
	}
	errs = append(errs, unix.Close(s.fd))
	s.fd = -1
	return errors.Join(errs...)
}
