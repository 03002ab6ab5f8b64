"""A simulator of the Nabaztag/tag bootcode 18673 XMPP client (stdlib only).

It sends the exact bytes of Table A of docs/firmware/bootcode-xmpp.md
(A1..A12), with the firmware's DIGEST-MD5 quirks (base64 one '=' short,
a NUL byte after the 13-digit cnonce, a challenge parser that answers only
nonce/qop="auth"/charset=utf-8/algorithm=md5-sess without ", "), and reads
what it receives the way the firmware's own XML parser does (section 7 and
the verified rules of section 12), failing loudly where the real rabbit
would go wrong:

  FirmwareFatal   the rabbit would be broken for good or reboot: leading
                  text in its buffer (deaf), a stream header split across
                  reads or not preceded directly by <?xml?> in the same
                  read, an attribute-less <x/> (read as "x/", whose end
                  never comes), a self-closing element followed by its
                  name's end tag (swallowed up to it), a valueless or
                  unterminated attribute, </stream:stream> (reboot), data
                  after <success> in the same read (lost), or a stanza the
                  firmware reads differently from what the XML says
                  (entities are never decoded, names end at the first
                  space, ...).
  FirmwareError   the rabbit fails a step the way the state machine of
                  section 2-4 says (registration error, SASL failure,
                  silence on a challenge it cannot parse, bind loop,
                  sources error, a deadline missed).

Usage:
    fw = Firmware('127.0.0.1', port, 'f81edfee27c1', 'almacska')
    fw.boot()              # A1 .. A11: registration if no password, idle
    fw.password            # what conf.bin would now hold
    fw.jid                 # what the firmware believes its JID is
    nodes = fw.idle(2.0)   # stanzas received while free (parsed FwNode)
    fw.close()

A recv() may merge several TCP segments, never split one, so "in one
segment" is checked as "in one recv()": a split seen here is a real split.
"""

import base64
import hashlib
import random
import socket
import time
import xml.etree.ElementTree as ET

NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl'
NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind'
NS_STREAM = 'http://etherx.jabber.org/streams'

# Table A, byte for byte ({N} per-stream id counter, from 1).
A1 = ("<?xml version='1.0' encoding='UTF-8'?>\n<stream:stream to='{DOM}' "
      "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
      "version='1.0'>\n")
A2 = "<iq type='get' id='{N}'><query xmlns='violet:iq:register'/></iq>"
A3 = ("<iq to='{DOM}' type='set' id='{N}'><query xmlns=\"violet:iq:register\">"
      "<username>{MAC}</username><password>{XPW}</password></query></iq>")
A4 = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>"
A5 = "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{B64}</response>"
A6 = "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
A7 = ("<iq from=\"{MAC}@{DOM}/{PREV}\" to=\"{DOM}\" type='set' id='{N}'>"
      "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{RES}</resource>"
      "</bind></iq>")
A8 = ("<iq from='{JID}' to='{DOM}' type='set' id='{N}'>"
      "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>")
A9 = ("<iq from='{JID}' to='net.violet.platform@{DOM}/sources' type='get' "
      "id='{N}'><query xmlns=\"violet:iq:sources\"><packet xmlns=\"violet:packet\" "
      "format=\"1.0\"/></query></iq>")
A10 = "<presence from='{JID}' id='{N}'></presence>"
A11 = ("<iq from='{MAC}@{DOM}/{PREV}' to='{DOM}' type='set' id='{N}'>"
       "<unbind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{PREV}"
       "</resource></unbind></iq>")
A12 = ' '
# A13 (button: 1 click or 2, optional <event>) and A14 (ears), to the
# `int` address (section 9).
A13 = ("<message from='{JID}' to='int@xmpp.objects.violet.net/int' id='{N}'>"
       "<button xmlns=\"violet:nabaztag:button\"><clic>{C}</clic>{EV}</button></message>")
A14 = ("<message from='{JID}' to='int@xmpp.objects.violet.net/int' id='{N}'>"
       "<ears xmlns=\"violet:nabaztag:ears\"><left>{L}</left><right>{R}</right>"
       "</ears></message>")

VIOLET_DOMAINS = ('xmpp.platform.violet.net', 'xmpp.objects.violet.net',
                  'xmpp.applet.violet.net')
B64 = b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

HEADER_DEADLINE = 3.0    # server header after A1 (section 1)
SASL_DEADLINE = 12.0     # A4 or register result -> success; success -> session


