"""bench/storm.py: login storms through nabproxy to a real Prosody.

Called by bench/storm.sh (see there for the environment). Starts a
throwaway Prosody (tests/integration/xmppservers.py: free ports, stopped by
PID) and nabproxy processes on free ports, then:

1. seed storm: N (500) seed-style rabbits (nabrabbit --firmware simulator
   --count N, all started at once) register through nabproxy (profile
   simulator); then the same N reconnect at once (register, 409, login
   probe, login). A control client, logged in through the same nabproxy
   before the reconnect, pings the server back to back meanwhile, and so
   does one connected to the server directly (what the busy server adds).
   Reported: nabproxy's CPU (user + system, all threads, from /proc) per
   login in each phase, the time until every rabbit was idle, and both
   clients' round trips during the reconnect.
2. firmware storm: M (2000) bootcode 18673 rabbits (nabrabbit --firmware
   18673 --count M --state FILE) register (100 a second: each needs a
   login probe), then reconnect all at once with the passwords they kept
   (DIGEST-MD5 through nabproxy, profile auto); how many reached idle, the
   time, and the CPU per login.

Every rabbit connects from its own loopback address (nabrabbit --source
STORM_SOURCE, 127.1.0.1 and up), as rabbits in the field do, so that
nabproxy's per-source limits and password backoff see one rabbit each.
Reported beside nabproxy's CPU: Prosody's CPU per login over the same
reconnect, and how many distinct sources nabproxy accepted.

Writes key=value lines to the results file (argv[1]) and prints them.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, 'tests', 'integration'))
from nabharness import user_line  # noqa: E402
from xmppclient import XMPPClient  # noqa: E402
import xmppservers  # noqa: E402
from xmppservers import Prosody  # noqa: E402

DOMAIN = 'almacska'
FW_REGISTER_RATE = 100
# Prosody's accept queue (net.server_epoll tcp_backlog), its own default:
# max-dials keeps nabproxy's connects within it. Without max-dials, 2,000
# connects at once overflowed it, TCP retried the dropped SYNs after 1, 3,
# 7, 15, 31 s and a third of the rabbits met login-timeout first.
SERVER_BACKLOG = int(os.environ.get('STORM_SERVER_BACKLOG', '128'))
# Each rabbit from its own loopback address (nabrabbit --source), as in the
# field, so that per-source limits and password backoff see one rabbit per
# address; '' puts every rabbit on 127.0.0.1 (one NAT for all).
SOURCE = os.environ.get('STORM_SOURCE', '127.1.0.1')
# The firmware storm's connect-timeout. It counts the wait for a max-dials
# slot, and 2,000 logins need about 11 s of Prosody's CPU here (5.5 ms
# each, storm_fw_server_cpu_ms_per_login): at the default 10 s the last
# third met remote-connection-failed while the server was still busy.
FW_CONNECT_TIMEOUT = int(os.environ.get('STORM_CONNECT_TIMEOUT', '60'))
CTRL, CTRL_PW = 'stormcontrol', 'stormctl5678'
TICK = os.sysconf('SC_CLK_TCK')


def cpu_s(pid):
    """User + system CPU seconds of pid, all its threads."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def server_cpu_s(srv):
    """CPU seconds of the server's processes."""
    return sum(cpu_s(p) for p in srv.alive_pids())


def pct(xs, p):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))]


