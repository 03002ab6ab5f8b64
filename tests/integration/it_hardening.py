"""Process hardening (issue 9 item 5), observed from outside the daemon.

- As root with `user = nobody`: after start /proc/PID/status shows every
  uid and gid as nobody's and no group 0; core dumps are off (Max core file
  size 0 in /proc/PID/limits) and the process is not dumpable (the kernel
  then gives its /proc/PID files to root although it runs as nobody); the
  pid file holds its pid and is gone after exit; a SIGHUP after logrotate's
  rename opens a new log file, which gets the reload's lines; `credentials
  add` as root writes the store as nobody, and the reload reads it; a
  reload naming a filter file nobody cannot read is refused.
- In the background: the pid file holds the daemon's own pid (after
  daemon(3)), and is removed when SIGTERM stops it.
- With chroot: /proc/PID/root is the jail; the log reopen, the store and
  the pid file work by their names inside it.
- As root with `user = nobody` in front of Prosody (STARTTLS, self-signed):
  the store (a learned password) and the pinned key are written by the
  dropped daemon, owned by nobody, mode 0600.
- As root without `user`: a clear refusal.
- `ulimit -n 64` (soft and hard) with max-connections = 1000: refused,
  saying what fits; soft 64 under a hard limit that fits: raised (as
  /proc/PID/limits shows).
- `credentials add JID` on a terminal (a pty): the prompt, no echo of the
  password, the password stored; from a pipe: no prompt.
- An unsafe store (mode 0644) or state directory (0777): refused.

Cases that need root report SKIP when not run as root.
Run: /usr/bin/python3 tests/integration/it_hardening.py
"""
import os
import pty
import pwd
import re
import resource
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nabharness import BIN, CaseSkipped, Nabproxy, Rabbit  # noqa: E402
from xmppservers import Prosody, ServerError  # noqa: E402

STAMP_SO = os.path.join(os.environ.get('NAB_BINARY_DIR', ''), 'filters', 'stamp.so')
JID = 'f81edfee27c1@almacska'
SECRET = 'pw-Harden-83279de2'


