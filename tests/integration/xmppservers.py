"""Real XMPP servers (Debian packages) for nabproxy integration tests.

Each class starts one throwaway server: config, data, logs and pidfiles live
in a tempfile.mkdtemp() directory; every listener is on 127.0.0.1 on a free
port picked by binding to port 0; s2s and HTTP are off.  Processes run in their
own session (start_new_session) and are killed by process group on stop(),
from the context manager, and from atexit.  Stdlib only.

    from xmppservers import Prosody, Ejabberd, Jabberd2
    with Prosody(domain='almacska') as s:
        s.port, s.domain, s.name, s.host       # c2s, plain TCP, loopback
        s.add_user('f81edfee27c1', '83279de2ea5c')
        s.mechanisms                           # SASL offered in clear
        c = s.client(); c.login('f81edfee27c1', '83279de2ea5c')
        s.remove_user('f81edfee27c1')

Readiness is always a polled condition with a deadline (never a fixed
sleep): the c2s port must be LISTENed on by one of *our* processes (checked
through /proc/net/tcp socket inodes, so we never talk to somebody else's
server that grabbed the port) and a stream must open with <stream:features>.
jabberd2 additionally needs the router log to say that sm bound the domain.
"""

import atexit
import ctypes
import gzip
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xmppclient  # noqa: E402

HOST = '127.0.0.1'


class ServerError(Exception):
    pass


class PortInUse(ServerError):
    """The server could not bind its port (lost a race): start() retries."""


# --------------------------------------------------------------------------
# helpers

_handed_out = set()


def free_port(host=HOST):
    """A currently free TCP port on host (bind to 0).  Never hands out the
    same port twice in one process."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise ServerError('no free port')


def _proc_stat(pid):
    """(state, ppid, pgrp) of a pid from /proc, or None if it is gone."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = data[data.rindex(b')') + 2:].split()
    return fields[0].decode(), int(fields[1]), int(fields[2])


def _all_procs():
    out = {}
    for d in os.listdir('/proc'):
        if d.isdigit():
            st = _proc_stat(int(d))
            if st and st[0] not in ('Z', 'X'):   # zombies are dead
                out[int(d)] = st
    return out


def group_members(pgid):
    """Live (non-zombie) pids whose process group is pgid."""
    return sorted(pid for pid, st in _all_procs().items() if st[2] == pgid)


def family(pgids):
    """Live pids in the given process groups plus all their descendants
    (erl_child_setup calls setsid(), so it leaves beam's process group)."""
    procs = _all_procs()
    fam = {pid for pid, st in procs.items() if st[2] in pgids}
    grew = True
    while grew:
        grew = False
        for pid, st in procs.items():
            if pid not in fam and st[1] in fam:
                fam.add(pid)
                grew = True
    return sorted(fam)


def _socket_inodes(pids):
    inodes = set()
    for pid in pids:
        try:
            fds = os.listdir('/proc/%d/fd' % pid)
        except (FileNotFoundError, PermissionError):
            continue
        for fd in fds:
            try:
                link = os.readlink('/proc/%d/fd/%s' % (pid, fd))
            except OSError:
                continue
            if link.startswith('socket:['):
                inodes.add(link[8:-1])
    return inodes


def _hex_addr(h):
    ip, port = h.split(':')
    raw = bytes.fromhex(ip)
    if len(raw) == 4:
        addr = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:  # /proc/net/tcp6: four little-endian 32-bit words
        words = b''.join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
        addr = socket.inet_ntop(socket.AF_INET6, words)
    return addr, int(port, 16)


def listeners(pids):
    """Set of (proto, ip, port) that the given pids listen on (TCP LISTEN
    sockets and bound UDP sockets)."""
    inodes = _socket_inodes(pids)
    out = set()
    for proto, state in (('tcp', '0A'), ('tcp6', '0A'), ('udp', '07'), ('udp6', '07')):
        try:
            with open('/proc/net/' + proto) as f:
                next(f)
                for line in f:
                    p = line.split()
                    if p[3] == state and p[9] in inodes:
                        ip, port = _hex_addr(p[1])
                        out.add((proto.rstrip('6'), ip, port))
        except FileNotFoundError:
            pass
    return out


