"""Start nabproxy for a test: throwaway config and state dir, free port.

Standard library only. The proxy is started with --listen 127.0.0.1:0
and the bound port is read from its own "listening on" log line, so no
port is guessed. Every process started here is stopped by PID.
"""
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SRC = os.environ.get('NAB_SOURCE_DIR',
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get('NABPROXY', os.path.join(SRC, 'build', 'nabproxy'))
GOLDEN = os.path.join(SRC, 'tests', 'golden')


def golden(name):
    with open(os.path.join(GOLDEN, name), 'rb') as f:
        return f.read()


def user_line(extra=''):
    """`user = ` whoever runs the test (an explicit user = root as root, which
    the daemon requires), unless the test's own lines set user."""
    if re.search(r'(?m)^user\s*=', extra):
        return ''
    return 'user = %s\n' % pwd.getpwuid(os.geteuid()).pw_name


class Nabproxy:
    """A nabproxy process. Use as a context manager."""

    def __init__(self, upstream, profile='passthrough', extra='', log_format='vm',
                 filters_conf='', args=(), tee=False):
        self.dir = tempfile.mkdtemp(prefix='nabproxy-it-')
        os.chmod(self.dir, 0o700)
        self.log_path = os.path.join(self.dir, 'nabproxy.log')
        self.conf = os.path.join(self.dir, 'nabproxy.conf')
        with open(self.conf, 'w') as f:
            f.write('[nabproxy]\n'
                    'listen = 127.0.0.1:0\n'
                    'upstream = %s\n'
                    'state-dir = %s\n'
                    'log-format = %s\n'
                    'profile = %s\n'
                    'include = %s/etc/profiles/*.conf\n'
                    '%s%s\n%s\n' % (upstream, self.dir, log_format, profile, SRC,
                                    user_line(extra), extra, filters_conf))
        self.args = list(args)
        self.tee = tee
        self.proc = None
        self.port = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, etype, evalue, tb):
        if etype is not None and self.proc is not None:
            # The proxy's own account of what happened, for the failure report.
            sys.stderr.write('--- nabproxy log (%s) ---\n%s--- end ---\n' % (
                self.conf, self.log().decode(errors='replace')[-6000:]))
        self.stop()

    def start(self, timeout=10.0):
        self.logf = open(self.log_path, 'wb')
        self.proc = subprocess.Popen([BIN, '-c', self.conf, '--foreground', '-v']
                                     + self.args, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        if self.tee:
            threading.Thread(target=self._tee, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(rb'listening on 127\.0\.0\.1:(\d+)', self.log())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                raise RuntimeError('nabproxy exited: %s' % self.log().decode(errors='replace'))
            time.sleep(0.01)   # polling a readiness condition with a deadline
        raise RuntimeError('nabproxy did not start: %s' % self.log().decode(errors='replace'))

    def _tee(self):
        """Copy the log to stdout as it grows (the demo shows it live)."""
        with open(self.log_path, 'rb') as f:
            while self.proc is not None:
                d = f.read()
                if d:
                    sys.stdout.buffer.write(d)
                    sys.stdout.flush()
                else:
                    time.sleep(0.05)

    def log(self):
        with open(self.log_path, 'rb') as f:
            return f.read()

    def wait_log(self, pattern, timeout=10.0):
        """Wait until the log matches pattern (bytes regex); return the match."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.log())
            if m:
                return m
            time.sleep(0.01)
        raise AssertionError('log never matched %r:\n%s' % (pattern, self.log().decode(errors='replace')))

    def creds_settled(self, timeout=10.0):
        """Wait until the daemon's credential writer has put every change
        it made in memory into the file (`ctl stats`: creds_unwritten=0)."""
        deadline = time.monotonic() + timeout
        while True:
            r = subprocess.run([BIN, 'ctl', '-c', self.conf, 'stats'],
                               capture_output=True, timeout=timeout)
            m = re.search(rb' creds_unwritten=(\d+)', r.stdout)
            assert m, 'ctl stats: %r %r' % (r.stdout, r.stderr)
            if m.group(1) == b'0':
                return
            assert time.monotonic() < deadline, 'credentials never written'
            time.sleep(0.01)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.logf.close()
            rc = self.proc.returncode
            self.proc = None
            if rc not in (0, -signal.SIGINT):
                raise AssertionError('nabproxy exit status %r:\n%s' % (
                    rc, self.log().decode(errors='replace')))
        shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self, timeout=10.0):
        s = socket.create_connection(('127.0.0.1', self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s


class Relay:
    """A TCP relay between nabproxy and the server that keeps every byte
    nabproxy sent upstream, one buffer per connection: what reached the
    server, known without trusting nabproxy's log."""

    def __init__(self, port):
        self.target = ('127.0.0.1', port)
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(128)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []          # bytearray per connection, nabproxy -> server
        self.socks = []
        self.accept_only = None  # accept this many connections, close the rest
        self.refused = 0
        # (index, bytes regex): on the index-th connection (0-based), what
        # the server sends is forwarded up to the end of the first match,
        # then both sides are closed (the server went away right there).
        self.cut = None

    def __enter__(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.lsock.close()
        with self.lock:
            for s in self.socks:
                try:
                    s.close()
                except OSError:
                    pass

    def _accept(self):
        while True:
            try:
                down, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                refuse = self.accept_only is not None and len(self.conns) >= self.accept_only
                self.refused += refuse
            if refuse:           # the server is away: the connection dies at once
                down.close()
                continue
            try:
                up = socket.create_connection(self.target, timeout=10)
                up.settimeout(None)
            except OSError:
                down.close()
                continue
            buf = bytearray()
            with self.lock:
                cut = self.cut[1] if self.cut and self.cut[0] == len(self.conns) else None
                self.conns.append(buf)
                self.socks += [down, up]
            threading.Thread(target=self._pump, args=(down, up, buf), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, down, None, cut), daemon=True).start()

    def _pump(self, src, dst, keep, cut=None):
        seen = b''
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                if keep is not None:
                    with self.lock:
                        keep += d
                if cut is not None:
                    m = re.search(cut, seen + d)
                    if m:
                        dst.sendall((seen + d)[len(seen):m.end()])
                        for s in (src, dst):
                            s.shutdown(socket.SHUT_RDWR)
                        break
                    seen += d
                dst.sendall(d)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def upstream(self):
        """Everything nabproxy sent the server, connections concatenated."""
        with self.lock:
            return b'\n'.join(bytes(b) for b in self.conns)

    def connections(self, needle):
        """What nabproxy sent on each upstream connection holding needle."""
        with self.lock:
            return [bytes(b) for b in self.conns if needle in b]

    def sasl_mechanisms(self):
        """The mechanism of every SASL <auth> that reached the server."""
        with self.lock:
            bufs = [bytes(b) for b in self.conns]
        out = []
        for b in bufs:
            out += [m.decode() for m in
                    re.findall(rb'<auth\b[^>]*\bmechanism\s*=\s*["\']([^"\']*)', b)]
        return out


def recv_all(s, timeout=10.0):
    """Read until EOF."""
    s.settimeout(timeout)
    out = b''
    while True:
        d = s.recv(65536)
        if not d:
            return out
        out += d


def recv_until(s, needle, timeout=10.0, buf=b''):
    """Read until needle (bytes) is in the data; return all data read."""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError('timeout waiting for %r, got %r' % (needle, buf))
        s.settimeout(left)
        d = s.recv(65536)
        if not d:
            raise AssertionError('EOF waiting for %r, got %r' % (needle, buf))
        buf += d
    return buf


def odd_writes(s, data):
    """Send data in odd-sized pieces (1, 2, 3, 5, 7, 11, ...), unmerged."""
    sizes = [1, 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43]
    i = k = 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        s.sendall(data[i:i + n])
        i += n
        k += 1


def seed_parts():
    """The seed rabbit's stream cut into its header and its four stanzas."""
    seed = golden('seed_rabbit.xml')
    header_end = seed.index(b"version='1.0'>") + len(b"version='1.0'>")
    header, rest = seed[:header_end + 1], seed[header_end + 1:]
    parts, i = [], 0
    for _ in range(4):
        j = rest.index(b'</iq>', i) + len(b'</iq>')
        parts.append(rest[i:j])
        i = j
    return header, parts


class Rabbit:
    """The seed rabbit: its exact bytes, one stanza after each answer."""

    def __init__(self, port, timeout=15):
        from xmppclient import XMPPClient
        self.c = XMPPClient('127.0.0.1', port, 'almacska', timeout=timeout)
        self.header, self.parts = seed_parts()

    def open(self):
        self.c.send(self.header)
        self.c.read_header()
        return self.c.read_element()          # features

    def ask(self, raw, id_):
        self.c.send(raw)
        while True:
            el = self.c.read_element()
            if el.get('id') == id_:
                return el

    def register(self):
        """The seed's registration: the form (it must come), then the set
        with the seed's password; returns the answer to the set."""
        form = self.ask(self.parts[0], '1')
        assert form.get('type') == 'result', form.raw
        return self.ask(self.parts[1], '2')

    def close(self):
        self.c.close(unbind=False)


def no_password_in_log(px, *secrets):
    log = px.log()
    for s in secrets:
        assert s.encode() not in log, 'password %r in the log' % s


class CaseSkipped(Exception):
    """A case that does not apply to this server: reported as SKIP."""


def run_per_server(argv, domain, cases):
    """Run every case(srv) against each real server named in argv[1:]
    (default: all), started with `domain`; one PASS/FAIL line per case.
    Returns the exit status: 1 if any case failed."""
    from xmppservers import Ejabberd, Jabberd2, Prosody
    servers = {'prosody': Prosody, 'ejabberd': Ejabberd, 'jabberd2': Jabberd2}
    names = argv[1:] or list(servers)
    failed = 0
    for name in names:
        with servers[name](domain=domain) as srv:
            for case in cases:
                t0 = time.monotonic()
                try:
                    srv.settle()    # the previous case's sessions are over
                    case(srv)
                    print('PASS %s %s (%.1fs)' % (name, case.__name__, time.monotonic() - t0),
                          flush=True)
                except CaseSkipped as e:
                    print('SKIP %s %s: %s' % (name, case.__name__, e), flush=True)
                except Exception:
                    failed += 1
                    print('FAIL %s %s' % (name, case.__name__), flush=True)
                    traceback.print_exc()
                    print('--- %s logs (tail) ---\n%s\n--- end ---' % (name, srv.log_tail(25)),
                          flush=True)
    return 1 if failed else 0


class ShippedNabproxy(Nabproxy):
    """nabproxy on the shipped etc/nabproxy.conf (and etc/profiles), copied
    to a scratch directory with only `upstream` and `state-dir` changed;
    the listening address comes from --listen (the file keeps its own)."""

    def __init__(self, upstream, args=()):
        Nabproxy.__init__(self, upstream, args=('--listen', '127.0.0.1:0') + tuple(args))
        etc = os.path.join(self.dir, 'etc')
        shutil.copytree(os.path.join(SRC, 'etc'), etc)
        self.conf = os.path.join(etc, 'nabproxy.conf')
        with open(self.conf) as f:
            text = f.read()
        text, n_up = re.subn(r'(?m)^upstream =.*$', 'upstream = %s' % upstream, text)
        text, n_sd = re.subn(r'(?m)^state-dir =.*$', 'state-dir = %s' % self.dir, text)
        assert n_up == 1 and n_sd == 1, 'shipped config lost its upstream or state-dir line'
        if os.geteuid() == 0:
            # As root the daemon needs an explicit user: the one running it.
            text, n_u = re.subn(r'(?m)^#user = .*$', user_line().strip(), text)
            assert n_u == 1, 'shipped config lost its #user line'
        with open(self.conf, 'w') as f:
            f.write(text)