class Daemon:
    """nabproxy in the foreground on a throwaway config in its own
    directory; its log goes to log-file (DIR/nabproxy.log) or stderr."""

    def __init__(self, lines, log_file=True, state_dir=None, log_path=None):
        self.dir = tempfile.mkdtemp(prefix='nabproxy-hard-')
        os.chmod(self.dir, 0o700)
        self.log_path = log_path or os.path.join(self.dir, 'nabproxy.log')
        self.conf = os.path.join(self.dir, 'nabproxy.conf')
        self.stderr_path = os.path.join(self.dir, 'stderr')
        with open(self.conf, 'w') as f:
            f.write('[nabproxy]\nlisten = 127.0.0.1:0\nupstream = 127.0.0.1:1\n'
                    'state-dir = %s\n%s%s' % (
                        state_dir or self.dir,
                        'log-file = %s\n' % self.log_path if log_file else '', lines))
        self.proc = None

    def popen(self, limit=None, foreground=True, env=None):
        def pre():
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, limit)
        self.errf = open(self.stderr_path, 'wb')
        self.proc = subprocess.Popen([BIN, '-c', self.conf] + (['--foreground'] if foreground
                                                               else []),
                                     stdin=subprocess.DEVNULL, stdout=self.errf,
                                     stderr=subprocess.STDOUT, preexec_fn=pre,
                                     env=env)
        return self.proc

    def read(self, path):
        try:
            with open(path, 'rb') as f:
                return f.read()
        except FileNotFoundError:
            return b''

    def log(self):
        return self.read(self.log_path) + self.read(self.stderr_path)

    def wait_log(self, pattern, path=None, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.read(path) if path else self.log()
            m = re.search(pattern, text)
            if m:
                return m
            if self.proc.poll() is not None and not path:
                break
            time.sleep(0.01)   # polling a readiness condition with a deadline
        raise AssertionError('log never matched %r:\n%s' % (pattern, self.log().decode(
            errors='replace')))

    def start(self, limit=None, env=None):
        self.popen(limit, env=env)
        self.wait_log(rb'listening on 127\.0\.0\.1:(\d+)')
        return self

    def refused(self, limit=None):
        """Start expecting a refusal: the exit status and the output."""
        self.popen(limit)
        rc = self.proc.wait(10)
        self.errf.close()
        return rc, self.log().decode(errors='replace')

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(10)
        if self.proc is not None:
            self.errf.close()
        subprocess.run(['rm', '-rf', self.dir], check=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            sys.stderr.write('--- nabproxy (%s) ---\n%s--- end ---\n' % (
                self.conf, self.log().decode(errors='replace')[-4000:]))
        self.stop()


def need_root():
    if os.geteuid() != 0:
        raise CaseSkipped('needs root (start as root, drop to nobody)')
    try:
        return pwd.getpwnam('nobody')
    except KeyError:
        raise CaseSkipped('no user nobody here')


def status(pid):
    """/proc/PID/status as {field: [values]}."""
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            out[k] = v.split()
    return out


def limits(pid, name):
    """(soft, hard) of one /proc/PID/limits line."""
    with open('/proc/%d/limits' % pid) as f:
        for line in f:
            if line.startswith(name):
                soft, hard = line[len(name):].split()[:2]
                return soft, hard
    raise AssertionError('no %r in /proc/%d/limits' % (name, pid))


def creds_cmd(conf, *args, **kw):
    return subprocess.run([BIN, 'credentials', '-c', conf] + list(args),
                          capture_output=True, timeout=10, **kw)


def case_drop_to_nobody():
    nobody = need_root()
    with Daemon('user = nobody\npid-file = PIDFILE\n'
                '[filter stamp]\npath = STAMP\nattribute = x-hard\nvalue = v\n'
                '[profile p]\nfilters = stamp\n') as d:
        pidfile = os.path.join(d.dir, 'nabproxy.pid')
        stamp = os.path.join(d.dir, 'stamp.so')
        shutil.copy(STAMP_SO, stamp)
        os.chmod(stamp, 0o644)
        with open(d.conf) as f:
            text = f.read().replace('PIDFILE', pidfile).replace('STAMP', stamp)
        with open(d.conf, 'w') as f:
            f.write(text)
        os.chown(d.dir, nobody.pw_uid, nobody.pw_gid)
        d.start()
        pid = d.proc.pid
        st = status(pid)
        want_u, want_g = str(nobody.pw_uid), str(nobody.pw_gid)
        assert st['Uid'] == [want_u] * 4, st['Uid']
        assert st['Gid'] == [want_g] * 4, st['Gid']
        assert '0' not in st['Groups'] and want_g in st['Groups'], st['Groups']
        assert st['CapEff'] == ['0000000000000000'], st['CapEff']
        assert limits(pid, 'Max core file size') == ('0', '0'), limits(pid, 'Max core file size')
        # Not dumpable: the kernel hands the /proc/PID files to root.
        assert os.stat('/proc/%d/environ' % pid).st_uid == 0, 'process is dumpable'
        assert b'running as uid %d gid %d (user nobody, pid %d)' % (
            nobody.pw_uid, nobody.pw_gid, pid) in d.log(), d.log()
        with open(pidfile) as f:
            assert f.read() == '%d\n' % pid
        # credentials as root act as nobody: the store stays the daemon's.
        p = creds_cmd(d.conf, 'add', JID, input=(SECRET + '\n').encode())
        assert p.returncode == 0, p
        store = os.stat(os.path.join(d.dir, 'credentials'))
        assert store.st_uid == nobody.pw_uid and stat.S_IMODE(store.st_mode) == 0o600, store
        # logrotate: rename, HUP; the new file gets the reload's lines.
        os.rename(d.log_path, d.log_path + '.1')
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log(rb'reload done', path=d.log_path)
        new = d.read(d.log_path)
        assert b'SIGHUP: reloading' in new and b'credentials reload failed' not in new, new
        assert os.stat(d.log_path).st_uid == nobody.pw_uid
        assert b'reload done' not in d.read(d.log_path + '.1')
        # The reload runs as nobody: a (new) filter nobody cannot read is
        # refused and the running configuration stays.
        shutil.copy(STAMP_SO, stamp + '.new.so')
        os.chmod(stamp + '.new.so', 0o600)
        with open(d.conf) as f:
            text = f.read().replace(stamp, stamp + '.new.so')
        with open(d.conf, 'w') as f:
            f.write(text)
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log(rb'reload refused, keeping the running one: .*stamp\.so.*Permission denied',
                   path=d.log_path)
        d.proc.send_signal(signal.SIGTERM)
        assert d.proc.wait(10) == 0
        assert not os.path.exists(pidfile), 'pid file left behind'
        assert b'exiting: 0 accepted' in d.read(d.log_path)


def case_writes_after_drop():
    """After the drop to nobody the daemon writes its state as nobody: in
    front of Prosody with STARTTLS and a self-signed certificate, the seed's
    rabbit registers (the password is learned into the store) and the
    server's key is pinned at first use (upstream-pins); both files belong
    to nobody, mode 0600, and the rabbit binds."""
    nobody = need_root()
    try:
        srv = Prosody(domain='almacska', tls=True)
        srv.__enter__()
    except ServerError as e:
        raise CaseSkipped(str(e))
    try:
        px = Nabproxy('127.0.0.1:%d' % srv.port, profile='simulator', extra='user = nobody\n')
        os.chown(px.dir, nobody.pw_uid, nobody.pw_gid)
        with px:
            r = Rabbit(px.port)
            r.open()
            reg = r.register()
            assert reg.get('type') == 'result', reg
            px.creds_settled()
            for name in ('credentials', 'upstream-pins'):
                st = os.stat(os.path.join(px.dir, name))
                assert st.st_uid == nobody.pw_uid and stat.S_IMODE(st.st_mode) == 0o600, (
                    name, st)
            with open(os.path.join(px.dir, 'credentials')) as f:
                assert '%s 83279de2ea5c\n' % JID in f.read()
            bind = r.ask(r.parts[2], '3')
            assert bind.get('type') == 'result', bind
            r.close()
    finally:
        srv.__exit__(None, None, None)


def case_background_pidfile():
    """Without --foreground: the pid file holds the daemon's pid (the
    child of daemon(3), not the process started), which SIGTERM stops and
    which removes the file on its way out."""
    me = pwd.getpwuid(os.geteuid()).pw_name
    with Daemon('user = %s\npid-file = PIDFILE\n' % me) as d:
        pidfile = os.path.join(d.dir, 'nabproxy.pid')
        with open(d.conf) as f:
            text = f.read().replace('PIDFILE', pidfile)
        with open(d.conf, 'w') as f:
            f.write(text)
        d.popen(foreground=False)
        assert d.proc.wait(10) == 0, d.log()
        m = d.wait_log(rb'running as uid \d+ gid \d+ \(user [^,]+, pid (\d+)\)',
                       path=d.log_path)
        pid = int(m.group(1))
        assert pid != d.proc.pid
        d.wait_log(rb'listening on 127\.0\.0\.1:\d+', path=d.log_path)
        with open(pidfile) as f:
            assert f.read() == '%d\n' % pid
        with open('/proc/%d/stat' % pid) as f:
            assert f.read().split(') ')[1].split()[2] == str(pid), 'not a session leader'
        os.kill(pid, signal.SIGTERM)
        d.wait_log(rb'exiting: 0 accepted', path=d.log_path)
        deadline = time.monotonic() + 10
        while os.path.exists('/proc/%d' % pid) or os.path.exists(pidfile):
            assert time.monotonic() < deadline, 'daemon or pid file still there'
            time.sleep(0.01)   # polling for the exit of a process we cannot wait for
        assert b'cannot remove the pid file' not in d.read(d.log_path)


def case_chroot():
    """chroot = JAIL with user = nobody: the process's root is the jail,
    the store and the log are used by their names inside it, SIGHUP reopens
    the log and reads the store (the configuration, outside, is not
    reloaded), and the pid file inside the jail is removed on exit."""
    nobody = need_root()
    base = tempfile.mkdtemp(prefix='nabproxy-jail-')
    os.chmod(base, 0o755)
    jail = os.path.join(base, 'jail')
    for sub, owner in (('', 0), ('state', nobody.pw_uid), ('log', nobody.pw_uid),
                       ('run', nobody.pw_uid)):
        path = os.path.join(jail, sub)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o700 if sub == 'state' else 0o755)
        os.chown(path, owner, nobody.pw_gid if owner else 0)
    state = os.path.join(jail, 'state')
    log = os.path.join(jail, 'log', 'nabproxy.log')
    pidfile = os.path.join(jail, 'run', 'nabproxy.pid')
    try:
        with Daemon('user = nobody\nchroot = %s\npid-file = %s\n' % (jail, pidfile),
                    state_dir=state, log_path=log) as d:
            # LeakSanitizer (sanitizer builds) reads /proc at exit, and the
            # jail has none: leaks are checked by every other case.
            d.start(env=dict(os.environ, ASAN_OPTIONS=(os.environ.get('ASAN_OPTIONS', '') +
                                                       ':detect_leaks=0').lstrip(':')))
            pid = d.proc.pid
            assert os.readlink('/proc/%d/root' % pid) == jail, os.readlink('/proc/%d/root' % pid)
            assert status(pid)['Uid'] == [str(nobody.pw_uid)] * 4
            assert b'(user nobody, pid %d) in chroot %s' % (pid, jail.encode()) in d.log()
            with open(pidfile) as f:
                assert f.read() == '%d\n' % pid
            p = creds_cmd(d.conf, 'add', JID, input=(SECRET + '\n').encode())
            assert p.returncode == 0, p
            os.rename(log, log + '.1')
            d.proc.send_signal(signal.SIGHUP)
            d.wait_log(rb'SIGHUP in chroot %s: credentials read again; the configuration'
                       rb' is not reloaded \(restart to apply changes\)' % re.escape(
                           jail.encode()), path=log)
            assert b'credentials reload failed' not in d.read(log), d.read(log)
            assert os.stat(log).st_uid == nobody.pw_uid
            d.proc.send_signal(signal.SIGTERM)
            assert d.proc.wait(10) == 0
            assert not os.path.exists(pidfile), 'pid file left in the jail'
            assert b'cannot remove' not in d.read(log), d.read(log)
    finally:
        subprocess.run(['rm', '-rf', base], check=True)


def case_root_needs_user():
    need_root()
    with Daemon('', log_file=False) as d:
        rc, out = d.refused()
        assert rc == 1, (rc, out)
        assert ('running as root: set user = NAME (an unprivileged account, e.g. nabproxy) '
                'so that nabproxy drops root once its sockets and files are open, or '
                'user = root to keep root (not advised)') in out, out
        assert 'listening' not in out, out


def case_nofile_refused():
    with Daemon('max-connections = 1000\nuser = %s\n' % pwd.getpwuid(os.geteuid()).pw_name,
                log_file=False) as d:
        rc, out = d.refused(limit=(64, 64))
        assert rc == 1, (rc, out)
        assert ('max-connections = 1000 needs 2049 file descriptors (2 per connection, '
                '16 probes, 1 listeners, 32 reserved) but the hard limit (RLIMIT_NOFILE) '
                'is 64: raise it (ulimit -Hn 2049, systemd LimitNOFILE=2049) or set '
                'max-connections = 7 or less') in out, out


def case_nofile_raised():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2049:
        raise CaseSkipped('hard limit %d < 2049' % hard)
    with Daemon('max-connections = 1000\nuser = %s\n' % pwd.getpwuid(os.geteuid()).pw_name,
                log_file=False) as d:
        d.start(limit=(64, hard))
        assert limits(d.proc.pid, 'Max open files')[0] == '2049', limits(
            d.proc.pid, 'Max open files')
        assert b'file descriptor limit raised from 64 to 2049 for max-connections = 1000' \
            in d.log(), d.log()


def read_pty(fd, until, timeout=10.0):
    """Bytes from the pty master until `until` is in them or EOF."""
    got = b''
    deadline = time.monotonic() + timeout
    while until not in got:
        left = deadline - time.monotonic()
        assert left > 0, 'pty: never saw %r in %r' % (until, got)
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:     # EIO: the child closed the terminal
            break
        if not chunk:
            break
        got += chunk
    return got


def case_password_no_echo():
    with Daemon('user = %s\n' % pwd.getpwuid(os.geteuid()).pw_name) as d:
        master, slave = pty.openpty()
        p = subprocess.Popen([BIN, 'credentials', '-c', d.conf, 'add', JID],
                             stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        prompt = read_pty(master, b'password (not echoed): ')
        os.write(master, (SECRET + '\n').encode())
        rest = read_pty(master, b'\0')      # to EOF
        os.close(master)
        assert p.wait(10) == 0, (prompt, rest)
        assert SECRET.encode() not in prompt + rest, 'password echoed: %r' % (prompt + rest)
        assert rest == b'\r\n', rest        # the newline nabproxy prints itself
        with open(os.path.join(d.dir, 'credentials')) as f:
            assert '%s %s\n' % (JID, SECRET) in f.read()
        # From a pipe: no prompt, the line as it is.
        q = creds_cmd(d.conf, 'add', 'other@almacska', input=b'piped-pw\n')
        assert q.returncode == 0 and q.stdout == b'' and q.stderr == b'', q
        with open(os.path.join(d.dir, 'credentials')) as f:
            assert 'other@almacska piped-pw\n' in f.read()


def case_unsafe_state():
    me = 'user = %s\n' % pwd.getpwuid(os.geteuid()).pw_name
    with Daemon(me, log_file=False) as d:
        store = os.path.join(d.dir, 'credentials')
        with open(store, 'w') as f:
            f.write('%s %s\n' % (JID, SECRET))
        os.chmod(store, 0o644)
        rc, out = d.refused()
        assert rc == 1, (rc, out)
        assert ('%s: mode 0644 gives group or others access to passwords, refused '
                '(chmod 600 %s)' % (store, store)) in out, out
        assert SECRET not in out
        os.chmod(store, 0o600)
        os.chmod(d.dir, 0o777)
        rc, out = d.refused()
        assert rc == 1, (rc, out)
        assert ('%s: mode 0777 lets group or others write, refused (chmod 700 %s)'
                % (d.dir, d.dir)) in out, out
        os.chmod(d.dir, 0o700)


CASES = [case_drop_to_nobody, case_writes_after_drop, case_background_pidfile, case_chroot, case_root_needs_user, case_nofile_refused,
         case_nofile_raised, case_password_no_echo, case_unsafe_state]


def main():
    failed = ran = 0
    for case in CASES:
        t0 = time.monotonic()
        try:
            case()
            ran += 1
            print('PASS %s (%.1fs)' % (case.__name__, time.monotonic() - t0), flush=True)
        except CaseSkipped as e:
            print('SKIP %s: %s' % (case.__name__, e), flush=True)
        except Exception:
            failed += 1
            print('FAIL %s' % case.__name__, flush=True)
            traceback.print_exc()
    if failed:
        return 1
    return 0 if ran else 77


if __name__ == '__main__':
    sys.exit(main())