def _pdeathsig():
    """preexec_fn: SIGKILL the server if the test process dies (e.g. ctest
    timeout SIGKILL) so nothing leaks even when atexit cannot run."""
    try:
        _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:
    _libc = None


_live = set()


def _stop_all():
    for s in list(_live):
        try:
            s.stop()
        except Exception as e:  # pragma: no cover
            print('xmppservers: stopping %s failed: %s' % (s.name, e), file=sys.stderr)


atexit.register(_stop_all)


DIR_PREFIX = 'nab-xmpp-'


def _reap_stale_dirs():
    """Remove temp dirs of servers whose test process was SIGKILLed (the
    servers themselves die with it through PR_SET_PDEATHSIG).  Only dirs
    with an owner.pid naming a dead process are touched."""
    tmp = tempfile.gettempdir()
    try:
        names = os.listdir(tmp)
    except OSError:
        return
    for n in names:
        if not n.startswith(DIR_PREFIX):
            continue
        d = os.path.join(tmp, n)
        try:
            with open(os.path.join(d, 'owner.pid')) as f:
                owner = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if owner != os.getpid() and _proc_stat(owner) is None:
            shutil.rmtree(d, ignore_errors=True)


def _install_sigterm():
    # Turn SIGTERM into SystemExit so `with` blocks and atexit clean up.
    try:
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    except ValueError:  # not the main thread
        pass


def which(prog):
    return shutil.which(prog, path=os.environ.get('PATH', '') + ':/usr/sbin:/sbin')


# --------------------------------------------------------------------------
# base class

