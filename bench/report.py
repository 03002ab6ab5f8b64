#!/usr/bin/python3
"""Summarise bench/run.sh results: one table per workload, memory, callgrind.

usage: report.py RESULTS [MACHINE_TXT]

RESULTS holds key=value lines written by run.sh:
  LOAD round= workload= target= <xmppload RESULT fields>
  MEM target= conns= rss_kb= hwm_kb=
  CG target= n1= ir1= n2= ir2=
  LOG target= bytes= dropped=
  SETUP round= target= conns= p50_us= p99_us= max_us= errors=
  storm_KEY=VALUE   one per line, from bench/storm.sh (optional)
The first table is issue 11's summary: haproxy, nabproxy and their ratio
from the same run, with the targets.
Load figures are medians over the rounds. Ratios are nabproxy / haproxy
from the same run: for stanzas/s and MB/s below 1 is slower; for latency,
CPU and instructions above 1 is costlier. Standard library only.
"""
import os
import re
import statistics
import sys

NAB = ('nab-none-pass', 'nab-vm-pass', 'nab-none-sim', 'nab-vm-sim', 'nab-nodelay')
TARGETS = ('direct', 'haproxy') + NAB
LABEL = {
    'direct': 'direct (no proxy)',
    'haproxy': 'haproxy tcp',
    'nab-none-pass': 'nabproxy none/passthrough',
    'nab-vm-pass': 'nabproxy vm/passthrough',
    'nab-none-sim': 'nabproxy none/simulator',
    'nab-vm-sim': 'nabproxy vm/simulator',
    'nab-nodelay': 'what-if: none/pass + TCP_NODELAY',
}
WORKLOAD_DESC = {
    'table': '50 connections, 8 stanzas in flight each (the summary table)',
    'paced': '10 connections, 1,000 stanzas/s in total (the summary table)',
    'rtt': 'round trips on one connection',
    'c100': '100 connections, one stanza in flight each',
    'pipe': '10 connections, 8 stanzas in flight each',
    'bulk': '4 connections, 4 large stanzas in flight each',
}


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            d = {'kind': parts[0]}
            for p in parts[1:]:
                if '=' in p:
                    k, v = p.split('=', 1)
                    d[k] = v
            rows.append(d)
    return rows


def num(d, k):
    try:
        return float(d[k])
    except (KeyError, ValueError):
        return None


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, nd=1):
    if v is None:
        return '-'
    if abs(v) >= 1000 and nd <= 1:
        return '{:,.0f}'.format(v)
    return '{:.{}f}'.format(v, nd)


def ratio(a, b, nd=2):
    if a is None or b is None or b == 0:
        return '-'
    return '{:.{}f}'.format(a / b, nd)


def table(headers, rows):
    w = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    out = []
    line = lambda r: '| ' + ' | '.join(str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i])
                                       for i, c in enumerate(r)) + ' |'
    out.append(line(headers))
    out.append('|' + '|'.join('-' * (x + 2) if i == 0 else '-' * (x + 1) + ':' for i, x in enumerate(w)) + '|')
    for r in rows:
        out.append(line(r))
    return '\n'.join(out)


