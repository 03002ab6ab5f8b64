"""Tiny blocking XMPP client for nabproxy integration tests (stdlib only).

Used directly against real servers and, in later tests, through the proxy, so
it keeps the raw bytes of everything it reads and writes:

    c = XMPPClient('127.0.0.1', port, domain='almacska')
    c.open_stream()                      # header + <stream:features>
    c.register('user', 'pw')             # XEP-0077 in-band registration
    c.auth('user', 'pw', 'SCRAM-SHA-1')  # or PLAIN / DIGEST-MD5 / None=best
    jid = c.bind('res'); c.session()
    c.send_message(jid, 'hello')
    msg = c.wait_message(body='hello', timeout=5)
    msg.raw                              # exact bytes of that stanza
    c.close()

Or simply `jid = c.login('user', 'pw')` for open_stream+auth+bind+session.

Parsing: the byte stream is cut into "units" (optional text + one complete
markup token) by a small quote-aware splitter, and each unit is fed to
xml.parsers.expat.  Feeding only complete tokens matters: Debian's libexpat
(2.5.0-1+deb12u5) carries the CVE-2023-52425 "reparse deferral" backport and
python3.11 in bookworm cannot switch it off, so feeding a tag split over
several recv()s can delay its events until much more data arrives.  The unit
boundaries also give the exact raw bytes of every top-level element.
"""

import base64
import hashlib
import hmac
import re
import secrets
import socket
import time
import zlib
import xml.etree.ElementTree as ET
from collections import deque
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

NS_STREAM = 'http://etherx.jabber.org/streams'
NS_CLIENT = 'jabber:client'
NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl'
NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind'
NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session'
NS_REGISTER = 'jabber:iq:register'
NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls'
NS_COMPRESS = 'http://jabber.org/protocol/compress'
NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas'

# Preference used when auth(mechanism=None).
MECH_PREFERENCE = ('SCRAM-SHA-1', 'DIGEST-MD5', 'PLAIN')
SCRAM_HASHES = {'SCRAM-SHA-1': 'sha1', 'SCRAM-SHA-256': 'sha256', 'SCRAM-SHA-512': 'sha512'}
MECHANISMS = ('PLAIN', 'DIGEST-MD5') + tuple(SCRAM_HASHES)   # what auth() implements


class XMPPError(Exception):
    """Protocol-level failure (unexpected element, stream error, ...)."""


class StreamClosed(XMPPError):
    """The peer closed the TCP connection or the XML stream."""


class Timeout(XMPPError):
    """A deadline passed while waiting for data."""


class StreamError(XMPPError):
    """The peer sent <stream:error/> (kept in .element)."""

    def __init__(self, element):
        super().__init__('stream error: %s' % element.raw.decode(errors='replace'))
        self.element = element


class AuthError(XMPPError):
    """SASL <failure/> or a bad server signature."""


class XElement(ET.Element):
    """ElementTree element that also carries `.raw`, the exact bytes read."""
    raw = b''


def q(tag, ns=NS_CLIENT):
    """Clark-notation tag name: q('message') == '{jabber:client}message'."""
    return '{%s}%s' % (ns, tag)


# --------------------------------------------------------------------------
# Incremental stream reader

class _Splitter:
    """Cut a byte stream into units: (text, markup) where markup is one whole
    tag / comment / CDATA section / PI, and text is the character data before
    it.  Quote-aware, so '>' inside attribute values is fine."""

    _TAG_SPECIAL = re.compile(rb'[>"\']')

    def __init__(self):
        self.buf = bytearray()
        self.scan = 0           # where scanning resumes
        self.tag_start = None   # index of '<' of the current token, or None
        self.quote = None       # b'"' / b"'" while inside an attribute value
        self.units = deque()

    def push(self, data):
        self.buf += data
        buf = self.buf
        while True:
            if self.tag_start is None:
                i = buf.find(b'<', self.scan)
                if i < 0:
                    self.scan = len(buf)
                    return
                self.tag_start = i
                self.scan = i + 1
                self.quote = None
            ts = self.tag_start
            head = bytes(buf[ts:ts + 9])
            if head.startswith(b'<!--') or head.startswith(b'<![CDATA['):
                term = b'-->' if head.startswith(b'<!--') else b']]>'
                j = buf.find(term, max(self.scan, ts + 4))
                if j < 0:
                    self.scan = max(ts + 4, len(buf) - len(term) + 1)
                    return
                end = j + len(term)
            elif len(head) < 9 and (b'<!--'.startswith(head) or
                                    b'<![CDATA['.startswith(head)):
                return  # cannot tell yet what kind of token this is
            else:
                end = None
                while True:
                    if self.quote is None:
                        m = self._TAG_SPECIAL.search(buf, self.scan)
                        if m is None:
                            self.scan = len(buf)
                            return
                        c = m.group()
                        self.scan = m.end()
                        if c == b'>':
                            end = m.end()
                            break
                        self.quote = c
                    else:
                        j = buf.find(self.quote, self.scan)
                        if j < 0:
                            self.scan = len(buf)
                            return
                        self.scan = j + 1
                        self.quote = None
            self.units.append((bytes(buf[:ts]), bytes(buf[ts:end])))
            del buf[:end]
            self.scan = 0
            self.tag_start = None
            self.quote = None


