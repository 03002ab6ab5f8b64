"""The events filter (docs/events.md) against a real Mosquitto broker.

Mosquitto from Debian is started on a free loopback port with a throwaway
config (no persistence), Prosody likewise; nabproxy runs the bootcode
profile plus the events filter (build/filters/events.so) with a webhook
to a local HTTP server. tests/integration/firmware.py (the bootcode 18673
simulator) boots through it and:

  1. reaches idle: nabaztag/MAC/status is `online`, retained (a fresh
     subscriber gets it with the retain flag), the stage topic says idle,
     bridge/status is online; Home Assistant discovery configs (retained)
     for the online binary_sensor, both ear sensors and both button
     triggers carry only keys of Home Assistant's MQTT schemas, and every
     required one;
  2. a click arrives as {"clicks":1}, a double click with an event as
     {"clicks":2,"event":"v"}, ears as {"left":L,"right":R} (retained);
     the webhook gets the same events as JSON POSTs;
  3. set/ears and set/sleep published with mosquitto_pub reach the rabbit
     as a violet:packet <message> whose decoded blocks are OpenJabNab's
     (ambient 7f ff ff fe 04 L 05 R; mode 1), wake and a raw packet too;
     after a reload (SIGHUP: a second filter instance) a command still
     reaches the rabbit exactly once; a command for a MAC that is not
     online is dropped with a log line; a bad payload too;
  4. a webhook endpoint answering 500 is retried (three POSTs of the same
     event, then dropped); one that hangs times out and is retried, while
     the rabbit's clicks still reach MQTT at once and a command still
     reaches the rabbit;
  5. the broker is stopped: a second rabbit boots to idle meanwhile (the
     loop is not blocked); the broker is started again on the same port:
     nabproxy reconnects and republishes both rabbits' retained status,
     and commands work again;
  6. the rabbit reboots (its new connection online before the old one
     ends): it stays online; it disconnects: status becomes offline
     (retained).

case_simulator: the seed simulator is online at its session (it never
binds idle), a set/sleep reaches it, its end publishes offline.

case_nabrabbit: nabrabbit --firmware 18673 --events plays clicks and
ears (they reach MQTT) and prints the packet a set/ears sent it.

case_silent_broker: a broker that never answers CONNECT is given up after
15 s and retried, while a rabbit boots.

case_config: --check-config accepts a good section (connecting nowhere)
and refuses each bad key at its file:line.

case_tls: MQTT over TLS and an https webhook against certificates that
name 127.0.0.1 work; against certificates naming only localhost (same CA
file given) nothing is published or posted.

Run: /usr/bin/python3 tests/integration/it_events.py
"""
import base64
import http.server
import json
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from firmware import Firmware, decode_packet, encode_packet  # noqa: E402
from nabharness import CaseSkipped, Nabproxy, Rabbit, run_per_server  # noqa: E402
from xmppservers import free_port  # noqa: E402

DOMAIN = 'almacska'
SEED_MAC = 'f81edfee27c1'     # the seed simulator's
BUILD = os.environ.get('NAB_BINARY_DIR', os.path.join(os.getcwd()))
EVENTS_SO = os.path.join(BUILD, 'filters', 'events.so')
MOSQUITTO = shutil.which('mosquitto') or '/usr/sbin/mosquitto'
MOSQ_SUB = shutil.which('mosquitto_sub')
MOSQ_PUB = shutil.which('mosquitto_pub')
BOOT_FILTERS = ('firmware-guard digest-server auth register bind presence-echo '
                'sources iq-answer')

# Home Assistant MQTT discovery: the keys these components accept (the
# abbreviations aside) and the ones they require.
HA_DEVICE = {'identifiers', 'connections', 'name', 'manufacturer', 'model',
             'sw_version', 'hw_version', 'via_device', 'suggested_area',
             'configuration_url'}
HA_COMMON = {'name', 'unique_id', 'object_id', 'device', 'qos', 'icon',
             'availability_topic', 'payload_available', 'payload_not_available',
             'availability', 'availability_mode', 'enabled_by_default',
             'entity_category', 'json_attributes_topic', 'expire_after',
             'force_update', 'value_template'}
