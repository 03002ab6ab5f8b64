"""An unmodified bootcode-18673 rabbit reaches idle through nabproxy.

For Prosody, ejabberd and jabberd2, each started from Debian on free
loopback ports with a throwaway config, tests/integration/firmware.py (a
simulator of the firmware's XMPP client: Table A bytes, its DIGEST-MD5
quirks, its XML parser's fatal quirks asserted on every read) boots
through nabproxy with profile bootcode-18673:

  fresh     no account anywhere: A1, violet register form and set (A2/A3,
            registered upstream by nabproxy, password stored), DIGEST-MD5
            terminated by nabproxy (challenge, rspauth, success), upstream
            login, new stream (header in one read, bind, no mechanisms),
            bind boot, session, sources (wake-up packet), bind idle,
            session, presence, presence seen, unbind boot: idle. Then a
            contact's ping, version, disco#info, disco#items and an
            unknown get are answered for the rabbit; a Violet packet
            message reaches it readable; its keep-alive passes; no
            password in the log.
  known     the same rabbit boots again with the password in its conf.bin:
            no registration, straight to idle; with another password it
            gets a SASL failure and the stored password stays.
  exists    the account exists upstream with the password the rabbit
            registers: 409, login probe, stored, idle.
  unknown   the rabbit has a password nabproxy never learned: SASL
            failure <failure><not-authorized></not-authorized></failure>
            (readable; where the server offers DIGEST-MD5 the exchange is
            relayed and the failure is the server's own, made readable),
            a log line saying how to add credentials; the
            firmware then re-registers (new random password) and reaches
            idle.
  conflict  the account exists upstream with another password: the
            rabbit's registration gets an error (red), nothing stored.
  control   with profile passthrough the same simulated rabbit does not
            reach idle (the simulator is not vacuous; servers.md).

Run: /usr/bin/python3 tests/integration/it_firmware.py [prosody|ejabberd|jabberd2 ...]
"""
import base64
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from firmware import (Firmware, FirmwareError, FirmwareFatal,  # noqa: E402
                      decode_packet, encode_packet, fw_b64decode)
from nabharness import Nabproxy, no_password_in_log, run_per_server  # noqa: E402
from xmppclient import XMPPClient, XMPPError  # noqa: E402

DOMAIN = 'almacska'
PROFILE = 'bootcode-18673'
NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas'


def creds_of(px):
    px.creds_settled()
    path = os.path.join(px.dir, 'credentials')
    if not os.path.exists(path):
        return {}
    out = {}
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith('#'):
                jid, pw = line.rstrip('\n').split(' ', 1)
                out[jid] = pw
    return out


def proxy(srv):
    return Nabproxy('127.0.0.1:%d' % srv.port, profile=PROFILE)


