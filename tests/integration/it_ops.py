"""Operations: /metrics counted exactly, per-rabbit files reopened on
SIGUSR1, and the HTTP listener's token, through a live nabproxy in front
of a real server (Prosody by default; name others as arguments):

  metrics   after known traffic (a client logged in (SCRAM-SHA-1, or PLAIN
            where the server has no SCRAM) through a
            profile whose filter drops <message/>, 3 messages, a wrong
            password, a stream of bad XML, a processing instruction),
            /metrics read by a strict parser of the Prometheus text
            format 0.0.4 (below, standard library only; it is shown to
            refuse broken input first) and by `promtool check metrics`
            (Debian's prometheus package; a note when it is missing)
            holds the exact counts: repairs of that filter, auth outcomes
            per mechanism and per profile, stanzas each way, parser
            errors per class.
  upstream  a server port nobody listens on counts one connect failure; a
            server that offers STARTTLS and then answers the handshake
            with plain text counts one TLS failure, and no connect
            failure.
  backoff   two wrong-password registrations of the seed rabbit
            (simulator profile, probe-backoff-min = 120): the second is
            refused by the backoff, counted once.
  reopen    log-dir: a rabbit boots, the shipped etc/logrotate.d/nabproxy
            (pointed at the test's directory and pid) rotates its file
            with logrotate -f (renames it and sends SIGUSR1; by hand where
            logrotate is missing), it boots again: the renamed file holds exactly the traffic lines
            logged before the SIGUSR1 line, the new file exactly those
            after it, nothing lost, in order.
  token     http-listen = 0.0.0.0:0 without a token does not start (clear
            error); http-token-file of mode 0644 does not start either;
            with the file at 0600: 401 without a token or with a wrong
            one (Bearer, basic) on /metrics, / and /events, 200 with it
            either way, and the /events stream flows.

Run: /usr/bin/python3 tests/integration/it_ops.py [prosody|ejabberd|jabberd2 ...]
"""
import base64
import grp
import http.client
import math
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from firmware import Firmware  # noqa: E402
from nabharness import Nabproxy, run_per_server, seed_parts  # noqa: E402
from xmppclient import AuthError, XMPPClient  # noqa: E402

DOMAIN = 'almacska'
SRC = os.environ.get('NAB_SOURCE_DIR',
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get('NAB_BINARY_DIR', os.path.join(SRC, 'build'))
T_VERDICT = os.path.join(BUILD, 'tests', 'filters', 't_verdict.so')
DAEMON_LINE = re.compile(rb'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z nabproxy\[')
TOKEN = 'it-ops-token-5f3c2a9e7d41'


def wait_until(pred, what, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)    # polling a condition with a deadline
    raise AssertionError('timed out waiting for ' + what)


def sessions_freed(px):
    wait_until(lambda: px.log().count(b': accepted from ') == px.log().count(b': freed'),
               'sessions freed')


# --------------------------------------------------------------------------
# A strict reader of the Prometheus text exposition format 0.0.4
# (https://prometheus.io/docs/instrumenting/exposition_formats/).

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*\Z')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*\Z')
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')


def prom_labels(s, line):
    """'{a="x",b="y\\"z"}' (s starts after '{') -> (dict, rest after '}')."""
    labels, i = {}, 0
    while True:
        if s[i] == '}':
            return labels, s[i + 1:]
        j = s.index('=', i)
        name = s[i:j]
        assert LABEL.match(name) and not name.startswith('__'), 'label %r: %r' % (name, line)
        assert name not in labels, 'label %s twice: %r' % (name, line)
        assert s[j + 1] == '"', 'unquoted value: %r' % line
        k, val = j + 2, []
        while s[k] != '"':
            if s[k] == '\\':
                esc = s[k + 1]
                assert esc in '\\"n', 'bad escape \\%s: %r' % (esc, line)
                val.append('\n' if esc == 'n' else esc)
                k += 2
            else:
                assert s[k] != '\n'
                val.append(s[k])
                k += 1
        labels[name] = ''.join(val)
        i = k + 1
        if s[i] == ',':
            i += 1
            assert s[i] != '}', 'trailing comma: %r' % line
        else:
            assert s[i] == '}', 'bad label list: %r' % line