HA_SCHEMA = {
    'binary_sensor': (HA_COMMON | {'state_topic', 'payload_on', 'payload_off',
                                   'device_class', 'off_delay'}, {'state_topic'}),
    'sensor': (HA_COMMON | {'state_topic', 'unit_of_measurement', 'device_class',
                            'state_class'}, {'state_topic'}),
    'device_automation': ({'automation_type', 'topic', 'type', 'subtype', 'payload',
                           'value_template', 'qos', 'device'},
                          {'automation_type', 'topic', 'type', 'subtype', 'device'}),
}


class Broker:
    """A mosquitto process on a fixed loopback port, no persistence."""

    def __init__(self, tls=()):
        """tls: (cert, key) pairs, one TLS listener each (self.tls_ports)."""
        self.dir = tempfile.mkdtemp(prefix='nabproxy-it-mqtt-')
        self.port = free_port()
        self.tls_ports = [free_port() for _ in tls]
        self.conf = os.path.join(self.dir, 'mosquitto.conf')
        with open(self.conf, 'w') as f:
            # user: as root mosquitto would switch to its own user, which
            # cannot read this directory.
            f.write('user %s\nper_listener_settings false\nallow_anonymous true\n'
                    'persistence false\nlog_dest file %s/mosquitto.log\n'
                    'listener %d 127.0.0.1\n' % (pwd.getpwuid(os.geteuid()).pw_name,
                                                 self.dir, self.port))
            for port, (cert, key) in zip(self.tls_ports, tls):
                f.write('listener %d 127.0.0.1\ncertfile %s\nkeyfile %s\n'
                        % (port, cert, key))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([MOSQUITTO, '-c', self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            out = subprocess.run([MOSQ_PUB, '-h', '127.0.0.1', '-p', str(self.port),
                                  '-t', 'probe', '-m', 'x'], capture_output=True)
            if out.returncode == 0:
                return
            time.sleep(0.05)   # polling readiness with a deadline
        raise AssertionError('mosquitto did not start')

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Sub:
    """mosquitto_sub on a topic filter: (retained, topic, payload) lines."""

    def __init__(self, broker, topic='#'):
        self.msgs = []
        self.proc = subprocess.Popen(
            [MOSQ_SUB, '-h', '127.0.0.1', '-p', str(broker.port), '-t', topic,
             '-q', '1', '-F', '%r %t %p'], stdout=subprocess.PIPE)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            r, t, p = line.decode().rstrip('\n').split(' ', 2)
            self.msgs.append((r == '1', t, p))

    def wait(self, topic, payload=None, retained=None, timeout=10.0, after=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.msgs[after:]:
                if m[1] == topic and (payload is None or m[2] == payload) and \
                        (retained is None or m[0] == retained):
                    return m
            time.sleep(0.01)   # polling a condition with a deadline
        raise AssertionError('no %s %r on MQTT; got %r' % (topic, payload, self.msgs[-30:]))

    def close(self):
        self.proc.terminate()
        self.proc.wait(5)


def retained(broker, topic):
    """What a new subscriber gets at once for topic: (retain flag, payload)."""
    out = subprocess.run([MOSQ_SUB, '-h', '127.0.0.1', '-p', str(broker.port), '-t', topic,
                          '-C', '1', '-W', '5', '-F', '%r %p'], capture_output=True)
    r, _, p = out.stdout.decode().rstrip('\n').partition(' ')
    return r == '1', p


def publish(broker, topic, payload):
    subprocess.run([MOSQ_PUB, '-h', '127.0.0.1', '-p', str(broker.port), '-q', '1',
                    '-t', topic, '-m', payload], check=True)


class Hook(http.server.ThreadingHTTPServer):
    """The webhook endpoint: mode ok (204), fail (500 for `fails` POSTs)
    or hang (never answers until released); https with (cert, key)."""
    daemon_threads = True

    def __init__(self, tls=None):
        self.posts = []
        self.mode, self.fails = 'ok', 0
        self.release = threading.Event()
        super().__init__(('127.0.0.1', 0), HookHandler)
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.socket = ctx.wrap_socket(self.socket, server_side=True)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def events(self, **match):
        return [p for p in self.posts if all(p.get(k) == v for k, v in match.items())]

    def wait(self, n=1, timeout=10.0, **match):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.events(**match)) >= n:
                return self.events(**match)
            time.sleep(0.01)   # polling a condition with a deadline
        raise AssertionError('webhook: %d x %r not posted; got %r' % (n, match, self.posts[-10:]))


class HookHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        srv = self.server
        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
        assert self.headers.get('Content-Type') == 'application/json'
        srv.posts.append(json.loads(body))
        if srv.mode == 'hang':
            srv.release.wait(30)
            return
        code = 204
        if srv.mode == 'fail' and srv.fails > 0:
            srv.fails -= 1
            code = 500
        self.send_response(code)
        self.send_header('Content-Length', '0')
        self.end_headers()


def proxy(srv, broker, hook, port=None, https=False, extra=''):
    px = Nabproxy('127.0.0.1:%d' % srv.port, profile='ev',
                  filters_conf='[filter events]\npath = %s\nbroker = 127.0.0.1\nport = %d\n'
                  'webhook = http%s://127.0.0.1:%d/hook\nwebhook-timeout = 1s\n'
                  'webhook-retries = 2\n%s[profile ev]\nfilters = %s events\n'
                  % (EVENTS_SO, port or broker.port, 's' if https else '',
                     hook.server_address[1], extra, BOOT_FILTERS))
    with open(px.conf) as f:
        text = f.read()
    with open(px.conf, 'w') as f:      # only our profile: no bootcode-18673 match
        f.write('\n'.join(l for l in text.split('\n') if not l.startswith('include =')))
    return px


def make_cert(d, name, san):
    """A self-signed certificate (its own CA) for subjectAltName san."""
    cert, key = os.path.join(d, name + '.crt'), os.path.join(d, name + '.key')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
                    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=' + name,
                    '-addext', 'subjectAltName=' + san, '-addext',
                    'basicConstraints=critical,CA:TRUE'],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def boot(px, mac, **kw):
    fw = Firmware('127.0.0.1', px.port, mac, DOMAIN, timeout=15, **kw)
    try:
        fw.boot()
    except AssertionError:
        fw.close()
        sys.stderr.write('--- rabbit ---\n%s\n' % '\n'.join(fw.lines[-30:]))
        raise
    return fw


def check_discovery(sub, mac):
    want = {('binary_sensor', 'online'), ('sensor', 'ear_left'), ('sensor', 'ear_right'),
            ('device_automation', 'click'), ('device_automation', 'double_click')}
    for comp, obj in want:
        r, _, p = sub.wait('homeassistant/%s/nabaztag_%s/%s/config' % (comp, mac, obj))
        cfg = json.loads(p)
        allowed, required = HA_SCHEMA[comp]
        assert set(cfg) <= allowed, '%s: keys outside the schema: %r' % (comp, set(cfg) - allowed)
        assert required <= set(cfg), '%s: missing %r' % (comp, required - set(cfg))
        assert set(cfg['device']) <= HA_DEVICE, cfg['device']
        assert cfg['device']['identifiers'] == ['nabaztag_' + mac]
        assert cfg['device']['connections'] == [['mac', ':'.join(
            mac[i:i + 2] for i in range(0, 12, 2))]]
        if comp == 'device_automation':
            assert cfg['topic'] == 'nabaztag/%s/button' % mac
            assert cfg['payload'] == ('1' if obj == 'click' else '2')
        else:
            assert cfg['state_topic'].startswith('nabaztag/%s/' % mac)
        assert retained(sub.broker, 'homeassistant/%s/nabaztag_%s/%s/config'
                        % (comp, mac, obj))[0], 'discovery not retained'


def command(fw, broker, mac, what, payload):
    publish(broker, 'nabaztag/%s/set/%s' % (mac, what), payload)
    got = fw.packets(10.0)
    assert got, 'set/%s never reached the rabbit' % what
    blocks, msg = got[0]
    assert msg.attr(b'to').startswith(('%s@%s/' % (mac, DOMAIN)).encode()), msg.raw
    return blocks


def case_events(srv):
    for b in (MOSQUITTO, MOSQ_SUB, MOSQ_PUB):
        if not b or not os.path.exists(b):
            raise CaseSkipped('mosquitto / mosquitto-clients not installed')
    if not os.path.exists(EVENTS_SO):
        raise CaseSkipped('events.so not built (libmosquitto-dev missing)')
    mac, mac2 = '0013d3000e01', '0013d3000e02'
    broker, hook = Broker(), Hook()
    broker.start()
    sub = Sub(broker)
    sub.broker = broker
    try:
        with proxy(srv, broker, hook) as px:
            # 1. idle: online (retained), stage, bridge, discovery
            fw = boot(px, mac)
            sub.wait('nabaztag/%s/status' % mac, 'online')
            assert retained(broker, 'nabaztag/%s/status' % mac) == (True, 'online')
            assert retained(broker, 'nabaztag/%s/stage' % mac) == (True, 'idle')
            assert retained(broker, 'nabaztag/bridge/status') == (True, 'online')
            check_discovery(sub, mac)
            hook.wait(mac=mac, event='status', status='online')
            # 2. button, ears; the same on the webhook
            fw.button(1)
            sub.wait('nabaztag/%s/button' % mac, '{"clicks":1}', retained=False)
            fw.button(2, event='v')
            sub.wait('nabaztag/%s/button' % mac, '{"clicks":2,"event":"v"}')
            fw.ears(3, 12)
            sub.wait('nabaztag/%s/ears' % mac, '{"left":3,"right":12}')
            assert retained(broker, 'nabaztag/%s/ears' % mac) == (True, '{"left":3,"right":12}')
            hook.wait(mac=mac, event='button', clicks=1)
            hook.wait(mac=mac, event='button', clicks=2, value='v')
            hook.wait(mac=mac, event='ears', left=3, right=12)
            # 3. commands
            blocks = command(fw, broker, mac, 'ears', '{"left":3,"right":10}')
            assert blocks == [(4, b'\x7f\xff\xff\xfe\x04\x03\x05\x0a')], blocks
            blocks = command(fw, broker, mac, 'sleep', '')
            assert blocks == [(11, b'\x01')], blocks
            blocks = command(fw, broker, mac, 'wake', '')
            assert blocks == [(11, b'\x00')], blocks
            raw = encode_packet([(4, b'\x7f\xff\xff\xfe\x08\x01')])
            blocks = command(fw, broker, mac, 'packet', base64.b64encode(raw).decode())
            assert blocks == [(4, b'\x7f\xff\xff\xfe\x08\x01')], blocks
            # a reload: the old instance keeps its sessions, the new one
            # takes the commands: the rabbit gets each command once
            px.signal(signal.SIGHUP)
            px.wait_log(rb'reload done')
            px.wait_log(rb'(?s)MQTT broker 127\.0\.0\.1:\d+ connected.*'
                        rb'MQTT broker 127\.0\.0\.1:\d+ connected')
            publish(broker, 'nabaztag/%s/set/ears' % mac, '{"left":7,"right":8}')
            got = fw.packets(3.0, count=2)
            assert [b for b, _ in got] == [[(4, b'\x7f\xff\xff\xfe\x04\x07\x05\x08')]], got
            publish(broker, 'nabaztag/0013d3000fff/set/ears', '{"left":1,"right":1}')
            px.wait_log(rb'command ears for 0013d3000fff dropped: that rabbit is not online')
            publish(broker, 'nabaztag/%s/set/ears' % mac, '{"left":"x"}')
            px.wait_log(rb'command ears for ' + mac.encode() + rb' dropped: the payload')
            # 4. webhook failing, then hanging; the rabbit is unaffected
            hook.mode, hook.fails = 'fail', 10
            n0 = len(hook.events(event='button', clicks=2))
            fw.button(2)
            sub.wait('nabaztag/%s/button' % mac, '{"clicks":2}')
            hook.wait(n0 + 3, timeout=15, mac=mac, event='button', clicks=2)
            px.wait_log(rb'webhook: HTTP status 500, try 1 of 3')
            px.wait_log(rb'webhook: event dropped after 3 tries \(HTTP status 500\)')
            hook.mode = 'hang'
            fw.ears(5, 6)
            hook.wait(mac=mac, event='ears', left=5, right=6)   # hanging now
            t0 = time.monotonic()
            fw.button(1)
            n1 = len(sub.msgs)
            sub.wait('nabaztag/%s/button' % mac, '{"clicks":1}', after=n1 - 1, timeout=3)
            assert time.monotonic() - t0 < 1.0, 'a hanging webhook slowed the rabbit'
            blocks = command(fw, broker, mac, 'ears', '{"left":0,"right":0}')
            assert blocks == [(4, b'\x7f\xff\xff\xfe\x04\x00\x05\x00')], blocks
            px.wait_log(rb'webhook: timed out, try 1 of 3')
            hook.mode = 'ok'
            hook.release.set()
            # 5. the broker goes away and comes back
            sub.close()
            broker.stop()
            px.wait_log(rb'MQTT broker 127\.0\.0\.1:%d: ' % broker.port)
            fw2 = boot(px, mac2)            # the loop is not blocked meanwhile
            broker.start()
            sub = Sub(broker)
            sub.broker = broker
            sub.wait('nabaztag/%s/status' % mac, 'online', timeout=70)
            sub.wait('nabaztag/%s/status' % mac2, 'online', timeout=10)
            assert retained(broker, 'nabaztag/%s/status' % mac2) == (True, 'online')
            blocks = command(fw2, broker, mac2, 'sleep', '')
            assert blocks == [(11, b'\x01')], blocks
            fw.keepalive()
            # 6. a reboot: the new connection is online before the old one
            # ends, which must not make the rabbit offline; then offline
            freed = px.log().count(b': freed')
            fw_new = boot(px, mac, password=fw.password)
            fw.close()
            deadline = time.monotonic() + 10
            while px.log().count(b': freed') == freed and time.monotonic() < deadline:
                time.sleep(0.01)   # polling a condition with a deadline
            assert px.log().count(b': freed') > freed, 'the old connection never ended'
            assert retained(broker, 'nabaztag/%s/status' % mac) == (True, 'online')
            assert retained(broker, 'nabaztag/%s/stage' % mac) == (True, 'idle')
            fw = fw_new
            fw.close()
            sub.wait('nabaztag/%s/status' % mac, 'offline')
            assert retained(broker, 'nabaztag/%s/status' % mac) == (True, 'offline')
            fw2.close()
            sub.wait('nabaztag/%s/status' % mac2, 'offline')
    finally:
        hook.release.set()
        hook.shutdown()
        sub.close()
        broker.close()


def case_simulator(srv):
    """The seed simulator (profile auth register bind events) is online
    at its session (it never reaches idle), gets a command, goes offline."""
    if not all(b and os.path.exists(b) for b in (MOSQUITTO, MOSQ_SUB, MOSQ_PUB)) or \
            not os.path.exists(EVENTS_SO):
        raise CaseSkipped('mosquitto or events.so missing')
    broker, hook = Broker(), Hook()
    broker.start()
    sub = Sub(broker)
    try:
        px = proxy(srv, broker, hook)
        with open(px.conf) as f:
            text = f.read().replace('filters = %s events' % BOOT_FILTERS,
                                    'filters = auth register bind events')
        with open(px.conf, 'w') as f:
            f.write(text)
        with px:
            r = Rabbit(px.port)
            r.open()
            assert r.register().get('type') == 'result'
            assert r.ask(r.parts[2], '3').get('type') == 'result'
            assert r.ask(r.parts[3], '4').get('type') == 'result'
            sub.wait('nabaztag/%s/status' % SEED_MAC, 'online')
            assert retained(broker, 'nabaztag/%s/stage' % SEED_MAC) == (True, 'session')
            publish(broker, 'nabaztag/%s/set/sleep' % SEED_MAC, '')
            msg = r.c.read_element()
            pkt = msg.find('{violet:packet}packet')
            assert msg.tag.endswith('message') and pkt is not None, msg.raw
            assert decode_packet(base64.b64decode(pkt.text)) == [(11, b'\x01')], msg.raw
            r.close()
            sub.wait('nabaztag/%s/status' % SEED_MAC, 'offline')
    finally:
        hook.shutdown()
        sub.close()
        broker.close()


def case_nabrabbit(srv):
    """nabrabbit --firmware 18673 --events: its clicks and ears reach MQTT,
    and a set/ears published while it waits is printed as the packet it
    received (type 4, 7f ff ff fe 04 L 05 R)."""
    nabrabbit = os.path.join(BUILD, 'nabrabbit')
    if not all(b and os.path.exists(b) for b in (MOSQUITTO, MOSQ_SUB, MOSQ_PUB)) or \
            not os.path.exists(EVENTS_SO) or not os.path.exists(nabrabbit):
        raise CaseSkipped('mosquitto, events.so or nabrabbit missing')
    mac = '0013d3000e21'
    broker, hook = Broker(), Hook()
    broker.start()
    sub = Sub(broker)
    try:
        with proxy(srv, broker, hook) as px:
            nr = subprocess.Popen([nabrabbit, '--firmware', '18673', '--connect',
                                   '127.0.0.1:%d' % px.port, '--mac', mac, '--events',
                                   'click 1; click 2 v; ears 4 9; wait 60'],
                                  stdout=subprocess.PIPE)
            try:
                sub.wait('nabaztag/%s/status' % mac, 'online', timeout=20)
                sub.wait('nabaztag/%s/button' % mac, '{"clicks":1}')
                sub.wait('nabaztag/%s/button' % mac, '{"clicks":2,"event":"v"}')
                sub.wait('nabaztag/%s/ears' % mac, '{"left":4,"right":9}')
                publish(broker, 'nabaztag/%s/set/ears' % mac, '{"left":1,"right":2}')
                line = json.loads(nr.stdout.readline())
                assert line == {'mac': mac, 'packet': [[4, '7ffffffe04010502']]}, line
            finally:
                nr.terminate()
                nr.wait(10)
                nr.stdout.close()
            sub.wait('nabaztag/%s/status' % mac, 'offline')
    finally:
        hook.shutdown()
        sub.close()
        broker.close()


def case_silent_broker(srv):
    """A "broker" that takes the TCP connection and never answers: after
    15 s nabproxy gives up on that attempt and retries; rabbits boot
    meanwhile."""
    if not os.path.exists(EVENTS_SO):
        raise CaseSkipped('events.so not built (libmosquitto-dev missing)')
    lsock = socket.socket()
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(8)          # the kernel completes connections; none answered
    hook = Hook()
    fake = type('B', (), {'port': lsock.getsockname()[1]})()
    try:
        with proxy(srv, fake, hook) as px:
            fw = boot(px, '0013d3000e31')
            px.wait_log(rb'MQTT broker 127\.0\.0\.1:%d: no answer to CONNECT; '
                        rb'retrying' % fake.port, timeout=25)
            fw.keepalive()
            fw.close()
    finally:
        hook.shutdown()
        lsock.close()


def case_config(srv):
    """nabproxy --check-config with the events filter: a good section is
    OK and connects nowhere; each bad key is refused at its file:line."""
    if not os.path.exists(EVENTS_SO):
        raise CaseSkipped('events.so not built (libmosquitto-dev missing)')
    d = tempfile.mkdtemp(prefix='nabproxy-it-evconf-')
    bin_ = os.environ.get('NABPROXY', os.path.join(BUILD, 'nabproxy'))
    bad = [
        ('broker = 127.0.0.1\ncolour = red\n', 7,
         'colour: unknown setting (allowed: broker, port, tls, tls-ca, username, '
         'password, topic-prefix, discovery, discovery-prefix, webhook, webhook-ca, '
         'webhook-timeout, webhook-retries, webhook-queue)'),
        ('broker = 127.0.0.1\nport = 70000\n', 7, 'port: 70000 is out of range 0..65535'),
        ('broker = 127.0.0.1\ntls = maybe\n', 7, "tls: 'maybe' is not a boolean"),
        ('broker = 127.0.0.1\ntopic-prefix = a/#\n', 7,
         'topic-prefix: is not a topic without +, # or a trailing /'),
        ('broker = mqtt.example/x\n', 6, 'broker: is not a host name or address'),
        ('webhook = ftp://x/\n', 6, 'webhook: is not an http:// or https:// URL'),
        ('webhook = http://x/\nwebhook-timeout = 0\n', 7,
         'webhook-timeout: 0 is out of range 1000..300000 ms'),
        ('discovery = 2\nbroker = x\n', 6, "discovery: '2' is not a boolean"),
    ]
    try:
        for keys, line, why in bad + [('broker = 127.0.0.1\nwebhook = http://127.0.0.1:9/\n'
                                       'tls = off\ndiscovery = off\n', 0, None),
                                      ('topic-prefix = x\n', 4,
                                       'events: set broker (MQTT), webhook, or both')]:
            conf = os.path.join(d, 'events.conf')
            with open(conf, 'w') as f:
                f.write('[nabproxy]\nupstream = 127.0.0.1:1\nstate-dir = %s\n'
                        '[filter events]\npath = %s\n%s[profile p]\nfilters = events\n'
                        % (d, EVENTS_SO, keys))
            p = subprocess.run([bin_, '--check-config', '-c', conf], capture_output=True,
                               timeout=30)
            out, err = p.stdout.decode(), p.stderr.decode()
            if why is None:
                assert p.returncode == 0 and out == 'configuration OK\n', (p.returncode, out, err)
                continue
            want = '%s:%d: filter events in %s: %s' % (conf, line, EVENTS_SO, why)
            assert p.returncode == 1 and want in err, 'expected\n  %s\ngot %d\n%s%s' % (
                want, p.returncode, out, err)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def case_tls(srv):
    """MQTT over TLS and an https webhook, verified: certificates naming
    127.0.0.1 are accepted (bridge online, status, the webhook's POST);
    certificates naming only `localhost` are refused for broker =
    127.0.0.1 and the webhook's https://127.0.0.1 (nothing published or
    posted, a log line each)."""
    for b in (MOSQUITTO, MOSQ_SUB, MOSQ_PUB):
        if not b or not os.path.exists(b):
            raise CaseSkipped('mosquitto / mosquitto-clients not installed')
    if not os.path.exists(EVENTS_SO):
        raise CaseSkipped('events.so not built (libmosquitto-dev missing)')
    d = tempfile.mkdtemp(prefix='nabproxy-it-tls-')
    good = make_cert(d, 'good', 'IP:127.0.0.1')
    bad = make_cert(d, 'bad', 'DNS:localhost')
    broker = Broker(tls=(good, bad))
    broker.start()
    sub = Sub(broker)
    hooks = (Hook(tls=good), Hook(tls=bad))
    try:
        with proxy(srv, broker, hooks[0], port=broker.tls_ports[0], https=True,
                   extra='tls = on\ntls-ca = %s\nwebhook-ca = %s\n'
                   % (good[0], good[0])) as px:
            sub.wait('nabaztag/bridge/status', 'online')
            fw = boot(px, '0013d3000e11')
            sub.wait('nabaztag/0013d3000e11/status', 'online')
            hooks[0].wait(mac='0013d3000e11', event='status', status='online')
            fw.close()
        n = len(sub.msgs)
        with proxy(srv, broker, hooks[1], port=broker.tls_ports[1], https=True,
                   extra='tls = on\ntls-ca = %s\nwebhook-ca = %s\n'
                   % (bad[0], bad[0])) as px:
            fw = boot(px, '0013d3000e12')
            px.wait_log(rb'MQTT broker 127\.0\.0\.1:%d: ' % broker.tls_ports[1])
            px.wait_log(rb'webhook: event dropped after 3 tries \(no answer', timeout=20)
            fw.close()
            assert b'MQTT broker 127.0.0.1:%d connected' % broker.tls_ports[1] \
                not in px.log()
        assert not [m for m in sub.msgs[n:] if m[1].startswith('nabaztag/0013d3000e12')], \
            sub.msgs[n:]
        assert not hooks[1].posts, hooks[1].posts
    finally:
        for h in hooks:
            h.shutdown()
        sub.close()
        broker.close()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(run_per_server(sys.argv[:1] + (sys.argv[1:] or ['prosody']), DOMAIN,
                            [case_events, case_simulator, case_nabrabbit, case_config,
                             case_silent_broker, case_tls]))