class Proxy:
    """nabproxy on a throwaway config; stopped by PID."""

    def __init__(self, nab, upstream, profile, extra=''):
        self.dir = tempfile.mkdtemp(prefix='nabstorm-')
        os.chmod(self.dir, 0o700)
        self.log = os.path.join(self.dir, 'nabproxy.log')
        conf = os.path.join(self.dir, 'nabproxy.conf')
        with open(conf, 'w') as f:
            f.write('[nabproxy]\nlisten = 127.0.0.1:0\nupstream = %s\n'
                    'state-dir = %s\nlog-file = %s\nlog-format = none\n'
                    'profile = %s\nmax-connections = 8192\n%s'
                    'include = %s/etc/profiles/*.conf\n%s%s\n'
                    % (upstream, self.dir, self.log, profile,
                       '' if SOURCE else 'max-per-source = 0\n', SRC, user_line(), extra))
        self.proc = subprocess.Popen([nab, '-c', conf, '--foreground'],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        self.port = None
        while self.port is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError('nabproxy did not start: %s' % self.text())
            m = re.search(r'listening on 127\.0\.0\.1:(\d+)', self.text())
            if m:
                self.port = int(m.group(1))
            else:
                time.sleep(0.05)

    def text(self):
        try:
            with open(self.log, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def rabbits(rabbit, port, firmware, count, mac, state=None, timeout=120, rate=1000000):
    """Run nabrabbit (all at once unless rate); (summary dict, wall seconds)."""
    argv = [rabbit, '--firmware', firmware, '--connect', '127.0.0.1:%d' % port,
            '--count', str(count), '--rate', str(rate), '--mac', mac,
            '--timeout', str(timeout)]
    if SOURCE:
        argv += ['--source', SOURCE]
    if state:
        argv += ['--state', state]
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 60)
    took = time.monotonic() - t0
    summary = None
    for line in r.stdout.splitlines():
        if '"summary":true' in line:
            import json
            summary = json.loads(line)
    if summary is None:
        raise RuntimeError('nabrabbit gave no summary (exit %d): %s' % (r.returncode, r.stderr))
    return summary, took


class Pinger(threading.Thread):
    """Back-to-back pings through the proxy until stopped; RTTs in ms."""

    def __init__(self, port, resource='control'):
        super().__init__(daemon=True)
        self.c = XMPPClient('127.0.0.1', port, DOMAIN, timeout=30)
        self.c.login(CTRL, CTRL_PW, resource=resource)
        self.rtt = []
        self.stop_ = threading.Event()
        self.error = None

    def ping(self):
        t0 = time.monotonic()
        r = self.c.iq('get', "<ping xmlns='urn:xmpp:ping'/>", to=DOMAIN)
        assert r.get('type') == 'result', r.raw
        return (time.monotonic() - t0) * 1000

    def run(self):
        try:
            while not self.stop_.is_set():
                self.rtt.append(self.ping())
        except Exception as e:     # reported, not raised in a thread
            self.error = repr(e)


def seed_storm(nab, rabbit, srv, n, out):
    px = Proxy(nab, '127.0.0.1:%d' % srv.port, 'simulator')
    try:
        c0 = cpu_s(px.proc.pid)
        s1, t1 = rabbits(rabbit, px.port, 'simulator', n, '0a0000000001')
        c1 = cpu_s(px.proc.pid)
        upstream_work(px.text(), n, out, 'storm_first')
        out['storm_rabbits'] = n
        out['storm_first_idle'] = s1['idle']
        out['storm_first_s'] = '%.2f' % t1
        out['storm_first_cpu_ms_per_login'] = '%.3f' % ((c1 - c0) * 1000 / n)
        pinger = Pinger(px.port)
        # The same pings straight to the server: what the server itself
        # adds to the round trip while it serves the storm.
        direct = Pinger(srv.port, resource='direct')
        base = [pinger.ping() for _ in range(50)]
        pinger.start()
        direct.start()
        c1 = cpu_s(px.proc.pid)
        v1 = server_cpu_s(srv)
        log0 = len(px.text())
        s2, t2 = rabbits(rabbit, px.port, 'simulator', n, '0a0000000001')
        c2 = cpu_s(px.proc.pid)
        out['storm_server_cpu_ms_per_login'] = '%.3f' % ((server_cpu_s(srv) - v1) * 1000 / n)
        upstream_work(px.text()[log0:], n, out)
        out['storm_sources'] = sources(px.text()[log0:])
        pinger.stop_.set()
        direct.stop_.set()
        pinger.join(30)
        direct.join(30)
        out['storm_reconnect_idle'] = s2['idle']
        out['storm_reconnect_s'] = '%.2f' % t2
        out['storm_cpu_ms_per_login'] = '%.3f' % ((c2 - c1) * 1000 / n)
        out['storm_control_rtt_idle_p50_ms'] = '%.2f' % pct(base, 50)
        out['storm_control_pings'] = len(pinger.rtt)
        out['storm_control_rtt_p50_ms'] = '%.2f' % pct(pinger.rtt, 50)
        out['storm_control_rtt_p99_ms'] = '%.2f' % pct(pinger.rtt, 99)
        out['storm_control_rtt_max_ms'] = '%.2f' % max(pinger.rtt or [0])
        out['storm_direct_rtt_p50_ms'] = '%.2f' % pct(direct.rtt, 50)
        out['storm_direct_rtt_p99_ms'] = '%.2f' % pct(direct.rtt, 99)
        if pinger.error:
            out['storm_control_error'] = pinger.error.replace('\n', ' ')[:200]
        for p in (pinger, direct):
            try:
                p.c.close()
            except Exception:
                pass
    finally:
        px.stop()


def sources(log):
    """How many distinct source addresses nabproxy accepted from."""
    return len(set(re.findall(r': accepted from (\S+):\d+,', log)))


def upstream_work(log, n, out, key='storm'):
    """Upstream connections and SASL exchanges per reconnecting rabbit,
    from nabproxy's log: its own stream each, plus login probes and fresh
    login connections (less those that took a kept probe's connection);
    SASL: probes plus nabproxy's own logins that did not take one."""
    probes = len(re.findall(r'login probe for \S+ started', log))
    fresh = len(re.findall(r'on a fresh connection', log))
    kept = len(re.findall(r'login probe for \S+ is the session', log))
    logins = len(re.findall(r'upstream login as ', log))
    out[key + '_upstream_conns_per_login'] = '%.2f' % ((n + probes + fresh - kept) / n)
    out[key + '_sasl_per_login'] = '%.2f' % ((probes + logins - kept) / n)


def firmware_storm(nab, rabbit, srv, m, out, work):
    px = Proxy(nab, '127.0.0.1:%d' % srv.port, 'auto',
               'connect-timeout = %d\n' % FW_CONNECT_TIMEOUT)
    out['storm_fw_connect_timeout'] = FW_CONNECT_TIMEOUT
    state = os.path.join(work, 'rabbits.state')
    try:
        # Registration (a login probe each, max-probes at a time) at a
        # rabbit's pace; the storm is the reconnect below.
        s1, t1 = rabbits(rabbit, px.port, '18673', m, '0013d3100001', state=state,
                         timeout=300, rate=FW_REGISTER_RATE)
        out['storm_fw_rabbits'] = m
        out['storm_fw_first_idle'] = s1['idle']
        out['storm_fw_first_s'] = '%.2f' % t1
        c1 = cpu_s(px.proc.pid)
        v1 = server_cpu_s(srv)
        log0 = len(px.text())
        s2, t2 = rabbits(rabbit, px.port, '18673', m, '0013d3100001', state=state,
                         timeout=300)
        c2 = cpu_s(px.proc.pid)
        out['storm_fw_server_cpu_ms_per_login'] = '%.3f' % ((server_cpu_s(srv) - v1) * 1000 / m)
        upstream_work(px.text()[log0:], m, out, 'storm_fw')
        out['storm_fw_sources'] = sources(px.text()[log0:])
        out['storm_fw_idle'] = s2['idle']
        out['storm_fw_failed_by_step'] = ','.join(
            '%s:%d' % kv for kv in sorted(s2['failed_by_step'].items())) or 'none'
        out['storm_fw_reconnect_s'] = '%.2f' % t2
        out['storm_fw_p99_ms'] = '%.1f' % s2['p99_ms']
        out['storm_fw_cpu_ms_per_login'] = '%.3f' % ((c2 - c1) * 1000 / m)
    finally:
        px.stop()


def main(argv):
    results = argv[1]
    nab = os.environ['NABPROXY']
    rabbit = os.environ['NABRABBIT']
    n = int(os.environ.get('STORM_RABBITS', '500'))
    m = int(os.environ.get('STORM_FW_RABBITS', '2000'))
    out = {}
    xmppservers.PROSODY_CFG = xmppservers.PROSODY_CFG.replace(
        'VirtualHost', 'network_settings = {{ tcp_backlog = %d }}\n\nVirtualHost'
        % SERVER_BACKLOG, 1)
    out['storm_server_backlog'] = SERVER_BACKLOG
    out['storm_source'] = SOURCE or '127.0.0.1'
    work = tempfile.mkdtemp(prefix='nabstorm-')
    os.chmod(work, 0o700)
    try:
        with Prosody(domain=DOMAIN) as srv:
            srv.add_user(CTRL, CTRL_PW)
            seed_storm(nab, rabbit, srv, n, out)
            if m > 0:
                firmware_storm(nab, rabbit, srv, m, out, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        with open(results, 'a') as f:
            for k, v in out.items():
                f.write('%s=%s\n' % (k, v))
        for k, v in out.items():
            print('%s=%s' % (k, v), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