def prom_value(v, line):
    if v in ('+Inf', '-Inf', 'NaN'):
        return float(v.replace('Inf', 'inf').replace('NaN', 'nan'))
    assert re.fullmatch(r'[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?', v), 'value %r: %r' % (v, line)
    return float(v)


def prom_parse(text):
    """Samples as {(name, frozenset(labels.items())): value}. Asserts: UTF-8,
    a final newline and no empty line; each family's HELP and TYPE once,
    before its samples, HELP before TYPE, all of a family's samples
    together; counter names end in _total; no series twice; values are
    numbers, counters finite and not negative; no timestamps."""
    assert text.endswith('\n'), 'no final newline'
    families, samples, current, done = {}, {}, None, set()
    for line in text[:-1].split('\n'):
        assert line != '', 'empty line'
        if line.startswith('#'):
            parts = line.split(' ', 3)
            if len(parts) >= 3 and parts[1] in ('HELP', 'TYPE'):
                name = parts[2]
                assert NAME.match(name), line
                fam = families.setdefault(name, {})
                assert parts[1] not in fam, '%s for %s twice' % (parts[1], name)
                assert name not in done, 'family %s split' % name
                if current is not None and current != name:
                    done.add(current)
                current = name
                if parts[1] == 'TYPE':
                    assert 'samples' not in fam, 'TYPE after samples: %s' % name
                    assert 'HELP' in fam, 'TYPE before HELP: %s' % name
                    assert parts[3] in TYPES, line
                    assert parts[3] != 'counter' or name.endswith('_total'), line
                fam[parts[1]] = parts[3] if len(parts) > 3 else ''
            continue
        brace = line.find('{')
        space = line.find(' ')
        if brace != -1 and brace < space:
            name = line[:brace]
            labels, rest = prom_labels(line[brace + 1:], line)
            assert rest.startswith(' '), line
            rest = rest[1:]
        else:
            name, rest, labels = line[:space], line[space + 1:], {}
        assert NAME.match(name), 'name %r' % name
        assert name == current, 'sample of %s outside its family (%s)' % (name, current)
        fam = families[name]
        assert 'TYPE' in fam, 'sample before TYPE: %s' % name
        fam['samples'] = True
        assert ' ' not in rest, 'timestamp or junk: %r' % line
        value = prom_value(rest, line)
        if fam['TYPE'] == 'counter':
            assert math.isfinite(value) and value >= 0, line
        key = (name, frozenset(labels.items()))
        assert key not in samples, 'series twice: %r' % line
        samples[key] = value
    return samples


def check_prom_parser():
    """The reader refuses what it must (a reader that accepts anything
    proves nothing)."""
    good = '# HELP a_total x\n# TYPE a_total counter\na_total{l="q\\"\\\\\\n"} 1\n'
    assert prom_parse(good) == {('a_total', frozenset({('l', 'q"\\\n')})): 1.0}
    for bad in [good[:-1], good + '\n', good.replace('a_total{', 'b_total{'),
                good + 'a_total{l="q\\"\\\\\\n"} 2\n',
                '# TYPE a_total counter\n# HELP a_total x\na_total 1\n',
                '# HELP a x\n# TYPE a counter\na 1\n',
                good.replace('} 1', '} x'), good.replace('} 1', '} 1 123'),
                good.replace('} 1', '} -1'), good.replace('\\"', '\\t'),
                good.replace('{l=', '{l=1,l='), good.replace('l="', 'l=')]:
        try:
            prom_parse(bad)
        except (AssertionError, ValueError, IndexError):
            continue
        raise AssertionError('the reader accepted %r' % bad)


