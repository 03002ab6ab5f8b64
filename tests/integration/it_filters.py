"""External filters: the example filter on live traffic, loader refusals,
reload, a misbehaving filter, and profile selection at a stream restart.

Standard library only. Every server here is a raw loopback socket driven
from the test's own thread, so each byte the proxy forwards is asserted
exactly. Broken filters are compiled with gcc into a temporary directory
from the C sources in filters_src/.

  1. stamp (${NAB_BINARY_DIR}/filters/stamp.so) changes traffic exactly
     as filters/examples/README.md documents.
  2. --check-config refuses an ABI-mismatched .so, one without the
     nab_filter symbol, a missing file (and a few more), each with
     "file:line: filter NAME in PATH: why", and exits 1; an ABI 1.1
     filter still loads with its own keys; the example's settings errors
     come at their file:line.
  3. SIGHUP with a broken config keeps the running chain; SIGHUP with a
     good one gives new sessions the new chain while an open session keeps
     its old one.
  4. A filter returning a verdict outside the enum closes only its own
     connection.
  5. A profile is re-selected at the stream restart after SASL <success/>,
     by firmware (simulator, bootcode-18673) or by MAC.
"""
import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from nabharness import BIN, SRC, Nabproxy, recv_all, user_line

BUILD = os.environ.get('NAB_BINARY_DIR', os.path.join(SRC, 'build'))
STAMP_SO = os.path.join(BUILD, 'filters', 'stamp.so')
FILTERS_SRC = os.path.join(SRC, 'tests', 'integration', 'filters_src')

