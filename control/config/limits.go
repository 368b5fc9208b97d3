package config

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// Bounds of the Limits fields.
const (
	MaxCLIConnections                      = 1024
	MinCLIWriteTimeout, MaxCLIWriteTimeout = 10 * time.Millisecond, time.Hour
	maxLimitBuffers                        = 1 << 20 // the largest arena
)

// Limits bound what CLI clients and host-stack applications may hold of the
// daemon, so that none of them can stall or starve the data plane. A zero
// field takes its default. YAML key: limits.
type Limits struct {
	// CLIConnections is how many CLI connections are served at once;
	// one more is refused with a message. 1..1024, default 64
	// (cli.DefaultMaxConns). YAML: cli_connections.
	CLIConnections int
	// CLIWriteTimeout is the longest one write to a CLI client may block: a
	// client that stops reading is disconnected after it. 10ms..1h, default
	// 10s (cli.DefaultWriteTimeout). YAML: cli_write_timeout, a Go duration
	// ("10s").
	CLIWriteTimeout time.Duration
	// SocketQueue is the most packet buffers one host-stack socket's
	// receive queue holds (SO_RCVBUF in buffers); default 1024. YAML:
	// socket_queue.
	SocketQueue int
	// SocketBudget is the most packet buffers all sockets' receive queues
	// hold together; default an eighth of the packet buffers. YAML:
	// socket_budget.
	SocketBudget int
	// PoolReserve is how many packet buffers applications' sends leave free
	// for receive refills, ARP and forwarding; default an eighth of the
	// packet buffers. YAML: pool_reserve.
	PoolReserve int
}

// fileLimits mirrors Limits for Marshal.
type fileLimits struct {
	CLIConnections  int    `yaml:"cli_connections,omitempty"`
	CLIWriteTimeout string `yaml:"cli_write_timeout,omitempty"`
	SocketQueue     int    `yaml:"socket_queue,omitempty"`
	SocketBudget    int    `yaml:"socket_budget,omitempty"`
	PoolReserve     int    `yaml:"pool_reserve,omitempty"`
}

// file returns l for Marshal, nil when every field is unset.
func (l Limits) file() *fileLimits {
	if l == (Limits{}) {
		return nil
	}
	f := &fileLimits{CLIConnections: l.CLIConnections, SocketQueue: l.SocketQueue, SocketBudget: l.SocketBudget, PoolReserve: l.PoolReserve}
	if l.CLIWriteTimeout != 0 {
		f.CLIWriteTimeout = l.CLIWriteTimeout.String()
	}
	return f
}

// limits decodes the limits mapping.
func (w *walker) limits(n *yaml.Node) Limits {
	var l Limits
	m := w.fields(n, "limits", "cli_connections", "cli_write_timeout", "socket_queue", "socket_budget", "pool_reserve")
	if m == nil {
		return l
	}
	if v, ok := m["cli_connections"]; ok {
		l.CLIConnections, _ = w.integer(v, "limits: cli_connections", 1, MaxCLIConnections)
	}
	if v, ok := m["cli_write_timeout"]; ok {
		if s, ok := w.str(v, "limits: cli_write_timeout"); ok {
			d, err := time.ParseDuration(s)
			switch {
			case err != nil:
				w.errorf(v, "limits: cli_write_timeout: %q is not a duration (such as 10s or 500ms)", s)
			case d < MinCLIWriteTimeout || d > MaxCLIWriteTimeout:
				w.errorf(v, "limits: cli_write_timeout: %v is out of range %v..%v", d, MinCLIWriteTimeout, MaxCLIWriteTimeout)
			default:
				l.CLIWriteTimeout = d
			}
		}
	}
	if v, ok := m["socket_queue"]; ok {
		l.SocketQueue, _ = w.integer(v, "limits: socket_queue", 1, maxLimitBuffers)
	}
	if v, ok := m["socket_budget"]; ok {
		l.SocketBudget, _ = w.integer(v, "limits: socket_budget", 1, maxLimitBuffers)
	}
	if v, ok := m["pool_reserve"]; ok {
		l.PoolReserve, _ = w.integer(v, "limits: pool_reserve", 1, maxLimitBuffers)
	}
	return l
}
