"""Passthrough: with no filter acting, nabproxy is invisible.

A raw loopback server records what it receives; a client sends the seed
rabbit's bytes through nabproxy in odd-sized writes. The server must
receive exactly those bytes and the client exactly the server's bytes;
half-closes propagate both ways. Plain stanzas are framed by the byte
scan and the others parsed, with the same bytes (counted on /metrics).
Also: a connect failure gives the rabbit
a header plus <remote-connection-failed/>, and bad XML from either side
gets its stream error.
"""
import os
import shutil
import socket
import sys
import tempfile
import threading
import urllib.request

from nabharness import Nabproxy, golden, odd_writes, recv_all, recv_until

RABBIT = golden('seed_rabbit.xml')
SERVER = golden('seed_server.xml')


class RawServer(threading.Thread):
    """Accept one connection, record everything, send `reply` oddly."""

    def __init__(self, reply, after=b'<stream:stream', close_first=True):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.after = after
        self.received = b''
        self.close_first = close_first
        self.error = None

    def run(self):
        try:
            c, _ = self.sock.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.received = recv_until(c, self.after)
            odd_writes(c, self.reply)
            if self.close_first:
                c.shutdown(socket.SHUT_WR)
            self.received += recv_all(c)
            c.close()
        except Exception as e:  # reported by the main thread
            self.error = e
        finally:
            self.sock.close()


def test_exact_bytes():
    srv = RawServer(SERVER)
    srv.start()
    logdir = tempfile.mkdtemp(prefix='nabproxy-rlog-')
    with Nabproxy('127.0.0.1:%d' % srv.port, extra='log-dir = %s\n' % logdir) as px:
        c = px.connect()
        odd_writes(c, RABBIT)
        got = recv_all(c)
        c.shutdown(socket.SHUT_WR)
        srv.join(10)
        c.close()
        assert srv.error is None, srv.error
        assert srv.received == RABBIT, 'server got %r' % srv.received
        assert got == SERVER, 'client got %r' % got
        # The [vm] log shows the bind result as the rabbit parsed it.
        px.wait_log(rb'\[vm\]     !\.\.\.\.\.\.almacska/d4379d2a\n')
        px.wait_log(rb'session 1: freed')
        # log-dir: the rabbit's own file, named after the MAC its register
        # showed, holds exactly its traffic lines in the seed format.
        with open(os.path.join(logdir, 'f81edfee27c1.log'), 'rb') as f:
            own = f.read()
        assert own.startswith(b"[vm] Sending : <?xml version='1.0' encoding='UTF-8'?>\n"), own
        assert b'[vm]     !......almacska/d4379d2a\n' in own, own
        assert b'nabproxy[' not in own, 'daemon lines in the rabbit file'
        traffic = b''.join(l for l in px.log().splitlines(True) if b' nabproxy[' not in l)
        assert own == traffic, 'rabbit file differs from the traffic lines of the main log'
    shutil.rmtree(logdir)
    print('PASS exact bytes both ways, %d and %d bytes' % (len(RABBIT), len(SERVER)))


def recv_exact(s, n, timeout=10.0):
    s.settimeout(timeout)
    buf = b''
    while len(buf) < n:
        d = s.recv(n - len(buf))
        assert d, 'closed after %r' % buf
        buf += d
    return buf


def scanned(port):
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=10) as r:
        text = r.read().decode()
    got = {}
    for d in ('from_rabbit', 'from_server'):
        for fam in ('stanzas', 'stanzas_scanned'):
            line = 'nabproxy_%s_total{direction="%s"} ' % (fam, d)
            got[fam, d] = int(text.split(line, 1)[1].split('\n', 1)[0])
    return got


# Plain stanzas (1) are framed by the byte scan, the others (0) parsed.
RABBIT_UNITS = [
    (1, b"<message to='a@b/c' id='m1' type='chat'><body>hi &amp; bye &gt; x</body></message>"),
    (1, b'<presence/>'),
    (0, b"<message id='m2'><body>caf\xc3\xa9</body></message>"),
    (0, b"<message id='m3'><body>&#65;</body></message>"),
    (0, b"<iq type='get' id='i1'><ping xmlns='urn:xmpp:ping'/></iq>"),
    (0, b"<message id='m4'><body><![CDATA[<x>]]></body></message>"),
    (1, b'<presence>\n <show>away</show>\t<status a="1" b=\'2\'/></presence>'),
    (1, b' '),
]
SERVER_UNITS = [
    (1, b"<message from='b@c/d' to='a@b/c' id='s1'><body>yo</body></message>"),
    (0, b"<message from='b@c/d' id='s2'><body>\xe2\x82\xac</body></message>"),
    (0, b"<iq type='result' id='i1'/>"),
    (1, b"<presence from='b@c/d'><priority>1</priority></presence>"),
]