class XMPPServer:
    name = 'xmpp'
    binaries = ()            # must all exist for installed()
    start_timeout = 30.0     # seconds, for one start attempt
    stop_signal = signal.SIGTERM   # SIGKILL for servers with a slow shutdown
    stop_grace = 5.0         # seconds before SIGKILL

    def __init__(self, domain='localhost', start_timeout=None, graceful=None, port=None):
        """graceful=True: stop with SIGTERM (then SIGKILL after stop_grace);
        False: SIGKILL at once; None: the class default.  port: listen on
        this c2s port (a restart on the port of an earlier server, which
        must be stopped); None picks a free one."""
        self.domain = domain
        self.fixed_port = port
        if graceful is not None:
            self.stop_signal = signal.SIGTERM if graceful else signal.SIGKILL
        self.host = HOST
        self.port = None
        self.dir = None
        self.procs = []           # Popen objects, each its own process group
        self.users = {}           # user -> password (as created by add_user)
        self.mechanisms = []      # SASL mechanisms offered before TLS
        self.header = None        # XElement of the probe's stream header
        self.features = None      # XElement of the probe's <stream:features>
        self.start_seconds = None  # wall time of the successful start()
        if start_timeout is not None:
            self.start_timeout = start_timeout

    # -- availability ------------------------------------------------------
    @classmethod
    def missing(cls):
        """List of required files/binaries that are not installed."""
        return [b for b in cls.binaries
                if not (os.path.exists(b) if b.startswith('/') else which(b))]

    @classmethod
    def installed(cls):
        return not cls.missing()

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        if self.procs:
            raise ServerError('%s already started' % self.name)
        miss = self.missing()
        if miss:
            raise ServerError('%s is not installed (missing %s)' % (self.name, ', '.join(miss)))
        _install_sigterm()
        _reap_stale_dirs()
        t0 = time.monotonic()
        for attempt in range(3):
            self.dir = tempfile.mkdtemp(prefix='%s%s-' % (DIR_PREFIX, self.name))
            _live.add(self)
            self.write('owner.pid', '%d\n' % os.getpid())
            try:
                self.port = self.fixed_port or free_port()
                self._start()
                self.start_seconds = time.monotonic() - t0
                return self
            except BaseException as e:
                logs = self.log_tail()
                self.stop()
                if isinstance(e, PortInUse) and attempt < 2:
                    continue
                if isinstance(e, ServerError):
                    raise ServerError('%s: %s\n%s' % (self.name, e, logs)) from None
                raise

    def settle(self, jid=None, timeout=10.0):
        """Return once the server is done with the sessions that ended (of
        the bare `jid`, or all); only jabberd2 needs to wait (see there)."""

    def stop(self):
        """Kill the processes (newest first; TERM to each process group, KILL
        after stop_grace), wait until none of them nor their descendants is
        left, remove the temp dir.  Idempotent."""
        for p in reversed(self.procs):
            self._kill(p)
        self.procs = []
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            if os.path.exists(self.dir):  # something recreated files; retry
                shutil.rmtree(self.dir)
            self.dir = None
        _live.discard(self)

    def _kill(self, p):
        pgid = p.pid
        doomed = set(family([pgid]))      # snapshot before they get reparented
        try:
            os.killpg(pgid, self.stop_signal)
        except ProcessLookupError:
            pass
        try:
            p.wait(self.stop_grace)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 5
        while True:
            live = _all_procs()
            left = sorted(pid for pid in doomed | set(family([pgid])) if pid in live)
            if not left and p.poll() is not None:
                return
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if time.monotonic() > deadline:
                raise ServerError('%s: pids %s survive SIGKILL' % (self.name, left))
            try:
                p.wait(0.02)
            except subprocess.TimeoutExpired:
                pass

    @property
    def pgids(self):
        return [p.pid for p in self.procs]

    def alive_pids(self, pgids=None):
        """Live processes of the server (its process groups and their
        descendants); pass the old pgids after stop() to check they are gone."""
        return family(self.pgids if pgids is None else pgids)

    def listeners(self):
        return listeners(self.alive_pids())

    # -- process helpers ---------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, name, text):
        with open(self.path(name), 'w') as f:
            f.write(text)
        return self.path(name)

    def spawn(self, argv, logname, env=None):
        e = dict(os.environ)
        e.update(env or {})
        with open(self.path(logname), 'ab') as log:
            p = subprocess.Popen(argv, cwd=self.dir, env=e, stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True,
                                 preexec_fn=_pdeathsig if _libc else None)
        self.procs.append(p)
        return p

    def log_tail(self, lines=30):
        if not self.dir or not os.path.isdir(self.dir):
            return ''
        out = []
        for fn in sorted(os.listdir(self.dir)):
            if fn.endswith(('.log', '.out')):
                try:
                    with open(self.path(fn), errors='replace') as f:
                        tail = f.read().splitlines()[-lines:]
                except OSError:
                    continue
                out.append('--- %s\n%s' % (fn, '\n'.join(tail)))
        return '\n'.join(out)

    def read_log(self, name):
        try:
            with open(self.path(name), errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    # log phrases meaning "my port was taken" (prosody, ejabberd, jabberd2)
    PORT_IN_USE_MARKERS = ('address already in use', 'eaddrinuse',
                           'failed to open server port', 'unable to listen',
                           'failed to listen')

    def _port_in_use(self):
        text = self.log_tail(200).lower()
        return any(m in text for m in self.PORT_IN_USE_MARKERS)

    def _check_alive(self):
        for p in self.procs:
            if p.poll() is not None:
                if self._port_in_use():
                    raise PortInUse('port in use')
                raise ServerError('process %r exited with %s' % (p.args[0], p.returncode))
        if self._port_in_use():  # some servers keep running without their port
            raise PortInUse('port in use')

    def wait_until(self, cond, what, deadline):
        """Poll cond() until truthy; fail fast if a process died."""
        while True:
            r = cond()
            if r:
                return r
            self._check_alive()
            if time.monotonic() > deadline:
                raise ServerError('timed out waiting for %s' % what)
            try:  # the pause between polls returns at once if the leader dies
                self.procs[-1].wait(0.02)
            except subprocess.TimeoutExpired:
                pass

    def owns_port(self, port):
        return ('tcp', HOST, port) in listeners(self.alive_pids())

    def _probe(self):
        try:
            header, feats, mechs = xmppclient.probe(self.host, self.port, self.domain,
                                                    timeout=2.0)
        except (OSError, xmppclient.XMPPError):
            return False
        self.header, self.features, self.mechanisms = header, feats, mechs
        return True

    def wait_c2s(self, deadline):
        self.wait_until(lambda: self.owns_port(self.port), 'c2s port %d' % self.port, deadline)
        self.wait_until(self._probe, 'stream features on port %d' % self.port, deadline)

    # -- users -------------------------------------------------------------
    def client(self, timeout=10.0):
        """A connected (not yet streaming) XMPPClient to this server."""
        return xmppclient.XMPPClient(self.host, self.port, self.domain, timeout=timeout)

    def register_inband(self, user, password, timeout=10.0):
        with self.client(timeout) as c:
            c.register(user, password)
        self.users[user] = password

    def unregister_inband(self, user, password=None, timeout=10.0):
        with self.client(timeout) as c:
            c.login(user, password or self.users[user], resource='unregister')
            c.unregister()
        self.users.pop(user, None)

    def add_user(self, user, password):
        self.register_inband(user, password)

    def remove_user(self, user):
        self.unregister_inband(user)

    def __repr__(self):
        return '<%s %s@%s:%s dir=%s>' % (type(self).__name__, self.domain, self.host,
                                         self.port, self.dir)


# --------------------------------------------------------------------------
# Prosody 0.12

PROSODY_CFG = """\
-- Throwaway Prosody config written by tests/integration/xmppservers.py
run_as_root = true                 -- CI runs as root; keep files in {dir}
pidfile = "{dir}/prosody.pid"
data_path = "{dir}/data"
certificates = "{dir}/certs"       -- empty: no TLS, nothing to index
log = {{ {{ levels = {{ min = "{loglevel}" }}, to = "file", filename = "{dir}/prosody.log" }} }}

-- Only c2s on loopback; no s2s, no direct TLS, no HTTP, no components.
interfaces = {{ "{host}" }}
local_interfaces = {{ "{host}" }}
c2s_ports = {{ {port} }}
c2s_direct_tls_ports = {{}}
legacy_ssl_ports = {{}}
s2s_ports = {{}}
s2s_direct_tls_ports = {{}}
http_ports = {{}}
https_ports = {{}}
component_ports = {{}}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "register"; "ping"; "posix"{tls_module} }}
modules_disabled = {{ "s2s" }}

-- Auth in clear, in-band registration (127.0.0.1 is allow-listed).
authentication = "{auth}"          -- internal_hashed: SCRAM-SHA-1 + PLAIN
storage = "internal"
c2s_require_encryption = {require_tls}
allow_unencrypted_plain_auth = {plain_in_clear}
allow_registration = true

VirtualHost "{domain}"
{ssl}
"""


def make_cert(name, cert, key):
    """A self-signed certificate for name (CN and subjectAltName DNS)."""
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
                    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=' + name,
                    '-addext', 'subjectAltName=DNS:' + name],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)


