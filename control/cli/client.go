package cli

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// RemoteError is a command's failure as reported by the server; its text is
// the server's error message.
type RemoteError struct{ Msg string }

func (e *RemoteError) Error() string { return e.Msg }

// Client is a connection to a Server that runs commands one at a time. It
// is not safe for concurrent use.
type Client struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

// Dial connects to the server listening on the unix socket at path.
func Dial(path string) (*Client, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("cli: %w", err)
	}
	r, w := newClientBuffers(c)
	return &Client{c: c, r: r, w: w}, nil
}

func newClientBuffers(c net.Conn) (*bufio.Reader, *bufio.Writer) {
	return bufio.NewReaderSize(c, maxFrame+5), bufio.NewWriter(c)
}

// Do runs one command line and returns its output. A failing command
// returns its (possibly partial) output and a *RemoteError; other errors
// mean the connection is broken.
func (cl *Client) Do(line string) (string, error) {
	if strings.ContainsAny(line, "\n\r") {
		return "", errors.New("cli: a command line cannot contain a newline")
	}
	if len(line) > MaxLine {
		return "", fmt.Errorf("cli: command line longer than %d bytes", MaxLine)
	}
	if _, err := cl.w.WriteString(line + "\n"); err != nil {
		return "", cl.refusal(err)
	}
	if err := cl.w.Flush(); err != nil {
		return "", cl.refusal(err)
	}
	var out []byte
	for {
		typ, b, err := readFrame(cl.r, out)
		if err != nil {
			return string(out), fmt.Errorf("cli: reading reply: %w", err)
		}
		switch typ {
		case frameOutput:
			out = b
			if len(out) > maxOutput {
				return string(out), fmt.Errorf("cli: reply longer than %d bytes", maxOutput)
			}
		case frameOK:
			return string(out), nil
		case frameError:
			return string(out), &RemoteError{Msg: string(b[len(out):])}
		}
	}
}

// refusal turns a failed send into the server's reason when it left one: a
// server over its connection limit writes an error frame and closes, so the
// command line meets a closed socket while the reason waits to be read.
func (cl *Client) refusal(sendErr error) error {
	cl.c.SetReadDeadline(time.Now().Add(time.Second))
	typ, b, err := readFrame(cl.r, nil)
	cl.c.SetReadDeadline(time.Time{})
	if err == nil && typ == frameError {
		return &RemoteError{Msg: string(b)}
	}
	return fmt.Errorf("cli: %w", sendErr)
}

// Close closes the connection.
func (cl *Client) Close() error { return cl.c.Close() }

// Call runs one command line on the server at path: Dial, Do, Close.
func Call(path, line string) (string, error) {
	cl, err := Dial(path)
	if err != nil {
		return "", err
	}
	defer cl.Close()
	return cl.Do(line)
}
