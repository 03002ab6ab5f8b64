"""The control socket and trustworthy logs, through a live nabproxy in front
of a real server (ctest runs it once per server: prosody, ejabberd,
jabberd2; by hand the default is prosody), driving `nabproxy ctl` as a subprocess and asserting its output:

  boot      a simulated bootcode-18673 rabbit boots to idle while
            `ctl tap all` streams; `ctl list --json` and `ctl list` show
            its id, address, MAC, JID, firmware, profile, stage idle and
            the whole timeline in order; the tap shows its exact [vm]
            lines, each led by the session id, with the register password
            as ***; `ctl kick ID` ends it and `ctl list` is empty again.
  simulator the seed's simulated rabbit (profile simulator): register,
            bind (resource idle), session, in that order, online; the
            register form's <username/><password/> as its parser hazard.
  failures  a rabbit stopped at each stage is in `ctl history MAC` with
            that stage and why: a wrong password (auth, not-authorized),
            a registration the server refuses (register), the server down
            (stream, the connect failure); `watch = MAC` replays the
            failed attempt's traffic to a later `ctl tap MAC`.
  logs      log-format raw (and both): a message body with a newline and
            a fake daemon line forges no line in the log nor the tap, and
            passwords in <password\\n>, a prefixed <x:password>, CDATA and
            entities are never logged.
  slow      a tap reader that never reads loses lines with a counter
            (`ctl stats` tap_lost, the "lines lost" note) while the client
            behind the proxy gets every message.
  metrics   /metrics on http-listen after known traffic (a boot to idle,
            a wrong password), checked by a strict reader of the
            Prometheus text format (and promtool where installed), with
            the expected counts; a non-loopback http-listen is refused.
  web       the page on http-listen in headless Chromium (Debian's, over
            its DevTools pipe; SKIP when not installed): a watched rabbit
            appears with its stage and timeline, its kept [vm] and raw
            lines arrive and then a live unit; the page loads nothing from
            elsewhere; a screenshot is saved as it_ctl_SERVER_page.png in
            the build directory.
  decode    decoded payloads in `ctl tap` (vm, raw, both) and the log:
            the boot's sources packet (packet: wake), a violet:packet
            message another client sends the rabbit through the server
            (ambient, sleep), the rabbit's button click and ears, each
            line right after its stanza.
  bounds    an over-long command, the 17th client, unknown commands and a
            bad MAC get their one-line errors; the socket is mode 0660;
            `ctl reload` reloads; control-socket = none has no socket.

Run: /usr/bin/python3 tests/integration/it_ctl.py [prosody|ejabberd|jabberd2 ...]
"""
import json
import os
import re
import shlex
import signal
import socket
import stat
import subprocess
import sys
import shutil
import threading
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser  # noqa: E402
from firmware import Firmware, FirmwareError  # noqa: E402
from nabharness import BIN, CaseSkipped, Nabproxy, Rabbit, run_per_server  # noqa: E402
from xmppclient import XMPPClient  # noqa: E402

DOMAIN = 'almacska'
FW_PROFILE = 'bootcode-18673'
DAEMON_LINE = re.compile(rb'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z nabproxy\[')
FORGED = (b'2026-12-06T22:00:00.000Z nabproxy[info]: session 7: auth: '
          b'authenticated upstream as admin@' + DOMAIN.encode())


def ctl(px, *args, ok=True):
    r = subprocess.run([BIN, 'ctl', '-c', px.conf] + list(args), capture_output=True,
                       timeout=20)
    if ok:
        assert r.returncode == 0 and r.stderr == b'', 'ctl %r: %r' % (args, r)
    return r


def kv(line):
    """A `ctl list` / `ctl history` text line as a dict."""
    return dict(w.split('=', 1) for w in shlex.split(line))


def wait_until(pred, what, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)   # polling a condition with a deadline
    raise AssertionError('never: %s' % what)


def stats(px):
    return kv(ctl(px, 'stats').stdout.decode())


