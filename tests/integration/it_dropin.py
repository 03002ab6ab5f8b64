"""Drop-in (issue 8): the shipped etc/nabproxy.conf, with only `upstream`
and a scratch `state-dir` changed, in front of an unmodified server.

Per server (Prosody, ejabberd, jabberd2, started from Debian on free
loopback ports):
  - the seed's rabbit (simulator), whose account exists with the password
    it knows, reaches bind + session (profile chosen by `profile = auto`);
  - a firmware 18673 rabbit registering fresh reaches idle;
  - ejabberd only (it offers DIGEST-MD5): a firmware 18673 rabbit whose
    account exists with a password nabproxy never saw reaches idle 20
    times in a row (DIGEST-MD5 repaired in transit), nothing stored;
  - after a fresh registration, a rabbit that re-registers with a new
    random password is refused, and comes online once the operator ran
    `nabproxy credentials allow-register MAC` (one registration);
  - the server restarted while firmware rabbits log in: no SASL failure
    reaches them, and they come back online with their passwords;
  - a registration whose proof cannot reach the server gets a stream
    close, not an answer, and the next one comes online;
  - nabproxy's own login for a firmware rabbit that cannot reach the
    server: a stream close, never a SASL failure; online after.
Run: /usr/bin/python3 tests/integration/it_dropin.py [prosody|ejabberd|jabberd2 ...]
"""
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from firmware import Firmware, FirmwareError, FirmwareFatal  # noqa: E402
from nabharness import (BIN, CaseSkipped, Rabbit, Relay, ShippedNabproxy,  # noqa: E402
                        no_password_in_log, run_per_server)
from xmppclient import StreamError, XMPPClient  # noqa: E402
from it_auth import JID, MAC, PASSWORD, check_bound, creds_of, drop_user  # noqa: E402
from it_firmware import DOMAIN, boot, settled  # noqa: E402


def shipped(srv):
    return ShippedNabproxy('127.0.0.1:%d' % srv.port)


def case_seed(srv):
    srv.add_user(MAC, PASSWORD)
    with shipped(srv) as px:
        r = Rabbit(px.port)
        r.open()
        reg = r.register()
        assert reg.get('type') == 'result', 'register not repaired: %s' % reg
        check_bound(r, 'seed')
        px.wait_log(rb'profile simulator selected by simulator')
        px.wait_log(rb'authenticated upstream as ' + JID.encode())
        assert JID + ' ' + PASSWORD in creds_of(px), creds_of(px)
        r.close()
        no_password_in_log(px, PASSWORD)
    drop_user(srv, MAC, PASSWORD)


def idle(fw, mac):
    assert fw.jid == '%s@%s/idle' % (mac, DOMAIN), 'idle jid %r' % fw.jid


def case_firmware_fresh(srv):
    mac = '0013d3000801'
    with shipped(srv) as px:
        fw = boot(px, srv, mac)
        idle(fw, mac)
        px.wait_log(rb'profile bootcode-18673 selected by')
        pw = fw.password
        fw.close()
        no_password_in_log(px, pw)
    drop_user(srv, mac, pw)


def case_firmware_existing(srv):
    """The account and the password the rabbit knows predate nabproxy."""
    if type(srv).__name__ != 'Ejabberd':
        raise CaseSkipped('needs a server that offers DIGEST-MD5 and accepts the '
                          "firmware's cnonce (ejabberd here; Openfire is not in Debian)")
    mac, pw = '0013d3000802', '5e1f0e2d3c4b'
    srv.add_user(mac, pw)
    with shipped(srv) as px:
        for i in range(20):
            fw = boot(px, srv, mac, password=pw)
            idle(fw, mac)
            fw.close()
        assert creds_of(px) in ('', {}), 'stored %r' % creds_of(px)
        no_password_in_log(px, pw)
    drop_user(srv, mac, pw)


def allow_register(px, mac):
    return subprocess.run([BIN, 'credentials', '-c', px.conf, 'allow-register', mac],
                          capture_output=True, text=True, timeout=30)