class _StreamParser:
    """expat wrapper for one XML stream (a new one after each restart)."""

    def __init__(self):
        p = expat.ParserCreate(encoding='UTF-8', namespace_separator='}')
        p.buffer_text = True
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self._chars
        self.p = p
        self.depth = 0
        self.header = None       # XElement of <stream:stream>, once seen
        self.closed = False      # </stream:stream> seen
        self.done = deque()      # complete top-level XElements
        self.stack = []
        self.acc = bytearray()
        self._unit = (b'', b'')
        self._unit_used = False
        self._prolog = bytearray()

    @staticmethod
    def _name(n):
        return '{' + n if '}' in n else n

    def feed_unit(self, text, tag):
        self._unit = (text, tag)
        self._unit_used = False
        if self.depth == 0:
            self._prolog += text + tag
        try:
            self.p.Parse(text + tag, False)
        except expat.ExpatError as e:
            raise XMPPError('XML error: %s in %r' % (e, text + tag)) from e
        if self.depth >= 2:
            self._take_unit()   # comment / CDATA / text inside a stanza

    def _take_unit(self):
        if not self._unit_used:
            self._unit_used = True
            self.acc += self._unit[0] + self._unit[1]

    def _start(self, name, attrs):
        self.depth += 1
        el = XElement(self._name(name), {self._name(k): v for k, v in attrs.items()})
        if self.depth == 1:
            el.raw = bytes(self._prolog)
            self.header = el
            return
        if self.depth == 2:
            self.acc = bytearray(self._unit[1])   # drop whitespace before it
            self._unit_used = True
        else:
            self._take_unit()
            self.stack[-1].append(el)
        self.stack.append(el)

    def _end(self, name):
        if self.depth == 1:
            self.closed = True
        else:
            self._take_unit()
            el = self.stack.pop()
            if self.depth == 2:
                el.raw = bytes(self.acc)
                self.acc = bytearray()
                self.done.append(el)
        self.depth -= 1

    def _chars(self, data):
        if not self.stack:
            return
        cur = self.stack[-1]
        if len(cur):
            cur[-1].tail = (cur[-1].tail or '') + data
        else:
            cur.text = (cur.text or '') + data


# --------------------------------------------------------------------------
# SASL helpers

def _scram_escape(s):
    return s.replace('=', '=3D').replace(',', '=2C')


def _parse_kv(s, sep=','):
    """Parse 'a=b,c="d,e"' (DIGEST-MD5 and SCRAM attribute lists)."""
    out = {}
    for m in re.finditer(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^%s]*)\s*(?:%s|$)'
                         % (sep, sep), s):
        k, v = m.group(1), m.group(2)
        if v.startswith('"'):
            v = re.sub(r'\\(.)', r'\1', v[1:-1])
        out.setdefault(k, v)
    return out