class FirmwareFatal(AssertionError):
    """The rabbit would be deaf, stalled or rebooted by what it received."""


class FirmwareError(AssertionError):
    """The rabbit's state machine fails this step (section 2-5)."""


def fill(template, **kw):
    for k, v in kw.items():
        template = template.replace('{%s}' % k, v)
    return template


# --------------------------------------------------------------------------
# The firmware's XML parser (bootcode-xmpp.md 7 and 12).

class FwNode:
    """An element as the firmware reads it: name with its prefix, attributes
    by first exact name, children (FwNode or bytes), nothing decoded."""

    def __init__(self, name):
        self.name = name
        self.attrs = []
        self.children = []
        self.raw = b''

    def attr(self, name):
        for k, v in self.attrs:
            if k == name:
                return v
        return None

    def child(self, name):
        for c in self.children:
            if isinstance(c, FwNode) and c.name == name:
                return c
        return None

    def text(self):
        """'text' = first child, if it is text (section 7.6)."""
        if self.children and isinstance(self.children[0], bytes):
            return self.children[0]
        return None

    def __repr__(self):
        return '<FwNode %s %r>' % (self.name.decode(errors='replace'), self.raw[:200])


def _fw_attrs(window, where):
    """Attributes of a start tag: 0x20-separated name=QvalueQ; the byte after
    '=' is the quote, anything but ' counts as " (12.3)."""
    out, i = [], 0
    while i < len(window):
        if window[i:i + 1] == b' ':
            i += 1
            continue
        eq = window.find(b'=', i)
        if eq == -1 or b' ' in window[i:eq]:
            raise FirmwareFatal('valueless attribute %r in %r: the firmware names it NIL '
                                '(12.4)' % (window[i:], where))
        name = window[i:eq]
        q = b"'" if window[eq + 1:eq + 2] == b"'" else b'"'
        close = window.find(q, eq + 2)
        if close == -1:
            raise FirmwareFatal('unterminated attribute %r in %r: the firmware recurses '
                                'until out of memory and reboots (12.5)' % (name, where))
        out.append((name, window[eq + 2:close]))
        i = close + 1
    return out


def fw_parse(buf, pos=0, end=None):
    """Parse the element at buf[pos] ('<') within buf[:end] the firmware's
    way. Returns (FwNode, end offset), or None if its end tag has not
    arrived yet. Raises FirmwareFatal where the firmware misreads."""
    if end is None:
        end = len(buf)
    gt = buf.find(b'>', pos + 1, end)
    if gt == -1:
        return None
    sp = buf.find(b' ', pos + 1, end)
    name_end = sp if sp != -1 and sp < gt else gt
    name = buf[pos + 1:name_end]
    if name.endswith(b'/'):
        raise FirmwareFatal('attribute-less self-closing <%s>: the firmware reads an '
                            'element named %r whose end never comes (7.2)'
                            % (name.decode(errors='replace'), name))
    if name[:1] in (b'!', b'?'):
        raise FirmwareFatal('comment, CDATA or PI %r: the firmware misreads it (7.4)'
                            % buf[pos:gt + 1])
    etag = b'</' + name + b'>'
    if buf[gt - 1:gt] == b'/':
        # <x a='1'/>: empty, unless a literal </x> follows in the buffer.
        if buf.find(etag, gt + 1, end) != -1:
            raise FirmwareFatal('self-closing %r followed by a %r: the firmware takes '
                                'that end tag as its end and swallows what lies between '
                                '(7.3, 12.2)' % (buf[pos:gt + 1], etag))
        node = FwNode(name)
        node.attrs = _fw_attrs(buf[name_end:gt - 1], buf[pos:gt + 1])
        node.raw = buf[pos:gt + 1]
        return node, gt + 1
    close = buf.find(etag, gt + 1, end)
    if close == -1:
        return None
    node = FwNode(name)
    node.attrs = _fw_attrs(buf[name_end:gt], buf[pos:gt + 1])
    i = gt + 1
    while i < close:
        if buf[i:i + 1] == b'<':
            r = fw_parse(buf, i, close)
            if r is None:
                raise FirmwareFatal('the end tag of the child at %r is not inside its '
                                    'parent <%s>: the firmware misreads the nesting (7.3)'
                                    % (buf[i:i + 60], name.decode(errors='replace')))
            child, i = r
            node.children.append(child)
        else:
            lt = buf.find(b'<', i, close)
            lt = close if lt == -1 else lt
            node.children.append(buf[i:lt])
            i = lt
    node.raw = buf[pos:close + len(etag)]
    return node, close + len(etag)


