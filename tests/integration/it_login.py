"""A real client through nabproxy equals the same client direct (issue 3).

Prosody from Debian on a free loopback port (throwaway config and data
dir). A standard client logs in directly, then through nabproxy with the
passthrough profile and with the simulator profile: SASL (every mechanism
the server offers in clear), bind, session, a message to itself. The
outcome through the proxy must equal the direct one: same bound JID, same
session result, the same message back, and the server's features seen by
the client byte for byte the same.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nabharness import Nabproxy  # noqa: E402
from xmppclient import XMPPClient  # noqa: E402
from xmppservers import Prosody  # noqa: E402

USER, PW = 'alice', 'wonder land'


def session(port, mech):
    c = XMPPClient('127.0.0.1', port, 'almacska', timeout=15)
    c.open_stream()
    features = c.features.raw
    jid = c.login(USER, PW, resource='r-' + mech, mechanism=mech)
    c.send_message(jid, 'ping ' + mech, id='m1')
    m = c.wait_message(body='ping ' + mech)
    out = (features, jid, m.get('from'), m.get('id'), m.findtext('{jabber:client}body'))
    c.close()
    return out


def main():
    with Prosody(domain='almacska', auth='internal_plain') as srv:
        srv.add_user(USER, PW)
        mechs = [m for m in srv.mechanisms if m != 'PLAIN'] + ['PLAIN']
        for profile in ('passthrough', 'simulator'):
            with Nabproxy('127.0.0.1:%d' % srv.port, profile=profile) as px:
                for mech in mechs:
                    direct = session(srv.port, mech)
                    proxied = session(px.port, mech)
                    assert direct == proxied, (direct, proxied)
                    print('PASS %s %s: %s' % (profile, mech, proxied[1]), flush=True)
                assert PW.encode() not in px.log(), 'password in the log'
    return 0


if __name__ == '__main__':
    sys.exit(main())