class Scram:
    """SCRAM-SHA-1/-256/-512 client (RFC 5802, RFC 7677), no channel binding."""

    def __init__(self, user, password, hashname='sha1', nonce=None):
        self.user, self.password, self.hashname = user, password, hashname
        self.cnonce = nonce or base64.b64encode(secrets.token_bytes(18)).decode()
        self.gs2 = 'n,,'
        self.client_first_bare = 'n=%s,r=%s' % (_scram_escape(user), self.cnonce)
        self.server_signature = None

    def first(self):
        return (self.gs2 + self.client_first_bare).encode()

    def final(self, server_first):
        server_first = server_first.decode()
        a = _parse_kv(server_first)
        if 'e' in a:
            raise AuthError('SCRAM server error: ' + a['e'])
        nonce, salt, it = a['r'], base64.b64decode(a['s']), int(a['i'])
        if not nonce.startswith(self.cnonce):
            raise AuthError('SCRAM nonce mismatch')
        h = self.hashname
        salted = hashlib.pbkdf2_hmac(h, self.password.encode(), salt, it)
        client_key = hmac.new(salted, b'Client Key', h).digest()
        stored_key = hashlib.new(h, client_key).digest()
        without_proof = 'c=%s,r=%s' % (base64.b64encode(self.gs2.encode()).decode(), nonce)
        auth_msg = ','.join((self.client_first_bare, server_first, without_proof)).encode()
        sig = hmac.new(stored_key, auth_msg, h).digest()
        proof = bytes(x ^ y for x, y in zip(client_key, sig))
        server_key = hmac.new(salted, b'Server Key', h).digest()
        self.server_signature = hmac.new(server_key, auth_msg, h).digest()
        return ('%s,p=%s' % (without_proof, base64.b64encode(proof).decode())).encode()

    def verify(self, server_final):
        a = _parse_kv(server_final.decode())
        if 'e' in a:
            raise AuthError('SCRAM server error: ' + a['e'])
        if base64.b64decode(a.get('v', '')) != self.server_signature:
            raise AuthError('SCRAM server signature mismatch')


def digest_md5_response(challenge, user, password, domain, cnonce=None, authzid=None,
                        service='xmpp'):
    """Answer a DIGEST-MD5 challenge (RFC 2831, qop=auth).  Returns
    (response_bytes, expected_rspauth)."""
    c = _parse_kv(challenge.decode())
    realm = c.get('realm', '')
    nonce = c['nonce']
    cnonce = cnonce or secrets.token_hex(16)
    nc = '00000001'
    qop = 'auth'
    uri = service + '/' + domain

    def md5(b):
        return hashlib.md5(b).digest()

    def hx(b):
        return hashlib.md5(b).hexdigest()

    a1 = md5(('%s:%s:%s' % (user, realm, password)).encode()) + \
        (':%s:%s' % (nonce, cnonce)).encode()
    if authzid:
        a1 += (':' + authzid).encode()

    def kd(a2):
        return hx(('%s:%s:%s:%s:%s:%s' % (hx(a1), nonce, nc, cnonce, qop, hx(a2.encode())))
                  .encode())
    resp = kd('AUTHENTICATE:' + uri)
    rspauth = kd(':' + uri)
    parts = ['username="%s"' % user]
    if 'realm' in c:
        parts.append('realm="%s"' % realm)
    parts += ['nonce="%s"' % nonce, 'cnonce="%s"' % cnonce, 'nc=%s' % nc, 'qop=%s' % qop,
              'digest-uri="%s"' % uri, 'response=%s' % resp, 'charset=utf-8']
    if authzid:
        parts.append('authzid="%s"' % authzid)
    return ','.join(parts).encode(), rspauth


# --------------------------------------------------------------------------
# The client