def _local(tag):
    return tag.split('}', 1)[1] if tag.startswith('{') else tag


def _et_attr_name(k):
    if k.startswith('{http://www.w3.org/XML/1998/namespace}'):
        return 'xml:' + _local(k)
    return _local(k)


def _compare(fw, el, path):
    """The firmware's reading must equal the XML meaning (names, attributes,
    text, element children); otherwise the rabbit misreads it."""
    name = fw.name.decode(errors='replace')
    if name.split(':')[-1] != _local(el.tag):
        raise FirmwareFatal('%s: the firmware reads <%s>, the XML says <%s>'
                            % (path, name, _local(el.tag)))
    for k, v in el.attrib.items():
        got = fw.attr(_et_attr_name(k).encode())
        if got is None or got.decode(errors='replace') != v:
            raise FirmwareFatal('%s/@%s: the firmware reads %r, the XML says %r (no '
                                'entity is decoded)' % (path, _et_attr_name(k), got, v))
    fw_text = b''.join(c for c in fw.children if isinstance(c, bytes)).decode(errors='replace')
    et_text = (el.text or '') + ''.join(c.tail or '' for c in el)
    if fw_text.strip() != et_text.strip():
        raise FirmwareFatal('%s: the firmware reads text %r, the XML says %r (no entity '
                            'is decoded)' % (path, fw_text, et_text))
    fw_kids = [c for c in fw.children if isinstance(c, FwNode)]
    if len(fw_kids) != len(el):
        raise FirmwareFatal('%s: the firmware sees %d children, the XML has %d'
                            % (path, len(fw_kids), len(el)))
    for a, b in zip(fw_kids, el):
        _compare(a, b, path + '/' + _local(b.tag))


def check_reading(node):
    """Raise FirmwareFatal if the firmware's tree differs from the XML's."""
    wrapped = (b"<w xmlns='jabber:client' xmlns:stream='" + NS_STREAM.encode() + b"'>"
               + node.raw + b'</w>')
    try:
        el = ET.fromstring(wrapped)[0]
    except ET.ParseError as e:
        raise FirmwareFatal('not well-formed XML sent to the rabbit: %s: %r' % (e, node.raw))
    _compare(node, el, _local(el.tag))


# --------------------------------------------------------------------------
# The firmware's base64 and DIGEST-MD5.

def fw_b64decode(s):
    """Its decoder: '=' counts as a zero sextet, so each adds a trailing NUL
    (harmless, section 3); any other byte outside the alphabet would shift
    its 4-byte grouping, so the test refuses it."""
    for ch in s:
        if ch not in B64 and ch != ord('='):
            raise FirmwareFatal('byte %r in base64 %r: the firmware skips it but its '
                                '4-byte grouping shifts (section 3)' % (bytes([ch]), s))
    if len(s) % 4:
        raise FirmwareFatal('base64 %r is not a multiple of 4 long' % s)
    out = bytearray()
    for i in range(0, len(s), 4):
        v = 0
        for ch in s[i:i + 4]:
            v = v << 6 | (0 if ch == ord('=') else B64.index(ch))
        out += bytes([v >> 16 & 255, v >> 8 & 255, v & 255])
    return bytes(out)


def fw_b64encode(data):
    """Its encoder: length = 1 mod 3 ends in '=' instead of '==', 2 mod 3 has
    no padding instead of '='."""
    s = base64.b64encode(data)
    return s.rstrip(b'=') + (b'=' if len(data) % 3 == 1 else b'')


def fw_parse_challenge(data):
    """Split at '=' and ','; a "-value runs to the next " and exactly one byte
    is skipped after it. nonce and algorithm may appear once."""
    kv, i = {}, 0
    while i < len(data):
        eq = data.find(b'=', i)
        if eq == -1:
            break
        key, j = data[i:eq], eq + 1
        if data[j:j + 1] == b'"':
            close = data.find(b'"', j + 1)
            if close == -1:
                value, i = data[j + 1:], len(data)
            else:
                value, i = data[j + 1:close], close + 2
        else:
            comma = data.find(b',', j)
            value, i = (data[j:], len(data)) if comma == -1 else (data[j:comma], comma + 1)
        if key in (b'nonce', b'algorithm') and key in kv:
            raise FirmwareError('%r twice in the challenge %r: the firmware errors' % (key, data))
        kv[key] = value.rstrip(b'\0')   # padding NULs compare equal (7.7)
    return kv


