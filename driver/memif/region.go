package memif

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// region is one shared memory region: a memfd mapped MAP_SHARED.
type region struct {
	mem      []byte
	fd       int
	borrowed bool // the packet arena (zero-copy): its owner unmaps it
}

// newRegion makes a memfd of size bytes, sealed against shrinking (so the
// peer's mapping can never fault), and maps it.
func newRegion(name string, size int) (region, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return region{fd: -1}, fmt.Errorf("memif: memfd_create: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		return region{fd: -1}, fmt.Errorf("memif: ftruncate region: %w", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK); err != nil {
		unix.Close(fd)
		return region{fd: -1}, fmt.Errorf("memif: seal region: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return region{fd: -1}, fmt.Errorf("memif: mmap region: %w", err)
	}
	return region{mem: mem, fd: fd}, nil
}

// mapRegion maps a peer's region of size bytes from fd, which it takes over.
// The file must be at least size bytes and sealed against shrinking: a
// region the peer could truncate under us would fault the data path.
func mapRegion(fd int, size uint64) (region, error) {
	if size == 0 || size > MaxRegionSize {
		unix.Close(fd)
		return region{fd: -1}, fmt.Errorf("region size %d outside 1..%d", size, uint64(MaxRegionSize))
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || uint64(st.Size) < size {
		unix.Close(fd)
		return region{fd: -1}, fmt.Errorf("region file smaller than its declared %d bytes", size)
	}
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil || seals&unix.F_SEAL_SHRINK == 0 {
		unix.Close(fd)
		return region{fd: -1}, fmt.Errorf("region is not a memfd sealed against shrinking")
	}
	mem, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return region{fd: -1}, fmt.Errorf("mmap region: %w", err)
	}
	return region{mem: mem, fd: fd}, nil
}

func (r *region) close() {
	if r.borrowed {
		r.mem, r.fd = nil, -1
		return
	}
	if r.mem != nil {
		_ = unix.Munmap(r.mem)
		r.mem = nil
	}
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}
