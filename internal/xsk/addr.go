package xsk

const (
	// ChunkShift is log2 of ChunkSize.
	ChunkShift = 12
	// ChunkSize is the size in bytes of one UMEM chunk, and so of one packet
	// slot in the arena the UMEM is registered over.
	ChunkSize = 1 << ChunkShift
	// RXHeadroom is the offset inside a chunk at which the kernel places
	// received data (XDP_PACKET_HEADROOM; the UMEM headroom is 0).
	RXHeadroom = 256

	chunkMask = ChunkSize - 1
)

// Slot returns the index of the UMEM chunk (packet slot) that addr falls in.
func Slot(addr uint64) uint32 { return uint32(addr >> ChunkShift) }

// Offset returns the byte offset of addr inside its chunk.
func Offset(addr uint64) uint32 { return uint32(addr & chunkMask) }

// Addr returns the UMEM address of byte offset inside chunk slot.
// offset must be less than ChunkSize.
func Addr(slot, offset uint32) uint64 { return uint64(slot)<<ChunkShift | uint64(offset) }

// ChunkBase returns the address of the start of the chunk that addr falls in,
// the form the fill ring takes.
func ChunkBase(addr uint64) uint64 { return addr &^ chunkMask }