def md5(b):
    return hashlib.md5(b).digest()


def md5hex(b):
    return hashlib.md5(b).hexdigest().encode()


# --------------------------------------------------------------------------
# The client.

class Firmware:
    def __init__(self, host, port, mac, domain, password=None, timeout=10.0,
                 register_password=None, rng=None):
        """password: what conf.bin holds (None: the rabbit registers first).
        register_password: force the "random" password it registers."""
        self.host, self.port = host, port
        self.mac, self.domain = mac, domain
        self.password = password
        self.register_password = register_password
        self.timeout = timeout
        self.rng = rng or random.Random()
        self.sock = None
        self.lines = []           # what the firmware would log, for failures
        self.jid = None           # {JID}
        self.resource = None
        self.prev = ''            # {PREV}
        self.server_jid = None    # the first bind result (what the server bound)
        self.queued = []          # stanzas kept for later (section 4 step 5)
        self.received = bytearray()
        self._buf = b''
        self._opening = True
        self._n = 0

    # -- transport ---------------------------------------------------------
    def connect(self):
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self

    def send(self, data):
        self.lines.append('Sending : %s(end)' % data)
        self.sock.sendall(data.encode())

    def next_id(self):
        self._n += 1
        return str(self._n)

    def close(self, wait=2.0):
        """Test cleanup (the real firmware never closes): end the stream and
        wait for the server's side, so jabberd2 frees its session first."""
        if self.sock is None:
            return
        try:
            self.sock.sendall(b'</stream:stream>')
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                if not self.sock.recv(65536):
                    break
        except OSError:
            pass
        self.sock.close()
        self.sock = None

    def _recv(self, deadline, what):
        left = deadline - time.monotonic()
        if left <= 0:
            raise FirmwareError('timed out waiting for %s' % what)
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise FirmwareError('timed out waiting for %s' % what)
        except ConnectionResetError:
            data = b''
        if not data:
            raise FirmwareFatal('connection closed while waiting for %s: a FIN reboots '
                                'the rabbit (section 1)' % what)
        self.received += data
        self.lines.append('XmppTcpRead %r' % data)
        return data

    # -- the stream as the firmware reads it --------------------------------
    def open_stream(self):
        """A1, then the server's header within one read (section 1)."""
        self._n = 0
        self._buf = b''
        self.queued = []
        self._opening = True
        self.send(fill(A1, DOM=self.domain))
        deadline = time.monotonic() + HEADER_DEADLINE
        tag = b'<stream:stream'
        while True:
            data = self._recv(deadline, 'the stream header')
            at = data.find(tag)
            if at == -1:
                # Not in this segment: it is discarded; a split tag never opens.
                for k in range(1, len(tag)):
                    if data.endswith(tag[:k]):
                        raise FirmwareFatal('stream header split across reads (%r): the '
                                            'firmware searches one segment only and '
                                            'never opens the stream (section 1)' % data)
                self.lines.append('no <stream:stream in %r: discarded' % data)
                continue
            gt = data.find(b'>', at)
            if gt == -1:
                raise FirmwareFatal('stream header tag split across reads (%r): the '
                                    'firmware never opens the stream (section 1)' % data)
            break
        self._opening = False
        self._buf = data[gt + 1:]
        return data[at:gt + 1]

    def _take(self):
        """One top-level element off the buffer, or None."""
        if not self._buf:
            return None
        if b'</stream:stream>' in self._buf:
            raise FirmwareFatal('</stream:stream> received: the rabbit reboots (section 5)')
        if self._buf[:1] != b'<':
            raise FirmwareFatal('leading text %r: the firmware replaces its buffer with it '
                                'and is deaf for good (7.1)' % self._buf[:40])
        r = fw_parse(self._buf)
        if r is None:
            return None
        node, n = r
        self._buf = self._buf[n:]
        check_reading(node)
        self.lines.append('Receive : %s' % node.raw.decode(errors='replace'))
        return node

    def read(self, deadline, what):
        """Next element (read more as needed)."""
        while True:
            node = self._take()
            if node is not None:
                return node
            self._buf += self._recv(deadline, what)

    def wait(self, pred, deadline, what):
        """First element for which pred is true; others are queued."""
        while True:
            node = self.read(deadline, what)
            if pred(node):
                return node
            self.queued.append(node)

    def features(self, deadline):
        node = self.read(deadline, 'stream:features')
        if node.name != b'stream:features':
            raise FirmwareError('expected stream:features, got %r' % node)
        return node

    # -- section 2: registration -------------------------------------------
    def gen_password(self):
        if self.register_password is not None:
            return self.register_password
        colons = ':'.join(self.mac[i:i + 2] for i in range(0, 12, 2))
        seed = '%d%s%d' % (self.rng.randrange(1 << 30), colons, int(time.time() * 1000))
        return hashlib.md5(seed.encode()).hexdigest()[1:13]

    @staticmethod
    def xor_hex(a, b):
        return ''.join('%x' % (int(x, 16) ^ int(y, 16)) for x, y in zip(a, b))

    def _iq(self, node):
        return node.name == b'iq'

    def register(self, deadline):
        self.send(fill(A2, N=self.next_id()))
        r = self.wait(self._iq, deadline, 'the register form (A2)')
        if r.attr(b'type') == b'error':
            raise FirmwareError('A2 answered with an error: sendMailXMPP FailureRegister1, '
                                'red until reboot: %r' % r.raw)
        if r.attr(b'type') != b'result':
            raise FirmwareError('A2 answered with type %r: "Type unwanted"' % r.attr(b'type'))
        pw = self.gen_password()
        xpw = self.xor_hex(pw, self.mac)
        self.send(fill(A3, DOM=self.domain, N=self.next_id(), MAC=self.mac, XPW=xpw))
        r = self.wait(self._iq, deadline, 'the register result (A3)')
        if r.attr(b'type') == b'error':
            raise FirmwareError('A3 answered with an error: sendMailXMPP FailureRegister2, '
                                'red until reboot: %r' % r.raw)
        if r.attr(b'type') != b'result':
            raise FirmwareError('A3 answered with type %r' % r.attr(b'type'))
        self.password = pw

    # -- section 3: DIGEST-MD5 ----------------------------------------------
    def digest(self, challenge, cnonce):
        kv = fw_parse_challenge(challenge)
        if kv.get(b'algorithm') != b'md5-sess' or kv.get(b'qop') != b'auth' or \
                kv.get(b'charset') != b'utf-8' or b'nonce' not in kv:
            raise FirmwareError('challenge %r is not one the firmware answers '
                                '(algorithm=md5-sess, qop=auth, charset=utf-8 exactly): '
                                'it stays silent until 12 s pass' % challenge)
        nonce, realm = kv[b'nonce'], kv.get(b'realm', b'')
        mac, dom, pw = self.mac.encode(), self.domain.encode(), self.password.encode()
        a1 = md5(mac + b':' + realm + b':' + pw) + b':' + nonce + b':' + cnonce
        ha1 = md5hex(a1)

        def kd(a2):
            return md5hex(ha1 + b':' + nonce + b':00000001:' + cnonce + b':auth:' + md5hex(a2))
        resp = kd(b'AUTHENTICATE:xmpp/' + dom)
        plain = (b'username="' + mac + b'",' + (b'realm="' + realm + b'",' if realm else b'')
                 + b'nonce="' + nonce + b'",cnonce="' + cnonce + b'",nc=00000001,qop=auth,'
                 b'digest-uri="xmpp/' + dom + b'",response=' + resp + b',charset=utf-8')
        return plain, kd(b':xmpp/' + dom)

    def sasl(self, deadline):
        """A4 .. A6; returns when <success> came (the stream restarts).
        self.sasl_steps records what the rabbit went through."""
        if not self.password:
            raise FirmwareError('no password: the firmware registers first')
        self.send(A4)
        self.sasl_steps = ['auth']
        sasl = (b'challenge', b'success', b'failure')
        expect = None             # the rspauth we would accept
        cnonce = ''.join(self.rng.choice('0123456789528460') for _ in range(13)).encode() + b'\0'
        while True:
            node = self.wait(lambda n: n.name in sasl, deadline, 'the SASL answer')
            if node.name != b'challenge' and node.attr(b'xmlns') != NS_SASL.encode():
                raise FirmwareError('%r with xmlns %r is ignored: the firmware waits 12 s'
                                    % (node.name, node.attr(b'xmlns')))
            if node.name == b'failure':
                self.sasl_steps.append('failure')
                self.failure = node
                self.password = None     # it re-registers after reconnecting
                raise FirmwareError('SASL failure: sendMailXMPP FailureLogin, reconnect, '
                                    're-register: %r' % node.raw)
            if node.name == b'success':
                self.sasl_steps.append('success')
                self.success = node
                if self._buf:
                    raise FirmwareFatal('%r after <success> in the same read: the stream '
                                        'restart empties the buffer (section 1)' % self._buf)
                return
            kv = fw_parse_challenge(fw_b64decode(node.text() or b''))
            if b'rspauth' in kv:
                if expect is None or kv[b'rspauth'] != expect:
                    raise FirmwareError('BAD rspauth=%r: silence until 12 s' % kv[b'rspauth'])
                self.sasl_steps.append('rspauth')
                self.send(A6)
                expect = None
                continue
            plain, expect = self.digest(fw_b64decode(node.text() or b''), cnonce)
            self.sasl_steps.append('challenge')
            self.send(fill(A5, B64=fw_b64encode(plain).decode()))

    # -- section 4: bind, session, sources, presence, unbind -----------------
    def bind(self, res, deadline):
        self.send(fill(A7, MAC=self.mac, DOM=self.domain, PREV=self.prev, N=self.next_id(),
                       RES=res))
        r = self.wait(self._iq, deadline, 'the bind result (A7)')
        b = r.child(b'bind')
        if r.attr(b'type') != b'result' or b is None or \
                b.attr(b'xmlns') != NS_BIND.encode() or b.child(b'jid') is None:
            raise FirmwareError('bind of %s answered %r: the request stays pending and the '
                                'firmware binds again at once (tight loop)' % (res, r.raw))
        jid = b.child(b'jid').text()
        if not jid:
            raise FirmwareError('bind result with an empty or late <jid> text: %r' % r.raw)
        self.jid = jid.decode()
        self.resource = self.jid.split('/', 1)[1] if '/' in self.jid else ''
        self.lines.append('Bind Done! JID=%s Resource=%s' % (self.jid, self.resource))
        return self.jid

    def session(self, deadline):
        self.send(fill(A8, JID=self.jid, DOM=self.domain, N=self.next_id()))
        r = self.wait(self._iq, deadline, 'the session result (A8)')
        if r.attr(b'type') != b'result':
            raise FirmwareError('session answered %r: free, no presence sent' % r.raw)
        self.lines.append('Session opened!')

    def sources(self, deadline):
        """A9; returns the packet blocks [(type, data)] of the answer."""
        self.send(fill(A9, JID=self.jid, DOM=self.domain, N=self.next_id()))
        r = self.wait(self._iq, deadline, 'the sources result (A9)')
        if r.attr(b'type') == b'error':
            raise FirmwareError('sources error: the firmware reconnects: %r' % r.raw)
        frm = (r.attr(b'from') or b'').decode()
        node, _, rest = frm.partition('@')
        dom = rest.split('/', 1)[0]
        if node != 'net.violet.platform' and dom != 'xmpp.objects.violet.net':
            raise FirmwareError('sources answer from %r: not the platform' % frm)
        q = r.child(b'query')
        p = q.child(b'packet') if q is not None else None
        if q is None or q.attr(b'xmlns') != b'violet:iq:sources' or p is None or \
                p.attr(b'xmlns') != b'violet:packet' or p.attr(b'format') != b'1.0':
            raise FirmwareError('sources answer without its packet: %r' % r.raw)
        to_res = (r.attr(b'to') or b'').decode().partition('/')[2]
        if to_res not in ('boot', 'urgent', 'sources'):
            raise FirmwareError('sources packet to resource %r would wait, not run' % to_res)
        return decode_packet(fw_b64decode(p.text() or b''))

    def presence(self, deadline):
        self.send(fill(A10, JID=self.jid, N=self.next_id()))
        # Any presence, from anyone; no timer in the firmware.
        self.wait(lambda n: n.name == b'presence', deadline,
                  'a presence after A10 (the firmware waits forever)')

    def unbind(self, deadline):
        self.send(fill(A11, MAC=self.mac, DOM=self.domain, PREV=self.prev, N=self.next_id()))
        self.wait(self._iq, deadline, 'the unbind answer (A11)')   # result or error: free

    def boot(self):
        """The whole boot of section 2-4: returns once the rabbit is idle."""
        self.connect()
        t = time.monotonic
        self.open_stream()
        feats = self.features(t() + self.timeout)
        mech = feats.child(b'mechanisms')
        if mech is None or mech.attr(b'xmlns') != NS_SASL.encode():
            raise FirmwareError('No SASL! (features %r): the firmware hangs' % feats.raw)
        if not self.password:
            self.register(t() + self.timeout)
        self.sasl(t() + SASL_DEADLINE)
        # Stream restart: A1 again, a header in one read, features with bind.
        self.open_stream()
        session_deadline = t() + SASL_DEADLINE
        feats = self.features(session_deadline)
        b = feats.child(b'bind')
        if b is None or b.attr(b'xmlns') != NS_BIND.encode():
            raise FirmwareError('no bind in the features after SASL: %r' % feats.raw)
        if feats.child(b'mechanisms') is not None:
            raise FirmwareError('mechanisms after SASL: %r' % feats.raw)
        self.server_jid = self.bind('boot', session_deadline)
        self.session(session_deadline)
        blocks = self.sources(t() + self.timeout)
        self.blocks = blocks
        if (11, b'\x00') not in blocks:
            raise FirmwareError('sources packet %r has no wake-up block: the rabbit does '
                                'not bind idle' % blocks)
        self.prev = self.resource
        self.bind('idle', t() + self.timeout)
        self.session(t() + self.timeout)
        self.presence(t() + self.timeout)
        self.unbind(t() + self.timeout)
        self.prev = self.resource
        self.lines.append('idle')
        return self

    # -- section 5: free ---------------------------------------------------
    def keepalive(self):
        self.send(A12)

    def button(self, clicks, event=None):
        """A13: a click (1) or a double click (2), with <event>v</event>,
        <event/> (event='') or nothing (None)."""
        ev = '' if event is None else ('<event/>' if event == '' else
                                       '<event>%s</event>' % event)
        self.send(fill(A13, JID=self.jid, N=self.next_id(), C=str(clicks), EV=ev))

    def ears(self, left, right):
        """A14: the ears were moved by hand."""
        self.send(fill(A14, JID=self.jid, N=self.next_id(), L=str(left), R=str(right)))

    def packets(self, seconds, count=1):
        """Read as a free rabbit until `count` violet:packet messages came
        (or `seconds` passed): the decoded blocks of each, and the messages."""
        got, out = [], []
        deadline = time.monotonic() + seconds
        while len(out) < count and time.monotonic() < deadline:
            for n in self.idle(min(0.5, max(0.05, deadline - time.monotonic()))):
                got.append(n)
                p = n.child(b'packet') if n.name == b'message' else None
                if p is not None and p.attr(b'xmlns') == b'violet:packet' \
                        and p.attr(b'format') == b'1.0':
                    out.append((decode_packet(fw_b64decode(p.text() or b'')), n))
        return out

    def idle(self, seconds):
        """Read for `seconds` as a free rabbit; returns what it received
        (queued stanzas first). Checks every byte like the rest."""
        out, self.queued = self.queued, []
        deadline = time.monotonic() + seconds
        while True:
            node = self._take()
            if node is not None:
                out.append(node)
                continue
            try:
                self._buf += self._recv(deadline, 'idle traffic')
            except FirmwareError:
                return out


def decode_packet(data):
    """Violet packet (section 5): 0x7f, blocks [type:1][len:3 BE][data], 0xff
    (trailing NULs from base64 padding ignored). Returns [(type, data)]."""
    if data[:1] != b'\x7f':
        raise FirmwareError('packet does not start with 0x7f: %r' % data)
    i, blocks = 1, []
    while i < len(data) and data[i] != 0xff:
        if i + 4 > len(data):
            raise FirmwareError('truncated packet block: %r' % data)
        n = int.from_bytes(data[i + 1:i + 4], 'big')
        blocks.append((data[i], data[i + 4:i + 4 + n]))
        i += 4 + n
    if i >= len(data) or data[i] != 0xff or data[i + 1:].strip(b'\0'):
        raise FirmwareError('packet does not end with 0xff: %r' % data)
    return blocks


def encode_packet(blocks):
    out = b'\x7f'
    for t, d in blocks:
        out += bytes([t]) + len(d).to_bytes(3, 'big') + d
    return out + b'\xff'


def from_violet(frm):
    """Would the firmware act on an iq from this address (section 5)?"""
    at = frm.find('@')
    return at != -1 and '/' in frm[at:] and frm[at + 1:frm.index('/', at)] in VIOLET_DOMAINS
