// Package cli is vecnet's command tree, in the manner of VPP's
// VLIB_CLI_COMMAND: packages register commands by path ("show runtime"), a
// line is matched word by word with unique abbreviations ("sh run"), and the
// remaining words are the command's arguments. A Server serves a Registry on
// a unix socket; Call and Client are the other end, used by vecnetctl.
//
// Wire protocol (one connection may carry many commands, one at a time):
//
//	client → server   one command line, UTF-8, terminated by '\n', at most MaxLine bytes
//	server → client   zero or more frames, then exactly one final frame
//
//	frame  = type (1 byte) | length (4 bytes, big endian) | payload (length bytes, at most maxFrame)
//	type 'O'  output bytes, to be concatenated
//	type 'K'  final: the command succeeded (length 0)
//	type 'E'  final: the command failed; the payload is the error text
//
// Because the status comes after the output in its own frame, output of any
// content can never be mistaken for an error, and a client sees a failure
// even after partial output.
package cli

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
)

// Errors returned by Exec (wrapped with the offending line).
var (
	ErrUnknownCommand   = errors.New("unknown command")
	ErrAmbiguousCommand = errors.New("ambiguous command")
)

// Command is one CLI command. The Registry keeps a copy; Run is called with
// the words after the path, and writes its output to w. Run may be called
// from several goroutines at once (one per CLI connection), so it must
// synchronise with whatever it reads (the daemon's handlers do, by running
// on the workers).
type Command struct {
	Path string // words separated by spaces, e.g. "show runtime"
	Help string // one line for "help"
	Run  func(w io.Writer, args []string) error
}

// Registry is a tree of commands keyed by the words of their paths. It is
// safe for concurrent use: Register may run while Exec does.
type Registry struct {
	mu   sync.RWMutex
	root node
}

type node struct {
	word string
	cmd  *Command // nil when only a prefix of longer paths
	kids []*node  // sorted by word
}

// NewRegistry returns an empty registry. "help" and "?" are built in.
func NewRegistry() *Registry { return &Registry{} }

// Register adds c. The path must have at least one word, must not begin
// with "help" or contain "?", and must not be registered already; Run must
// not be nil. A path may be both a command and a prefix of others.
func (r *Registry) Register(c Command) error {
	words := strings.Fields(c.Path)
	switch {
	case len(words) == 0:
		return errors.New("cli: empty command path")
	case c.Run == nil:
		return fmt.Errorf("cli: command %q has no Run function", c.Path)
	case words[0] == "help" || strings.Contains(c.Path, "?"):
		return fmt.Errorf("cli: command %q: \"help\" and \"?\" are reserved", c.Path)
	}
	c.Path = strings.Join(words, " ")
	r.mu.Lock()
	defer r.mu.Unlock()
	n := &r.root
	for _, w := range words {
		i := sort.Search(len(n.kids), func(i int) bool { return n.kids[i].word >= w })
		if i == len(n.kids) || n.kids[i].word != w {
			n.kids = append(n.kids, nil)
			copy(n.kids[i+1:], n.kids[i:])
			n.kids[i] = &node{word: w}
		}
		n = n.kids[i]
	}
	if n.cmd != nil {
		return fmt.Errorf("cli: command %q registered twice", c.Path)
	}
	n.cmd = &c
	return nil
}

// Exec runs one command line, writing the output to w. Words match the
// registered paths exactly or by a unique prefix; the longest matching path
// wins and the remaining words become its arguments. "help" or "?" (alone,
// before a prefix, or after one: "show ?") lists commands with their help.
// An empty line does nothing. Errors are the command's own or wrap
// ErrUnknownCommand / ErrAmbiguousCommand with suggestions.
func (r *Registry) Exec(w io.Writer, line string) error {
	words := strings.Fields(line)
	switch {
	case len(words) == 0:
		return nil
	case words[0] == "help" || words[0] == "?":
		return r.help(w, words[1:])
	case words[len(words)-1] == "?":
		return r.help(w, words[:len(words)-1])
	}
	r.mu.RLock()
	c, args, err := r.lookup(words)
	r.mu.RUnlock()
	if err != nil {
		return err
	}
	return c.Run(w, args)
}