def refused_registration(px, srv, mac):
    """A rabbit that lost its password registers a new random one: the
    account exists (409) and the new password does not log in."""
    try:
        fw = boot(px, srv, mac)
    except FirmwareFatal:
        # The login probe of the new password met the backoff of an
        # earlier failed one: judged nothing, so the stream is closed.
        px.wait_log(rb'could not be proven')
        return
    except FirmwareError as e:
        assert 'FailureRegister2' in str(e), e
        return
    fw.close()
    raise AssertionError('a re-registration without allow-register came online')


def case_firmware_reregister(srv):
    """(c): after a fresh registration, the rabbit re-registers with a new
    random password: online once the operator ran allow-register (its new
    password is its own, the server keeps the first one, the rabbit
    reboots with it); the window is good for one registration: without
    one the next re-registration is refused, the store unchanged."""
    mac = '0013d3000803'
    with shipped(srv) as px:
        fw = boot(px, srv, mac)
        pw1 = fw.password
        fw.close()
        before = creds_of(px)
        assert before == '%s@%s %s\n' % (mac, DOMAIN, pw1) or \
            before.endswith('\n%s@%s %s\n' % (mac, DOMAIN, pw1)), before
        # (A refusal first would back this address off for a few seconds,
        # and the rabbit's immediate reboot below would meet it: the
        # refusals come last.)
        r = allow_register(px, mac)
        assert r.returncode == 0 and r.stdout.startswith(
            '%s@%s may register a new password until ' % (mac, DOMAIN)), (r.returncode, r.stdout,
                                                                        r.stderr)
        fw = boot(px, srv, mac)
        idle(fw, mac)
        pw2 = fw.password
        assert pw2 != pw1
        fw.close()
        px.wait_log(rb'registered a new password in the operator\'s allow-register window')
        # The rabbit reboots with the password it keeps: online again.
        fw = boot(px, srv, mac, password=pw2)
        idle(fw, mac)
        fw.close()
        assert creds_of(px).endswith('%s@%s %s\n/rabbit %s@%s %s\n'
                                     % (mac, DOMAIN, pw1, mac, DOMAIN, pw2)), creds_of(px)
        # The server's password did not change.
        settled(px, srv, mac)
        c = XMPPClient('127.0.0.1', srv.port, DOMAIN, timeout=15)
        try:
            c.login(mac, pw1, resource='check')
        finally:
            c.close()
        # One registration per window; without one, refused.
        before = creds_of(px)
        refused_registration(px, srv, mac)
        px.wait_log(rb'violet registration of ' + mac.encode() + rb'@' +
                    DOMAIN.encode() + rb' failed')
        assert creds_of(px) == before, 'a refused registration changed the store'
        for pw in (pw1, pw2):
            no_password_in_log(px, pw)
    drop_user(srv, mac, pw1)


def no_sasl_failure(fw, mac, pw):
    """What a firmware rabbit must never see from a transient fault: a SASL
    <failure> (it would throw its password away and re-register)."""
    assert b'<failure' not in bytes(fw.received), '%s got a SASL failure: %r' % (
        mac, bytes(fw.received))
    assert fw.password == pw, '%s lost its password' % mac