class XMPPClient:
    def __init__(self, host='127.0.0.1', port=5222, domain='localhost', timeout=10.0,
                 sock=None):
        self.host, self.port, self.domain = host, port, domain
        self.timeout = timeout
        self.sock = sock
        self.sent = bytearray()        # every byte written
        self.received = bytearray()    # every byte read
        self.features = None           # last <stream:features> XElement
        self.jid = None
        self.authenticated = False
        self.backlog = deque()         # stanzas skipped by wait_* helpers
        self._split = _Splitter()
        self._parser = _StreamParser()
        self._eof = False
        self._closing_sent = False
        self.stream_error = None       # <stream:error/> XElement, if received
        self._ids = 0
        self._zin = self._zout = None  # XEP-0138 zlib streams, once compressed
        if sock is None:
            self.connect()

    # -- transport ---------------------------------------------------------
    def connect(self):
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        if data.rstrip().endswith(b'</stream:stream>'):
            self._closing_sent = True
        self.sent += data
        if self._zout is not None:
            data = self._zout.compress(data) + self._zout.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def send_raw(self, data):
        """Bytes on the wire as they are (below any compression)."""
        self.sock.sendall(data)

    def recv_some(self, deadline):
        """One recv() with the remaining time; returns bytes ('' at EOF)."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout('timed out waiting for data from %s:%s' % (self.host, self.port))
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Timeout('timed out waiting for data from %s:%s' % (self.host, self.port))
        except (ConnectionResetError, BrokenPipeError):
            data = b''
        if not data:
            self._eof = True
        elif self._zin is not None:
            data = self._zin.decompress(data)
        self.received += data
        return data

    def close(self, wait=2.0, unbind=True):
        """Close the session cleanly: unbind the resource first if the server
        offers <unbind/> (jabberd2 does), send </stream:stream> (unless sent
        already), then wait up to `wait` s for the peer to close the TCP
        connection.  Both waits matter for jabberd2: its c2s keys sessions by
        fd number, and late session-manager traffic for a closed session
        kills a new connection that got the same fd with
        <internal-server-error/> (seen in ~20% of quick reconnects)."""
        if self.sock is None:
            return
        try:
            if unbind and self.jid and not self._closing_sent and not self._eof \
                    and not self._parser.closed and self.stream_error is None \
                    and self.has_feature('unbind', NS_BIND):
                self.unbind(timeout=wait)
            if not self._closing_sent:
                self.send(b'</stream:stream>')
            deadline = time.monotonic() + wait
            while not self._eof:
                self.recv_some(deadline)
        except (OSError, XMPPError):
            pass
        try:
            self.sock.close()
        finally:
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- XML stream --------------------------------------------------------
    def _pump(self, deadline):
        """Feed one unit (reading from the socket if none is buffered)."""
        while not self._split.units:
            if self._eof:
                raise StreamClosed('connection closed by peer')
            self._split.push(self.recv_some(deadline))
        text, tag = self._split.units.popleft()
        self._parser.feed_unit(text, tag)

    def _deadline(self, timeout):
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def restart_parser(self):
        """Start a new XML stream on the same connection (after SASL)."""
        self._parser = _StreamParser()

    def read_header(self, timeout=None):
        deadline = self._deadline(timeout)
        while self._parser.header is None:
            self._pump(deadline)
        return self._parser.header

    def read_element(self, timeout=None):
        """Next complete top-level element of the stream (an XElement)."""
        deadline = self._deadline(timeout)
        while not self._parser.done:
            if self._parser.closed:
                raise StreamClosed('stream closed by peer (</stream:stream>)')
            self._pump(deadline)
        el = self._parser.done.popleft()
        if el.tag == q('error', NS_STREAM):
            self.stream_error = el
            raise StreamError(el)
        return el

    @property
    def stream_id(self):
        h = self._parser.header
        return None if h is None else h.get('id')

    def stream_header(self, to=None):
        return ("<?xml version='1.0'?><stream:stream to=%s version='1.0' xml:lang='en' "
                "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
                % quoteattr(to or self.domain))

    def open_stream(self, to=None, timeout=None):
        """Send a stream header, read the server's header and features."""
        deadline = self._deadline(timeout)
        self.restart_parser()
        self.send(self.stream_header(to))
        self.read_header(deadline - time.monotonic())
        el = self.read_element(deadline - time.monotonic())
        if el.tag != q('features', NS_STREAM):
            raise XMPPError('expected stream:features, got %r' % el.raw)
        self.features = el
        return el

    @property
    def mechanisms(self):
        if self.features is None:
            return []
        return [m.text.strip() for m in
                self.features.iterfind('{%s}mechanisms/{%s}mechanism' % (NS_SASL, NS_SASL))]

    def has_feature(self, tag, ns):
        return self.features is not None and self.features.find('{%s}%s' % (ns, tag)) is not None

    # -- XEP-0138 stream compression --------------------------------------
    def compress(self, method='zlib', timeout=None):
        """Ask for stream compression. On <compressed/> both directions are
        zlib from the next byte on and the stream restarts (new features
        returned); on <failure/> raises XMPPError and the stream goes on."""
        deadline = self._deadline(timeout)
        self.send("<compress xmlns='%s'><method>%s</method></compress>" % (NS_COMPRESS, method))
        el = self.read_element(deadline - time.monotonic())
        if el.tag != q('compressed', NS_COMPRESS):
            raise XMPPError('compression refused: %s' % el.raw.decode(errors='replace'))
        self._zin, self._zout = zlib.decompressobj(), zlib.compressobj()
        return self.open_stream(timeout=deadline - time.monotonic())

    # -- SASL --------------------------------------------------------------
    def _sasl_step(self, deadline):
        el = self.read_element(deadline - time.monotonic())
        if el.tag == q('failure', NS_SASL):
            raise AuthError('SASL failure: %s' % el.raw.decode(errors='replace'))
        if el.tag not in (q('challenge', NS_SASL), q('success', NS_SASL)):
            raise XMPPError('unexpected during SASL: %r' % el.raw)
        data = base64.b64decode(el.text.strip()) if el.text and el.text.strip() != '=' else b''
        return el.tag == q('success', NS_SASL), data

    def _sasl_send(self, name, data):
        """name=None sends a <response/>.  data=None means "no initial
        response" (empty <auth/>, as DIGEST-MD5 needs); b'' in <auth/> is
        sent as '=' (RFC 6120 empty initial response)."""
        if data:
            payload = base64.b64encode(data).decode()
        elif data is None or name is None:
            payload = ''
        else:
            payload = '='
        if name is None:
            self.send("<response xmlns='%s'>%s</response>" % (NS_SASL, payload))
        else:
            self.send("<auth xmlns='%s' mechanism='%s'>%s</auth>" % (NS_SASL, name, payload))

    def auth(self, user, password, mechanism=None, timeout=None, restart=True):
        """SASL authentication; on success restarts the stream and reads the
        new features.  Returns the mechanism used."""
        deadline = self._deadline(timeout)
        offered = self.mechanisms
        if mechanism is None:
            mechanism = next((m for m in MECH_PREFERENCE if m in offered), None)
            if mechanism is None:
                raise AuthError('no supported mechanism in %r' % offered)
        mech = mechanism.upper()
        if mech == 'PLAIN':
            self._sasl_send(mech, b'\0' + user.encode() + b'\0' + password.encode())
            ok, _ = self._sasl_step(deadline)
            if not ok:
                raise AuthError('PLAIN: unexpected challenge')
        elif mech in SCRAM_HASHES:
            s = Scram(user, password, SCRAM_HASHES[mech])
            self._sasl_send(mech, s.first())
            ok, data = self._sasl_step(deadline)
            if ok:
                raise AuthError('SCRAM: premature success')
            self._sasl_send(None, s.final(data))
            ok, data = self._sasl_step(deadline)
            if not ok:  # some servers send v= in a challenge, then success
                s.verify(data)
                self._sasl_send(None, b'')
                ok, data = self._sasl_step(deadline)
                if not ok:
                    raise AuthError('SCRAM: expected success')
            else:
                s.verify(data)
        elif mech == 'DIGEST-MD5':
            self._sasl_send(mech, None)
            ok, data = self._sasl_step(deadline)
            if ok:
                raise AuthError('DIGEST-MD5: premature success')
            resp, rspauth = digest_md5_response(data, user, password, self.domain)
            self._sasl_send(None, resp)
            ok, data = self._sasl_step(deadline)
            if not ok:
                if _parse_kv(data.decode()).get('rspauth') != rspauth:
                    raise AuthError('DIGEST-MD5: bad rspauth %r' % data)
                self._sasl_send(None, b'')
                ok, data = self._sasl_step(deadline)
                if not ok:
                    raise AuthError('DIGEST-MD5: expected success')
            elif data and _parse_kv(data.decode()).get('rspauth') != rspauth:
                raise AuthError('DIGEST-MD5: bad rspauth in success %r' % data)
        else:
            raise AuthError('mechanism %s not implemented' % mechanism)
        self.authenticated = True
        self.user = user
        if restart:
            self.open_stream(timeout=deadline - time.monotonic())
        return mech

    # -- IQ helpers --------------------------------------------------------
    def next_id(self, prefix='nab'):
        self._ids += 1
        return '%s%d' % (prefix, self._ids)

    def iq(self, type_, payload, to=None, timeout=None):
        """Send an IQ and wait for the result/error with the same id (other
        stanzas that arrive meanwhile go to self.backlog).  Raises XMPPError
        on type='error'; returns the response XElement."""
        deadline = self._deadline(timeout)
        iid = self.next_id()
        to_attr = '' if to is None else ' to=%s' % quoteattr(to)
        self.send("<iq type='%s' id='%s'%s>%s</iq>" % (type_, iid, to_attr, payload))
        while True:
            el = self.read_element(deadline - time.monotonic())
            if el.tag == q('iq') and el.get('id') == iid:
                if el.get('type') == 'error':
                    raise XMPPError('iq error: %s' % el.raw.decode(errors='replace'))
                return el
            self.backlog.append(el)

    def register(self, user, password, timeout=None):
        """XEP-0077 in-band registration on an unauthenticated stream
        (opens the stream first if needed)."""
        if self.features is None:
            self.open_stream(timeout=timeout)
        return self.iq('set', "<query xmlns='%s'><username>%s</username>"
                       "<password>%s</password></query>"
                       % (NS_REGISTER, escape(user), escape(password)), timeout=timeout)

    def unregister(self, timeout=None):
        """XEP-0077 account removal (authenticated stream).  Returns the
        result IQ (None if the stream closed first), then waits for the server
        to end the stream, which prosody, ejabberd and jabberd2 all do (with a
        stream error or a plain </stream:stream>).  Waiting matters for
        jabberd2, see close()."""
        deadline = self._deadline(timeout)
        try:
            res = self.iq('set', "<query xmlns='%s'><remove/></query>" % NS_REGISTER,
                          timeout=timeout)
        except StreamClosed:
            res = None
        self.jid = None
        try:
            while True:
                self.backlog.append(self.read_element(min(5.0, deadline - time.monotonic())))
        except (StreamClosed, StreamError, Timeout):
            pass
        return res

    def bind(self, resource=None, timeout=None):
        res = '' if resource is None else '<resource>%s</resource>' % escape(resource)
        el = self.iq('set', "<bind xmlns='%s'>%s</bind>" % (NS_BIND, res), timeout=timeout)
        j = el.find('{%s}bind/{%s}jid' % (NS_BIND, NS_BIND))
        if j is None or not j.text:
            raise XMPPError('bind result without jid: %r' % el.raw)
        self.jid = j.text.strip()
        return self.jid

    def unbind(self, resource=None, timeout=None):
        """Resource unbinding (draft-cridland-xmpp-session-unbind, offered by
        jabberd2 as <unbind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>).
        The server may close the stream right after the result."""
        res = resource or self.jid.split('/', 1)[1]
        try:
            el = self.iq('set', "<unbind xmlns='%s'><resource>%s</resource></unbind>"
                         % (NS_BIND, escape(res)), timeout=timeout)
        except StreamClosed:
            el = None
        self.jid = None
        return el

    def session(self, timeout=None):
        """RFC 3921 session establishment if the server offers it (and it is
        not marked optional); a no-op otherwise."""
        sess = None if self.features is None else \
            self.features.find('{%s}session' % NS_SESSION)
        if sess is None or sess.find('{%s}optional' % NS_SESSION) is not None:
            return None
        return self.iq('set', "<session xmlns='%s'/>" % NS_SESSION, timeout=timeout)

    def login(self, user, password, resource='nab', mechanism=None, timeout=None):
        """open_stream + auth + bind + session; returns the bound full JID."""
        deadline = self._deadline(timeout)
        if self.features is None or self.authenticated:
            self.open_stream(timeout=deadline - time.monotonic())
        self.auth(user, password, mechanism, timeout=deadline - time.monotonic())
        jid = self.bind(resource, timeout=deadline - time.monotonic())
        self.session(timeout=deadline - time.monotonic())
        return jid

    # -- messages / presence -----------------------------------------------
    def send_presence(self, **attrs):
        a = ''.join(' %s=%s' % (k, quoteattr(v)) for k, v in attrs.items())
        self.send('<presence%s/>' % a)

    def send_message(self, to, body, type_='chat', id=None):
        id = id or self.next_id('msg')
        self.send("<message to=%s type=%s id=%s><body>%s</body></message>"
                  % (quoteattr(to), quoteattr(type_), quoteattr(id), escape(body)))
        return id

    def wait_for(self, predicate, timeout=None):
        """Return the first top-level element (backlog first) for which
        predicate(el) is true; others are kept in self.backlog."""
        deadline = self._deadline(timeout)
        for el in list(self.backlog):
            if predicate(el):
                self.backlog.remove(el)
                return el
        while True:
            el = self.read_element(deadline - time.monotonic())
            if predicate(el):
                return el
            self.backlog.append(el)

    def wait_message(self, body=None, timeout=None):
        """Wait for a <message/> (with the given body text, if given)."""
        def pred(el):
            if el.tag != q('message'):
                return False
            if body is None:
                return True
            b = el.find(q('body'))
            return b is not None and b.text == body
        return self.wait_for(pred, timeout)


def probe(host, port, domain, timeout=5.0):
    """Connect, open a stream and return the features element (raw bytes in
    .raw) and the server header; used as a readiness check."""
    with XMPPClient(host, port, domain, timeout=timeout) as c:
        feats = c.open_stream(timeout=timeout)
        return c._parser.header, feats, c.mechanisms
