"""Trust on first use toward a server with a self-signed certificate.

Prosody and ejabberd each with a throwaway self-signed certificate (made
here with the openssl CLI), nabproxy in front with the defaults
(upstream-tls = starttls, upstream-verify = tofu, no upstream-ca: the
chain never verifies). One nabproxy for the whole run, the server
restarted on the same port:
  - first connection: the key is pinned (log line with its sha256, the
    pin file is 0600) and a client logs in with PLAIN through nabproxy;
  - the server restarted with a new key: remote-connection-failed, the
    log names the key seen, the key pinned and the re-pin command;
  - `nabproxy tls-pin -c CONF forget HOST:PORT`: the next login works and
    pins the new key; `tls-pin list` shows it;
  - the server restarted without TLS: remote-connection-failed, the log
    says STARTTLS was stripped.
"""
import hashlib
import os
import re
import stat
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nabharness import BIN, Nabproxy, recv_all  # noqa: E402
from xmppclient import XMPPClient  # noqa: E402
from xmppservers import Ejabberd, Prosody  # noqa: E402

DOMAIN = 'almacska'
USER, PW = 'alice', 'pw alice'
FAILED = b"<stream:error><remote-connection-failed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"


def key_pin(cert):
    """sha256: of the certificate's DER SubjectPublicKeyInfo, by openssl."""
    pem = subprocess.run(['openssl', 'x509', '-in', cert, '-pubkey', '-noout'],
                         check=True, capture_output=True).stdout
    der = subprocess.run(['openssl', 'pkey', '-pubin', '-outform', 'DER'], input=pem,
                         check=True, capture_output=True).stdout
    return 'sha256:' + hashlib.sha256(der).hexdigest()


def login(px):
    c = XMPPClient('127.0.0.1', px.port, DOMAIN, timeout=15)
    jid = c.login(USER, PW, resource='x', mechanism='PLAIN')
    assert jid == '%s@%s/x' % (USER, DOMAIN), jid
    c.close()


def refused(px, want):
    """A stream through nabproxy ends in remote-connection-failed; the log
    then holds the line `want` (exact text)."""
    c = px.connect()
    c.sendall(b"<?xml version='1.0'?><stream:stream to='almacska' xmlns='jabber:client' "
              b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
    got = recv_all(c)
    c.close()
    assert FAILED in got, got
    px.wait_log(re.escape(want.encode()))


def tls_pin(px, *args):
    return subprocess.run([BIN, 'tls-pin', '-c', px.conf] + list(args),
                          capture_output=True, text=True, timeout=30)


def start(cls, port=None, tls=True):
    srv = cls(domain=DOMAIN, tls=tls, port=port)
    srv.start()
    srv.add_user(USER, PW)
    return srv


def run(cls):
    srv = start(cls)
    port = srv.port
    up = '127.0.0.1:%d' % port
    try:
        with Nabproxy(up, profile='passthrough') as px:
            conf = os.path.realpath(px.conf)
            pins = os.path.join(px.dir, 'upstream-pins')
            first = key_pin(srv.cert)
            login(px)
            px.wait_log(re.escape(('pinned the server\'s key %s in %s (trust on first use)'
                                   % (first, pins)).encode()))
            st = os.stat(pins)
            assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
            with open(pins) as f:
                assert '%s %s starttls\n' % (up, first) in f.read()
            print('PASS %s: first use pins %s, login through nabproxy' % (cls.name, first))

            srv.stop()
            srv = start(cls, port)
            second = key_pin(srv.cert)
            assert second != first
            refused(px, "TLS with %s refused: the server's key %s is not the key pinned "
                    "in %s (%s); if the server's key changed on purpose, run: "
                    "nabproxy tls-pin -c %s forget %s"
                    % (up, second, pins, first, conf, up))
            print('PASS %s: new key refused, re-pin command named' % cls.name)

            r = tls_pin(px, 'forget', up)
            assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
            r = tls_pin(px, 'forget', up)
            assert r.returncode == 1 and 'no pin for %s' % up in r.stderr, (r.returncode, r.stderr)
            login(px)
            px.wait_log(re.escape(('pinned the server\'s key %s' % second).encode()))
            r = tls_pin(px, 'list')
            assert r.returncode == 0 and r.stdout == '%s %s starttls\n' % (up, second), r
            print('PASS %s: after tls-pin forget the new key is pinned, login works' % cls.name)

            srv.stop()
            srv = start(cls, port, tls=False)
            refused(px, "server %s does not offer STARTTLS but did before (%s): STARTTLS "
                    "was stripped, refusing to go on in clear; if TLS was switched off "
                    "on purpose, run: nabproxy tls-pin -c %s forget %s"
                    % (up, pins, conf, up))
            print('PASS %s: STARTTLS stripped after pinning is refused' % cls.name)
    finally:
        srv.stop()


def main():
    for cls in (Prosody, Ejabberd):
        run(cls)
    return 0


if __name__ == '__main__':
    sys.exit(main())