def get(port, path, auth=None, timeout=10):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    c.request('GET', path, headers={'Authorization': auth} if auth else {})
    r = c.getresponse()
    return c, r


def scrape(port, auth=None):
    c, r = get(port, '/metrics', auth)
    body = r.read().decode('utf-8')
    c.close()
    assert r.status == 200, (r.status, body)
    assert r.getheader('Content-Type') == 'text/plain; version=0.0.4; charset=utf-8'
    promtool = shutil.which('promtool')
    if promtool:
        p = subprocess.run([promtool, 'check', 'metrics'], input=body.encode(),
                           capture_output=True, timeout=30)
        assert p.returncode == 0, p
    m = prom_parse(body)
    return lambda name, **labels: m[(name, frozenset(labels.items()))]


def metrics_port(px):
    return int(px.wait_log(rb'metrics on http://[^ ]+/metrics \(port (\d+)\)').group(1))


# --------------------------------------------------------------------------

def case_metrics(srv):
    check_prom_parser()
    if not os.path.exists(T_VERDICT):
        raise AssertionError('%s not built' % T_VERDICT)
    srv.add_user('counter', 'counterpw')
    filters = ('[filter dropper]\npath = %s\nmatch = message\nverdict = drop\n'
               '[profile counted]\nfilters = dropper\n' % T_VERDICT)
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='counted', filters_conf=filters,
                  extra='http-listen = 127.0.0.1:0\n') as px:
        port = metrics_port(px)
        m = scrape(port)
        assert m('nabproxy_filter_repairs_total', filter='dropper') == 0
        c = XMPPClient('127.0.0.1', px.port, DOMAIN, timeout=15)
        c.open_stream()
        mech = 'SCRAM-SHA-1' if 'SCRAM-SHA-1' in c.mechanisms else 'PLAIN'
        other = 'PLAIN' if mech != 'PLAIN' else 'SCRAM-SHA-1'
        jid = c.login('counter', 'counterpw', mechanism=mech)
        for i in range(3):
            c.send_message(jid, 'dropped %d' % i)
        c.close()
        c = XMPPClient('127.0.0.1', px.port, DOMAIN, timeout=15)
        c.open_stream()
        try:
            c.auth('counter', 'wrongpw', mechanism=mech)
            raise AssertionError('logged in with a wrong password')
        except AuthError:
            pass
        c.close(unbind=False)
        # Bad XML from a rabbit, and XML it may not send (restricted).
        header = seed_parts()[0]
        for junk in (b'<iq><</iq>', b'<?pi x?>'):
            s = px.connect()
            s.sendall(header + junk)
            s.settimeout(10)
            while s.recv(4096):
                pass
            s.close()
        sessions_freed(px)
        m = scrape(port)
        got = {
            'repairs': m('nabproxy_filter_repairs_total', filter='dropper'),
            'mech ok': m('nabproxy_auth_total', side='rabbit', mechanism=mech,
                         outcome='success'),
            'mech bad': m('nabproxy_auth_total', side='rabbit', mechanism=mech,
                          outcome='failure'),
            'other ok': m('nabproxy_auth_total', side='rabbit', mechanism=other,
                          outcome='success'),
            'profile ok': m('nabproxy_auth_profile_total', profile='counted',
                            outcome='success'),
            'profile bad': m('nabproxy_auth_profile_total', profile='counted',
                             outcome='failure'),
            'nwf': m('nabproxy_parser_errors_total', direction='from_rabbit',
                     **{'class': 'not-well-formed'}),
            'restricted': m('nabproxy_parser_errors_total', direction='from_rabbit',
                            **{'class': 'restricted-xml'}),
            'server nwf': m('nabproxy_parser_errors_total', direction='from_server',
                            **{'class': 'not-well-formed'}),
            'connections': m('nabproxy_connections'),
            'accepted': m('nabproxy_connections_accepted_total'),
            'connect failures': m('nabproxy_upstream_connect_failures_total'),
            'tls failures': m('nabproxy_upstream_tls_failures_total'),
            'dropped lines': m('nabproxy_log_lines_dropped_total', log='rabbit'),
        }
        want = {'repairs': 3, 'mech ok': 1, 'mech bad': 1, 'other ok': 0, 'profile ok': 1,
                'profile bad': 1, 'nwf': 1, 'restricted': 1, 'server nwf': 0,
                'connections': 0, 'accepted': 4, 'connect failures': 0, 'tls failures': 0,
                'dropped lines': 0}
        assert got == want, 'got %r\nwant %r' % (got, want)
        # Stanzas: the 3 messages at least, and as many as the log shows.
        assert m('nabproxy_stanzas_total', direction='from_rabbit') >= 3 + 4
        assert m('nabproxy_stanzas_total', direction='from_server') >= 4
        assert m('nabproxy_bytes_total', direction='from_rabbit') > 0


