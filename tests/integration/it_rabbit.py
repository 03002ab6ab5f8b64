"""nabrabbit (the C rabbit player) through nabproxy to real servers.

For each server named (Prosody, ejabberd, jabberd2), started from Debian on free
loopback ports with a throwaway config, nabproxy runs in front of it with
profile auto (the shipped default) and nabrabbit plays:

  seed      the seed log's simulator (its exact bytes), its account
            existing upstream as in the seed: register (409 repaired by
            nabproxy), bind, session; the JSON line says idle, with the
            JID and every step ok; exit status 0.
  firmware  bootcode 18673 with no password: registers (violet), DIGEST-MD5
            with the firmware's quirks, restart, bind boot, session,
            sources, bind idle, session, presence, unbind; the password it
            keeps in --state (0600) is the one nabproxy stored for it.
            Booted again from that state it skips registration; with a
            wrong password it fails at sasl (exit 1) and forgets it, as
            the firmware does.
  load      --count 20 --rate 1000 firmware rabbits on one event loop,
            through a nabproxy allowing 2 login probes at once (the rest
            wait for a slot): 20 lines with consecutive MACs, all idle, and
            a summary line saying so with p50 <= p99.
  sources   --count 6 --source 127.1.0.1/3 through a nabproxy with
            max-per-source = 2: nabproxy accepted exactly two connections
            from each of 127.1.0.1, .2 and .3 (bound before connect; Linux
            routes 127/8 to lo) and all six rabbits reach idle.
  control   the same firmware rabbit through profile passthrough does not
            reach idle (exit 1, a failed step named): nabrabbit is not
            vacuous.

Run: /usr/bin/python3 tests/integration/it_rabbit.py [prosody|ejabberd|jabberd2 ...]
"""
import json
import os
import re
import stat
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nabharness import Nabproxy, no_password_in_log, run_per_server  # noqa: E402

DOMAIN = 'almacska'
RABBIT = os.path.join(os.environ.get('NAB_BINARY_DIR', ''), 'nabrabbit')
SEED_STEPS = ['connect', 'stream', 'register_form', 'register', 'bind', 'session']
FW_STEPS = ['connect', 'stream', 'register', 'sasl', 'restart', 'bind_boot',
            'session_boot', 'sources', 'bind_idle', 'session_idle', 'presence',
            'unbind']