// Commands returns a copy of every registered command, sorted by path.
func (r *Registry) Commands() []Command {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return collect(&r.root, nil)
}

// child returns n's child that word names: an exact match, else the only
// child the word is a prefix of. ambiguous lists the candidates when there
// are several.
func (n *node) child(word string) (k *node, ambiguous []string) {
	var cands []*node
	for _, k := range n.kids {
		if k.word == word {
			return k, nil
		}
		if strings.HasPrefix(k.word, word) {
			cands = append(cands, k)
		}
	}
	switch len(cands) {
	case 0:
		return nil, nil
	case 1:
		return cands[0], nil
	}
	for _, k := range cands {
		ambiguous = append(ambiguous, k.word)
	}
	return nil, ambiguous
}

// lookup finds the command for words; r.mu must be held.
func (r *Registry) lookup(words []string) (*Command, []string, error) {
	n := &r.root
	var best *Command
	bestAt, depth := 0, 0
	for i, word := range words {
		k, amb := n.child(word)
		if amb != nil {
			return nil, nil, fmt.Errorf("%w %q: %q could be %s", ErrAmbiguousCommand,
				strings.Join(words[:i+1], " "), word, strings.Join(amb, " or "))
		}
		if k == nil {
			break
		}
		n, depth = k, i+1
		if n.cmd != nil {
			best, bestAt = n.cmd, i+1
		}
	}
	if best != nil {
		return best, words[bestAt:], nil
	}
	line := strings.Join(words, " ")
	if depth > 0 {
		msg := fmt.Sprintf("%v %q; %q continues as: %s", ErrUnknownCommand, line,
			strings.Join(words[:depth], " "), strings.Join(paths(collect(n, nil)), ", "))
		if depth == len(words) {
			msg = fmt.Sprintf("incomplete command %q; it continues as: %s", line, strings.Join(paths(collect(n, nil)), ", "))
		}
		return nil, nil, wrapped{ErrUnknownCommand, msg}
	}
	msg := fmt.Sprintf("%v %q", ErrUnknownCommand, line)
	if s := suggest(collect(&r.root, nil), words); len(s) > 0 {
		msg += "; did you mean: " + strings.Join(s, ", ")
	}
	return nil, nil, wrapped{ErrUnknownCommand, msg + " (\"help\" lists all commands)"}
}

// wrapped is an error with its own text that unwraps to a sentinel.
type wrapped struct {
	sentinel error
	msg      string
}

func (e wrapped) Error() string { return e.msg }
func (e wrapped) Unwrap() error { return e.sentinel }

// help writes the commands under the prefix words, one per line.
func (r *Registry) help(w io.Writer, prefix []string) error {
	r.mu.RLock()
	n := &r.root
	for i, word := range prefix {
		k, amb := n.child(word)
		if amb != nil {
			r.mu.RUnlock()
			return fmt.Errorf("%w %q: %q could be %s", ErrAmbiguousCommand,
				strings.Join(prefix[:i+1], " "), word, strings.Join(amb, " or "))
		}
		if k == nil {
			r.mu.RUnlock()
			return fmt.Errorf("%w %q (\"help\" lists all commands)", ErrUnknownCommand, strings.Join(prefix, " "))
		}
		n = k
	}
	cmds := collect(n, nil)
	r.mu.RUnlock()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  %s\t%s\n", c.Path, c.Help)
	}
	return tw.Flush()
}

// collect appends the commands at and under n, in path order.
func collect(n *node, out []Command) []Command {
	if n.cmd != nil {
		out = append(out, *n.cmd)
	}
	for _, k := range n.kids {
		out = collect(k, out)
	}
	return out
}

func paths(cs []Command) []string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.Path
	}
	return s
}