def case_server_restart(srv):
    """(d): the server restarts while rabbits log in: none gets a SASL
    failure (the stream is closed, the rabbit reboots with its password),
    a rabbit booting while it is down is closed too, and all come online
    once it is up again, with the passwords they kept."""
    macs = ['0013d30008%02x' % (0x10 + i) for i in range(3)]
    with shipped(srv) as px:
        pws = {}
        for mac in macs:
            fw = boot(px, srv, mac)
            pws[mac] = fw.password
            fw.close()
        # Each rabbit is in its login: stream open, features read.
        fws = []
        for mac in macs:
            settled(px, srv, mac)
        for mac in macs:
            fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, password=pws[mac], timeout=15)
            fw.connect()
            fw.open_stream()
            fw.features(time.monotonic() + 15)
            fws.append(fw)
        port = srv.port
        srv.stop()
        for fw in fws:
            try:
                fw.sasl(time.monotonic() + 15)
                raise AssertionError('%s logged in with its server down' % fw.mac)
            except FirmwareFatal:
                pass                    # a FIN: the rabbit reboots
            no_sasl_failure(fw, fw.mac, pws[fw.mac])
            fw.close()
        # A rabbit that boots while the server is down.
        fw = Firmware('127.0.0.1', px.port, macs[0], DOMAIN, password=pws[macs[0]], timeout=15)
        try:
            fw.boot()
            raise AssertionError('a rabbit came online with its server down')
        except FirmwareFatal:
            pass
        no_sasl_failure(fw, macs[0], pws[macs[0]])
        fw.close()
        # The same server back on its port, with the same accounts.
        srv.fixed_port = port
        srv.start()
        for mac in macs:
            srv.add_user(mac, pws[mac])
        for mac in macs:
            fw = boot(px, srv, mac, password=pws[mac])
            idle(fw, mac)
            no_sasl_failure(fw, mac, pws[mac])
            fw.close()
    for mac in macs:
        drop_user(srv, mac, pws[mac])


def case_probe_not_judged(srv):
    """The login probe that proves a registration cannot reach the server
    (its connection dies): that judges nothing, so the rabbit gets neither
    a result nor an error it would stay red with, but a stream close; the
    next registration, with the server reachable, comes online."""
    srv.add_user(MAC, PASSWORD)
    with Relay(srv.port) as relay, shipped_via(relay) as px:
        relay.accept_only = 1            # the session's own connection only
        r = Rabbit(px.port)
        r.open()
        try:
            reg = r.register()
            raise AssertionError('registration answered without a proof: %s' % reg.raw)
        except StreamError as e:
            assert b'remote-connection-failed' in e.element.raw, e
        r.close()
        assert relay.refused >= 1, 'the probe never tried'
        px.wait_log(rb'could not be proven')
        assert creds_of(px) == '', creds_of(px)
        relay.accept_only = None
        r = Rabbit(px.port)
        r.open()
        reg = r.register()
        assert reg.get('type') == 'result', reg.raw
        check_bound(r, 'after the server came back')
        r.close()
        no_password_in_log(px, PASSWORD)
    drop_user(srv, MAC, PASSWORD)


def case_login_not_judged(srv):
    """A firmware rabbit registered, proved its password, and passed its
    DIGEST-MD5 here; nabproxy's own login (on a fresh connection, since
    the stream registered) cannot reach the server: the rabbit gets a
    stream close, never a SASL <failure> (it would throw its password
    away), and boots again with its password once the server is back.
    The login probe's connection, kept for that login, goes with the
    server right after its SASL success, so the login has to dial."""
    mac = '0013d3000820'
    with Relay(srv.port) as relay, shipped_via(relay) as px:
        relay.accept_only = 2            # the session's and the probe's
        relay.cut = (1, rb'<success\b[^>]*(/>|>[^<]*</success>)')
        settled(px, srv, mac)
        fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, timeout=15)
        try:
            fw.boot()
            raise AssertionError('online without nabproxy\'s login')
        except FirmwareFatal:
            pass
        pw = fw.password
        assert pw, 'the registration did not complete'
        no_sasl_failure(fw, mac, pw)
        fw.close()
        assert relay.refused >= 1, 'the login never tried'
        px.wait_log(rb'could not be judged')
        relay.accept_only = None
        fw = boot(px, srv, mac, password=pw)
        idle(fw, mac)
        fw.close()
        no_password_in_log(px, pw)
    drop_user(srv, mac, pw)


def shipped_via(relay):
    return ShippedNabproxy('127.0.0.1:%d' % relay.port)


def main(argv):
    return run_per_server(argv, DOMAIN, (case_seed, case_firmware_fresh,
                                         case_firmware_existing, case_firmware_reregister,
                                         case_server_restart, case_probe_not_judged,
                                         case_login_not_judged))


if __name__ == '__main__':
    sys.exit(main(sys.argv))
