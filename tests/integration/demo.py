#!/usr/bin/python3
"""nabproxy's self-contained demo (what `nabproxy` runs with no upstream).

Starts a real XMPP server from Debian (Prosody) on a free loopback port
with a throwaway config, domain `almacska` and the seed's account
f81edfee27c1 / 83279de2ea5c; starts nabproxy in front of it (profile
simulator, [vm] log on this terminal); replays the seed rabbit's exact
bytes through it, one stanza per answer; and ends with the bind and
session results. Everything started here is stopped again.

Usage: demo.py [--nabproxy PATH] [--config FILE]   (FILE is only named)
"""
import argparse
import os
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--nabproxy', default=None)
    ap.add_argument('--config', default=None)
    a = ap.parse_args()
    if a.nabproxy:
        os.environ['NABPROXY'] = a.nabproxy
    from nabharness import Nabproxy, Rabbit   # after NABPROXY is set
    from xmppservers import Prosody

    say = lambda s: print('demo: ' + s, flush=True)
    say('starting Prosody on loopback (domain almacska, account f81edfee27c1)')
    with Prosody(domain='almacska') as srv:
        srv.add_user('f81edfee27c1', '83279de2ea5c')
        say('Prosody listens on 127.0.0.1:%d; starting nabproxy in front of it' % srv.port)
        with Nabproxy('127.0.0.1:%d' % srv.port, profile='simulator', tee=True) as px:
            say('nabproxy listens on 127.0.0.1:%d; replaying the seed rabbit' % px.port)
            r = Rabbit(px.port)
            r.open()
            r.ask(r.parts[0], '1')
            reg = r.ask(r.parts[1], '2')
            say('register answered type=%s' % reg.get('type'))
            bind = r.ask(r.parts[2], '3')
            jid = bind.findtext('.//{urn:ietf:params:xml:ns:xmpp-bind}jid')
            say('bind answered type=%s jid=%s' % (bind.get('type'), jid))
            sess = r.ask(r.parts[3], '4')
            say('session answered type=%s' % sess.get('type'))
            r.close()
            px.wait_log(rb'session 1: freed')
            time.sleep(0.2)   # let the tee thread print the last lines
        ok = bind.get('type') == 'result' and sess.get('type') == 'result'
        say('the rabbit is online as %s: %s' % (jid, 'bound and session opened'
                                                    if ok else 'FAILED'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
