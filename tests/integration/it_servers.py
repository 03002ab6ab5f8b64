#!/usr/bin/python3
"""Integration test: the real XMPP servers used by nabproxy's tests work.

For each server class in xmppservers (prosody, ejabberd, jabberd2; plus the
prosody internal_plain variant): start it on a free loopback port, check it
listens on nothing but 127.0.0.1 ports of its own, create an account out of
band (add_user) and one in band (XEP-0077), log in directly with every SASL
mechanism it offers in clear (bind, session, message to self, receive it),
check a wrong password and a removed account are refused, stop it, and check
that no process of it is left and its temp dir is gone.

A server that is not installed is a FAIL: CI installs them (see README.md).
Run: /usr/bin/python3 tests/integration/it_servers.py [server-name ...]
"""

import os
import sys
import time
import traceback

sys.dont_write_bytecode = True     # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xmppclient  # noqa: E402
from xmppservers import Ejabberd, Jabberd2, Prosody  # noqa: E402

USER, PASSWORD = 'f81edfee27c1', '83279de2ea5c'
IBR_USER, IBR_PASSWORD = 'ibr-5d0c', 'p&ss<w>rd "x"'   # needs XML escaping

# (label, factory, mechanisms that must be offered in clear)
CASES = [
    ('prosody', lambda: Prosody(domain='almacska'), {'PLAIN', 'SCRAM-SHA-1'}),
    ('prosody-plain', lambda: Prosody(domain='almacska', auth='internal_plain'),
     {'PLAIN', 'SCRAM-SHA-1'}),
    ('ejabberd', lambda: Ejabberd(domain='almacska'), {'PLAIN', 'SCRAM-SHA-1', 'DIGEST-MD5'}),
    ('jabberd2', lambda: Jabberd2(domain='almacska'), {'PLAIN', 'DIGEST-MD5'}),
]

FORBIDDEN_PORTS = {5222, 5223, 5269, 5270, 5280, 5281, 5347, 5443, 1883, 3478}


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def login_roundtrip(s, user, password, mech):
    """Direct login with one mechanism, message to self, receive it."""
    with s.client(timeout=10) as c:
        jid = c.login(user, password, resource='it-' + mech.lower(), mechanism=mech)
        check(jid.startswith('%s@%s/' % (user, s.domain)), 'bound jid %r' % jid)
        body = 'hello %s via %s <&> \u00e9' % (s.name, mech)
        mid = c.send_message(jid, body)
        msg = c.wait_message(body=body, timeout=5)
        check(msg.get('id') == mid, 'message id %r != %r' % (msg.get('id'), mid))
        check(msg.raw.startswith(b'<message') and msg.raw.endswith(b'</message>'),
              'raw bytes of message: %r' % msg.raw)
    return jid


def auth_refused(s, user, password):
    with s.client(timeout=10) as c:
        c.open_stream()
        mech = 'PLAIN' if 'PLAIN' in c.mechanisms else None
        try:
            c.auth(user, password, mechanism=mech)
        except xmppclient.AuthError:
            return True
    return False


def run_case(label, factory, required):
    t0 = time.monotonic()
    s = factory()
    missing = s.missing()
    if missing:
        raise AssertionError('%s not installed (missing %s); install: '
                             'apt-get install -y prosody lua-bitop ejabberd jabberd2 sqlite3'
                             % (s.name, ', '.join(missing)))
    with s:
        try:
            start = s.start_seconds
            pgids, tmpdir = s.pgids, s.dir
            check(os.path.isdir(tmpdir), 'temp dir exists while running')
            # listeners: only loopback, only our ports, none of the well-known ones
            ls = s.listeners()
            check(('tcp', '127.0.0.1', s.port) in ls, 'c2s listener %r' % (ls,))
            for proto, ip, port in ls:
                check(ip == '127.0.0.1', 'listens on %s:%d (%s)' % (ip, port, proto))
                check(port not in FORBIDDEN_PORTS, 'listens on well-known port %d' % port)
            check(s.header.get('from') == s.domain, 'stream from=%r' % s.header.get('from'))
            offered = list(s.mechanisms)
            check(required <= set(offered), 'offered %r, need %r' % (offered, required))

            s.add_user(USER, PASSWORD)
            s.register_inband(IBR_USER, IBR_PASSWORD)
            tried = []
            for mech in offered:
                if mech in xmppclient.MECHANISMS:
                    login_roundtrip(s, USER, PASSWORD, mech)
                    tried.append(mech)
            login_roundtrip(s, IBR_USER, IBR_PASSWORD, tried[0])
            check(auth_refused(s, USER, 'wrong-password'), 'wrong password accepted')

            s.remove_user(USER)
            check(auth_refused(s, USER, PASSWORD), 'removed user can still log in')
            s.unregister_inband(IBR_USER)
            check(auth_refused(s, IBR_USER, IBR_PASSWORD), 'unregistered user can still log in')
        except Exception as e:
            raise AssertionError('%s\n--- server logs (tail):\n%s' % (e, s.log_tail())) from e
    left = s.alive_pids(pgids)
    check(not left, 'processes left after stop: %r' % left)
    check(not os.path.exists(tmpdir), 'temp dir %s left after stop' % tmpdir)
    return start, offered, tried, time.monotonic() - t0


def main(argv):
    wanted = set(argv[1:])
    passed = failed = 0
    t_all = time.monotonic()
    for label, factory, required in CASES:
        if wanted and label not in wanted:
            continue
        try:
            start, offered, tried, total = run_case(label, factory, required)
        except Exception as e:
            failed += 1
            print('FAIL %s: %s' % (label, e))
            traceback.print_exc()
            continue
        passed += 1
        print('PASS %s: start %.2fs, total %.2fs, offered in clear: %s; logged in with: %s'
              % (label, start, total, ' '.join(offered), ' '.join(tried)))
        sys.stdout.flush()
    print('all servers: %.2fs' % (time.monotonic() - t_all))
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
