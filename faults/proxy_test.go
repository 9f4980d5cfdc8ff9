package faults

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// natsProxy is a TCP proxy between NATS clients and a server that reads
// the client→server half of the NATS protocol, so a test can act on what a
// worker publishes, from outside the worker:
//
//   - a trap drops the first publish whose subject has a given prefix and
//     everything the connection sends after it, and reports it: to the
//     server, the worker fell silent right before that publish;
//   - a one-shot drop loses that publish only: the worker goes on, and
//     never gets an answer to it;
//   - a blackhole loses every publish with the prefix until disarmed;
//   - a lost answer forwards one publish with its reply subject changed to
//     one nobody listens on: the server stores it, and the publisher never
//     hears so;
//   - freeze stops all traffic of every connection, both ways, until thaw:
//     the worker is cut off but keeps its memory (its executor cache).
//
// Nothing of NATS is imitated: the bytes go to a real server unchanged.
type natsProxy struct {
	t        *testing.T
	ln       net.Listener
	upstream string

	mu      sync.Mutex
	frozen  bool
	thawed  *sync.Cond
	trap    *trap
	conns   []net.Conn
	closing bool
}

// trap is an armed publish trap (see natsProxy).
type trap struct {
	prefix      string
	afterCommit bool // only once the connection has committed
	dropOnly    bool // lose the one publish, forward what follows
	all         bool // lose every matching publish until disarmed
	loseAnswer  bool // forward the one publish, lose the server's answer
	fired       chan trapReport
	done        bool
	drops       int
}

// trapReport says what a trap caught.
type trapReport struct {
	// Dropped is the subject of the publish that was dropped.
	Dropped string
	// LastCommit is the last history subject the connection published
	// before it (the commit whose side effect was dropped).
	LastCommit string
}

func newNATSProxy(t *testing.T, upstreamURL string) *natsProxy {
	t.Helper()
	host := strings.TrimPrefix(upstreamURL, "nats://")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &natsProxy{t: t, ln: ln, upstream: host}
	p.thawed = sync.NewCond(&p.mu)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// URL is the address clients connect to.
func (p *natsProxy) URL() string { return "nats://" + p.ln.Addr().String() }

func (p *natsProxy) close() {
	p.mu.Lock()
	p.closing = true
	p.frozen = false
	p.thawed.Broadcast()
	conns := p.conns
	p.mu.Unlock()
	p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
}

// setTrap arms a trap for the first publish (from any connection) whose
// subject starts with prefix; the channel gets one report.
func (p *natsProxy) setTrap(prefix string) <-chan trapReport {
	return p.arm(&trap{prefix: prefix, afterCommit: true, fired: make(chan trapReport, 1)})
}

// dropOnce arms a one-shot drop of the first publish whose subject starts
// with prefix (see natsProxy).
func (p *natsProxy) dropOnce(prefix string) <-chan trapReport {
	return p.arm(&trap{prefix: prefix, dropOnly: true, fired: make(chan trapReport, 1)})
}

// loseAnswer arms a one-shot loss of the answer to the first publish
// whose subject starts with prefix (see natsProxy).
func (p *natsProxy) loseAnswer(prefix string) <-chan trapReport {
	return p.arm(&trap{prefix: prefix, loseAnswer: true, fired: make(chan trapReport, 1)})
}

// blackhole drops every publish whose subject starts with prefix until
// disarm; the channel reports the first.
func (p *natsProxy) blackhole(prefix string) <-chan trapReport {
	return p.arm(&trap{prefix: prefix, all: true, fired: make(chan trapReport, 1)})
}

// drops is how many publishes the current trap has dropped.
func (p *natsProxy) drops() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.trap == nil {
		return 0
	}
	return p.trap.drops
}

// disarm removes the trap.
func (p *natsProxy) disarm() {
	p.mu.Lock()
	p.trap = nil
	p.mu.Unlock()
}