class BadTLSServer:
    """Offers STARTTLS, says <proceed/>, then answers the handshake with
    plain text: the proxy's TLS handshake fails."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.bind(('127.0.0.1', 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        try:
            s, _ = self.ls.accept()
        except OSError:
            return
        s.settimeout(10)
        buf = b''
        try:
            while b'>' not in buf:
                buf += s.recv(4096)
            s.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                      b"xmlns:stream='http://etherx.jabber.org/streams' from='" +
                      DOMAIN.encode() + b"' id='x' version='1.0'><stream:features>"
                      b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
                      b"</starttls></stream:features>")
            buf = b''
            while b'starttls' not in buf:
                buf += s.recv(4096)
            s.sendall(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            s.recv(4096)                    # the ClientHello
            s.sendall(b'this is not TLS at all\r\n' * 4)
            while s.recv(4096):
                pass
        except OSError:
            pass
        finally:
            s.close()

    def close(self):
        self.ls.close()


def rabbit_ends(px):
    """A rabbit's header through px; wait until the proxy closes it."""
    s = px.connect()
    s.sendall(seed_parts()[0])
    s.settimeout(15)
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        pass
    s.close()


def case_upstream(srv):
    # Bound, never listening: connections are refused, and no other test
    # can take the port meanwhile (as it could once the socket closed).
    closed = socket.socket()
    closed.bind(('127.0.0.1', 0))
    dead = closed.getsockname()[1]
    with closed, Nabproxy('127.0.0.1:%d' % dead,
                          extra='http-listen = 127.0.0.1:0\n') as px:
        port = metrics_port(px)
        rabbit_ends(px)
        sessions_freed(px)
        m = scrape(port)
        assert (m('nabproxy_upstream_connect_failures_total'),
                m('nabproxy_upstream_tls_failures_total')) == (1, 0), px.log()
    bad = BadTLSServer()
    try:
        with Nabproxy('127.0.0.1:%d' % bad.port,
                      extra='http-listen = 127.0.0.1:0\nupstream-tls = required\n') as px:
            port = metrics_port(px)
            rabbit_ends(px)
            sessions_freed(px)
            m = scrape(port)
            assert (m('nabproxy_upstream_connect_failures_total'),
                    m('nabproxy_upstream_tls_failures_total')) == (0, 1), px.log()
            px.wait_log(rb'TLS with 127\.0\.0\.1:\d+ failed')
    finally:
        bad.close()


def ask(c, raw, id_):
    c.send(raw)
    while True:
        el = c.read_element()
        if el.get('id') == id_:
            return el