class Tap:
    """`nabproxy ctl tap ...` running until stop(); its output collected."""

    def __init__(self, px, *args):
        before = int(stats(px)['ctl_clients'])
        self.p = subprocess.Popen([BIN, 'ctl', '-c', px.conf, 'tap'] + list(args),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = bytearray()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        # The tap is registered once the daemon has read its command: the
        # count of clients includes it (and the stats client asking).
        wait_until(lambda: int(stats(px)['ctl_clients']) >= before + 1, 'tap connected')

    def _read(self):
        while True:
            d = self.p.stdout.read1(65536)
            if not d:
                return
            self.out += d

    def wait(self, needle, timeout=15.0):
        wait_until(lambda: needle in self.out, 'tap output %r:\n%s' % (
            needle, bytes(self.out[-3000:]).decode(errors='replace')), timeout)

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        self.p.wait(10)
        self.t.join(10)
        return bytes(self.out)


def sessions_freed(px):
    wait_until(lambda: px.log().count(b': accepted from ') == px.log().count(b': freed'),
               'sessions freed')


def case_boot(srv):
    mac = '0013d3c70001'
    with Nabproxy('127.0.0.1:%d' % srv.port, profile=FW_PROFILE) as px:
        tap = Tap(px, 'all')
        fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, timeout=15)
        fw.boot()
        rows = [json.loads(l) for l in ctl(px, 'list', '--json').stdout.splitlines()]
        assert len(rows) == 1, rows
        r = rows[0]
        sid = r['id']
        assert (r['mac'], r['jid'], r['firmware'], r['profile'], r['stage'], r['online']) == \
            (mac, mac + '@' + DOMAIN, 'bootcode-18673', FW_PROFILE, 'idle', True), r
        assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', r['since']), r
        assert re.fullmatch(r'127\.0\.0\.1:\d+', r['addr']), r
        assert r['bytes_from_rabbit'] > 0 and r['bytes_from_server'] > 0, r
        steps = [s['stage'] for s in r['timeline']]
        assert steps == ['connected', 'stream', 'register', 'auth', 'bind-boot', 'session',
                         'sources', 'bind-idle', 'session', 'presence', 'idle'], steps
        ms = [s['ms'] for s in r['timeline']]
        assert ms == sorted(ms), ms
        text = ctl(px, 'list').stdout.decode().splitlines()
        assert len(text) == 1, text
        t = kv(text[0])
        assert (t['id'], t['mac'], t['jid'], t['stage'], t['online'], t['error']) == \
            (str(sid), mac, mac + '@' + DOMAIN, 'idle', 'yes', '-'), t
        assert t['timeline'].startswith('connected@+0ms,stream@+'), t
        # The tap: exact lines, every one led by the session id.
        lead = b'%d ' % sid
        tap.wait(lead + b"[vm] Sending : <presence from='" + mac.encode())
        out = tap.stop()
        assert tap.p.returncode == -signal.SIGINT or tap.p.returncode == 0, tap.p.returncode
        lines = out.split(b'\n')[:-1]
        assert lines and all(l.startswith(lead) for l in lines), out[:2000]
        assert lead + b"[vm] Sending : <?xml version='1.0' encoding='UTF-8'?>" in lines, out[:2000]
        reg = [l for l in lines if b'violet:iq:register' in l and b'<password>' in l]
        assert reg and all(re.fullmatch(
            lead + rb"\[vm\] Sending : <iq to='almacska' type='set' id='\d+'><query "
            rb"xmlns=\"violet:iq:register\"><username>" + mac.encode() +
            rb"</username><password>\*\*\*</password></query></iq>\(end\)", l) for l in reg), reg
        assert fw.password.encode() not in out and fw.password.encode() not in px.log()
        # Kick: the rabbit's stream ends; nothing is listed any more.
        assert ctl(px, 'kick', str(sid)).stdout == b'kicked %d\n' % sid
        wait_until(lambda: ctl(px, 'list').stdout == b'', 'kicked session gone')
        r = ctl(px, 'kick', str(sid), ok=False)
        assert (r.returncode, r.stdout, r.stderr) == \
            (1, b'', b'error: kick: no session %d\n' % sid), r
        px.wait_log(rb'session %d: closing \(.*rabbit gets reset\): kicked by the control '
                    rb'socket' % sid)
        fw.close()


def case_simulator(srv):
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='simulator') as px:
        r = Rabbit(px.port)
        r.open()
        assert r.register().get('type') == 'result'
        assert r.ask(r.parts[2], '3').get('type') == 'result'
        assert r.ask(r.parts[3], '4').get('type') == 'result'
        rows = [json.loads(l) for l in ctl(px, 'list', '--json').stdout.splitlines()]
        assert len(rows) == 1, rows
        assert (rows[0]['mac'], rows[0]['profile'], rows[0]['stage'], rows[0]['online']) == \
            ('f81edfee27c1', 'simulator', 'session', True), rows
        assert [s['stage'] for s in rows[0]['timeline']] == \
            ['connected', 'stream', 'register', 'bind-idle', 'session'], rows
        # The seed's register form holds the firmware's famous misread.
        assert rows[0]['hazard'].startswith('markup read as text: "<username/>'), rows
        r.close()
    srv.users['f81edfee27c1'] = '83279de2ea5c'    # ejabberd needs it to remove
    srv.remove_user('f81edfee27c1')