func (p *natsProxy) arm(tr *trap) <-chan trapReport {
	p.mu.Lock()
	p.trap = tr
	p.mu.Unlock()
	return tr.fired
}

// freeze stops forwarding in both directions.
func (p *natsProxy) freeze() {
	p.mu.Lock()
	p.frozen = true
	p.mu.Unlock()
}

// thaw forwards again what was held back, and what follows.
func (p *natsProxy) thaw() {
	p.mu.Lock()
	p.frozen = false
	p.thawed.Broadcast()
	p.mu.Unlock()
}

// gate blocks while the proxy is frozen.
func (p *natsProxy) gate() {
	p.mu.Lock()
	for p.frozen && !p.closing {
		p.thawed.Wait()
	}
	p.mu.Unlock()
}

func (p *natsProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go p.serverToClient(u, c)
		go p.clientToServer(c, u)
	}
}

func (p *natsProxy) serverToClient(u, c net.Conn) {
	defer c.Close()
	defer u.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := u.Read(buf)
		if n > 0 {
			p.gate()
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// clientToServer forwards the client's protocol operation by operation.
func (p *natsProxy) clientToServer(c, u net.Conn) {
	defer c.Close()
	defer u.Close()
	r := bufio.NewReaderSize(c, 64<<10)
	dead := false // a trap fired on this connection: drop everything
	lastCommit := ""
	var lost []byte // the publish with its reply subject replaced
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		op := line
		subject := ""
		if isOp(line, "PUB ") || isOp(line, "HPUB ") {
			fields := strings.Fields(string(line))
			if len(fields) < 3 {
				p.t.Errorf("proxy: malformed %q", line)
				return
			}
			size, err := strconv.Atoi(fields[len(fields)-1])
			if err != nil {
				p.t.Errorf("proxy: malformed %q", line)
				return
			}
			payload := make([]byte, size+2) // payload and its CRLF
			if _, err := io.ReadFull(r, payload); err != nil {
				return
			}
			op = append(append([]byte{}, line...), payload...)
			subject = fields[1]
			if hasReply := len(fields) == 4 || (len(fields) == 5 && isOp(line, "HPUB ")); hasReply {
				fields[2] = "_LOST.answer"
				lost = append([]byte(strings.Join(fields, " ")+"\r\n"), payload...)
			} else {
				lost = nil
			}
		}
		if dead {
			continue
		}
		if subject != "" {
			if strings.HasPrefix(subject, "wfh.") {
				lastCommit = subject
			}
			if tr, caught := p.catch(subject, lastCommit); caught && tr.loseAnswer {
				if lost == nil {
					p.t.Errorf("proxy: publish to %s asks for no answer to lose", subject)
					return
				}
				p.gate()
				if _, err := u.Write(lost); err != nil {
					return
				}
				tr.fired <- trapReport{Dropped: "the answer to " + subject, LastCommit: lastCommit}
				continue
			} else if caught {
				dead = !tr.dropOnly && !tr.all
				select {
				case tr.fired <- trapReport{Dropped: subject, LastCommit: lastCommit}:
				default: // a blackhole reports its first catch only
				}
				continue
			}
		}
		p.gate()
		if _, err := u.Write(op); err != nil {
			return
		}
	}
}

func (p *natsProxy) catch(subject, lastCommit string) (*trap, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	tr := p.trap
	if tr == nil || tr.done || (tr.afterCommit && lastCommit == "") || !strings.HasPrefix(subject, tr.prefix) {
		return nil, false
	}
	tr.done = !tr.all
	tr.drops++
	return tr, true
}

func isOp(line []byte, op string) bool {
	return len(line) >= len(op) && bytes.EqualFold(line[:len(op)], []byte(op))
}

func (r trapReport) String() string {
	return fmt.Sprintf("dropped a publish to %s after a commit to %s", r.Dropped, r.LastCommit)
}