def case_backoff(srv):
    mac, password = 'f81edfee27c1', '83279de2ea5c'      # the seed rabbit
    srv.add_user(mac, password)
    header, parts = seed_parts()
    wrong = parts[1].replace(password.encode(), b'0badc0ffee42')
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='simulator',
                  extra='probe-backoff-min = 120\nhttp-listen = 127.0.0.1:0\n') as px:
        port = metrics_port(px)
        for i in range(2):
            c = XMPPClient('127.0.0.1', px.port, DOMAIN, timeout=20)
            try:
                c.send(header)
                c.read_header()
                c.read_element()
                ask(c, parts[0], '1')
                try:
                    ask(c, wrong, '2')
                except Exception:
                    pass
            finally:
                c.close(unbind=False)
            sessions_freed(px)
        assert px.log().count(b'backing off after failed attempts') == 1, px.log()
        m = scrape(port)
        assert m('nabproxy_login_probe_backoffs_total') == 1
        # The one probe that judged the wrong password: a failure upstream.
        mechs = ('PLAIN', 'DIGEST-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-1-PLUS', 'ANONYMOUS', 'other')
        assert sum(m('nabproxy_auth_total', side='nabproxy', mechanism=x, outcome='failure')
                   for x in mechs) == 1, [m('nabproxy_auth_total', side='nabproxy', mechanism=x,
                                            outcome=o) for x in mechs for o in ('success', 'failure')]


def traffic_lines(log):
    return [l + b'\n' for l in log.split(b'\n')[:-1] if not DAEMON_LINE.match(l)]


def rotate(px, logdir, path):
    """The shipped etc/logrotate.d/nabproxy, pointed at logdir and this
    nabproxy's pid instead of systemd's unit, run by logrotate -f; or, where
    logrotate is not installed, what it does: rename, then SIGUSR1."""
    lr = shutil.which('logrotate') or (os.path.exists('/usr/sbin/logrotate') and
                                       '/usr/sbin/logrotate')
    if not lr:
        print('note: logrotate not installed: rename and SIGUSR1 by hand')
        os.rename(path, path + '.1')
        px.signal(signal.SIGUSR1)
        return
    with open(os.path.join(SRC, 'etc', 'logrotate.d', 'nabproxy')) as f:
        conf = f.read()
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    for old, new in (('/var/log/nabproxy/', logdir + '/'),
                     ('su nabproxy nabproxy', 'su %s %s' % (user, group)),
                     ('systemctl kill --kill-whom=main --signal=USR1 nabproxy.service',
                      'kill -USR1 %d' % px.proc.pid)):
        assert old in conf, old
        conf = conf.replace(old, new)
    cpath, state = os.path.join(logdir, 'rotate.conf'), os.path.join(logdir, 'rotate.state')
    with open(cpath, 'w') as f:
        f.write(conf)
    r = subprocess.run([lr, '-f', '-s', state, cpath], capture_output=True, timeout=60)
    os.unlink(cpath)
    os.unlink(state)
    assert r.returncode == 0, r
    assert os.path.exists(path + '.1') and not os.path.exists(path), os.listdir(logdir)


def case_reopen(srv):
    mac = '0013d3c70e01'
    logdir = tempfile.mkdtemp(prefix='nabproxy-it-logdir-')
    try:
        with Nabproxy('127.0.0.1:%d' % srv.port, profile='bootcode-18673',
                      extra='log-dir = %s\n' % logdir) as px:
            path = os.path.join(logdir, mac + '.log')
            fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, timeout=15)
            fw.boot()
            fw.close()
            sessions_freed(px)
            wait_until(lambda: os.path.exists(path), path)
            rotate(px, logdir, path)
            px.wait_log(rb'SIGUSR1: per-rabbit log files reopened')
            fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, password=fw.password, timeout=15)
            fw.boot()
            fw.close()
            sessions_freed(px)
            log = px.log()
            cut = log.index(b'SIGUSR1: per-rabbit log files reopened')
            cut = log.rindex(b'\n', 0, cut) + 1
            before, after = traffic_lines(log[:cut]), traffic_lines(log[cut:])
            assert len(before) > 10 and len(after) > 10, (len(before), len(after))

            def read(p):
                with open(p, 'rb') as f:
                    return f.read()
            wait_until(lambda: os.path.exists(path) and read(path) == b''.join(after),
                       'the new file to hold the lines after SIGUSR1')
            assert read(path + '.1') == b''.join(before)
            assert os.stat(path).st_mode & 0o777 == 0o640
    finally:
        shutil.rmtree(logdir, ignore_errors=True)