def history(px, mac):
    return [kv(l) for l in ctl(px, 'history', mac).stdout.decode().splitlines()]


def case_failures(srv):
    bad, taken = '0013d3c70002', '0013d3c70003'
    with Nabproxy('127.0.0.1:%d' % srv.port, profile=FW_PROFILE,
                  extra='watch = 00:13:d3:c7:00:02') as px:
        fw = Firmware('127.0.0.1', px.port, bad, DOMAIN, timeout=15)
        fw.boot()
        fw.close()
        sessions_freed(px)
        # A password that is not the stored one.
        fw = Firmware('127.0.0.1', px.port, bad, DOMAIN, password='ba5eba11ba5e', timeout=15)
        try:
            fw.boot()
            raise AssertionError('logged in with the wrong password')
        except FirmwareError as e:
            assert 'SASL failure' in str(e), e
        fw.close()
        sessions_freed(px)
        h = history(px, bad)
        failed = [x for x in h if x['online'] == 'no']
        assert len(failed) == 1, h
        f = failed[0]
        # The failure the rabbit got: nabproxy's own not-authorized, or,
        # where the server offers DIGEST-MD5 and the exchange is relayed,
        # the server's (jabberd2: invalid-mechanism).
        assert f['stage'] == 'auth' and f['error'] in (
            'authentication failed at auth: not-authorized',
            'authentication failed at auth: invalid-mechanism'), f
        # The rabbit closes after the failure; which FIN nabproxy sees first
        # depends on the server.
        assert f['reason'] in ('rabbit closed the connection',
                               'server closed the connection'), f
        assert f['warning'].startswith('digest-server: ') and \
            'DIGEST-MD5 login' in f['warning'] and bad + '@' + DOMAIN in f['warning'], f
        assert f['timeline'].split(',')[-1].startswith('auth@'), f
        # The watched MAC's failed attempt, replayed to a later tap.
        tap = Tap(px, bad.upper())
        tap.wait(b'%s [vm]     |..%s' % (f['id'].encode(),
                                         f['error'].split(': ')[-1].encode()))
        out = tap.stop()
        assert b"[vm] Sending : <?xml version='1.0' encoding='UTF-8'?>" in out, out[:2000]
        assert b'ba5eba11ba5e' not in out
    # A registration the server refuses: an account with another password
    # (a fresh proxy: the wrong password above backs off this address).
    with Nabproxy('127.0.0.1:%d' % srv.port, profile=FW_PROFILE) as px:
        srv.add_user(taken, 'notthepassword')
        fw = Firmware('127.0.0.1', px.port, taken, DOMAIN, timeout=15)
        try:
            fw.boot()
            raise AssertionError('registered over an existing account')
        except FirmwareError as e:
            assert 'FailureRegister2' in str(e), e
        fw.close()
        sessions_freed(px)
        h = history(px, taken)
        assert h and h[0]['stage'] == 'register' and h[0]['online'] == 'no', h
        assert h[0]['error'].startswith('refused at register'), h
    # The server down: nothing listens upstream (the port stays bound,
    # never listening, so no other test takes it meanwhile).
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    dead = s.getsockname()[1]
    with s, Nabproxy('127.0.0.1:%d' % dead, profile=FW_PROFILE) as px:
        fw = Firmware('127.0.0.1', px.port, bad, DOMAIN, timeout=15)
        try:
            fw.boot()
        except (AssertionError, FirmwareError, OSError):
            pass
        else:
            raise AssertionError('booted without a server')
        fw.close()
        sessions_freed(px)
        rows = [json.loads(l) for l in ctl(px, 'history', '--json').stdout.splitlines()]
        assert len(rows) == 1 and rows[0]['online'] is False, rows
        assert rows[0]['stage'] in ('connected', 'stream'), rows
        assert 'upstream' in rows[0]['reason'] or 'connect' in rows[0]['reason'], rows