def main():
    rows = parse(sys.argv[1])
    if len(sys.argv) > 2 and os.path.exists(sys.argv[2]):
        with open(sys.argv[2]) as f:
            print(f.read().rstrip())
        print()

    summary(rows)

    loads = [r for r in rows if r['kind'] == 'LOAD']
    workloads = []
    for r in loads:
        if r['workload'] not in workloads:
            workloads.append(r['workload'])
    rounds = len({r['round'] for r in loads})
    print('## Load (median of %d rounds; ratio = nabproxy / haproxy)' % rounds)
    print()
    for wl in workloads:
        rs = [r for r in loads if r['workload'] == wl]
        any_r = rs[0]
        print('### %s: %s; %s-byte stanzas, window %s, %s stanzas per run' % (
            wl, WORKLOAD_DESC.get(wl, ''), any_r.get('size', '?'), any_r.get('window', '?'),
            any_r.get('stanzas', '?')))
        print()
        m = {}
        for t in TARGETS:
            tr = [r for r in rs if r['target'] == t]
            if not tr:
                continue
            m[t] = {k: med([num(r, k) for r in tr]) for k in
                    ('stanzas_per_s', 'mb_per_s', 'p50_us', 'p99_us', 'max_us',
                     'cpu_us_per_stanza')}
            m[t]['errors'] = sum(int(num(r, 'errors') or 0) for r in tr)
        h = m.get('haproxy', {})
        out = []
        for t in TARGETS:
            if t not in m:
                continue
            x = m[t]
            is_nab = t.startswith('nab')
            out.append([
                LABEL[t], fmt(x['stanzas_per_s'], 0), fmt(x['mb_per_s'], 2),
                fmt(x['p50_us']), fmt(x['p99_us']), fmt(x['max_us']),
                fmt(x['cpu_us_per_stanza'], 2) if t != 'direct' else '-',
                ratio(x['stanzas_per_s'], h.get('stanzas_per_s')) if is_nab else '',
                ratio(x['p99_us'], h.get('p99_us')) if is_nab else '',
                ratio(x['cpu_us_per_stanza'], h.get('cpu_us_per_stanza')) if is_nab else '',
                str(x['errors']) if x['errors'] else '',
            ])
        print(table(['target', 'stanzas/s', 'MB/s', 'p50 us', 'p99 us', 'max us',
                     'proxy CPU us/stanza', 'thr ratio', 'p99 ratio', 'CPU ratio', 'errors'],
                    out))
        print()

    logs = [r for r in rows if r['kind'] == 'LOG']
    vm = [r for r in loads if r['target'].startswith('nab-vm') and num(r, 'log_bytes')]
    if vm:
        per = {}
        for r in vm:
            per.setdefault(r['workload'], []).append(num(r, 'log_bytes') / max(num(r, 'stanzas') or 1, 1))
        print('[vm] log written per stanza round trip: ' + ', '.join(
            '%s %.0f B' % (w, med(v)) for w, v in per.items()) +
            '; "lines dropped" notes: %d' % sum(int(r.get('dropped', '0') or 0) for r in logs))
        print()

    after = [r for r in rows if r['kind'] == 'RSSAFTER']
    if after:
        print('RSS / peak RSS of each proxy after all load runs: ' + ', '.join(
            '%s %s/%s KB' % (r['target'], r['rss_kb'], r['hwm_kb']) for r in after))
        print()

    mems = [r for r in rows if r['kind'] == 'MEM']
    if mems:
        print('## Idle connections: proxy memory (fresh process; each connection did')
        print('##   the stream header exchange and one 256-byte stanza round trip)')
        print()
        out = []
        per = {}
        for t in ('haproxy',) + NAB:
            mr = {int(r['conns']): r for r in mems if r['target'] == t}
            if not mr:
                continue
            c = sorted(mr)
            lo, hi = c[0], c[-1]
            rss = {k: float(mr[k]['rss_kb']) for k in c}
            pc = (rss[hi] - rss[lo]) / (hi - lo) if hi > lo else None
            per[t] = pc
            out.append([LABEL[t]] + ['%d KB' % rss[k] for k in c] +
                       ['%s KB' % mr[hi]['hwm_kb'], fmt(pc, 1),
                        ratio(pc, per.get('haproxy'), 1) if t != 'haproxy' else ''])
            heads = ['target'] + ['RSS @%d' % k for k in c] + [
                'HWM @%d' % hi, 'KB per idle conn', 'ratio']
        print(table(heads, out))
        print()

    cgs = [r for r in rows if r['kind'] == 'CG']
    if cgs:
        print('## callgrind: user-space instructions per stanza (1 connection, 256-byte')
        print('##   stanzas, window 1; (Ir(N2 round trips) - Ir(N1)) / (N2 - N1) / 2)')
        print()
        out = []
        base = None
        for r in cgs:
            try:
                per = (float(r['ir2']) - float(r['ir1'])) / (float(r['n2']) - float(r['n1'])) / 2
            except (KeyError, ValueError, ZeroDivisionError):
                per = None
            if r['target'] == 'haproxy':
                base = per
            out.append([LABEL.get(r['target'], r['target']), fmt(per, 0),
                        ratio(per, base, 1) if r['target'] != 'haproxy' else ''])
        print(table(['target', 'Ir per stanza', 'ratio'], out))
        print()
        d = os.path.dirname(os.path.abspath(sys.argv[1]))
        for r in cgs:
            if r['target'] == 'haproxy':
                continue
            hot_spots(d, r, r['target'] == 'nab-none-pass')


