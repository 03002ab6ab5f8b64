"""The demo, which is C only and runs nothing from the source tree.

  run     The README's run command with no upstream (`nabproxy -c
          etc/nabproxy.conf --foreground`) runs the demo: a throwaway
          Prosody, nabproxy in front of it, nabrabbit through it for the
          seed simulator and firmware 18673. It exits 0 with the verdict
          line, both rabbits idle, the [vm] tree of the seed's bind result
          shown and no password printed; afterwards its temp dir (in the
          TMPDIR we give it) is gone and so are the Prosody and nabproxy
          processes it named.
  signal  `nabproxy demo` interrupted by SIGINT once its proxy listens:
          exit 130, the same clean-up.
  missing `nabproxy demo` with no Prosody in PATH says what to install,
          exits 1 and creates nothing.
  installed  nabproxy copied to PREFIX/sbin and nabrabbit to PREFIX/bin
          (the install layout), away from the build and source trees,
          with neither in PATH: the demo finds nabrabbit in ../bin and
          both rabbits reach idle.
"""
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SRC = os.environ['NAB_SOURCE_DIR']
BIN = os.environ['NABPROXY']
CONF = os.path.join(SRC, 'etc', 'nabproxy.conf')


def gone(pid):
    """The process is gone (or a zombie nobody waits for any more)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] in ('Z', 'X')
    except FileNotFoundError:
        return True


def left_behind(out, tmp):
    assert os.listdir(tmp) == [], 'left in TMPDIR: %r' % os.listdir(tmp)
    pids = [int(p) for p in re.findall(r'demo: (?:Prosody|nabproxy) \(pid (\d+)\)', out)]
    assert len(pids) == 2, out
    for pid in pids:
        assert gone(pid), 'pid %d is still running' % pid


def case_run(tmp):
    env = dict(os.environ, TMPDIR=tmp)
    p = subprocess.run([BIN, '-c', CONF, '--foreground'], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180)
    out = p.stdout.decode(errors='replace')
    assert p.returncode == 0, out
    assert 'demo: verdict: both rabbits reached idle through nabproxy\n' in out, out
    assert "demo: the seed's simulator is online as f81edfee27c1@almacska/idle: idle\n" in out
    assert 'demo: firmware 18673 is online as 0013d3000001@almacska/idle: idle\n' in out
    assert '[vm]     !......f81edfee27c1@almacska/idle\n' in out, out
    assert '83279de2ea5c' not in out, 'password in the demo output'
    left_behind(out, tmp)


def case_signal(tmp):
    env = dict(os.environ, TMPDIR=tmp)
    p = subprocess.Popen([BIN, 'demo', '-c', CONF], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = b''
    deadline = time.monotonic() + 60
    while b'demo: nabproxy (pid ' not in out:
        assert time.monotonic() < deadline, out
        r, _, _ = select.select([p.stdout], [], [], deadline - time.monotonic())
        chunk = os.read(p.stdout.fileno(), 65536) if r else b''
        assert chunk, 'demo ended early: %r' % out
        out += chunk
    p.send_signal(signal.SIGINT)
    rest, _ = p.communicate(timeout=60)
    out = (out + rest).decode(errors='replace')
    assert p.returncode == 130, (p.returncode, out)
    assert 'demo: interrupted by signal 2; everything it started is stopped' in out, out
    left_behind(out, tmp)


def case_missing(tmp):
    empty = os.path.join(tmp, 'empty-path')
    os.mkdir(empty)
    env = dict(os.environ, TMPDIR=tmp, PATH=empty)
    p = subprocess.run([BIN, 'demo', '-c', CONF], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors='replace')
    assert p.returncode == 1, out
    assert out == ('demo: the demo needs Prosody, which is not installed: apt install '
                   'prosody (or give nabproxy an upstream: upstream = HOST:PORT)\n'), out
    os.rmdir(empty)
    assert os.listdir(tmp) == [], os.listdir(tmp)


def case_installed(tmp):
    prefix = os.path.join(tmp, 'prefix')
    for sub, name in (('sbin', BIN), ('bin', os.path.join(os.path.dirname(BIN), 'nabrabbit'))):
        os.makedirs(os.path.join(prefix, sub))
        shutil.copy2(name, os.path.join(prefix, sub))
    run = os.path.join(tmp, 'run')
    os.mkdir(run)
    env = dict(os.environ, TMPDIR=run, PATH='/usr/sbin:/usr/bin:/sbin:/bin')
    p = subprocess.run([os.path.join(prefix, 'sbin', 'nabproxy'), 'demo', '-c', CONF],
                       env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=180)
    out = p.stdout.decode(errors='replace')
    assert p.returncode == 0, out
    assert 'demo: verdict: both rabbits reached idle through nabproxy\n' in out, out
    assert 'demo: nabrabbit --firmware 18673' in out, out
    left_behind(out, run)


def main():
    failed = 0
    for case in (case_run, case_signal, case_missing, case_installed):
        tmp = tempfile.mkdtemp(prefix='it-demo-')
        try:
            case(tmp)
            print('PASS %s' % case.__name__, flush=True)
        except Exception as e:
            failed += 1
            print('FAIL %s: %s' % (case.__name__, e), flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