def test_scan_framing():
    """Each unit written alone and forwarded before the next, so each
    arrives in one read: the counts are exact, and so are the bytes."""
    ls = socket.socket()
    ls.bind(('127.0.0.1', 0))
    ls.listen(1)
    header = RABBIT.split(b'\n<iq')[0]
    sheader = SERVER.split(b'<stream:features>')[0]
    with ls, Nabproxy('127.0.0.1:%d' % ls.getsockname()[1], log_format='none',
                      extra='http-listen = 127.0.0.1:0\n') as px:
        port = int(px.wait_log(rb'metrics on http://127\.0\.0\.1:0/metrics \(port (\d+)\)')
                   .group(1))
        c = px.connect()
        c.sendall(header)
        ls.settimeout(10)
        s, _ = ls.accept()
        assert recv_exact(s, len(header)) == header
        s.sendall(sheader)
        assert recv_exact(c, len(sheader)) == sheader
        for _, unit in RABBIT_UNITS:
            c.sendall(unit)
            assert recv_exact(s, len(unit)) == unit
        for _, unit in SERVER_UNITS:
            s.sendall(unit)
            assert recv_exact(c, len(unit)) == unit
        got = scanned(port)
        stanzas = lambda units: sum(1 for _, u in units if u.strip())
        want = {('stanzas', 'from_rabbit'): stanzas(RABBIT_UNITS),
                ('stanzas_scanned', 'from_rabbit'): 3,
                ('stanzas', 'from_server'): stanzas(SERVER_UNITS),
                ('stanzas_scanned', 'from_server'): 2}
        assert got == want, 'got %r\nwant %r' % (got, want)
        c.close()
        s.close()
    print('PASS plain stanzas scanned (3 + 2), the rest parsed, bytes exact')


def test_connect_failure():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    # Bound, never listening: connection refused, and no other test can
    # take the port meanwhile.
    with s, Nabproxy('127.0.0.1:%d' % port) as px:
        c = px.connect()
        c.sendall(RABBIT.split(b'\n<iq')[0])
        got = recv_all(c)
        assert got.startswith(b"<?xml version='1.0'?><stream:stream "), got
        assert b"<stream:error><remote-connection-failed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>" in got, got
        px.wait_log(rb'cannot connect to 127\.0\.0\.1:%d: Connection refused' % port)
    print('PASS connect failure -> remote-connection-failed')


def bad_input(from_rabbit, payload, condition):
    srv = RawServer(b'' if from_rabbit else SERVER.split(b'<stream:features>')[0] + payload,
                    close_first=False)
    srv.start()
    with Nabproxy('127.0.0.1:%d' % srv.port) as px:
        c = px.connect()
        c.sendall(RABBIT.split(b'\n<iq')[0] + (payload if from_rabbit else b''))
        got = recv_all(c)
        c.close()
        srv.join(10)
        err = b"<stream:error><%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>" % condition
        if from_rabbit:
            assert got.endswith(err), got
            assert srv.received.endswith(b'</stream:stream>'), srv.received
        else:
            assert got.endswith(b'</stream:stream>') and err not in got, got
            assert srv.received.endswith(err), srv.received
        px.wait_log(rb'closing .*%s' % condition.replace(b'-', b'.'))
    print('PASS %s from %s' % (condition.decode(), 'rabbit' if from_rabbit else 'server'))


def main():
    test_exact_bytes()
    test_scan_framing()
    test_connect_failure()
    for side in (True, False):
        bad_input(side, b'<iq><a></b></iq>', b'not-well-formed')
        bad_input(side, b'<!-- comment -->', b'restricted-xml')
        bad_input(side, b'<iq>' + b'<d>' * 40 + b'</iq>', b'policy-violation')
        bad_input(side, b'<iq>' + b'x' * 70000 + b'</iq>', b'policy-violation')
    return 0


if __name__ == '__main__':
    sys.exit(main())
