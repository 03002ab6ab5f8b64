"""Hostile peers against nabproxy in front of a real Prosody (issue 11 item 4).

Each case runs a control client (logged in and bound through the proxy,
from 127.0.0.2) that keeps exchanging pings with the server while the
attack runs, and checks the proxy's resident memory afterwards.

- slowloris: 20 connections trickle their stream header a byte at a time;
  each gets connection-timeout at header-timeout (1 s) however many bytes
  it sent, and none of them causes an upstream connection (the upstream is
  dialled at the rabbit's header). A stream that never logs in, and one
  that logs in but never binds, both sending white space all the time, get
  connection-timeout at login-timeout (3 s).
- memory-budget: connections holding unterminated 60 KB stanzas push what
  the sessions hold over memory-budget; a new connection gets exactly our
  header and <resource-constraint/>, the log says why, and once they are
  gone new connections are accepted again.
- never-reading peer: a bound client stops reading while 8 MB of messages
  are sent to it; nabproxy's output to it stops at the high-water mark,
  the connection is reset at write-timeout (2 s) and the log says so.
- one source: 10,000 connections from 127.0.0.1 (about 2 s under ASan,
  so no smaller count is needed there) against max-per-source = 8: exactly 8 are served, every other one is
  closed at once, the log names at most 20 refusals a second and counts
  the rest, and a new client from another address logs in meanwhile.
  (An IPv6 source counts by its /64; the loopback has one address, so
  that part is not exercised here.)
The zlib bomb is it_compress.py's case_bomb (it needs jabberd2, the one
server here that offers XEP-0138).
"""
import os
import re
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nabharness import Nabproxy  # noqa: E402
from xmppclient import XMPPClient  # noqa: E402
from xmppservers import Prosody  # noqa: E402

DOMAIN = 'almacska'
CTRL, CTRL_PW = 'control', 'ctrlpw5678'
VICTIM, VICTIM_PW = 'victim', 'victpw5678'
HEADER = ("<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>" % DOMAIN).encode()
NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams'
# Our answer to a stream that never opened, or to a refused connection.
ERR_RE = (rb"^(<\?xml version='1.0'\?>)?<stream:stream [^>]*><stream:error><%s xmlns='"
          + NS_STREAMS.encode() + rb"'/></stream:error></stream:stream>$")
# Resident memory the proxy may gain during one attack (ASan's allocator
# keeps freed memory in quarantine, hence the margin).
RSS_GROWTH_MAX_KB = 48 * 1024


def sanitized():
    cache = os.path.join(os.environ.get('NAB_BINARY_DIR', ''), 'CMakeCache.txt')
    try:
        with open(cache) as f:
            return re.search(r'(?m)^NABPROXY_SANITIZE:BOOL=ON$', f.read()) is not None
    except OSError:
        return False


def rss_kb(px):
    with open('/proc/%d/status' % px.proc.pid) as f:
        return int(re.search(r'VmRSS:\s+(\d+) kB', f.read()).group(1))


def rss_check(px, rss0):
    grown = rss_kb(px) - rss0
    print('  nabproxy resident memory grew by %d KiB' % grown, flush=True)
    assert grown < RSS_GROWTH_MAX_KB, (rss0, grown)


