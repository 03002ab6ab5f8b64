"""DIGEST-MD5 relayed to a server that offers it, or finished by nabproxy.

A bootcode-18673 rabbit whose account already exists on the server with a
password nabproxy never saw sends <auth mechanism='DIGEST-MD5'/> at once.
With profile bootcode-18673 (digest-server's relay mode), the simulated
firmware (tests/integration/firmware.py: its challenge parser, its short
base64 padding, its NUL cnonce) boots through nabproxy:

  ejabberd  relay     account MAC/PW created on the server, empty
                      credential store: the rabbit with PW reaches idle 20
                      times in a row (ejabberd's nonce length varies, so
                      the response length takes every residue mod 3); its
                      challenge is rewritten, its response re-padded,
                      ejabberd's rspauth challenge relayed, its <success>
                      passed; nothing is stored.
            wrong     the same account, the rabbit with another password:
                      the server's <failure> reaches the rabbit, it never
                      binds, nothing is stored.
  jabberd2  stored    it offers DIGEST-MD5 but refuses the firmware's NUL
                      cnonce: with the password stored by `nabproxy
                      credentials add`, the response matches it against
                      jabberd2's nonce, nabproxy aborts upstream, answers
                      rspauth itself and logs in with the stored password:
                      idle.
            nostore   without a stored password the relayed response is
                      refused by jabberd2 (the NUL cnonce): the server's
                      <failure> reaches the rabbit.
  prosody   local     no DIGEST-MD5 offered: nabproxy terminates it; the
                      unknown password gets <failure> and a log line naming
                      `nabproxy credentials add MAC@DOMAIN`; once that is
                      run, the rabbit reaches idle.

No password ever appears in nabproxy's log.

Run: /usr/bin/python3 tests/integration/it_digest_relay.py [ejabberd|jabberd2|prosody ...]
"""
import collections
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from firmware import Firmware, FirmwareError  # noqa: E402
from nabharness import BIN, Nabproxy, no_password_in_log, run_per_server  # noqa: E402
from it_firmware import all_freed, boot, creds_of, settled  # noqa: E402

DOMAIN = 'almacska'
PROFILE = 'bootcode-18673'
RELAY_BOOTS = 20
NS_SASL = b'urn:ietf:params:xml:ns:xmpp-sasl'


def refused(px, srv, mac, password):
    """Boot expecting the SASL failure; returns the firmware (closed)."""
    settled(px, srv, mac)
    fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, password=password, timeout=15)
    try:
        fw.boot()
        raise AssertionError('logged in with password %r' % password)
    except FirmwareError as e:
        assert 'SASL failure' in str(e), e
    finally:
        fw.close()
    assert fw.sasl_steps == ['auth', 'challenge', 'failure'], fw.sasl_steps
    assert fw.failure.raw.startswith(b"<failure xmlns='" + NS_SASL + b"'><"), fw.failure.raw
    assert fw.failure.raw.endswith(b'</failure>') and b'/>' not in fw.failure.raw, \
        fw.failure.raw
    assert fw.server_jid is None and fw.jid is None, 'bound after a SASL failure'
    return fw


def check_idle(fw, label, relayed=False):
    """Idle after the four SASL steps. nabproxy's own <success> has an end
    tag; a relayed one is the server's, passed as it is (the host restarts
    both streams only for a server unit forwarded untouched): ejabberd's
    <success xmlns='...'/> carries an attribute, so the firmware reads it
    (bootcode-xmpp.md 12.2), and nothing follows it in that read."""
    assert fw.sasl_steps == ['auth', 'challenge', 'rspauth', 'success'], \
        '%s: SASL went %r' % (label, fw.sasl_steps)
    assert fw.jid == '%s@%s/idle' % (fw.mac, DOMAIN), '%s: idle jid %r' % (label, fw.jid)
    ours = b"<success xmlns='" + NS_SASL + b"'></success>"
    if relayed:
        assert fw.success.raw in (ours, b"<success xmlns='" + NS_SASL + b"'/>"), \
            fw.success.raw
    else:
        assert fw.success.raw == ours, fw.success.raw
    rest = bytes(fw.received).replace(fw.success.raw, b'', 1)
    assert b'/>' not in rest, '%s: self-closing element sent to the rabbit' % label


