"""SASL on the rabbit's behalf against real servers (issue 4).

For Prosody, ejabberd and jabberd2, each started from Debian on free
loopback ports with a throwaway config, the seed rabbit's exact bytes are
replayed through nabproxy (profile "simulator": auth, register, bind):
  (a) account exists, password not yet known: 409 repaired by a login
      probe, password learned, bind result with the rabbit's JID, session
      result;
  (b) account absent: register succeeds and the password is learned;
  (c) wrong password for an existing account: 409 passes, nothing stored,
      bind gets not-authorized;
  (d) credentials provisioned and the rabbit's register set has the stored
      password: proven by the credential store (no login probe), then
      bind and session work (a bind without that proof gets the server's
      own refusal: it_security.py);
  (e) after auth, messages flow both ways with another client.
Passwords never appear in nabproxy's log (redaction on by default).
Run: /usr/bin/python3 tests/integration/it_auth.py [prosody|ejabberd|jabberd2 ...]
"""
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nabharness import (BIN, Nabproxy, Rabbit, Relay, no_password_in_log,  # noqa: E402
                        run_per_server, seed_parts)
from xmppclient import StreamError, XMPPClient  # noqa: E402

MAC, PASSWORD = 'f81edfee27c1', '83279de2ea5c'
JID = MAC + '@almacska'


def creds_of(px):
    px.creds_settled()
    path = os.path.join(px.dir, 'credentials')
    if not os.path.exists(path):
        return ''
    st = os.stat(path)
    assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
    with open(path) as f:
        return f.read()


def check_bound(rabbit, label):
    bind = rabbit.ask(rabbit.parts[2], '3')
    assert bind.get('type') == 'result', '%s: bind %s' % (label, bind)
    jid = bind.find('{urn:ietf:params:xml:ns:xmpp-bind}bind/{urn:ietf:params:xml:ns:xmpp-bind}jid')
    assert jid is not None and jid.text.startswith(JID + '/'), '%s: jid %r' % (label, jid)
    sess = rabbit.ask(rabbit.parts[3], '4')
    assert sess.get('type') == 'result', '%s: session %s' % (label, sess)
    return jid.text


def drop_user(srv, user, password):
    """Remove an account however it was made (ejabberd needs its password)."""
    srv.users[user] = password
    srv.remove_user(user)


def case_a(srv):
    """Existing account, unknown password: 409 repaired, then bound. The
    409 registered nothing, so the login runs on the rabbit's own stream:
    two upstream connections (the rabbit's, the login probe), not a third
    fresh one."""
    srv.add_user(MAC, PASSWORD)
    with Relay(srv.port) as relay, \
            Nabproxy('127.0.0.1:%d' % relay.port, profile='simulator') as px:
        r = Rabbit(px.port)
        r.open()
        reg = r.register()
        assert reg.get('type') == 'result', 'register not repaired: %s' % reg
        assert JID + ' ' + PASSWORD in creds_of(px), creds_of(px)
        full = check_bound(r, 'a')
        px.wait_log(rb'authenticated upstream as ' + JID.encode())
        assert len(relay.conns) == 2, '%d upstream connections for a 409 ' \
            'repair (the rabbit\'s stream, the probe)' % len(relay.conns)
        assert b'fresh connection' not in px.log(), 'fresh login after a 409'
        r.close()
        no_password_in_log(px, PASSWORD)
    drop_user(srv, MAC, PASSWORD)
    return full


def case_b(srv):
    """No account: the server registers it and nabproxy learns the password.
    The stream that registered an account logs in on another connection
    (jabberd2 never answers a bind on it): the login probe's, kept open."""
    with Relay(srv.port) as relay, \
            Nabproxy('127.0.0.1:%d' % relay.port, profile='simulator') as px:
        r = Rabbit(px.port)
        r.open()
        reg = r.register()
        assert reg.get('type') == 'result', reg
        assert JID + ' ' + PASSWORD in creds_of(px), creds_of(px)
        check_bound(r, 'b')
        # The login probe that proved the registered password kept its
        # stream open: the session's login adopts it, no third connection
        # and no second SASL exchange.
        px.wait_log(rb'on a fresh connection \(this stream registered an account\)')
        px.wait_log(rb'the server connection of the login probe for ' +
                    re.escape(JID.encode()) + rb' is the session\'s now')
        assert len(relay.conns) == 2, '%d upstream connections' % len(relay.conns)
        mechs = relay.sasl_mechanisms()
        assert len(mechs) == 1, '%d SASL logins (%r)' % (len(mechs), mechs)
        r.close()
        no_password_in_log(px, PASSWORD)
    drop_user(srv, MAC, PASSWORD)