def nabrabbit(px, *args):
    """Run nabrabbit against px; (exit status, [JSON objects])."""
    p = subprocess.run([RABBIT, '--connect', '127.0.0.1:%d' % px.port,
                        '--domain', DOMAIN] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert p.stderr == b'', p.stderr
    return p.returncode, [json.loads(line) for line in p.stdout.decode().splitlines()]


def creds_of(px):
    px.creds_settled()
    out = {}
    path = os.path.join(px.dir, 'credentials')
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip() and not line.startswith('#'):
                    jid, pw = line.rstrip('\n').split(' ', 1)
                    out[jid] = pw
    return out


def state_of(path):
    with open(path) as f:
        return dict(line.split() for line in f if not line.startswith('#'))


def settled(px, srv, jid):
    """Between boots of one rabbit: nabproxy freed every session so far
    and the server is done with them (jabberd2, see xmppservers)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        log = px.log()
        if log.count(b': accepted from ') == log.count(b': freed'):
            break
        time.sleep(0.01)   # polling a condition with a deadline
    else:
        raise AssertionError('sessions not freed:\n' + px.log().decode(errors='replace'))
    srv.settle(jid)


def check_idle(r, mac, firmware, steps):
    assert r['idle'] is True, r
    assert r['mac'] == mac and r['firmware'] == firmware, r
    assert r['jid'] == '%s@%s/idle' % (mac, DOMAIN), r
    assert [s['step'] for s in r['steps']] == steps, r
    assert r['failed'] is None and r['reason'] is None, r
    assert r['ms'] >= r['steps'][-1]['ms'] > 0, r


def case_seed(srv):
    srv.add_user('f81edfee27c1', '83279de2ea5c')
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='auto') as px:
        rc, out = nabrabbit(px, '--firmware', 'simulator')
        assert rc == 0 and len(out) == 1, (rc, out)
        check_idle(out[0], 'f81edfee27c1', 'simulator', SEED_STEPS)
        assert all(s['outcome'] == 'ok' for s in out[0]['steps']), out
        assert out[0]['registered'] is False, out
        assert creds_of(px).get('f81edfee27c1@' + DOMAIN) == '83279de2ea5c'
        px.wait_log(rb'409 repaired: f81edfee27c1@almacska exists')


def case_firmware(srv):
    mac = '0013d3000011'
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='auto') as px:
        state = os.path.join(px.dir, 'rabbit-state')
        rc, out = nabrabbit(px, '--firmware', '18673', '--mac', mac, '--state', state)
        assert rc == 0 and len(out) == 1, (rc, out)
        check_idle(out[0], mac, '18673', FW_STEPS)
        assert all(s['outcome'] == 'ok' for s in out[0]['steps']), out
        assert out[0]['registered'] is True, out
        assert stat.S_IMODE(os.stat(state).st_mode) == 0o600
        pw = state_of(state)[mac]
        assert re.fullmatch('[0-9a-f]{12}', pw), pw
        assert creds_of(px).get(mac + '@' + DOMAIN) == pw, (creds_of(px), pw)
        # Again, from what it kept: no registration.
        settled(px, srv, mac + '@' + DOMAIN)
        rc, out = nabrabbit(px, '--firmware', '18673', '--mac', mac, '--state', state)
        assert rc == 0, out
        check_idle(out[0], mac, '18673', FW_STEPS)
        assert out[0]['steps'][2]['outcome'] == 'skipped' and not out[0]['registered'], out
        # A wrong password: SASL failure, and the rabbit forgets it.
        settled(px, srv, mac + '@' + DOMAIN)
        rc, out = nabrabbit(px, '--firmware', '18673', '--mac', mac, '--state', state,
                            '--password', 'ba5eba11ba5e')
        assert rc == 1 and out[0]['idle'] is False, out
        assert out[0]['failed'] == 'sasl' and 'SASL failure' in out[0]['reason'], out
        assert mac not in state_of(state), state_of(state)
        assert creds_of(px).get(mac + '@' + DOMAIN) == pw
        no_password_in_log(px, pw)


def case_load(srv):
    base = 0x0013d3100000
    # Two probes at once: the other registrations wait for a slot and
    # still come online (none gets an error or a close).
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='auto',
                  extra='max-probes = 2') as px:
        rc, out = nabrabbit(px, '--firmware', '18673', '--mac', '%012x' % base,
                            '--count', '20', '--rate', '1000')
        rabbits, summary = out[:-1], out[-1]
        assert rc == 0, out
        assert sorted(r['mac'] for r in rabbits) == ['%012x' % (base + i) for i in range(20)]
        for r in rabbits:
            check_idle(r, r['mac'], '18673', FW_STEPS)
        assert summary['summary'] is True and summary['rabbits'] == 20, summary
        assert summary['idle'] == 20 and summary['failed'] == 0, summary
        assert summary['failed_by_step'] == {}, summary
        assert 0 < summary['p50_ms'] <= summary['p99_ms'] <= summary['elapsed_ms'], summary
        assert re.search(rb'login probe for \S+ waits: 2 probes running', px.log()), \
            'no probe waited for a slot'


def case_sources(srv):
    base = 0x0013d3200000
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='auto',
                  extra='max-per-source = 2') as px:
        rc, out = nabrabbit(px, '--firmware', '18673', '--mac', '%012x' % base,
                            '--count', '6', '--rate', '1000', '--source', '127.1.0.1/3')
        assert rc == 0, out
        assert out[-1]['idle'] == 6, out[-1]
        peers = re.findall(rb': accepted from ([0-9.]+):\d+,', px.log())
        assert sorted(peers) == [b'127.1.0.1'] * 2 + [b'127.1.0.2'] * 2 + \
            [b'127.1.0.3'] * 2, peers


def case_control(srv):
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='passthrough') as px:
        rc, out = nabrabbit(px, '--firmware', '18673', '--mac', '0013d3000012',
                            '--timeout', '5')
        assert rc == 1 and out[0]['idle'] is False, out
        assert out[0]['failed'] in FW_STEPS and out[0]['reason'], out
        print('  control (%s, passthrough): failed at %s: %s'
              % (srv.name, out[0]['failed'], out[0]['reason'][:120]), flush=True)


def main(argv):
    return run_per_server(argv, DOMAIN, (case_seed, case_firmware, case_load, case_sources,
                                             case_control))


if __name__ == '__main__':
    sys.exit(main(sys.argv))