def from_src(port, src='127.0.0.2', timeout=15.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(('127.0.0.1', port))
    return s


def control(px, resource='control'):
    """A client from another address, logged in and bound."""
    c = XMPPClient('127.0.0.1', px.port, DOMAIN, timeout=15, sock=from_src(px.port))
    c.login(CTRL, CTRL_PW, resource=resource)
    return c


def ping(c):
    """One round trip through the proxy; the reply must be a result."""
    t0 = time.monotonic()
    r = c.iq('get', "<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)
    assert r.get('type') == 'result', r.raw
    return time.monotonic() - t0


def wait_count(px, pattern, n, timeout=15.0):
    """Wait until pattern occurs n times in the log; more is a failure."""
    deadline = time.monotonic() + timeout
    while True:
        k = len(re.findall(pattern, px.log()))
        assert k <= n, '%d times %r' % (k, pattern)
        if k == n:
            return
        assert time.monotonic() < deadline, '%d of %d times %r' % (k, n, pattern)
        time.sleep(0.01)        # polling the log file, as wait_log does


def read_answer(s, timeout=15.0):
    """Everything s receives until EOF or a reset (a reset ends it too)."""
    s.settimeout(timeout)
    out = b''
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return out
            out += d
    except ConnectionResetError:
        return out


def trickle(socks, data, ctl, until):
    """Send data to every socket in socks a byte at a time (one byte per
    socket per round; a round every 50 ms at most, the control pinging in
    between) until until(answers[s]) holds for each; return the answers."""
    answers = {s: b'' for s in socks}
    open_ = list(socks)
    pos = 0
    deadline = time.monotonic() + 20
    while open_:
        assert time.monotonic() < deadline, 'no answer to %d of them' % len(open_)
        for s in open_:
            try:
                s.send(data[pos % len(data):pos % len(data) + 1])
            except OSError:
                pass        # closed by the proxy: its answer is read below
        pos += 1
        ping(ctl)
        ready, _, _ = select.select(open_, [], [], 0.05)
        for s in ready:
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                d = b''
            answers[s] += d
            if not d or until(answers[s]):
                open_.remove(s)
    return answers, pos


def case_slowloris(srv):
    n = 20
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='passthrough',
                  extra='header-timeout = 1\nlogin-timeout = 3\n') as px:
        ctl = control(px)
        rss0 = rss_kb(px)
        socks = [socket.create_connection(('127.0.0.1', px.port)) for _ in range(n)]
        # Never the header's last byte: the stream must not open.
        answers, sent = trickle(socks, HEADER[:-1], ctl,
                                lambda a: a.endswith(b'</stream:stream>'))
        assert sent >= 5, 'only %d bytes each before the answer' % sent
        for s, a in answers.items():
            assert re.match(ERR_RE % b'connection-timeout', a), a
            s.close()
        wait_count(px, rb'no stream header within header-timeout \(1 s\)', n)
        # Only the control's header dialled the server.
        assert len(re.findall(rb'stream header in, dialling', px.log())) == 1, px.log()

        # An open stream that never logs in, one that logs in and never
        # binds: white space all the time, closed at login-timeout anyway.
        idle = socket.create_connection(('127.0.0.1', px.port))
        idle.sendall(HEADER)
        unbound = XMPPClient('127.0.0.1', px.port, DOMAIN, timeout=15)
        unbound.open_stream()
        unbound.auth(CTRL, CTRL_PW)
        got, _ = trickle([idle, unbound.sock], b' ', ctl,
                         lambda a: b'connection-timeout' in a and a.endswith(b'</stream:stream>'))
        for a in got.values():
            assert b"<stream:error><connection-timeout xmlns='%s'/></stream:error>" \
                % NS_STREAMS.encode() in a, a
        px.wait_log(rb'not logged in within login-timeout \(3 s\)')
        px.wait_log(rb'no resource bound within login-timeout \(3 s\)')
        idle.close()
        unbound.sock.close()
        # The control's own login-timeout passed long ago: it is bound.
        ping(ctl)
        rss_check(px, rss0)
        ctl.close()


def case_memory_budget(srv):
    held = 60 * 1024
    extra = 'memory-budget = 160K\nmax-stanza = 64K\n'
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='passthrough', extra=extra) as px:
        ctl = control(px)
        rss0 = rss_kb(px)
        hogs = []
        refused = None
        deadline = time.monotonic() + 20
        # Hogs until the budget is reached: each opens a stream and holds
        # 60 KB of a stanza that never ends (the proxy keeps it to parse).
        while refused is None:
            assert time.monotonic() < deadline, 'never refused'
            s = socket.create_connection(('127.0.0.1', px.port), timeout=15)
            s.sendall(HEADER)
            first = s.recv(65536)
            if first.startswith(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                                b"xmlns:stream='http://etherx.jabber.org/streams' "
                                b"version='1.0'><stream:error>"):
                refused = first + read_answer(s)
                s.close()
                break
            assert b'<stream:stream' in first, first
            s.sendall(b"<message to='x@%s'><body>" % DOMAIN.encode() + b'A' * held)
            hogs.append(s)
            ping(ctl)
        assert re.match(ERR_RE % b'resource-constraint', refused), refused
        assert 2 <= len(hogs) <= 3, '%d hogs before the refusal' % len(hogs)
        px.wait_log(rb'refusing connection from 127\.0\.0\.1: memory-budget reached '
                    rb'\(\d+ of 163840 bytes held by sessions\)')
        ping(ctl)
        for s in hogs:
            s.close()
        # Their memory is given back: a new stream is served again.
        deadline = time.monotonic() + 15
        while True:
            assert time.monotonic() < deadline, 'still refused after the hogs left'
            s = socket.create_connection(('127.0.0.1', px.port), timeout=15)
            s.sendall(HEADER)
            first = s.recv(65536)
            s.close()
            if b'<stream:error>' not in first:
                assert b'<stream:stream' in first, first
                break
            ping(ctl)
        ping(ctl)
        rss_check(px, rss0)
        ctl.close()


