package config

import (
	"errors"
	"fmt"
)

// MAC is an Ethernet address. The zero value means "unset". The daemon
// converts it with [6]byte(m).
type MAC [6]byte

// ParseMAC parses six colon-separated pairs of hex digits, such as
// "02:00:00:00:00:01" (upper or lower case).
func ParseMAC(s string) (MAC, error) {
	var m MAC
	if len(s) != 17 {
		return m, fmt.Errorf("bad MAC %q: want six hex pairs like 02:00:00:00:00:01", s)
	}
	for i := range 6 {
		if i > 0 && s[3*i-1] != ':' {
			return m, fmt.Errorf("bad MAC %q: want six hex pairs like 02:00:00:00:00:01", s)
		}
		hi, ok1 := unhex(s[3*i])
		lo, ok2 := unhex(s[3*i+1])
		if !ok1 || !ok2 {
			return m, fmt.Errorf("bad MAC %q: want six hex pairs like 02:00:00:00:00:01", s)
		}
		m[i] = hi<<4 | lo
	}
	return m, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// IsZero reports whether m is unset.
func (m MAC) IsZero() bool { return m == MAC{} }

// IsMulticast reports whether m is a group address (broadcast included).
func (m MAC) IsMulticast() bool { return m[0]&1 != 0 }

// String formats m as lower-case colon-separated hex.
func (m MAC) String() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 0, 17)
	for i, x := range m {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hex[x>>4], hex[x&15])
	}
	return string(b)
}

// MarshalText implements encoding.TextMarshaler.
func (m MAC) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (so yaml.v3 and
// encoding/json accept "02:00:00:00:00:01").
func (m *MAC) UnmarshalText(b []byte) error {
	if m == nil {
		return errors.New("config: UnmarshalText on nil *MAC")
	}
	x, err := ParseMAC(string(b))
	if err != nil {
		return err
	}
	*m = x
	return nil
}
