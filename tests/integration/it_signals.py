"""Signals: SIGTERM drains, SIGINT cuts, both exit 0.

- SIGTERM: the listening socket closes at once (a new rabbit is refused),
  an open session keeps working until the rabbit leaves, then the process
  exits 0 on its own.
- SIGTERM with a session that never ends: after drain-timeout the rabbit
  gets <system-shutdown/> and the process exits 0.
- SIGINT: open sessions get <system-shutdown/> at once, exit 0.
"""
import signal
import socket
import sys
import time

from it_passthrough import RABBIT, RawServer
from nabharness import Nabproxy, recv_all, recv_until

HEADER = RABBIT.split(b'\n<iq')[0]
IQ = b"<iq type='get' id='9'><query xmlns='jabber:iq:register'/></iq>"
SHUTDOWN = b"<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
REPLY = (b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
         b"xmlns:stream='http://etherx.jabber.org/streams' id='x' version='1.0'>")


def refused(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=5).close()
        return False
    except ConnectionRefusedError:
        return True


def wait_exit(px, timeout=15):
    rc = px.proc.wait(timeout)
    assert rc == 0, rc


def open_stream(px):
    """A rabbit whose stream the (raw) server has answered."""
    c = px.connect()
    c.sendall(HEADER)
    recv_until(c, b"id='x'")
    return c


def test_drain():
    srv = RawServer(REPLY, close_first=False)
    srv.start()
    with Nabproxy('127.0.0.1:%d' % srv.port) as px:
        c = open_stream(px)
        px.signal(signal.SIGTERM)
        px.wait_log(rb'SIGTERM: draining 1 sessions')
        assert refused(px.port), 'new connection accepted while draining'
        c.sendall(IQ)                          # still forwarded
        c.shutdown(socket.SHUT_WR)
        srv.join(10)
        assert srv.received.endswith(IQ), srv.received
        recv_all(c)
        wait_exit(px)
        assert b'exiting: 1 accepted' in px.log(), px.log()
    print('PASS SIGTERM drains and exits when the last rabbit leaves')


def test_drain_timeout():
    srv = RawServer(REPLY, close_first=False)
    srv.start()
    with Nabproxy('127.0.0.1:%d' % srv.port, extra='drain-timeout = 1\n') as px:
        c = open_stream(px)
        t0 = time.monotonic()
        px.signal(signal.SIGTERM)
        got = recv_all(c)
        assert SHUTDOWN in got, got
        assert time.monotonic() - t0 >= 0.9, 'cut before drain-timeout'
        wait_exit(px)
        px.wait_log(rb'drain timeout: closing 1 sessions')
    print('PASS SIGTERM cuts after drain-timeout with system-shutdown')


def test_sigint():
    srv = RawServer(REPLY, close_first=False)
    srv.start()
    with Nabproxy('127.0.0.1:%d' % srv.port) as px:
        c = open_stream(px)
        px.signal(signal.SIGINT)
        got = recv_all(c)
        assert SHUTDOWN in got, got
        wait_exit(px)
    print('PASS SIGINT cuts at once with system-shutdown')


def main():
    test_drain()
    test_drain_timeout()
    test_sigint()
    return 0


if __name__ == '__main__':
    sys.exit(main())