def case_never_reads(srv):
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='passthrough',
                  extra='write-timeout = 2\n', log_format='none') as px:
        ctl = control(px)
        victim = XMPPClient('127.0.0.1', px.port, DOMAIN, timeout=15)
        victim.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        jid = victim.login(VICTIM, VICTIM_PW, resource='deaf')
        rss0 = rss_kb(px)
        body = 'x' * (32 * 1024)
        # 8 MB: more than the kernel's buffers on both sides plus the
        # proxy's high-water mark. The victim reads nothing from here on.
        for i in range(256):
            ctl.send_message(jid, body, id='flood%d' % i)
            if i % 32 == 0:
                ping(ctl)
        m = px.wait_log(rb'rabbit did not read for write-timeout \(2 s, (\d+) bytes waiting\)',
                        timeout=30)
        # Above the high-water mark (256 KiB), by at most what one read
        # brought in before reading paused.
        waiting = int(m.group(1))
        assert 256 * 1024 < waiting < 1024 * 1024, waiting
        ping(ctl)
        # The victim was reset: what it had not read is gone.
        victim.sock.settimeout(15)
        try:
            while victim.sock.recv(65536):
                pass
            reset = False
        except ConnectionResetError:
            reset = True
        assert reset, 'the deaf client was closed, not reset'
        victim.sock.close()
        rss_check(px, rss0)
        ctl.close()


def case_one_source(srv):
    n = 10000
    per = 8
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='passthrough', log_format='none',
                  extra='max-per-source = %d\nmax-connections = 64\n' % per) as px:
        ctl = control(px)
        rss0 = rss_kb(px)
        kept = []
        for _ in range(per):
            s = socket.create_connection(('127.0.0.1', px.port), timeout=15)
            s.sendall(HEADER)
            assert b'<stream:stream' in s.recv(65536)
            kept.append(s)
        t0 = time.monotonic()
        closed = 0
        for i in range(n):
            s = socket.create_connection(('127.0.0.1', px.port), timeout=15)
            if read_answer(s) == b'':
                closed += 1
            s.close()
            if i % 1000 == 999:
                ping(ctl)
                if i == 999:
                    # Another source is served in the middle of the flood.
                    other = control(px, resource='during')
                    ping(other)
                    other.close()
        took = time.monotonic() - t0
        assert closed == n, '%d of %d closed' % (closed, n)
        log = px.log()
        lines = len(re.findall(rb'refusing connection from 127\.0\.0\.1: max-per-source '
                               rb'reached', log))
        counted = sum(int(x) for x in re.findall(
            rb'\((\d+) more connections refused, not logged one by one\)', log))
        assert 1 <= lines <= 20 * (int(took) + 2), (lines, took)
        assert lines + counted <= n, (lines, counted, n)
        for s in kept:
            ping(ctl)
            s.close()
        ping(ctl)
        rss_check(px, rss0)
        ctl.close()
        print('one source: %d connections refused in %.1f s, %d log lines, %d counted'
              % (n, took, lines, counted), flush=True)


CASES = (case_slowloris, case_memory_budget, case_never_reads, case_one_source)


def main(argv):
    names = argv[1:]
    failed = 0
    if sanitized():
        # ASan keeps freed memory in a quarantine (256 MB by default), so
        # resident memory would measure the traffic, not what nabproxy
        # holds: a small quarantine for the proxies started here.
        opts = os.environ.get('ASAN_OPTIONS', '')
        os.environ['ASAN_OPTIONS'] = (opts + ':' if opts else '') + 'quarantine_size_mb=8'
    with Prosody(domain=DOMAIN) as srv:
        srv.add_user(CTRL, CTRL_PW)
        srv.add_user(VICTIM, VICTIM_PW)
        for case in CASES:
            if names and case.__name__ not in names:
                continue
            t0 = time.monotonic()
            try:
                srv.settle()
                case(srv)
                print('PASS %s (%.1fs)' % (case.__name__, time.monotonic() - t0), flush=True)
            except Exception:
                failed += 1
                import traceback
                print('FAIL %s' % case.__name__, flush=True)
                traceback.print_exc()
                print(srv.log_tail(20), flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
