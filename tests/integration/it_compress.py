"""XEP-0138 stream compression negotiated by a client through nabproxy.

jabberd2 2.7 is started with <compression/> (it offers zlib before and
after SASL). A client logs in through nabproxy (profile passthrough),
compresses, binds and exchanges a 40 KB message with itself and a ping:
nabproxy keeps a zlib stream with each side and still sees every stanza.
Also: a compression failure (from a scripted server: jabberd2 accepts
any method) leaves the stream in clear; corrupt zlib data
from the client gets <undefined-condition/> (XEP-0138 section 7); a bomb
(64 MB of text in 64 KB of zlib) hits the stanza cap with
<policy-violation/> and nabproxy serves the next client.
"""
import os
import socket
import sys
import threading
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nabharness import Nabproxy, recv_until  # noqa: E402
from xmppclient import NS_BIND, StreamError, XMPPClient, XMPPError  # noqa: E402
from xmppservers import Jabberd2  # noqa: E402

DOMAIN = 'almacska'
USER, PASSWORD = 'zuser', 'zpass5678'


def client(px):
    return XMPPClient('127.0.0.1', px.port, DOMAIN, timeout=10)


def logged_in(px):
    c = client(px)
    c.open_stream()
    assert c.has_feature('compression', 'http://jabber.org/features/compress'), c.features.raw
    c.auth(USER, PASSWORD, mechanism='PLAIN')
    return c


def stream_error(c):
    try:
        while True:
            c.read_element()
    except StreamError:
        return c.stream_error
    raise AssertionError('no stream error')


def condition(err):
    return [ch.tag.split('}')[1] for ch in err if ch.tag.endswith('}undefined-condition') or
            ch.tag.endswith('}policy-violation') or ch.tag.endswith('}not-well-formed')]


def case_compressed_session(srv):
    with Nabproxy('127.0.0.1:%d' % srv.port) as px:
        c = logged_in(px)
        feats = c.compress()
        assert c.has_feature('bind', NS_BIND), feats.raw
        assert not c.has_feature('compression', 'http://jabber.org/features/compress')
        px.wait_log(rb'stream compression \(zlib\) on')
        jid = c.bind('z')
        assert jid == '%s@%s/z' % (USER, DOMAIN), jid
        c.session()
        body = ''.join(chr(ord('a') + i % 26) for i in range(40000))
        c.send_message(jid, body)
        got = c.wait_message(body)
        assert got.find('{jabber:client}body').text == body
        c.iq('get', "<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)
        c.close()
        srv.settle(USER + '@' + DOMAIN)


class RefusingServer(threading.Thread):
    """A scripted server (jabberd2 accepts any method): header and features
    offering zlib, <failure/> to <compress/>, then one iq answered."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.error = None

    def run(self):
        try:
            c, _ = self.sock.accept()
            recv_until(c, b'>')
            c.sendall(b"<stream:stream xmlns='jabber:client' xmlns:stream="
                      b"'http://etherx.jabber.org/streams' from='almacska' id='r1' "
                      b"version='1.0'><stream:features><compression xmlns="
                      b"'http://jabber.org/features/compress'><method>zlib</method>"
                      b"</compression></stream:features>")
            recv_until(c, b'</compress>')
            c.sendall(b"<failure xmlns='http://jabber.org/protocol/compress'>"
                      b"<setup-failed/></failure>")
            recv_until(c, b'</iq>')
            c.sendall(b"<iq type='result' id='after'/>")
            recv_until(c, b'</stream:stream>')
            c.close()
        except Exception as e:  # reported by the main thread
            self.error = e
        finally:
            self.sock.close()


def case_refused(srv):
    rs = RefusingServer()
    rs.start()
    with Nabproxy('127.0.0.1:%d' % rs.port) as px:
        c = client(px)
        c.open_stream()
        try:
            c.compress()
            raise AssertionError('compression accepted')
        except XMPPError as e:
            assert 'setup-failed' in str(e), e
        # Still in clear, and nabproxy reads the client again.
        c.send("<iq type='get' id='after'><ping xmlns='urn:xmpp:ping'/></iq>")
        el = c.read_element()
        assert el.get('id') == 'after' and el.get('type') == 'result', el.raw
        c.close()
    rs.join(5)
    assert rs.error is None, rs.error


def case_corrupt(srv):
    with Nabproxy('127.0.0.1:%d' % srv.port) as px:
        c = logged_in(px)
        c.compress()
        c.send_raw(b'\xff\xfe this is not deflate data \x00\x01')
        err = stream_error(c)
        assert condition(err) == ['undefined-condition'], err.raw
        px.wait_log(rb'closing .*rabbit: compressed stream: ')
        c.close()
        srv.settle(USER + '@' + DOMAIN)


def case_bomb(srv):
    with Nabproxy('127.0.0.1:%d' % srv.port) as px:
        c = logged_in(px)
        c.compress()
        z, c._zout = c._zout, None     # the bomb continues the client's stream
        bomb = z.compress(b"<message to='x@almacska'><body>")
        chunk = b'A' * (1 << 20)
        for _ in range(64):
            bomb += z.compress(chunk)
        bomb += z.flush(zlib.Z_SYNC_FLUSH)
        assert len(bomb) < 100 * 1024, len(bomb)
        try:
            c.send_raw(bomb)
        except OSError:
            pass                # nabproxy may close before reading it all
        err = stream_error(c)
        assert condition(err) == ['policy-violation'], err.raw
        px.wait_log(rb'rabbit sent bad XML: policy-violation')
        c.close()
        srv.settle(USER + '@' + DOMAIN)
        # The next client is served as usual.
        c = logged_in(px)
        c.compress()
        assert c.bind('after').endswith('/after')
        c.close()
        srv.settle(USER + '@' + DOMAIN)


def main():
    failed = 0
    with Jabberd2(domain=DOMAIN, compression=True) as srv:
        srv.add_user(USER, PASSWORD)
        for case in (case_compressed_session, case_refused, case_corrupt, case_bomb):
            try:
                srv.settle()
                case(srv)
                print('PASS', case.__name__, flush=True)
            except Exception:
                failed += 1
                import traceback
                print('FAIL', case.__name__, flush=True)
                traceback.print_exc()
                print(srv.log_tail(20), flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