def response_residue(fw):
    """Length mod 3 of the digest-response the rabbit sent (A5)."""
    for line in fw.lines:
        m = re.match(r"Sending : <response xmlns='[^']*'>([A-Za-z0-9+/=]+)</response>", line)
        if m:
            b64 = m.group(1).rstrip('=')
            return (len(b64) * 6 // 8) % 3
    raise AssertionError('no digest-response sent: %r' % fw.lines)


def add_credentials(px, jid, password):
    subprocess.run([BIN, 'credentials', '-c', px.conf, 'add', jid],
                   input=(password + '\n').encode(), check=True)


def case_ejabberd_relay(srv):
    mac, pw = '0013d3000101', '4e532621736a'
    jid = mac + '@' + DOMAIN
    srv.add_user(mac, pw)
    with Nabproxy('127.0.0.1:%d' % srv.port, profile=PROFILE) as px:
        residues = collections.Counter()
        t0 = time.monotonic()
        for i in range(RELAY_BOOTS):
            fw = boot(px, srv, mac, password=pw)
            check_idle(fw, 'relay boot %d' % (i + 1), relayed=True)
            residues[response_residue(fw)] += 1
            fw.close()
        took = time.monotonic() - t0
        log = px.log()
        n = log.count(b'the server accepted the rabbit\'s own DIGEST-MD5 login as '
                      + jid.encode())
        assert n == RELAY_BOOTS, '%d relayed logins of %d' % (n, RELAY_BOOTS)
        assert b'aborted upstream' not in log and b'authenticated upstream' not in log
        assert creds_of(px) == {}, creds_of(px)
        print('  %d/%d relay boots reached idle in %.1fs; response length mod 3: %s'
              % (RELAY_BOOTS, RELAY_BOOTS, took, dict(sorted(residues.items()))), flush=True)
        # The wrong password: ejabberd's own failure, no bind, nothing stored.
        refused(px, srv, mac, 'ba5eba11ba5e')
        px.wait_log(rb'the server refused the rabbit\'s DIGEST-MD5 login as ' + jid.encode())
        all_freed(px)
        assert creds_of(px) == {}, creds_of(px)
        no_password_in_log(px, pw, 'ba5eba11ba5e')


def case_jabberd2_stored(srv):
    mac, pw = '0013d3000102', '0a1b2c3d4e5f'
    jid = mac + '@' + DOMAIN
    srv.add_user(mac, pw)
    with Nabproxy('127.0.0.1:%d' % srv.port, profile=PROFILE) as px:
        add_credentials(px, jid, pw)
        fw = boot(px, srv, mac, password=pw)
        check_idle(fw, 'abort and local')
        fw.close()
        px.wait_log(rb'DIGEST-MD5 response of ' + jid.encode() +
                    rb' matches the stored password: aborted upstream')
        px.wait_log(rb'the server confirmed our SASL abort')
        px.wait_log(rb'authenticated upstream as ' + jid.encode())
        assert b'the server accepted the rabbit\'s own' not in px.log()
        assert creds_of(px) == {jid: pw}
        all_freed(px)
        no_password_in_log(px, pw)


def case_jabberd2_nostore(srv):
    mac, pw = '0013d3000103', '5f4e3d2c1b0a'
    jid = mac + '@' + DOMAIN
    srv.add_user(mac, pw)
    with Nabproxy('127.0.0.1:%d' % srv.port, profile=PROFILE) as px:
        refused(px, srv, mac, pw)
        px.wait_log(rb'no credentials known for ' + jid.encode() +
                    rb': relaying .*nabproxy credentials add ' + jid.encode())
        px.wait_log(rb'the server refused the rabbit\'s DIGEST-MD5 login as ' + jid.encode())
        all_freed(px)
        assert creds_of(px) == {}
        no_password_in_log(px, pw)


def case_prosody_local(srv):
    mac, pw = '0013d3000104', '99aa88bb77cc'
    jid = mac + '@' + DOMAIN
    srv.add_user(mac, pw)
    with Nabproxy('127.0.0.1:%d' % srv.port, profile=PROFILE) as px:
        fw = refused(px, srv, mac, pw)
        assert fw.failure.raw == (b"<failure xmlns='" + NS_SASL + b"'>"
                                  b"<not-authorized></not-authorized></failure>"), fw.failure.raw
        px.wait_log(rb'no credentials known for ' + jid.encode() +
                    rb': .*nabproxy credentials add ' + jid.encode())
        assert b'relaying' not in px.log()
        add_credentials(px, jid, pw)
        fw = boot(px, srv, mac, password=pw)
        check_idle(fw, 'local after credentials add')
        fw.close()
        px.wait_log(rb'authenticated upstream as ' + jid.encode())
        all_freed(px)
        no_password_in_log(px, pw)


CASES = {
    'ejabberd': (case_ejabberd_relay,),
    'jabberd2': (case_jabberd2_stored, case_jabberd2_nostore),
    'prosody': (case_prosody_local,),
}


def main(argv):
    names = argv[1:] or list(CASES)
    failed = 0
    for name in names:
        if run_per_server([argv[0], name], DOMAIN, CASES[name]):
            failed = 1
    return failed


if __name__ == '__main__':
    sys.exit(main(sys.argv))