def case_logs(srv):
    srv.add_user('logger', 'loggerpw')
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='passthrough', log_format='both') as px:
        tap = Tap(px, 'all', '--format', 'raw')
        c = XMPPClient('127.0.0.1', px.port, DOMAIN, timeout=15)
        jid = c.login('logger', 'loggerpw')
        c.send(b"<message to='" + jid.encode() + b"' id='f1'><body>hi\n" + FORGED +
               b"\n\r\tcleared</body></message>")
        for n, payload in enumerate([
                b"<query xmlns='jabber:iq:register'><password\n>SECRET1</password\n></query>",
                b"<x:query xmlns:x='jabber:iq:register'><x:password>SECRET2</x:password>"
                b"</x:query>",
                b"<query xmlns='jabber:iq:register'><password a='1'><![CDATA[SECRET3]]>"
                b"</password></query>",
                b"<query xmlns='jabber:iq:register'><password>SEC&#82;ET4&amp;</password>"
                b"</query>"]):
            c.send(b"<iq type='get' id='r%d' to='%s'>" % (n, DOMAIN.encode()) + payload +
                   b"</iq>")
        c.send(b"<iq type='get' id='last'><ping xmlns='urn:xmpp:ping'/></iq>")
        c.wait_for(lambda el: el.get('id') == 'last')
        c.close()
        sessions_freed(px)
        tap.wait(b"id='last'")
        out = tap.stop()
        log = px.log()
        for name, text in (('log', log), ('tap', out)):
            for line in text.split(b'\n'):
                body = line.split(b' ', 1)[-1] if name == 'tap' else line
                assert not body.startswith(FORGED[:20]), '%s forged: %r' % (name, line)
                assert b'\r' not in line, (name, line)
            for secret in (b'SECRET', b'SEC&#82;ET4', b'loggerpw'):
                assert secret not in text, '%s holds %r' % (name, secret)
        # The message was logged, its newline escaped, in both formats.
        assert b'<body>hi\\n' + FORGED + b'\\n\\r\\tcleared</body>' in log, log[-3000:]
        assert b'[vm] Sending : <message' in log
        assert b'<password\n[vm] >***</password\n[vm] >' in log, 'vm line of the password'
        assert b'<password\\n>***</password\\n>' in log, 'raw line of the password'
        assert b'<x:password>***</x:password>' in log
        assert b"<password a='1'>***</password>" in log
        # Only the daemon writes lines that look like its own.
        for line in log.split(b'\n'):
            if DAEMON_LINE.match(line):
                assert b'authenticated upstream as admin@' not in line, line


def case_slow(srv):
    srv.add_user('slow', 'slowpw')
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='passthrough', log_format='none') as px:
        path = os.path.join(px.dir, 'nabproxy.sock')
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(path)
        s.sendall(b'tap all raw\n')
        wait_until(lambda: int(stats(px)['ctl_clients']) >= 2, 'raw tap connected')
        c = XMPPClient('127.0.0.1', px.port, DOMAIN, timeout=30)
        jid = c.login('slow', 'slowpw')
        body = 'x' * 4000
        for i in range(300):
            c.send_message(jid, body, id='s%d' % i)
        want = set('s%d' % i for i in range(300))
        deadline = time.monotonic() + 30
        while want and time.monotonic() < deadline:
            el = c.read_element(deadline - time.monotonic())
            want.discard(el.get('id'))
        assert not want, 'the client lacks %d of 300 messages' % len(want)
        c.close()
        lost = int(stats(px)['tap_lost'])
        assert lost > 0, stats(px)
        # The reader catches up: the note comes, then the rest.
        s.settimeout(15)
        buf = b''
        deadline = time.monotonic() + 15
        while b'lines lost (reader too slow)' not in buf and time.monotonic() < deadline:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        s.close()
        assert re.search(rb'\nnabproxy: tap: \d+ lines lost \(reader too slow\)\n', buf), \
            buf[-500:]


PROM_SAMPLE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"'
                         r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*)?\})? (-?[0-9.e+]+|NaN|[+-]Inf)')


