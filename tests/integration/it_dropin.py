"""Drop-in (issue 8): the shipped etc/nabproxy.conf, with only `upstream`
and a scratch `state-dir` changed, in front of an unmodified server.

Per server (Prosody, ejabberd, jabberd2, started from Debian on free
loopback ports):
  - the seed's rabbit (simulator), whose account exists with the password
    it knows, reaches bind + session (profile chosen by `profile = auto`);
  - a firmware 18673 rabbit registering fresh reaches idle;
  - ejabberd only (it offers DIGEST-MD5): a firmware 18673 rabbit whose
    account exists with a password nabproxy never saw reaches idle 20
    times in a row (DIGEST-MD5 repaired in transit), nothing stored.
Run: /usr/bin/python3 tests/integration/it_dropin.py [prosody|ejabberd|jabberd2 ...]
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nabharness import (CaseSkipped, Rabbit, ShippedNabproxy, no_password_in_log,  # noqa: E402
                        run_per_server)
from it_auth import JID, MAC, PASSWORD, check_bound, creds_of, drop_user  # noqa: E402
from it_firmware import DOMAIN, boot  # noqa: E402


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


def main(argv):
    return run_per_server(argv, DOMAIN, (case_seed, case_firmware_fresh,
                                         case_firmware_existing))


if __name__ == '__main__':
    sys.exit(main(sys.argv))
