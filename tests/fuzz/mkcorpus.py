#!/usr/bin/python3
"""Write the seed corpora of the fuzz targets from files in this repository:
the seed conversation (tests/golden/seed_*.xml) and its stanzas, the golden
stanzas, the shipped configuration, and byte strings of the unit tests (RFC
5802 and RFC 2831 examples, challenges captured from ejabberd and jabberd2,
the firmware's short base64, xframe's cases). Run from anywhere; it only writes under
tests/fuzz/corpus/. Files it does not name (regressions) are kept."""
import base64
import os
import xml.parsers.expat
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def read(*path):
    with open(os.path.join(ROOT, *path), "rb") as f:
        return f.read()


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


GOLDEN = ["bind_result", "error_409", "features", "register_form",
          "seed_rabbit", "seed_server"]
RESTARTS = {
    # The server's side of a login: header, features, success, new stream.
    "server_restart": b"<?xml version='1.0'?><stream:stream "
    b"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
    b" from='almacska' id='1' version='1.0'><stream:features><mechanisms "
    b"xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>DIGEST-MD5"
    b"</mechanism></mechanisms></stream:features><challenge "
    b"xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>bm9uY2U9IjEiLHFvcD0iYXV0aCI="
    b"</challenge><success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
    b"<stream:stream xmlns='jabber:client' xmlns:stream="
    b"'http://etherx.jabber.org/streams' id='2'><stream:features><bind "
    b"xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"
    b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><stream:stream>"
    b"</stream:stream>",
    # The rabbit's side: header, auth, response, new stream.
    "rabbit_restart": b"<?xml version='1.0' encoding='UTF-8'?>\n"
    b"<stream:stream to='almacska' xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\n"
    b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>"
    b"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>dXNlcm5hbWU9ImEiLG"
    b"5vbmNlPSIxIg=</response><stream:stream to='almacska' "
    b"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    b"version='1.0'>\n<iq type='set' id='3'><bind xmlns="
    b"'urn:ietf:params:xml:ns:xmpp-bind'><resource>boot</resource></bind>"
    b"</iq> </stream:stream>",
    "escapes": b"<stream:stream xmlns='jabber:client' xmlns:stream="
    b"'http://etherx.jabber.org/streams'><message to='a@b' xml:lang='en'>"
    b"<body>&lt;&amp;&gt;&apos;&quot;&#13;&#x9;&#10;\xc3\xa9</body>"
    b"<x a='&apos;&quot;&lt;&#9;&#10;&#13;'/><![CDATA[<x>]]></message>",
}


def xmlstream_and_vmlog():
    for name in GOLDEN:
        data = read("tests", "golden", name + ".xml")
        put("vmlog", name + ".xml", data)
        # xmlstream: the first byte is chunk size, direction, round trip;
        # The second picks the caps: 0 the defaults, 1 tiny, 2 small.
        rabbit = 64 if name == "seed_rabbit" else 0
        put("xmlstream", name + ".xml", bytes([rabbit | 60, 0]) + data)
        put("xmlstream", name + ".rt1", bytes([128 | rabbit, 0]) + data)
        put("xmlstream", name + ".rt64", bytes([128 | rabbit | 63, 0]) + data)
        put("xmlstream", name + ".tiny", bytes([128 | rabbit | 7, 1]) + data)
        put("xmlstream", name + ".small", bytes([128 | rabbit | 9, 2]) + data)
    for name, data in RESTARTS.items():
        rabbit = 64 if name.startswith("rabbit") else 0
        put("xmlstream", name, bytes([128 | rabbit | 5, 0]) + data)
        put("vmlog", name, data)


def stanzas(data):
    """The top-level elements of a stream, as expat cuts them."""
    p = xml.parsers.expat.ParserCreate()
    depth, start, out = [0], [0], []

    def on_start(name, attrs):
        if depth[0] == 1:
            start[0] = p.CurrentByteIndex
        depth[0] += 1

    def on_end(name):
        depth[0] -= 1
        if depth[0] == 1:
            end = data.index(b">", p.CurrentByteIndex) + 1
            out.append(data[start[0]:end])

    p.StartElementHandler = on_start
    p.EndElementHandler = on_end
    p.Parse(data, False)
    return out


# fuzz_xframe: plain stanzas, and some the scan must leave to expat.
XFRAME = [
    b"<message to='a' type=\"chat\"><body>x &amp; y &gt; z</body></message>",
    b"<presence><show>away</show><status>]]</status></presence>",
    b"<iq type='get' id='1' ><query\nxmlns='q'/></iq >",
    b"<a b = 'c'\t\r\n/>",
    b"<a b='&amp;&lt;&gt;&quot;&apos;'>&amp;&lt;&gt;&quot;&apos;</a>",
    b"<message><body>caf\xc3\xa9</body></message>",
    b"<iq><x a='&#65;'/></iq>",
    b"<message><![CDATA[x]]></message>",
    b"<iq>]]></iq>",
    b"<message a='1' a='2'/>",
    b"<iq></message>",
    b"<message><!-- x --></message>",
]