def prom_parse(text):
    """Strict reading of the Prometheus text format 0.0.4: every family
    declared once by HELP then TYPE before its samples, samples of
    declared families only, counters named *_total, no duplicate series."""
    families, samples, current = {}, {}, None
    assert text.endswith('\n'), 'no final newline'
    for line in text.split('\n')[:-1]:
        if line.startswith('# HELP '):
            name = line.split(' ')[2]
            assert name not in families, 'family %s twice' % name
            families[name] = None
            current = name
        elif line.startswith('# TYPE '):
            _, _, name, typ = line.split(' ')
            assert name == current and families[name] is None, line
            assert typ in ('counter', 'gauge'), line
            assert typ != 'counter' or name.endswith('_total'), line
            families[name] = typ
        else:
            m = PROM_SAMPLE.fullmatch(line)
            assert m, 'not a sample line: %r' % line
            assert m.group(1) == current and families[current], line
            key = m.group(1) + (m.group(2) or '')
            assert key not in samples, 'series twice: %s' % key
            samples[key] = float(m.group(5))
    return samples


def scrape(port, path='/metrics'):
    with urllib.request.urlopen('http://127.0.0.1:%d%s' % (port, path), timeout=10) as r:
        assert r.headers['Content-Type'] == 'text/plain; version=0.0.4; charset=utf-8', \
            r.headers
        text = r.read().decode()
    promtool = shutil.which('promtool')
    if promtool:
        p = subprocess.run([promtool, 'check', 'metrics'], input=text.encode(),
                           capture_output=True, timeout=30)
        assert p.returncode == 0, p
    return prom_parse(text)


def case_metrics(srv):
    mac = '0013d3c70005'
    with Nabproxy('127.0.0.1:%d' % srv.port, profile=FW_PROFILE,
                  extra='http-listen = 127.0.0.1:0') as px:
        port = int(px.wait_log(rb'metrics on http://127\.0\.0\.1:0/metrics \(port (\d+)\)')
                   .group(1))
        m = scrape(port)
        assert m['nabproxy_connections'] == 0 and m['nabproxy_connections_accepted_total'] == 0
        fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, timeout=15)
        fw.boot()
        m = scrape(port)
        assert m['nabproxy_connections'] == 1, m
        assert m['nabproxy_connections_accepted_total'] == 1, m
        for st in ('connected', 'stream', 'register', 'auth', 'bind-boot', 'session',
                   'sources', 'bind-idle', 'presence', 'idle'):
            assert m['nabproxy_stage_reached_total{stage="%s"}' % st] == 1, (st, m)
        assert m['nabproxy_stage_reached_total{stage="bind"}'] == 0, m
        assert m['nabproxy_units_total{direction="from_rabbit"}'] > 10, m
        assert m['nabproxy_bytes_total{direction="from_server"}'] > 0, m
        fw.close()
        sessions_freed(px)
        fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, password='ba5eba11ba5e', timeout=15)
        try:
            fw.boot()
            raise AssertionError('logged in with the wrong password')
        except FirmwareError:
            pass
        fw.close()
        sessions_freed(px)
        m = scrape(port)
        assert (m['nabproxy_connections'], m['nabproxy_connections_accepted_total'],
                m['nabproxy_never_online_total'],
                m['nabproxy_server_errors_total{kind="auth"}'],
                m['nabproxy_stage_reached_total{stage="auth"}'],
                m['nabproxy_stage_reached_total{stage="idle"}'],
                m['nabproxy_sessions_closed_total{condition="none"}']) == \
            (0, 2, 1, 1, 2, 1, 2), m
        try:
            urllib.request.urlopen('http://127.0.0.1:%d/nope' % port, timeout=10)
            raise AssertionError('/nope answered')
        except urllib.error.HTTPError as e:
            assert e.code == 404, e
    px = Nabproxy('127.0.0.1:%d' % srv.port, extra='http-listen = 0.0.0.0:0')
    try:
        px.start()
        raise AssertionError('http-listen on 0.0.0.0 accepted')
    except RuntimeError as e:
        assert 'http-listen 0.0.0.0:0: not a loopback ADDR:PORT' in str(e), e
    finally:
        px.proc.wait(10)
        px.proc = None
        shutil.rmtree(px.dir, ignore_errors=True)