def idle_kb(rows, t):
    """KB per idle connection: (RSS at the top level - at the lowest) / n."""
    mr = {int(r['conns']): float(r['rss_kb']) for r in rows
          if r['kind'] == 'MEM' and r['target'] == t and num(r, 'rss_kb') not in (None, -1)}
    if len(mr) < 2:
        return None, None
    lo, hi = min(mr), max(mr)
    return (mr[hi] - mr[lo]) / (hi - lo), hi


def summary(rows):
    """Issue 11's table: one line per measure, haproxy / nabproxy / ratio."""
    loads = [r for r in rows if r['kind'] == 'LOAD']

    def lm(wl, t, k):
        return med([num(r, k) for r in loads if r['workload'] == wl and r['target'] == t])

    out = []
    nab = 'nab-none-pass'
    h, n = lm('table', 'haproxy', 'stanzas_per_s'), lm('table', nab, 'stanzas_per_s')
    if h is not None or n is not None:
        out.append(['throughput, stanzas/s (50 conns, window 8, 200 B)',
                    fmt(h, 0), fmt(n, 0), ratio(n, h), '>= 0.8'])
        v = lm('table', 'nab-vm-pass', 'stanzas_per_s')
        out.append(['  the same with log-format vm', fmt(h, 0), fmt(v, 0), ratio(v, h), '>= 0.6'])
        h, n = lm('table', 'haproxy', 'cpu_us_per_stanza'), lm('table', nab, 'cpu_us_per_stanza')
        out.append(['relay CPU per stanza, us', fmt(h, 2), fmt(n, 2), ratio(n, h), '<= 1.5'])
    d = lm('paced', 'direct', 'p50_us')
    h, n = lm('paced', 'haproxy', 'p50_us'), lm('paced', nab, 'p50_us')
    if d is not None and h is not None and n is not None:
        out.append(['added latency p50 at 1 k stanzas/s, us', '+' + fmt(h - d),
                    '+' + fmt(n - d), ratio(n - d, h - d), '<= 1.2'])
    h, hl = idle_kb(rows, 'haproxy')
    n, nl = idle_kb(rows, nab)
    if h is not None or n is not None:
        out.append(['memory per idle connection (%s conns), KiB' % (nl or hl),
                    fmt(h, 2), fmt(n, 2), ratio(n, h), '<= 6.6 KiB'])
    setups = [r for r in rows if r['kind'] == 'SETUP']
    if setups:
        sm = lambda t: med([num(r, 'p99_us') for r in setups if r['target'] == t])
        h, n = sm('haproxy'), sm(nab)
        if h is not None and n is not None:
            out.append(['connection setup p99 (2,000 conns), ms', fmt(h / 1e3, 1),
                        fmt(n / 1e3, 1), ratio(n, h), '<= 1.3'])
    # --- login storm (bench/storm.sh, issue 11 item 3) -------------------
    # storm.sh appends "storm_KEY=VALUE" lines to results.txt (STORM=1
    # bench/run.sh, or bench/storm.sh RESULTS alone); nabproxy only, no
    # haproxy column: haproxy does not log in.
    storm = {}
    for r in rows:
        if r['kind'].startswith('storm_') and '=' in r['kind']:
            k, v = r['kind'].split('=', 1)
            storm[k] = v
    for key, label, target in (
            ('storm_cpu_ms_per_login', 'login storm: proxy CPU per login, ms (%s rabbits reconnecting)'
             % storm.get('storm_rabbits', '?'), '<= 0.3'),
            ('storm_control_rtt_p99_ms', 'login storm: control round trip p99, ms', '< 50'),
            ('storm_fw_idle', 'login storm: 18673 rabbits idle after reconnecting (of %s)'
             % storm.get('storm_fw_rabbits', '?'), 'all')):
        if key in storm:
            out.append([label, '-', storm[key], '-', target])
    if not out:
        return
    print('## Summary (issue 11): haproxy and nabproxy none/passthrough, same run')
    print()
    print(table(['measure', 'haproxy', 'nabproxy', 'ratio', 'target'], out))
    print()


