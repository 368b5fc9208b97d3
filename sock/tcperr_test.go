package sock

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/vecnet/vecnet/stack/tcp"
)

// TestMapTCPErr: the engine's errors, the ICMP ones included, become the
// *os.SyscallError package net wraps for the same failure on Linux.
func TestMapTCPErr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want syscall.Errno
	}{
		{tcp.ErrRefused, syscall.ECONNREFUSED},
		{tcp.ErrReset, syscall.ECONNRESET},
		{tcp.ErrTimeout, syscall.ETIMEDOUT},
		{tcp.ErrProtoUnreachable, syscall.ENOPROTOOPT},
		{tcp.ErrNetUnreachable, syscall.ENETUNREACH},
		{tcp.ErrHostUnreachable, syscall.EHOSTUNREACH},
		{tcp.ErrProhibited, syscall.EACCES},
	} {
		got := mapTCPErr("connect", tc.err)
		var se *os.SyscallError
		if !errors.As(got, &se) || se.Syscall != "connect" || !errors.Is(got, tc.want) {
			t.Errorf("%v: %v, want connect: %v", tc.err, got, tc.want)
		}
	}
}
