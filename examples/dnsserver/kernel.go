package main

import (
	"context"
	"errors"
	"net"
	"runtime"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/vecnet/vecnet/examples/dnsserver/dnszone"
)

// bufSize is the per-datagram buffer: queries are answered in place in it.
const bufSize = 4096

// batchConn is the recvmmsg/sendmmsg view of a UDP socket; ipv4 and ipv6
// PacketConns both provide it (their Message types are the same).
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// runKernel answers on a kernel UDP socket from one goroutine locked to
// its thread, reading and writing batches with recvmmsg/sendmmsg
// (golang.org/x/net) and answering each query in its receive buffer.
func runKernel(ctx context.Context, cfg config, z *dnszone.Zone) error {
	addr, err := net.ResolveUDPAddr("udp", cfg.listen)
	if err != nil {
		return err
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return err
	}
	if cfg.ready != nil {
		cfg.ready(conn.LocalAddr())
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		conn.Close()
	}()
	var bc batchConn = ipv4.NewPacketConn(conn)
	if a := conn.LocalAddr().(*net.UDPAddr); a.IP.To4() == nil {
		bc = ipv6.NewPacketConn(conn)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	err = serveBatches(bc, z, cfg.batch, cfg.stats)
	if ctx.Err() != nil && errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// serveBatches is the kernel-mode loop: read up to batch queries, answer
// each in place, send the replies in one batch. It returns the first read
// error; a failed send of one reply is skipped.
func serveBatches(bc batchConn, z *dnszone.Zone, batch int, st *dnszone.Stats) error {
	rx := make([]ipv4.Message, batch)
	tx := make([]ipv4.Message, batch)
	bufs := make([][]byte, batch)
	for i := range rx {
		bufs[i] = make([]byte, bufSize)
		rx[i].Buffers = [][]byte{bufs[i]}
		tx[i].Buffers = make([][]byte, 1)
	}
	for {
		n, err := bc.ReadBatch(rx, 0)
		if err != nil {
			return err
		}
		k := 0
		for i := range n {
			b := bufs[i]
			m := z.Answer(b[:rx[i].N], b, st)
			if m == 0 {
				continue
			}
			tx[k].Buffers[0] = b[:m]
			tx[k].Addr = rx[i].Addr
			k++
		}
		for sent := 0; sent < k; {
			s, err := bc.WriteBatch(tx[sent:k], 0)
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			if err != nil || s == 0 {
				s = 1 // skip the datagram the kernel refused
			}
			sent += s
		}
	}
}