def xframe():
    # Byte 0: caps (bits 0-1), light names (bits 2-3), doze (bit 4),
    # restart (bit 5), names changed per feed (bit 6); byte 1: the read size (bits 0-6, 0 = one read),
    # the stream header before (bit 7).
    n = 0
    for name in ("seed_server", "seed_rabbit"):
        data = read("tests", "golden", name + ".xml")
        put("xframe", name, bytes([0, 0]) + data)
        put("xframe", name + ".r7", bytes([1, 7]) + data)
        put("xframe", name + ".r100", bytes([2, 100]) + data)
        for st in stanzas(data):
            put("xframe", "stanza%02d" % n, bytes([n & 3, 128]) + st)
            n += 1
    # Restarts (bit 5) and dozes (bit 4) in the stream runs.
    put("xframe", "server_restart", bytes([32 | 16, 5]) +
        RESTARTS["server_restart"])
    put("xframe", "rabbit_restart", bytes([16, 11]) + RESTARTS["rabbit_restart"])
    # Light names changed before every feed (bit 6).
    put("xframe", "mixed.cycle", bytes([64 | 16, 128 | 9]) + b"".join(XFRAME))
    stream = b"".join(XFRAME)
    put("xframe", "mixed", bytes([3, 128]) + stream)
    put("xframe", "mixed.r13", bytes([0, 128 | 13]) + stream)
    for i, st in enumerate(XFRAME):
        put("xframe", "case%02d" % i, bytes([i & 3, 128 | 64]) + st)


SCRAM_FIRST = b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=64"
SCRAM_FINAL = b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="
D2831_CHAL = (b'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",'
              b'qop="auth",algorithm=md5-sess,charset=utf-8')
D2831_RSPAUTH = b"rspauth=ea40f60335c427b5527b84dbabcdfffd"
FW217 = (b"dXNlcm5hbWU9ImY4MWVkZmVlMjdjMSIsbm9uY2U9Ik9BNk1HOXRFUUdtMmhoMDEy"
         b"MzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJDREVGRyIsY25vbmNl"
         b"PSIxMjM0NTY3ODkwMTIzACIsbmM9MDAwMDAwMDEscW9wPWF1dGgsZGlnZXN0LXVy"
         b"aT0ieG1wcC9hbG1hY3NrYSIscmVzcG9uc2U9ZDFiNWUzYzlhMGY0ZTJiN2M2YTVk"
         b"NGUzZjJhMWIwYzksY2hhcnNldD11dGYtOA=")
FW_RESP = (b'username="user",realm="example.com",'
           b'nonce="0123456789abcdef0123456789abcdef",cnonce="OA6MHXh6VqTrRk",'
           b'nc=00000001,qop=auth,digest-uri="xmpp/example.com",'
           b'response=d388dad90d4bbd760a152321f2143af7,charset=utf-8')
CHALLENGES = [
    D2831_CHAL,
    # Openfire without qop; jabberd2's ", "; ejabberd's realm last; rspauth.
    b'nonce="OA6MG9tEQGm2hh0123456789",charset=utf-8,algorithm=md5-sess',
    b'realm="almacska", nonce="1234567890", qop="auth", charset=utf-8, '
    b'algorithm=md5-sess',
    b'nonce="12345678901",qop="auth",charset=utf-8,algorithm=md5-sess,'
    b'realm="almacska"',
    b'rspauth=EA40F60335C427B5527B84DBABCDFFFD',
]


def sasl():
    put("sasl", "scram_sha1", b"\x00" + SCRAM_FIRST + b"\xff" + SCRAM_FINAL)
    put("sasl", "scram_sha256", b"\x01" + SCRAM_FIRST + b"\xff" + SCRAM_FINAL)
    put("sasl", "digest_client", b"\x02" + D2831_CHAL + b"\xff" + D2831_RSPAUTH)
    put("sasl", "digest_client_ejabberd",
        b"\x08" + D2831_CHAL + b"\xff" + D2831_RSPAUTH)
    put("sasl", "digest_server", b"\x03" + FW_RESP)
    put("sasl", "digest_server_fw217", b"\x03" + FW217)
    for i, c in enumerate(CHALLENGES):
        put("sasl", "relay_%d" % i, b"\x04" + base64.b64encode(c))
    put("sasl", "repad_fw217", b"\x04" + FW217)
    put("sasl", "b64_fw217", b"\x05" + FW217)
    put("sasl", "b64_short", b"\x05" + b"dGYtOA=")


def config():
    put("config", "nabproxy.conf", read("etc", "nabproxy.conf"))
    for f in sorted(os.listdir(os.path.join(ROOT, "etc", "profiles"))):
        put("config", f, read("etc", "profiles", f))
    put("config", "keys.conf", b"""# every key type
[nabproxy]
listen = 127.0.0.1:5222
listen = [::1]:5223
upstream = xmpp.example.com:5222
state-dir = state
credentials = credentials
log-format = both
log-prefix = yes
max-stanza = 64K
hold-queue = 1M
idle-timeout = 5m
connect-timeout = 10s
max-connections = 1000
upstream-tls = starttls
upstream-verify = pin
upstream-pin = sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
profile = auto
include = *.conf

[filter mine]
path = mine.so
greeting = hello

[profile rabbits]
filters = firmware-guard digest-server auth register bind mine
match-mac = 00:13:d3:00:00:01 0019db*
match-jid = *@example.com
match-firmware = bootcode-*
""")


def creds():
    put("creds", "two", b"# store\nf81edfee27c1@almacska p4ss word\n"
        b"\nA@Example.COM x\n")
    put("creds", "empty", b"")
    put("creds", "bad", b"a@b\nc d\n")


def zstream():
    plain = read("tests", "golden", "seed_server.xml")
    put("zstream", "seed_deflated", b"\x00" + plain[:1024])
    put("zstream", "seed_slow", b"\x30" + plain[:300])
    z = zlib.compressobj()
    wire = z.compress(plain) + z.flush(zlib.Z_SYNC_FLUSH)
    put("zstream", "seed_raw", b"\x01" + wire)
    put("zstream", "seed_raw_small_hw", b"\x13" + wire)
    put("zstream", "raw_ended", b"\x0b" + zlib.compress(plain[:200]))
    put("zstream", "bomb", b"\x0f" + zlib.compress(b"\0" * 3000000)[:3000])


if __name__ == "__main__":
    xmlstream_and_vmlog()
    xframe()
    sasl()
    config()
    creds()
    zstream()