ANN = re.compile(r'^\s*([\d,]+)\s+\([\s\d.]+%\)\s+(.*?)\s*(?:\[(.*)\])?\s*$')


def annotate(path, self_cost=False):
    """callgrind_annotate listing -> {(function, object): Ir}.

    In a dump taken mid-run, the frames still on the stack (main,
    event_base_dispatch, ...) are listed with the program total as their
    self cost; with self_cost those entries are dropped.
    """
    out = {}
    started = False
    total = None
    with open(path) as f:
        for line in f:
            if 'PROGRAM TOTALS' in line:
                total = int(line.split()[0].replace(',', ''))
                continue
            if 'file:function' in line:
                started = True
                continue
            if not started:
                continue
            if line.startswith('----') and out:
                break
            m = ANN.match(line)
            if m:
                fn = m.group(2)
                if ':' in fn:
                    fn = fn.rsplit(':', 1)[1] if not fn.startswith('???:') else fn[4:]
                obj = os.path.basename(m.group(3) or '?')
                if self_cost and int(m.group(1).replace(',', '')) == total:
                    continue
                key = (fn, obj)
                out[key] = out.get(key, 0) + int(m.group(1).replace(',', ''))
    return out


def short_obj(o):
    for k in ('libexpat', 'libevent', 'libc.so', 'ld-linux', 'libcrypto', 'libssl'):
        if o.startswith(k):
            return k.rstrip('.so')
    return o


def hot_spots(d, r, detailed):
    """Per-stanza Ir by object and by function: run N2 minus run N1."""
    name, n1, n2 = r['target'], r['n1'], r['n2']
    paths = [os.path.join(d, 'callgrind.%s.%s.%s.txt' % (name, n, k))
             for n in (2, 3) for k in ('self', 'incl')]
    if not all(os.path.exists(x) for x in paths):
        return
    s1, i1, s2, i2 = (annotate(paths[0], True), annotate(paths[1]),
                      annotate(paths[2], True), annotate(paths[3]))
    stanzas = (float(n2) - float(n1)) * 2
    diff = lambda a, b: {k: (b.get(k, 0) - a.get(k, 0)) / stanzas for k in set(a) | set(b)}
    ds, di = diff(s1, s2), diff(i1, i2)
    total = sum(v for v in ds.values())
    print('### %s: where the instructions of one stanza go (phase N2 minus phase N1)' % LABEL.get(name, name))
    print()
    objs = {}
    for (fn, obj), v in ds.items():
        objs[short_obj(obj)] = objs.get(short_obj(obj), 0) + v
    print('by object: ' + ', '.join('%s %.0f (%.0f%%)' % (o, v, 100 * v / total)
                                   for o, v in sorted(objs.items(), key=lambda x: -x[1]) if v > total * 0.005))
    print()
    if not detailed:
        mine = sorted(((v, fn) for (fn, obj), v in di.items() if obj == 'nabproxy' and v > total * 0.02
                       and fn not in ('main', 'run_daemon', '(below main)')), reverse=True)
        print('nabproxy functions, inclusive Ir per stanza: ' + ', '.join(
            '%s %.0f' % (fn, v) for v, fn in mine[:12]))
        print()
        return
    rows = [[fn, short_obj(obj), fmt(v, 0), '%.1f%%' % (100 * v / total)]
            for (fn, obj), v in sorted(ds.items(), key=lambda x: -x[1])[:15]]
    print(table(['function (self)', 'object', 'Ir/stanza', 'share'], rows))
    print()
    mine = sorted(((v, fn) for (fn, obj), v in di.items() if obj == 'nabproxy' and v > total * 0.01
                   and fn not in ('main', 'run_daemon', '(below main)')), reverse=True)
    rows = [[fn, fmt(v, 0), '%.1f%%' % (100 * v / total)] for v, fn in mine[:20]]
    print(table(['nabproxy function (inclusive)', 'Ir/stanza', 'share'], rows))
    print()

if __name__ == '__main__':
    main()