def case_c(srv):
    """Existing account, the rabbit submits a wrong password."""
    srv.add_user(MAC, 'someotherpassword')
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='simulator') as px:
        r = Rabbit(px.port)
        r.open()
        reg = r.register()
        assert reg.get('type') == 'error', reg
        assert reg.find('.//{urn:ietf:params:xml:ns:xmpp-stanzas}conflict') is not None, reg
        assert creds_of(px) == '', 'stored a failed password: %r' % creds_of(px)
        # Nothing known: the bind passes unauthenticated and the rabbit gets
        # exactly what this server says to an unauthenticated bind.
        assert refusal(lambda: r.ask(r.parts[2], '3')) == refusal(direct_bind(srv)), \
            'bind refusal differs from the server\'s own'
        px.wait_log(rb'409 kept')
        px.wait_log(rb'' + JID.encode() + rb' has not proven its password on this connection')
        r.close()
        no_password_in_log(px, PASSWORD, 'someotherpassword')
    drop_user(srv, MAC, 'someotherpassword')


def refusal(get):
    """('iq', condition) or ('stream', condition) of a refused request."""
    try:
        el = get()
        assert el.get('type') == 'error', 'not refused: %s' % el.raw
        cond = [c.tag for c in el.find('{jabber:client}error')]
        return ('iq', cond[0])
    except StreamError as e:
        return ('stream', e.element[0].tag)


def direct_bind(srv):
    """The server's own answer to the seed's bind on an unauthenticated stream."""
    c = XMPPClient('127.0.0.1', srv.port, 'almacska', timeout=15)
    c.open_stream()
    bind = Rabbit.__new__(Rabbit)
    bind.c = c
    return lambda: bind.ask(seed_parts()[1][2], '3')


def case_de(srv):
    """Provisioned credentials, the seed's register set with the stored
    password (proven by the store, no probe), bind; then messages."""
    srv.add_user(MAC, PASSWORD)
    srv.add_user('friend', 'friendpw')
    with Relay(srv.port) as relay, \
            Nabproxy('127.0.0.1:%d' % relay.port, profile='simulator') as px:
        subprocess.run([BIN, 'credentials', '-c', px.conf, 'add', JID],
                       input=(PASSWORD + '\n').encode(), check=True)
        r = Rabbit(px.port)
        r.open()
        reg = r.register()
        assert reg.get('type') == 'result', 'register with the stored password: %s' % reg
        full = check_bound(r, 'd')
        px.wait_log(rb'proven by the credential store')
        assert re.search(rb'login probe for ' + re.escape(JID.encode()) + rb' started',
                         px.log()) is None, 'a login probe for a password the store proves'
        # What reached the server: one SASL login (nabproxy's, with the
        # stored password, on the rabbit's own stream: its 409 registered
        # nothing), no login probe besides it, no other connection.
        mechs = relay.sasl_mechanisms()
        assert len(mechs) == 1, '%d SASL logins reached the server (%r): a login probe ' \
            'for a password the store proves?' % (len(mechs), mechs)
        assert len(relay.conns) == 1, '%d upstream connections' % len(relay.conns)
        friend = XMPPClient('127.0.0.1', srv.port, 'almacska', timeout=15)
        friend.login('friend', 'friendpw', resource='pc')
        friend.send("<message to='%s' type='chat' id='m1'><body>hello rabbit</body></message>" % full)
        got = r.c.read_element()
        while got.tag != '{jabber:client}message':
            got = r.c.read_element()
        assert got.findtext('{jabber:client}body') == 'hello rabbit', got
        r.c.send(("<message to='%s' type='chat' id='m2'><body>hello friend</body></message>"
                  % friend.jid).encode())
        back = friend.wait_message(timeout=15)
        assert back.findtext('{jabber:client}body') == 'hello friend', back
        friend.close()
        r.close()
        no_password_in_log(px, PASSWORD)
    drop_user(srv, 'friend', 'friendpw')
    drop_user(srv, MAC, PASSWORD)


def main(argv):
    return run_per_server(argv, 'almacska', (case_a, case_b, case_c, case_de))


if __name__ == '__main__':
    sys.exit(main(sys.argv))
