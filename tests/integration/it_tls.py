"""STARTTLS toward the server (the rabbit never speaks TLS).

Prosody from Debian with a throwaway self-signed certificate, requiring
encryption (and PLAIN only under TLS). Through nabproxy:
  - the seed rabbit, in clear, is repaired and bound: the 409 probe and
    the upstream login both run over TLS, which nabproxy verifies against
    upstream-ca;
  - a standard client in clear logs in with PLAIN through the passthrough
    profile: its features are the server's post-TLS ones, byte for byte;
  - a wrong CA: the rabbit gets remote-connection-failed and the log says
    the certificate did not verify;
  - upstream-tls = required against a server without STARTTLS:
    remote-connection-failed, and the log says why.
"""
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nabharness import Nabproxy, Rabbit, recv_all  # noqa: E402
from xmppclient import XMPPClient  # noqa: E402
from xmppservers import Prosody, make_cert  # noqa: E402

MAC, PW = 'f81edfee27c1', '83279de2ea5c'
FAILED = b"<stream:error><remote-connection-failed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"


def tls_conf(ca, mode='starttls'):
    return 'upstream-tls = %s\nupstream-ca = %s\n' % (mode, ca)


def seed_rabbit(srv):
    srv.add_user(MAC, PW)
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='simulator',
                  extra=tls_conf(srv.cert)) as px:
        r = Rabbit(px.port)
        feats = r.open()
        assert feats.find('{urn:ietf:params:xml:ns:xmpp-tls}starttls') is None, feats.raw
        r.ask(r.parts[0], '1')
        reg = r.ask(r.parts[1], '2')
        assert reg.get('type') == 'result', reg.raw
        bind = r.ask(r.parts[2], '3')
        assert bind.get('type') == 'result', bind.raw
        assert r.ask(r.parts[3], '4').get('type') == 'result'
        r.close()
        px.wait_log(rb'TLS with the server established')
        px.wait_log(rb'login probe succeeded')
        assert PW.encode() not in px.log()
    srv.remove_user(MAC)
    print('PASS seed rabbit bound over STARTTLS')


def plain_client(srv):
    srv.add_user('alice', 'pw alice')
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='passthrough',
                  extra=tls_conf(srv.cert)) as px:
        c = XMPPClient('127.0.0.1', px.port, 'almacska', timeout=15)
        jid = c.login('alice', 'pw alice', resource='x', mechanism='PLAIN')
        assert jid == 'alice@almacska/x', jid
        assert b'starttls' not in c.features.raw, c.features.raw
        c.close()
        assert b'pw alice' not in px.log()
    srv.remove_user('alice')
    print('PASS client PLAIN in clear to nabproxy, TLS upstream')


def wrong_ca(srv):
    d = tempfile.mkdtemp()
    other = os.path.join(d, 'other.crt')
    make_cert('almacska', other, os.path.join(d, 'other.key'))
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='passthrough',
                  extra=tls_conf(other) + 'upstream-verify = chain\n') as px:
        c = px.connect()
        c.sendall(b"<?xml version='1.0'?><stream:stream to='almacska' xmlns='jabber:client' "
                  b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
        got = recv_all(c)
        assert FAILED in got, got
        px.wait_log(rb'certificate verification failed')
    shutil.rmtree(d)
    print('PASS wrong CA -> remote-connection-failed')


def required_without_tls():
    with Prosody(domain='almacska') as plain:
        with Nabproxy('127.0.0.1:%d' % plain.port, profile='passthrough',
                      extra='upstream-tls = required\n') as px:
            c = px.connect()
            c.sendall(b"<stream:stream to='almacska' xmlns='jabber:client' "
                      b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
            got = recv_all(c)
            assert FAILED in got, got
            px.wait_log(rb'does not offer STARTTLS and upstream-tls = required')
    print('PASS upstream-tls = required refuses a server without STARTTLS')


def main():
    with Prosody(domain='almacska', tls=True) as srv:
        seed_rabbit(srv)
        plain_client(srv)
        wrong_ca(srv)
    required_without_tls()
    return 0


if __name__ == '__main__':
    sys.exit(main())