def case_web(srv):
    mac = '0013d3c70006'
    with Nabproxy('127.0.0.1:%d' % srv.port, profile=FW_PROFILE,
                  extra='http-listen = 127.0.0.1:0\nwatch = %s' % mac) as px:
        port = int(px.wait_log(rb'metrics on http://127\.0\.0\.1:0/metrics \(port (\d+)\)')
                   .group(1))
        with urllib.request.urlopen('http://127.0.0.1:%d/' % port, timeout=10) as r:
            assert r.headers['Content-Type'] == 'text/html; charset=utf-8', r.headers
            page = r.read().decode()
        # Self-contained: no script, style or image from anywhere else.
        assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page), 'external resource'
        assert "new EventSource(\"/events\"" in page
        fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, timeout=15)
        fw.boot()
        b = Browser.start()
        if b is None:
            fw.close()
            raise CaseSkipped('chromium is not installed (.ci/deps.sh test installs it)')
        try:
            sid = b.open('http://127.0.0.1:%d/?mac=%s' % (port, mac))
            row = b.wait(sid, "(function(){var r=document.querySelector('#rabbits tbody tr');"
                              "return r && r.innerText.indexOf('idle') >= 0 && r.innerText;})()",
                         'the rabbit at idle')
            assert mac in row and 'bind-boot +' in row and 'presence +' in row, row
            vm = b.wait(sid, "document.getElementById('vm').innerText.indexOf("
                             "\"[vm] Sending : <presence from='\") >= 0 && "
                             "document.getElementById('vm').innerText",
                        'the kept [vm] lines')
            assert "1 [vm] Sending : <?xml version='1.0' encoding='UTF-8'?>" in vm, vm[:500]
            assert '<password>***</password>' in vm and fw.password not in vm
            # The sources packet decoded beside the stanza, in both columns.
            dec = b.wait(sid, "Array.prototype.map.call(document.querySelectorAll("
                              "'#vm .d, #raw .d'), function (e) { return e.textContent; })"
                              ".join('|')", 'the decoded sources packet')
            assert dec == '1 packet: wake|1 packet: wake', dec
            n = b.eval(sid, "document.getElementById('raw').childNodes.length")
            assert n > 10, n
            # Live: the rabbit's keep-alive reaches the page as it happens.
            fw.keepalive()
            b.wait(sid, "document.getElementById('raw').childNodes.length > %d && "
                        "document.getElementById('raw').lastChild.textContent === '1 \\\\x20'"
                        % n, 'the live keep-alive')
            assert b.eval(sid, "document.getElementById('status').textContent") == 'live'
            b.screenshot(sid, os.path.join(os.environ.get('NAB_BINARY_DIR', '.'),
                                           'it_ctl_%s_page.png' % srv.name))
        finally:
            b.close()
        fw.close()


def case_decode(srv):
    """Decoded payloads in ctl tap (each format) and the log: the sources
    packet of the boot, a violet:packet message another client sends the
    rabbit through the server, and the rabbit's own button and ears."""
    mac = '0013d3c70007'
    srv.add_user('sender', 'senderpw')
    with Nabproxy('127.0.0.1:%d' % srv.port, profile=FW_PROFILE, log_format='both') as px:
        taps = {f: Tap(px, 'all', '--format', f) for f in ('vm', 'raw', 'both')}
        fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, timeout=15)
        fw.boot()
        sid = json.loads(ctl(px, 'list', '--json').stdout.splitlines()[0])['id']
        lead = b'%d [vm] !! ' % sid
        c = XMPPClient('127.0.0.1', srv.port, DOMAIN, timeout=15)
        c.login('sender', 'senderpw')
        # 0x7f, ambient (header, nose 1, left ear 5), sleep, 0xff.
        # To the JID the server bound (nabproxy answers the second bind).
        c.send(b"<message to='" + fw.server_jid.encode() + b"' id='p1'><packet "
               b"xmlns='violet:packet' format='1.0' ttl='60'>"
               b"fwQAAAh////+CAEEBQsAAAEB/w==</packet></message>")
        fw.send("<message from='%s' to='int@xmpp.objects.violet.net/int' id='%s'>"
                "<button xmlns=\"violet:nabaztag:button\"><clic>2</clic></button>"
                "</message>" % (fw.jid, fw.next_id()))
        fw.send("<message from='%s' to='int@xmpp.objects.violet.net/int' id='%s'>"
                "<ears xmlns=\"violet:nabaztag:ears\"><left>4</left><right>12</right>"
                "</ears></message>" % (fw.jid, fw.next_id()))
        want = [lead + b'packet: wake', lead + b'packet: ambient(nose=1, left ear=5) sleep',
                lead + b'button: 2 clicks', lead + b'ears: left=4 right=12']
        for f, tap in taps.items():
            tap.wait(want[-1] + b'\n')
            tap.wait(want[1] + b'\n')
            lines = tap.stop().split(b'\n')
            got = [l for l in lines if l.startswith(lead + b'packet: ') or
                   l.startswith(lead + b'button: ') or l.startswith(lead + b'ears: ')]
            # The server may bounce the events (int@ is remote): the bounce
            # holds the same payload, decoded alike.
            assert got[0] == want[0] and set(got) == set(want), (f, got)
            # Beside the raw XML: the line right after the stanza's block.
            i = lines.index(want[2])
            if f != 'raw':
                assert lines[i - 1].startswith(b'%d [vm] Sending : <message' % sid), lines[i - 1]
            else:
                assert lines[i - 1] == b'%d ' % sid and b'<clic>2</clic>' in lines[i - 2], \
                    lines[i - 3:i + 1]
        px.wait_log(rb'\[vm\] !! ears: left=4 right=12\n')
        for w in want:
            assert w[len(b'%d ' % sid):] + b'\n' in px.log(), w
        c.close()
        fw.close()


