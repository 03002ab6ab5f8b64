"""Headless Chromium from Debian, driven over its DevTools protocol on a
pipe (--remote-debugging-pipe: JSON messages separated by NUL bytes on
fds 3 and 4), standard library only. Used by it_ctl's page test.

    b = Browser.start()        # None when chromium is not installed
    sid = b.open('http://127.0.0.1:8080/')
    b.eval(sid, 'document.title')
    b.screenshot(sid, 'page.png')
    b.close()
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time


class Browser:
    def __init__(self, exe):
        self.profile = tempfile.mkdtemp(prefix='nab-chromium-')
        cmd_r, cmd_w = os.pipe()     # our commands: its fd 3
        ev_r, ev_w = os.pipe()       # its answers: its fd 4
        self.proc = subprocess.Popen(
            [exe, '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
             '--remote-debugging-pipe', '--window-size=1280,900',
             '--user-data-dir=' + self.profile, 'about:blank'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=lambda: self._fds(cmd_r, ev_w))
        os.close(cmd_r)
        os.close(ev_w)
        self.w, self.r = cmd_w, ev_r
        self.buf = b''
        self.n = 0

    @staticmethod
    def _fds(r, w):
        a, b = os.dup(r), os.dup(w)    # out of the way of 3 and 4 first
        os.dup2(a, 3)
        os.dup2(b, 4)

    @classmethod
    def start(cls):
        exe = shutil.which('chromium')
        return cls(exe) if exe else None

    def call(self, method, params=None, session=None, timeout=30):
        self.n += 1
        msg = {'id': self.n, 'method': method, 'params': params or {}}
        if session:
            msg['sessionId'] = session
        os.write(self.w, json.dumps(msg).encode() + b'\0')
        deadline = time.monotonic() + timeout
        while True:
            while b'\0' in self.buf:
                m, self.buf = self.buf.split(b'\0', 1)
                m = json.loads(m)
                if m.get('id') == self.n:
                    if 'error' in m:
                        raise RuntimeError('%s: %s' % (method, m['error']))
                    return m['result']
            if time.monotonic() > deadline:
                raise TimeoutError('chromium did not answer %s' % method)
            d = os.read(self.r, 1 << 20)
            if not d:
                raise RuntimeError('chromium went away during %s' % method)
            self.buf += d

    def open(self, url):
        t = self.call('Target.createTarget', {'url': url})
        return self.call('Target.attachToTarget',
                         {'targetId': t['targetId'], 'flatten': True})['sessionId']

    def eval(self, session, expr):
        r = self.call('Runtime.evaluate', {'expression': expr, 'returnByValue': True},
                      session=session)
        return r['result'].get('value')

    def wait(self, session, expr, what, timeout=20):
        """Poll a JavaScript expression until it is truthy; return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = self.eval(session, expr)
            if v:
                return v
            time.sleep(0.05)   # polling a condition with a deadline
        raise AssertionError('page never showed %s' % what)

    def screenshot(self, session, path):
        png = self.call('Page.captureScreenshot', {'format': 'png'}, session=session)['data']
        with open(path, 'wb') as f:
            f.write(base64.b64decode(png))

    def close(self):
        try:
            self.call('Browser.close', timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)
        os.close(self.r)
        shutil.rmtree(self.profile, ignore_errors=True)