def refused(srv, extra):
    """Start a nabproxy that must refuse to start: its log."""
    px = Nabproxy('127.0.0.1:%d' % srv.port, extra=extra)
    try:
        px.start()
    except RuntimeError:
        px.proc.wait(10)
        rc = px.proc.returncode
        px.logf.close()
        px.proc = None
        log = px.log()
        shutil.rmtree(px.dir, ignore_errors=True)
        assert rc == 1, rc
        return log
    px.stop()
    raise AssertionError('nabproxy started with %r' % extra)


def case_token(srv):
    log = refused(srv, 'http-listen = 0.0.0.0:0\n')
    assert b'http-listen 0.0.0.0:0: not a loopback ADDR:PORT' in log and \
        b'no http-token or http-token-file is set' in log, log
    tdir = tempfile.mkdtemp(prefix='nabproxy-it-token-')
    try:
        tfile = os.path.join(tdir, 'token')
        with open(tfile, 'w') as f:
            f.write(TOKEN + '\n')
        os.chmod(tfile, 0o644)
        extra = 'http-listen = 0.0.0.0:0\nhttp-token-file = %s\n' % tfile
        log = refused(srv, extra)
        assert ('http-token-file %s: mode 0644, it must be readable by its owner '
                'only (chmod 600)' % tfile).encode() in log, log
        assert TOKEN.encode() not in log
        log = refused(srv, 'http-listen = 0.0.0.0:0\nhttp-token = short\n')
        assert b'http-token: the token has 5 characters, it needs 16 to 256' in log, log
        os.chmod(tfile, 0o600)
        with Nabproxy('127.0.0.1:%d' % srv.port, extra=extra) as px:
            port = int(px.wait_log(rb'metrics on http://0\.0\.0\.0:0/metrics \(port (\d+)\), '
                                   rb'every request needs the http-token').group(1))
            assert TOKEN.encode() not in px.log()
            basic = lambda pw: 'Basic ' + base64.b64encode(b'me:' + pw.encode()).decode()
            for path in ('/metrics', '/', '/events'):
                for auth in (None, 'Bearer ' + TOKEN[:-1], 'Bearer ' + TOKEN + 'x',
                             basic(TOKEN[:-1] + 'y'), TOKEN, 'Basic ' + TOKEN):
                    c, r = get(port, path, auth)
                    body = r.read()
                    c.close()
                    assert r.status == 401, (path, auth, r.status)
                    assert r.getheader('WWW-Authenticate', '').startswith('Basic realm='), \
                        r.getheaders()
                    assert b'nabproxy_' not in body and b'<html' not in body.lower()
                for auth in ('Bearer ' + TOKEN, basic(TOKEN)):
                    c, r = get(port, path, auth)
                    assert r.status == 200, (path, auth, r.status)
                    if path == '/events':
                        assert r.getheader('Content-Type') == 'text/event-stream'
                        first = r.readline()
                        assert first == b'event: rabbits\n', first
                    else:
                        r.read()
                    c.close()
            m = scrape(port, 'Bearer ' + TOKEN)
            assert m('nabproxy_connections') == 0
    finally:
        shutil.rmtree(tdir, ignore_errors=True)


if __name__ == '__main__':
    argv = sys.argv if len(sys.argv) > 1 else [sys.argv[0], 'prosody']
    if not shutil.which('promtool'):
        print('note: promtool not installed, the strict reader alone checks /metrics')
    sys.exit(run_per_server(argv, DOMAIN, [case_metrics, case_upstream, case_backoff,
                                           case_reopen, case_token]))
