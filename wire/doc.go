// Package wire provides typed byte views over packet headers, emitters for
// them, and Internet checksum helpers.
//
// Each header is a named byte slice (for example IPv4 []byte) whose methods
// read and write fields in place at fixed offsets. The offsets are unexported
// constants listed under the RFC header diagram in each file. A ParseX
// function checks the length (and, where the header has one, the version or
// length fields) once, and returns a view re-sliced to the header or
// message; after that the accessors are unchecked: they do not validate the
// view and panic if it is shorter than the field they read. A view can also
// be made by conversion (IPv4(b)) when the caller has already checked the
// length, for example to emit a header into a fresh buffer.
//
// Emitting goes through a small fields struct (IPv4Fields, UDPFields, ...)
// and the view's Encode method, which writes the whole fixed header.
//
// Views own no memory: the bytes belong to whoever owns the slice (usually
// the packet arena), and a view is as safe for concurrent use as the bytes
// under it. Nothing in this package allocates, locks, or calls through an
// interface, so it is used on the per-packet hot path. The package imports
// nothing from vecnet.
package wire