class Prosody(XMPPServer):
    """Prosody 0.12 (lua5.4).  add_user/remove_user use prosodyctl, which
    writes the account store directly (the running server reads it on every
    auth, so the account is usable when prosodyctl returns).  Stopped with
    SIGKILL by default: SIGTERM often takes ~1 s; internal storage is written
    synchronously and thrown away anyway (graceful=True for SIGTERM)."""
    name = 'prosody'
    binaries = ('prosody', 'prosodyctl')
    stop_signal = signal.SIGKILL

    def __init__(self, domain='localhost', auth='internal_hashed', loglevel='info',
                 tls=False, **kw):
        """tls=True: a self-signed certificate for the domain (self.cert),
        STARTTLS offered and required, PLAIN only under TLS."""
        super().__init__(domain, **kw)
        self.auth = auth
        self.loglevel = loglevel
        self.tls = tls
        self.cert = None

    def _start(self):
        os.makedirs(self.path('data'))
        os.makedirs(self.path('certs'))
        ssl = ''
        if self.tls:
            self.cert = self.path('certs', self.domain + '.crt')
            key = self.path('certs', self.domain + '.key')
            make_cert(self.domain, self.cert, key)
            ssl = 'ssl = {{ certificate = "{}"; key = "{}" }}'.format(self.cert, key)
        self.config = self.write('prosody.cfg.lua', PROSODY_CFG.format(
            dir=self.dir, host=HOST, port=self.port, domain=self.domain, auth=self.auth,
            loglevel=self.loglevel, ssl=ssl, tls_module='; "tls"' if self.tls else '',
            require_tls='true' if self.tls else 'false',
            plain_in_clear='false' if self.tls else 'true'))
        # -F: foreground (0.12 no longer daemonizes unless -D).
        # NEVER run `prosody --version`: it starts a server on 5222.
        self.spawn([which('prosody'), '-F', '--config', self.config], 'prosody.out')
        self.wait_c2s(time.monotonic() + self.start_timeout)

    def prosodyctl(self, *args):
        r = subprocess.run([which('prosodyctl'), '--config', self.config] + list(args),
                           cwd=self.dir, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:
            raise ServerError('prosodyctl %s failed (%d): %s%s'
                              % (' '.join(args), r.returncode, r.stdout, r.stderr))
        return r.stdout

    def add_user(self, user, password):
        self.prosodyctl('register', user, self.domain, password)
        self.users[user] = password

    def remove_user(self, user):
        self.prosodyctl('deluser', '%s@%s' % (user, self.domain))
        self.users.pop(user, None)


# --------------------------------------------------------------------------
# ejabberd 23.01

EJABBERD_CFG = """\
# Throwaway ejabberd config written by tests/integration/xmppservers.py
hosts: ["{domain}"]
loglevel: {loglevel}
log_rotate_count: 0
# Only one listener: c2s in clear on loopback (no s2s, http, stun, mqtt).
listen:
  - port: {port}
    ip: "{host}"
    module: ejabberd_c2s
    starttls: {starttls}
{certfiles}auth_method: internal
auth_password_format: {password_format}   # plain: DIGEST-MD5 works too
disable_sasl_mechanisms: ["X-OAUTH2"]
registration_timeout: infinity           # allow many IBRs from 127.0.0.1
s2s_access: none
acl:
  local:
    user_regexp: ""
access_rules:
  register:
    allow: all
  c2s:
    allow: all
modules:
  mod_register:
    access: register
    ip_access: all
  mod_roster: {{}}
  mod_disco: {{}}
  mod_ping: {{}}
"""

EJABBERD_INETRC = """\
{lookup,["file","native"]}.
{host,{127,0,0,1}, ["localhost"]}.
"""


def _ejabberd_libdir():
    # ERL_LIBS as set by /usr/sbin/ejabberdctl: the dir holding ejabberd-*/ebin
    for d in ('/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib'):
        if os.path.isdir(d) and any(n.startswith('ejabberd-') for n in os.listdir(d)):
            return d
    import glob
    for ebin in glob.glob('/usr/lib/*/ejabberd-*/ebin') + glob.glob('/usr/lib/ejabberd-*/ebin'):
        return os.path.dirname(os.path.dirname(ebin))
    return None


class Ejabberd(XMPPServer):
    """ejabberd 23.01 started as a plain, non-distributed Erlang node
    (`erl -noinput -s ejabberd`, node nonode@nohost): no epmd, no cookie, no
    ejabberdctl.  Users are created by in-band registration (XEP-0077).
    Stopped with SIGKILL by default: a graceful SIGTERM shutdown takes ~2.6 s
    and the data is thrown away anyway (graceful=True to use SIGTERM)."""
    name = 'ejabberd'
    binaries = ('erl', '/usr/sbin/ejabberdctl')
    stop_signal = signal.SIGKILL
    start_timeout = 60.0     # ~1.5 s alone, ~6 s with three in parallel on 2 CPUs

    def __init__(self, domain='localhost', password_format='plain', loglevel='info',
                 tls=False, **kw):
        """tls=True: a self-signed certificate for the domain (self.cert),
        STARTTLS offered (not required)."""
        super().__init__(domain, **kw)
        self.password_format = password_format
        self.loglevel = loglevel
        self.tls = tls
        self.cert = None

    @classmethod
    def missing(cls):
        m = super().missing()
        if not _ejabberd_libdir():
            m.append('ejabberd-*/ebin')
        return m

    def _start(self):
        d = self.dir
        certfiles = ''
        if self.tls:
            self.cert = self.path(self.domain + '.crt')
            key = self.path(self.domain + '.key')
            make_cert(self.domain, self.cert, key)
            with open(self.path('tls.pem'), 'w') as f:
                for part in (self.cert, key):
                    with open(part) as p:
                        f.write(p.read())
            os.chmod(self.path('tls.pem'), 0o600)
            certfiles = 'certfiles: ["%s"]\nacme:\n  auto: false\n' % self.path('tls.pem')
        self.config = self.write('ejabberd.yml', EJABBERD_CFG.format(
            domain=self.domain, host=HOST, port=self.port,
            password_format=self.password_format, loglevel=self.loglevel,
            starttls='true' if self.tls else 'false', certfiles=certfiles))
        self.write('inetrc', EJABBERD_INETRC)
        env = {
            'ERL_LIBS': _ejabberd_libdir(),
            'EJABBERD_CONFIG_PATH': self.config,
            'EJABBERD_LOG_PATH': self.path('ejabberd.log'),   # error.log goes beside it
            'EJABBERD_PID_PATH': self.path('ejabberd.pid'),
            'CONTRIB_MODULES_PATH': self.path('contrib'),
            'CONTRIB_MODULES_CONF_DIR': self.path('contrib-conf'),
            'ERL_CRASH_DUMP': self.path('erl_crash.dump'),
            'ERL_INETRC': self.path('inetrc'),
            'ERL_EPMD_ADDRESS': HOST,
            'HOME': d,
        }
        argv = [which('erl'), '-noinput', '-noshell', '+K', 'true', '+P', '250000',
                '-env', 'ERL_CRASH_DUMP_BYTES', '0',
                '-mnesia', 'dir', '"%s"' % self.path('mnesia'),
                '-s', 'ejabberd']
        self.spawn(argv, 'erl.out', env)
        self.wait_c2s(time.monotonic() + self.start_timeout)

# --------------------------------------------------------------------------
# jabberd2 2.7

JABBERD2_LIB = '/usr/lib/x86_64-linux-gnu/jabberd2'
JABBERD2_SCHEMA = '/usr/share/doc/jabberd2/db-setup.sqlite.gz'

JABBERD2_ROUTER = """\
<!-- router: the hub; sm and c2s connect to it as components -->
<router>
  <id>router</id>
  <pidfile>{dir}/router.pid</pidfile>
  <log type='file'><file>{dir}/router.log</file></log>
  <local>
    <ip>{host}</ip><port>{router_port}</port>
    <users>{dir}/router-users.xml</users>
    <secret>{secret}</secret>
  </local>
  <check><interval>60</interval><keepalive>0</keepalive></check>
  <io><max_fds>256</max_fds></io>
  <aci><acl type='all'><user>jabberd</user></acl></aci>
</router>
"""

JABBERD2_ROUTER_USERS = """\
<users><user><name>jabberd</name><secret>{secret}</secret></user></users>
"""

JABBERD2_ROUTER_CLIENT = """\
  <router><ip>{host}</ip><port>{router_port}</port><user>jabberd</user><pass>{secret}</pass>
    <retry><init>10</init><lost>3</lost><sleep>1</sleep></retry></router>"""

JABBERD2_SM = """\
<!-- sm: session manager for {domain}; storage in SQLite -->
<sm>
  <id>sm</id>
  <pidfile>{dir}/sm.pid</pidfile>
{router}
  <log type='file'><file>{dir}/sm.log</file></log>
  <local><id>{domain}</id></local>
  <storage>
    <path>{lib}</path>
    <driver>sqlite</driver>
    <sqlite><dbname>{dir}/jabberd2.db</dbname><busy-timeout>5000</busy-timeout></sqlite>
  </storage>
  <modules>
    <path>{lib}</path>
    <chain id='sess-start'><module>status</module></chain>
    <chain id='sess-end'><module>status</module></chain>
    <chain id='in-sess'><module>validate</module><module>status</module><module>roster</module>
      <module>iq-ping</module><module>disco</module><module>presence</module><module>deliver</module></chain>
    <chain id='in-router'><module>session</module><module>validate</module><module>presence</module></chain>
    <chain id='pkt-sm'><module>iq-ping</module><module>disco</module><module>status</module><module>presence</module></chain>
    <chain id='pkt-user'><module>roster</module><module>presence</module><module>disco</module><module>deliver</module></chain>
    <chain id='pkt-router'><module>session</module><module>disco</module></chain>
    <chain id='user-load'><module>active</module><module>roster</module></chain>
    <chain id='user-create'><module>active</module></chain>
    <chain id='user-delete'><module>active</module><module>roster</module><module>status</module></chain>
  </modules>
  <discovery><identity><category>server</category><type>im</type><name>nab test</name></identity></discovery>
  <!-- accounts inserted straight into authreg get their sm user on first login -->
  <user><auto-create/></user>
</sm>
"""

JABBERD2_C2S = """\
<!-- c2s: client listener in clear on loopback, SQLite authreg, IBR on -->
<c2s>
  <id>c2s</id>
  <pidfile>{dir}/c2s.pid</pidfile>
{router}
  <log type='file'><file>{dir}/c2s.log</file></log>
  <local>
    <id register-enable='true'>{domain}</id>
    <ip>{host}</ip><port>{port}</port>
  </local>
  <io>{compression}<max_fds>256</max_fds><check><interval>0</interval><idle>0</idle><keepalive>0</keepalive></check></io>
  <authreg>
    <path>{lib}</path>
    <module>sqlite</module>
    <mechanisms>
      <traditional><plain/><digest/></traditional>
      <sasl><plain/><digest-md5/></sasl>
    </mechanisms>
    <sqlite><dbname>{dir}/jabberd2.db</dbname><busy-timeout>5000</busy-timeout>
      <password_type><plaintext/></password_type></sqlite>
  </authreg>
</c2s>
"""


WITNESS = ('nabwitness', 'w1tness5ecret')   # jabberd2's settle() connection


class Jabberd2(XMPPServer):
    """jabberd2 2.7: router, sm and c2s daemons (no s2s), one SQLite file
    created from the package's db-setup.sqlite.  add_user inserts into the
    authreg table (plaintext passwords, so PLAIN and DIGEST-MD5 work); the sm
    auto-creates the user on first session.  Ready when c2s serves features
    and the router log says the sm bound the domain."""
    name = 'jabberd2'
    binaries = ('jabberd2-router', 'jabberd2-sm', 'jabberd2-c2s', JABBERD2_SCHEMA,
                JABBERD2_LIB + '/authreg_sqlite.so', JABBERD2_LIB + '/storage_sqlite.so')

    def __init__(self, domain='localhost', compression=False, **kw):
        super().__init__(domain=domain, **kw)
        self.compression = compression     # offer XEP-0138 zlib (io.compression)

    def _start(self):
        import secrets
        self.router_port = free_port()
        v = dict(dir=self.dir, host=HOST, port=self.port, router_port=self.router_port,
                 secret=secrets.token_hex(8), domain=self.domain, lib=JABBERD2_LIB,
                 compression='<compression/>' if self.compression else '')
        v['router'] = JABBERD2_ROUTER_CLIENT.format(**v)
        self.write('router.xml', JABBERD2_ROUTER.format(**v))
        self.write('router-users.xml', JABBERD2_ROUTER_USERS.format(**v))
        self.write('sm.xml', JABBERD2_SM.format(**v))
        self.write('c2s.xml', JABBERD2_C2S.format(**v))
        self.db = self.path('jabberd2.db')
        with gzip.open(JABBERD2_SCHEMA, 'rt') as f:
            schema = f.read()
        con = sqlite3.connect(self.db)
        try:
            con.executescript(schema)
        finally:
            con.close()
        deadline = time.monotonic() + self.start_timeout
        self.spawn([which('jabberd2-router'), '-c', self.path('router.xml')], 'router.out')
        # sm/c2s retry the router only every <sleep> s: start them once it listens
        self.wait_until(lambda: self.owns_port(self.router_port),
                        'router port %d' % self.router_port, deadline)
        self.spawn([which('jabberd2-sm'), '-c', self.path('sm.xml')], 'sm.out')
        self.spawn([which('jabberd2-c2s'), '-c', self.path('c2s.xml')], 'c2s.out')
        want = ['[c2s] online', '[sm] online', '[%s] online' % self.domain]
        self.wait_until(lambda: all(w in self.read_log('router.log') for w in want),
                        'sm and c2s to bind at the router', deadline)
        self.wait_c2s(deadline)
        # Opened before any test connection, so it never inherits a fd
        # whose session is still ending (see settle).
        self._sql('INSERT INTO authreg (username, realm, password) VALUES (?, ?, ?)',
                  (WITNESS[0], self.domain, WITNESS[1]))
        self.witness = self.client()
        self.witness.login(*WITNESS, resource='witness')

    def settle(self, jid=None, timeout=10.0):
        """jabberd2 2.7's c2s keys sessions by fd number, and the sm answers
        a session end asynchronously: a connection accepted on the fd of a
        session that just closed gets that answer and is killed with
        <internal-server-error/> (seen without nabproxy too).  Wait until the
        sm logged the end of every session of `jid` (all but the witness's
        if None), then ping the sm through the witness connection: the sm
        sent its answers before the pong, and the router keeps their order,
        so once the pong is back c2s has dropped them."""
        deadline = time.monotonic() + timeout
        pat = 'jid=%s/' % jid if jid else 'jid='
        keep = 0 if jid else 1

        def ended():
            log = self.read_log('sm.log')
            return (log.count('session started: ' + pat) -
                    log.count('session ended: ' + pat)) <= keep
        self.wait_until(ended, 'the sm to end the sessions of %s' % (jid or 'everyone'),
                        deadline)
        self.witness.iq('get', "<ping xmlns='urn:xmpp:ping'/>", to=self.domain,
                        timeout=max(0.1, deadline - time.monotonic()))

    def stop(self):
        w, self.witness = getattr(self, 'witness', None), None
        if w is not None:
            try:
                w.close()
            except OSError:
                pass
        super().stop()

    def _sql(self, query, args):
        con = sqlite3.connect(self.db, timeout=10)
        try:
            with con:
                con.execute(query, args)
        finally:
            con.close()

    def add_user(self, user, password):
        self._sql('INSERT INTO authreg (username, realm, password) VALUES (?, ?, ?)',
                  (user, self.domain, password))
        self.users[user] = password

    def remove_user(self, user):
        self._sql('DELETE FROM authreg WHERE username = ? AND realm = ?', (user, self.domain))
        self._sql('DELETE FROM "active" WHERE "collection-owner" = ?',
                  ('%s@%s' % (user, self.domain),))
        self.users.pop(user, None)


SERVERS = (Prosody, Ejabberd, Jabberd2)


def by_name(name):
    for cls in SERVERS:
        if cls.name == name:
            return cls
    raise KeyError(name)