def case_bounds(srv):
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='passthrough') as px:
        path = os.path.join(px.dir, 'nabproxy.sock')
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660, oct(os.stat(path).st_mode)
        # The daemon bounds a peer's line; the client refuses to send one.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.settimeout(10)
        s.sendall(b'x' * 600)
        assert s.recv(100) == b'error: command longer than 512 bytes\n'
        assert s.recv(100) == b''
        s.close()
        r = ctl(px, 'x' * 600, ok=False)
        assert (r.returncode, r.stderr) == (2, b'nabproxy: ctl: command too long\n'
                                            b'(see nabproxy --help)\n'), r
        r = ctl(px, 'frobnicate', ok=False)
        assert r.returncode == 1 and r.stderr.startswith(b'error: unknown command;'), r
        r = ctl(px, 'history', 'nope', ok=False)
        assert (r.returncode, r.stderr) == (1, b"error: history: 'nope' is not a MAC\n"), r
        r = ctl(px, 'tap', 'nope', ok=False)
        assert (r.returncode, r.stderr) == \
            (1, b"error: tap: 'nope' is not all, a session id or a MAC\n"), r
        assert ctl(px, 'reload').stdout == b'reload done\n'
        px.wait_log(rb'nabproxy\[info\]: control socket: reload done')
        held = []
        for _ in range(16):
            h = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            h.connect(path)
            held.append(h)
        # Each held client has a slot once the daemon accepted it.
        for h in held:
            h.sendall(b'stats')    # no newline: the command is not complete
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.settimeout(10)
        assert s.recv(100) == b'error: too many control clients\n'
        s.close()
        for h in held:
            h.close()
        wait_until(lambda: ctl(px, 'stats', ok=False).returncode == 0, 'slots free again')
        assert int(stats(px)['ctl_refused']) >= 1
    with Nabproxy('127.0.0.1:%d' % srv.port, profile='passthrough',
                  extra='control-socket = none') as px:
        assert not os.path.exists(os.path.join(px.dir, 'nabproxy.sock'))
        r = ctl(px, 'list', ok=False)
        assert r.returncode == 1 and b'has no control socket' in r.stderr, r
        # --check-config reads watch and http-listen like the daemon does.
        with open(px.conf) as f:
            base = f.read()
        for extra, msg in (('watch = 0013d3c70001 nope\n',
                            b"watch: 'nope' is not a MAC (12 hex digits)\n"),
                           ('http-listen = 192.0.2.1:80\n',
                            b'http-listen 192.0.2.1:80: not a loopback ADDR:PORT')):
            with open(px.conf, 'w') as f:
                f.write(base + extra)
            r = subprocess.run([BIN, '--check-config', '-c', px.conf], capture_output=True,
                               timeout=20)
            assert r.returncode == 1 and msg in r.stderr, r
        with open(px.conf, 'w') as f:
            f.write(base + 'watch = 00:13:d3:c7:00:01\nhttp-listen = localhost:9\n')
        r = subprocess.run([BIN, '--check-config', '-c', px.conf], capture_output=True,
                           timeout=20)
        assert (r.returncode, r.stdout) == (0, b'configuration OK\n'), r


if __name__ == '__main__':
    sys.exit(run_per_server(sys.argv[:1] + (sys.argv[1:] or ['prosody']), DOMAIN,
                            [case_boot, case_simulator, case_failures, case_logs, case_slow, case_metrics,
                             case_web, case_decode, case_bounds]))