def all_freed(px):
    """Wait until every session nabproxy accepted so far is freed."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        log = px.log()
        if log.count(b': accepted from ') == log.count(b': freed'):
            return
        time.sleep(0.01)   # polling a condition with a deadline
    raise AssertionError('sessions not freed:\n' + px.log().decode(errors='replace'))


def settled(px, srv, mac):
    """A reboot starts once nabproxy freed the previous session and the
    server is done with it (jabberd2: see xmppservers.Jabberd2.settle)."""
    all_freed(px)
    srv.settle(mac + '@' + DOMAIN)


def boot(px, srv, mac, **kw):
    settled(px, srv, mac)
    fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, timeout=15, **kw)
    try:
        fw.boot()
        return fw
    except AssertionError:
        fw.close()
        sys.stderr.write('--- what the simulated rabbit saw ---\n%s\n--- end ---\n'
                         % '\n'.join(fw.lines[-40:]))
        raise


def check_idle(fw, label):
    assert fw.sasl_steps == ['auth', 'challenge', 'rspauth', 'success'], \
        '%s: SASL went %r' % (label, fw.sasl_steps)
    assert fw.server_jid.startswith(fw.mac + '@' + DOMAIN + '/'), \
        '%s: first bind %r' % (label, fw.server_jid)
    assert fw.jid == '%s@%s/idle' % (fw.mac, DOMAIN), '%s: idle jid %r' % (label, fw.jid)
    assert fw.success.raw == b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'></success>", \
        fw.success.raw
    # firmware-guard's promise, stricter than the firmware needs: nothing
    # self-closing at all reaches the rabbit.
    assert b'/>' not in fw.received, '%s: self-closing element sent to the rabbit' % label


def contact_asks(srv, fw):
    """A contact's iq requests to the rabbit are answered by nabproxy; a
    Violet packet message reaches the rabbit readable."""
    srv.add_user('friend', 'friendpw')
    friend = XMPPClient('127.0.0.1', srv.port, DOMAIN, timeout=15)
    try:
        friend.login('friend', 'friendpw', resource='pc')
        to = fw.server_jid
        pong = friend.iq('get', "<ping xmlns='urn:xmpp:ping'/>", to=to)
        assert pong.get('type') == 'result', pong.raw
        ver = friend.iq('get', "<query xmlns='jabber:iq:version'/>", to=to)
        q = ver.find('{jabber:iq:version}query')
        assert q is not None and q.findtext('{jabber:iq:version}name') == 'Nabaztag/tag' \
            and q.findtext('{jabber:iq:version}version') == '18673', ver.raw
        info = friend.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", to=to)
        feats = [f.get('var') for f in
                 info.iter('{http://jabber.org/protocol/disco#info}feature')]
        ids = [i.get('category') for i in
               info.iter('{http://jabber.org/protocol/disco#info}identity')]
        # jabberd2's sm answers disco#info for its users itself (account).
        assert 'urn:xmpp:ping' in feats or ids == ['account'], info.raw
        items = friend.iq('get', "<query xmlns='http://jabber.org/protocol/disco#items'/>",
                          to=to)
        assert items.find('{http://jabber.org/protocol/disco#items}query') is not None, items.raw
        try:
            friend.iq('get', "<query xmlns='jabber:iq:last'/>", to=to)
            raise AssertionError('unknown get answered with a result')
        except XMPPError as e:
            assert 'feature-not-implemented' in str(e), e
        # A Violet packet (type 4 ambient, a few bytes) to the rabbit.
        pkt = base64.b64encode(encode_packet([(4, b'\x7f\xff\xff\xfe')])).decode()
        friend.send("<message to='%s' id='m1'><packet xmlns='violet:packet' format='1.0' "
                    "ttl='60'>%s</packet></message>" % (to, pkt))
        fw.keepalive()
        got = fw.idle(3.0)
        msgs = [n for n in got if n.name == b'message']
        assert msgs, 'no message reached the rabbit: %r' % got
        p = msgs[0].child(b'packet')
        assert p is not None and p.attr(b'xmlns') == b'violet:packet', msgs[0].raw
        assert decode_packet(fw_b64decode(p.text())) == [(4, b'\x7f\xff\xff\xfe')], msgs[0].raw
        iqs = [n for n in got if n.name == b'iq' and n.attr(b'type') in (b'get', b'set')]
        assert not iqs, 'the rabbit got iq requests nabproxy should answer: %r' % iqs
    finally:
        friend.close()


def case_fresh_known(srv):
    mac = '0013d3000001'
    with proxy(srv) as px:
        fw = boot(px, srv, mac)
        check_idle(fw, 'fresh')
        assert creds_of(px).get(mac + '@' + DOMAIN) == fw.password, creds_of(px)
        px.wait_log(rb'violet registration of ' + mac.encode() + rb'@almacska done')
        px.wait_log(rb'authenticated upstream as ' + mac.encode())
        contact_asks(srv, fw)
        password = fw.password
        fw.close()
        no_password_in_log(px, password)
        # Second boot: the password is in conf.bin, no registration.
        fw = boot(px, srv, mac, password=password)
        check_idle(fw, 'known')
        assert b'violet:iq:register' not in ''.join(fw.lines).encode()
        fw.close()
        # A password that is not the stored one: refused, nothing changes.
        settled(px, srv, mac)
        fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, password='ba5eba11ba5e', timeout=15)
        try:
            fw.boot()
            raise AssertionError('logged in with the wrong password')
        except FirmwareError as e:
            assert 'SASL failure' in str(e), e
        # Where the server offers DIGEST-MD5 the response goes to it (the
        # relay); elsewhere nabproxy refuses it itself.
        px.wait_log(rb'DIGEST-MD5 (login|response) of ' + mac.encode() +
                    rb'@almacska (refused|does not match the stored password)')
        assert creds_of(px).get(mac + '@' + DOMAIN) == password
        fw.close()
        no_password_in_log(px, password)


def case_exists(srv):
    mac, pw = '0013d3000002', '4e532621736a'
    srv.add_user(mac, pw)
    with proxy(srv) as px:
        fw = boot(px, srv, mac, register_password=pw)
        check_idle(fw, 'exists')
        assert creds_of(px).get(mac + '@' + DOMAIN) == pw, creds_of(px)
        px.wait_log(rb'the account exists and the rabbit\'s password logs in')
        fw.close()
        no_password_in_log(px, pw)


def case_unknown(srv):
    mac = '0013d3000003'
    with proxy(srv) as px:
        fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, password='0123456789ab', timeout=15)
        try:
            fw.boot()
            raise AssertionError('logged in with a password nabproxy never learned')
        except FirmwareError as e:
            assert 'SASL failure' in str(e), e
        if 'DIGEST-MD5' in srv.mechanisms:
            # Relayed: the server's own failure, made readable.
            assert fw.failure.raw.startswith(
                b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><") and \
                b'/>' not in fw.failure.raw, fw.failure.raw
        else:
            assert fw.failure.raw == (b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                                      b"<not-authorized></not-authorized></failure>"), \
                fw.failure.raw
        px.wait_log(rb'no credentials known for ' + mac.encode() +
                    rb'@almacska: .*nabproxy credentials add')
        fw.close()
        # The firmware reconnects and registers a new random password.
        fw = boot(px, srv, mac)
        check_idle(fw, 'unknown, re-registered')
        assert creds_of(px).get(mac + '@' + DOMAIN) == fw.password
        fw.close()


def case_conflict(srv):
    mac = '0013d3000004'
    srv.add_user(mac, 'notthepassword')
    with proxy(srv) as px:
        fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, timeout=15)
        try:
            fw.boot()
            raise AssertionError('registered over an existing account')
        except FirmwareError as e:
            assert 'FailureRegister2' in str(e), e
        assert mac + '@' + DOMAIN not in creds_of(px), creds_of(px)
        px.wait_log(rb'violet registration of ' + mac.encode() + rb'@almacska failed')
        fw.close()


def case_control(srv):
    mac = '0013d3000005'
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='passthrough') as px:
        fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, timeout=5)
        try:
            fw.boot()
            raise AssertionError('idle without nabproxy\'s repairs')
        except (FirmwareError, FirmwareFatal) as e:
            print('  control (%s, passthrough): %s' % (srv.name, str(e)[:160]), flush=True)
        fw.close()


def main(argv):
    return run_per_server(argv, DOMAIN, (case_fresh_known, case_exists, case_unknown,
                                         case_conflict, case_control))


if __name__ == '__main__':
    sys.exit(main(sys.argv))
