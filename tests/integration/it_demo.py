"""The README's run command with no upstream runs the demo: nabproxy
execs tests/integration/demo.py, which must end with the seed rabbit bound
and its session opened, and with the [vm] tree of the bind result shown."""
import os
import subprocess
import sys

SRC = os.environ['NAB_SOURCE_DIR']
BIN = os.environ['NABPROXY']

p = subprocess.run([BIN, '-c', os.path.join(SRC, 'etc', 'nabproxy.conf'), '--foreground'],
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
out = p.stdout.decode(errors='replace')
assert p.returncode == 0, out
assert 'demo: bind answered type=result jid=f81edfee27c1@almacska/idle' in out, out
assert 'demo: session answered type=result' in out, out
assert '[vm]     !......f81edfee27c1@almacska/idle\n' in out, out
assert '83279de2ea5c' not in out.split('demo: starting Prosody')[1].replace(
    'account f81edfee27c1', ''), 'password in the demo log'
print('PASS demo')