HEADER = (b"<?xml version='1.0' encoding='UTF-8'?>\n"
          b"<stream:stream to='almacska' xmlns='jabber:client' "
          b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
SERVER_HEADER = (b"<?xml version='1.0'?><stream:stream xmlns:stream="
                 b"'http://etherx.jabber.org/streams' xmlns='jabber:client' "
                 b"from='almacska' id='s1' version='1.0'>")
FEATURES = (b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
            b"<mechanism>PLAIN</mechanism></mechanisms></stream:features>")
def auth_plain(user=b'0013d3aabbcc'):
    """The rabbit's own PLAIN <auth> as user (password 'secret')."""
    return (b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
            base64.b64encode(b'\0' + user + b'\0secret') + b"</auth>")


AUTH = auth_plain()
SUCCESS = b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
STREAM_ERROR = (b"<stream:error><%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                b"</stream:error></stream:stream>")


def register_set(user, name_email=True, ns='jabber:iq:register', id_='reg1'):
    extra = (b'<name>%s</name><email>%s@bunny.lab</email>' % (user, user)
             if name_email else b'')
    return (b"<iq type='set' id='%s'><query xmlns='%s'><username>%s</username>"
            b"<password>83279de2ea5c</password>%s</query></iq>"
            % (id_.encode(), ns.encode(), user, extra))


class Proxy(Nabproxy):
    """nabproxy with a config file that holds only what the test gives."""

    def __init__(self, upstream, body, default='passthrough'):
        super().__init__(upstream)
        self.upstream = upstream
        self.write_conf(body, default)

    def write_conf(self, body, default='passthrough'):
        """Replace the config file (atomically, as an operator would)."""
        tmp = self.conf + '.new'
        with open(tmp, 'w') as f:
            f.write('[nabproxy]\n'
                    'listen = 127.0.0.1:0\n'
                    'upstream = %s\n'
                    'state-dir = %s\n'
                    'log-format = vm\n'
                    'profile = %s\n%s%s' % (self.upstream, self.dir, default,
                                            user_line(body) or '\n', body))
        os.replace(tmp, self.conf)

    def reload(self, pattern, timeout=10.0):
        """SIGHUP, then wait for a log line after it matching pattern."""
        start = len(self.log())
        self.signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tail = self.log()[start:]
            m = re.search(pattern, tail)
            if m:
                return tail
            time.sleep(0.01)   # polling a log condition with a deadline
        raise AssertionError('after SIGHUP the log never matched %r:\n%s' % (
            pattern, self.log()[start:].decode(errors='replace')))


class Upstream:
    """A listening socket the test accepts proxy connections on, one by one."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.sock.settimeout(10)
        self.addr = '127.0.0.1:%d' % self.sock.getsockname()[1]

    def accept(self):
        c, _ = self.sock.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return c

    def close(self):
        self.sock.close()


def expect(sock, want, timeout=10.0, what='peer'):
    """Read exactly len(want) bytes from sock and assert they are want."""
    deadline = time.monotonic() + timeout
    got = b''
    while len(got) < len(want):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            d = sock.recv(len(want) - len(got))
        except socket.timeout:
            break
        if not d:
            break
        got += d
    assert got == want, '%s got\n  %r\nexpected\n  %r' % (what, got, want)


def nothing_more(sock, wait=0.2):
    """Assert that sock has no further bytes (for wait seconds)."""
    sock.settimeout(wait)
    try:
        d = sock.recv(65536)
    except socket.timeout:
        return
    raise AssertionError('unexpected bytes %r' % d)


class Session:
    """One rabbit connection through the proxy and its upstream side."""

    def __init__(self, px, up):
        self.c = px.connect()
        self.upstream = up
        self.s = None
        self.id = int(px.wait_log(rb'session (\d+): accepted from 127\.0\.0\.1:%d,' %
                                  self.c.getsockname()[1]).group(1))

    def open(self):
        """Stream headers both ways, features to the rabbit; all verbatim.
        The proxy dials the server when the rabbit's header arrives."""
        self.c.sendall(HEADER)
        self.s = self.upstream.accept()
        expect(self.s, HEADER, what='server')
        self.s.sendall(SERVER_HEADER + FEATURES)
        expect(self.c, SERVER_HEADER + FEATURES, what='rabbit')

    def up(self, sent, forwarded=None):
        """Rabbit sends `sent`; the server must get `forwarded` (default: same)."""
        self.c.sendall(sent)
        expect(self.s, sent if forwarded is None else forwarded, what='server')

    def down(self, sent):
        """Server sends `sent`; the rabbit must get it unchanged."""
        self.s.sendall(sent)
        expect(self.c, sent, what='rabbit')

    def sasl_restart(self, user=b'0013d3aabbcc'):
        """The rabbit's own SASL as user: <success/> passes, both streams
        restart, and the identity is proven as user (the server said so)."""
        self.up(auth_plain(user))
        self.down(SUCCESS)
        self.c.sendall(HEADER)
        expect(self.s, HEADER, what='server')
        self.s.sendall(SERVER_HEADER + b'<stream:features/>')
        expect(self.c, SERVER_HEADER + b'<stream:features/>', what='rabbit')

    def close(self):
        for s in (self.c, self.s):
            try:
                s.close()
            except OSError:
                pass


def stamp_section(value, extra=''):
    return ('[filter stamp]\n'
            'path = %s\n'
            'attribute = x-proxy\n'
            'value = %s\n%s\n' % (STAMP_SO, value, extra))


def build_so(tmp, name):
    """Compile filters_src/NAME.c into tmp/NAME.so as an operator would."""
    out = os.path.join(tmp, name + '.so')
    subprocess.run(['gcc', '-shared', '-fPIC', '-fvisibility=hidden', '-Wall',
                    '-Werror', '-I', os.path.join(SRC, 'include'), '-o', out,
                    os.path.join(FILTERS_SRC, name + '.c')], check=True)
    return out


# --- 1. the example filter on live traffic ------------------------------------

def test_stamp_traffic():
    up = Upstream()
    body = stamp_section(
        'nab {profile} #{session} it\'s <ok> & "fine" {{x}',
        'stanzas = iq message\n') + (
        '[profile stamped]\n'
        'filters = stamp\n')
    with Proxy(up.addr, body, default='stamped') as px:
        se = Session(px, up)
        se.open()
        stamp = (b" x-proxy='nab stamped #%d it&apos;s &lt;ok&gt; &amp; "
                 b"&quot;fine&quot; {x}'" % se.id)
        # A listed stanza: the attribute is appended; the host re-serialises
        # the edited stanza (single quotes, no self-closing tags).
        se.up(b"<iq type='get' id='1'><query xmlns='jabber:iq:register'/></iq>",
              b"<iq type='get' id='1'" + stamp +
              b"><query xmlns='jabber:iq:register'></query></iq>")
        # Whitespace and stanzas not listed pass byte for byte.
        se.up(b"\n\t<presence/>")
        # overwrite = no: a stanza that already has the attribute is left as sent.
        se.up(b'<message to="a@almacska" x-proxy="mine"><body>hi</body></message>')
        se.up(b'<message to="a@almacska"><body>hi &amp; bye</body></message>',
              b"<message to='a@almacska'" + stamp +
              b"><body>hi &amp; bye</body></message>")
        # Stanzas to the rabbit are never stamped.
        se.down(b"<iq type='result' id='1'/><message from='a@almacska'><body>x</body></message>")
        se.close()
        px.wait_log(rb'session %d: stamp: stamped 2 stanzas, 1 already had the '
                    rb'attribute' % se.id)
        px.wait_log(rb'session %d: freed' % se.id)
    up.close()
    print('PASS stamp: listed stanzas to the server stamped, escaped, '
          'everything else byte for byte')

    # overwrite = yes, other stanza names, {mac}/{firmware} empty until known.
    up = Upstream()
    body = stamp_section('[{mac}|{firmware}]', 'stanzas = presence\noverwrite = yes\n') + (
        '[profile stamped]\n'
        'filters = stamp\n')
    with Proxy(up.addr, body, default='stamped') as px:
        se = Session(px, up)
        se.open()
        se.up(b"<iq type='get' id='1'/>")
        se.up(b"<presence x-proxy='old'><show>away</show></presence>",
              b"<presence x-proxy='[|]'><show>away</show></presence>")
        se.up(register_set(b'f81edfee27c1', id_='r1'))
        se.up(b"<presence/>", b"<presence x-proxy='[f81edfee27c1|simulator]'></presence>")
        se.close()
        px.wait_log(rb'session %d: stamp: stamped 2 stanzas, 0 already' % se.id)
    up.close()
    print('PASS stamp: overwrite = yes, stanzas =, placeholders from the session')


# --- 2. loader refusals -----------------------------------------------------------

def check_config(conf):
    p = subprocess.run([BIN, '--check-config', '-c', conf], capture_output=True,
                       timeout=30)
    return p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace')


def test_check_config(tmp):
    sos = {n: build_so(tmp, n) for n in
           ('abi_major2', 'no_symbol', 'bad_magic', 'small_struct')}
    with open(os.path.join(tmp, 'not_elf.so'), 'w') as f:
        f.write('this is not a shared object\n')
    missing = os.path.join(tmp, 'missing.so')
    cases = [
        ('abi_major2', sos['abi_major2'],
         'filter ABI 2.0, this nabproxy speaks ABI 1.x'),
        ('no_symbol', sos['no_symbol'],
         "not a nabproxy filter: no symbol 'nab_filter' exported"),
        ('missing', missing,
         'cannot load: %s: cannot open shared object file: No such file or directory'
         % missing),
        ('bad_magic', sos['bad_magic'], 'not a nabproxy filter (bad magic 0x12345678)'),
        ('small_struct', sos['small_struct'],
         'filter descriptor struct_size 24 is smaller than the ABI 1.0 descriptor'),
        ('not_elf', os.path.join(tmp, 'not_elf.so'), 'cannot load: %s: ' %
         os.path.join(tmp, 'not_elf.so')),
    ]
    for name, path, why in cases:
        conf = os.path.join(tmp, 'check-%s.conf' % name)
        with open(conf, 'w') as f:
            f.write('[nabproxy]\nupstream = 127.0.0.1:1\nstate-dir = %s\n\n'
                    '# an external filter\n'
                    '[filter %s]\npath = %s\n' % (tmp, name, path))
        rc, out, err = check_config(conf)
        want = '%s:6: filter %s in %s: %s' % (conf, name, path, why)
        assert rc == 1, '%s: exit %d\n%s%s' % (name, rc, out, err)
        assert want in err, '%s: expected\n  %s\nin\n%s' % (name, want, err)
        assert 'configuration OK' not in out, out
        print('PASS --check-config refuses %s: %s' % (name, err.strip().splitlines()[0]))

    # A filter built against the ABI 1.1 header loads, gets its own keys
    # (the host judges none of them) and reports its own errors.
    old = build_so(tmp, 'abi_1_1')
    conf = os.path.join(tmp, 'old.conf')
    for extra, want_rc, want in (('greeting = hi\n', 0, 'configuration OK\n'),
                                 ('greeting = hi\ncolour = red\n', 1,
                                  "%s:7: filter abi-1-1 in %s: unknown key 'colour'\n"
                                  % (conf, old))):
        with open(conf, 'w') as f:
            f.write('[nabproxy]\nupstream = 127.0.0.1:1\nstate-dir = %s\n'
                    '[filter abi-1-1]\npath = %s\n%s'
                    '[profile p]\nfilters = abi-1-1\n' % (tmp, old, extra))
        rc, out, err = check_config(conf)
        assert rc == want_rc and want in (out + err), (rc, out, err, want)
    p = subprocess.run([BIN, 'filters', old], capture_output=True, timeout=30)
    assert p.returncode == 0 and p.stdout.decode().endswith(
        'abi-1-1 1.1 (%s, ABI 1.1)\n  settings: not declared (the filter reads '
        'its own keys)\n\n' % old), p
    print('PASS an ABI 1.1 filter loads with its own keys and errors; '
          'nabproxy filters lists it')

    # A relative path is the config file's directory, not the library path.
    shutil.copy(STAMP_SO, os.path.join(tmp, 'stamp.so'))
    conf = os.path.join(tmp, 'relative.conf')
    with open(conf, 'w') as f:
        f.write('[nabproxy]\nupstream = 127.0.0.1:1\nstate-dir = %s\n'
                '[filter stamp]\npath = stamp.so\nattribute = x\nvalue = y\n'
                '[profile p]\nfilters = stamp\n' % tmp)
    rc, out, err = check_config(conf)
    assert rc == 0 and out == 'configuration OK\n', (rc, out, err)
    print('PASS --check-config loads path = stamp.so next to the config')

    # The example's own settings: file:line of the offending key.
    bad = [
        ('attribute = x-proxy\nvalue = a\ncolour = red\n', 8,
         "colour: unknown setting (allowed: attribute, value, stanzas, overwrite)"),
        ('attribute = xmlns:evil\nvalue = a\n', 6,
         "attribute: 'xmlns:evil' is not allowed"),
        ('attribute = x\nvalue = a{bogus}\n', 7,
         "value: has an unknown placeholder at '{bogus}'"),
        ('attribute = x\nvalue = a\noverwrite = maybe\n', 8,
         "overwrite: 'maybe' is not a boolean (yes or no)"),
        ('attribute = x\nvalue = a\nstanzas =\n', 8,
         "stanzas: is 0 bytes long, allowed 1..255"),
        ('attribute = x\nvalue = a\nstanzas = iq 9lives\n', 8,
         "stanzas: 'iq 9lives' is not a list of 1 to 8 element names"),
        ('attribute = x\nvalue = a\nvalue = b\n', 8,
         "value: already set at line 7, allowed once"),
        ('attribute = x\n', 4, "value: required, not set"),
    ]
    for keys, line, why in bad:
        conf = os.path.join(tmp, 'stamp-bad.conf')
        with open(conf, 'w') as f:
            f.write('[nabproxy]\nupstream = 127.0.0.1:1\nstate-dir = %s\n'
                    '[filter stamp]\npath = %s\n%s' % (tmp, STAMP_SO, keys))
        rc, out, err = check_config(conf)
        want = '%s:%d: filter stamp in %s: %s' % (conf, line, STAMP_SO, why)
        assert rc == 1 and want in err, 'expected\n  %s\ngot %d\n%s%s' % (
            want, rc, out, err)
    print('PASS --check-config: stamp settings refused at their file:line')


# --- 3. reload ----------------------------------------------------------------------

def test_reload(tmp):
    bad_so = build_so(tmp, 'abi_major2')
    up = Upstream()
    profile = '[profile stamped]\nfilters = stamp\n'
    with Proxy(up.addr, stamp_section('A') + profile, default='stamped') as px:
        old = Session(px, up)
        old.open()
        old.up(b"<iq id='1'/>", b"<iq id='1' x-proxy='A'></iq>")

        # A filter that cannot load: the whole reload is refused.
        px.write_conf(stamp_section('B') + '[filter broken]\npath = %s\n' % bad_so +
                      '[profile stamped]\nfilters = stamp broken\n', default='stamped')
        tail = px.reload(rb'reload refused, keeping the running one: .*filter broken '
                         rb'in .*abi_major2\.so: filter ABI 2\.0')
        assert b'reload done' not in tail, tail
        old.up(b"<iq id='2'/>", b"<iq id='2' x-proxy='A'></iq>")
        new = Session(px, up)
        new.open()
        new.up(b"<iq id='3'/>", b"<iq id='3' x-proxy='A'></iq>")
        new.close()

        # A setting the filter refuses: refused too, at its line.
        px.write_conf(stamp_section('{nope}') + profile, default='stamped')
        px.reload(rb'reload refused, keeping the running one: .*:11: filter stamp '
                  rb'in .*: value: has an unknown placeholder')
        # A config that does not parse.
        px.write_conf(stamp_section('B') + profile + 'no-such-key = 1\n', default='stamped')
        px.reload(rb'reload refused: configuration has errors, keeping the running one')
        old.up(b"<iq id='4'/>", b"<iq id='4' x-proxy='A'></iq>")
        new = Session(px, up)
        new.open()
        new.up(b"<iq id='5'/>", b"<iq id='5' x-proxy='A'></iq>")
        new.close()
        print('PASS SIGHUP with a broken filter, a refused setting, a bad config: '
              'old chain kept')

        # A good new config: new sessions get it, the open one keeps its chain.
        px.write_conf(stamp_section('B', 'overwrite = yes\n') + profile,
                      default='stamped')
        px.reload(rb'reload done')
        new = Session(px, up)
        new.open()
        new.up(b"<iq id='6' x-proxy='x'/>", b"<iq id='6' x-proxy='B'></iq>")
        old.up(b"<iq id='7' x-proxy='x'/>")
        old.up(b"<iq id='8'/>", b"<iq id='8' x-proxy='A'></iq>")
        old.down(b"<iq type='result' id='8'/>")
        new.close()
        old.close()
        px.wait_log(rb'session %d: stamp: stamped 4 stanzas, 1 already had the '
                    rb'attribute' % old.id)
        px.wait_log(rb'session %d: stamp: stamped 1 stanzas, 0 already had the '
                    rb'attribute' % new.id)
    up.close()
    print('PASS SIGHUP with a good config: new session stamped B, open session still A')


# --- 4. an invalid verdict --------------------------------------------------------

def test_bad_verdict(tmp):
    so = build_so(tmp, 'bad_verdict')
    up = Upstream()
    body = (stamp_section('ok') +
            '[filter bad-verdict]\npath = %s\n' % so +
            '[profile sim]\nfilters = bad-verdict\nmatch-firmware = simulator\n'
            '[profile stamped]\nfilters = stamp\n')
    with Proxy(up.addr, body, default='stamped') as px:
        good = Session(px, up)
        good.open()
        good.up(b"<iq id='1'/>", b"<iq id='1' x-proxy='ok'></iq>")
        bad = Session(px, up)
        bad.open()
        # The simulator's register set (stamped: the default profile is on).
        reg = register_set(b'f81edfee27c1')
        bad.c.sendall(reg)
        expect(bad.s, reg.replace(b"id='reg1'>", b"id='reg1' x-proxy='ok'>"),
               what='server')
        bad.down(b"<iq type='result' id='reg1'/>")
        bad.sasl_restart(b'f81edfee27c1')
        px.wait_log(rb'session %d: profile sim selected at stream restart' % bad.id)
        # The bad filter answers 42 to a <message>: only this session closes.
        bad.c.sendall(b"<message to='a@almacska'><body>x</body></message>")
        got = recv_all(bad.c)
        assert got == STREAM_ERROR % b'internal-server-error', got
        assert recv_all(bad.s) == b'</stream:stream>', 'server side'
        px.wait_log(rb'session %d: filter bad-verdict returned invalid verdict 42: '
                    rb'closing this session' % bad.id)
        bad.close()
        good.up(b"<message to='a@almacska'><body>x</body></message>",
                b"<message to='a@almacska' x-proxy='ok'><body>x</body></message>")
        good.down(b"<iq type='result' id='1'/>")
        assert b'session %d: closing' % good.id not in px.log(), px.log()
        good.close()
        px.wait_log(rb'session %d: stamp: stamped 2 stanzas' % good.id)
    up.close()
    print('PASS invalid verdict 42 closes only its session; the other keeps working')


# --- 5. profile selection ------------------------------------------------------

SELECT_PROFILES = (
    '[profile by-mac]\nfilters = stamp\nmatch-mac = 00:13:D3:*\n'
    '[profile sim]\nfilters = stamp\nmatch-firmware = simulator\n'
    '[profile boot]\nfilters = stamp\nmatch-firmware = bootcode-*\n')


def selection(px, up, before, want, mac, firmware, detect=True):
    """before: stanzas before SASL; the profile `want` must take over after."""
    se = Session(px, up)
    se.open()
    for st in before:
        se.up(st)     # default profile: passthrough, nothing changes
    if detect:
        px.wait_log(rb'firmware detected: %s' % firmware.encode())
    se.sasl_restart(mac.encode() if mac != '?' else b'tester')
    px.wait_log(rb'session %d: profile %s selected at stream restart '
                rb'\(mac=%s firmware=%s\)' % (se.id, want.encode(), re.escape(mac.encode()),
                                              re.escape(firmware.encode())))
    # The new chain is the one that runs now.
    se.up(b"<iq type='get' id='after'/>",
          b"<iq type='get' id='after' x-proxy='%s/%s/%s'></iq>" % (
              want.encode(), mac.encode() if mac != '?' else b'',
              firmware.encode() if firmware != '?' else b''))
    se.close()
    px.wait_log(rb'session %d: freed' % se.id)


def test_selection():
    up = Upstream()
    body = stamp_section('{profile}/{mac}/{firmware}') + SELECT_PROFILES
    with Proxy(up.addr, body) as px:
        selection(px, up, [register_set(b'f81edfee27c1')], 'sim', 'f81edfee27c1',
                  'simulator')
        print('PASS simulator (jabber:iq:register with <name>/<email>) -> profile sim')
        selection(px, up, [register_set(b'f81edfee27c1', False, 'violet:iq:register')],
                  'boot', 'f81edfee27c1', 'bootcode-18673')
        print('PASS bootcode (violet:iq:register) -> profile boot')
        selection(px, up, [b"<iq from='f81edfee27c1@almacska/' type='set' id='b'>"
                           b"<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                           b"<resource>boot</resource></bind></iq>"],
                  'boot', '?', 'bootcode-18673')
        print("PASS bootcode (bind from ending in '/') -> profile boot")
        # Nothing recognised: the default profile stays, no restart line.
        se = Session(px, up)
        se.open()
        se.up(register_set(b'aabbccddeeff', False))
        se.sasl_restart(b'aabbccddeeff')
        se.up(b"<iq type='get' id='after'/>")
        se.close()
        px.wait_log(rb'session %d: MAC learned from the register username: '
                    rb'aabbccddeeff\n' % se.id)
        px.wait_log(rb'session %d: freed' % se.id)
        assert not re.search(rb'session %d: (firmware detected|profile \S+ selected)'
                             % se.id, px.log()), px.log()
        print('PASS nothing recognised -> default profile kept')
    up.close()


def test_selection_mac():
    """The MAC comes from the register username (12 hex digits)."""
    up = Upstream()
    body = stamp_section('{profile}/{mac}/{firmware}') + SELECT_PROFILES
    with Proxy(up.addr, body) as px:
        # MAC and firmware both known: by-mac comes first in the file.
        selection(px, up, [register_set(b'0013D3AABBCC')], 'by-mac', '0013d3aabbcc',
                  'simulator')
        # No firmware recognised, MAC only.
        selection(px, up, [register_set(b'0013d3000001', False)], 'by-mac',
                  '0013d3000001', '?', detect=False)
        # Another vendor prefix: firmware decides.
        selection(px, up, [register_set(b'f81edfee27c1')], 'sim', 'f81edfee27c1',
                  'simulator')
    up.close()
    print('PASS match-mac 00:13:D3:* selects by-mac from the register username')


def main():
    if not os.path.exists(STAMP_SO):
        print('FAIL %s is not built' % STAMP_SO)
        return 1
    tmp = tempfile.mkdtemp(prefix='nab-it-filters-')
    try:
        test_stamp_traffic()
        test_check_config(tmp)
        test_reload(tmp)
        test_bad_verdict(tmp)
        test_selection()
        test_selection_mac()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
