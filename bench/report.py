#!/usr/bin/env python3
"""Turn bench/run.sh's raw lines into results.md and gnuplot data files.

usage: report.py RESULTS_DIR   (reads raw.txt and env.txt there)

Every figure is the median of the runs of one configuration; the spread is
given as min-max.  Only runs whose generator checks passed (ok=1,
errors=0) are counted; failed runs are listed at the end.
"""

import glob
import os
import statistics
import sys


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            d = {}
            for tok in line.split():
                if '=' in tok:
                    k, v = tok.split('=', 1)
                    d[k] = v
            if d:
                d['_line'] = line.strip()
                rows.append(d)
    return rows


def num(d, k):
    try:
        return float(d.get(k, 'nan'))
    except ValueError:
        return float('nan')


def good(d):
    return d.get('ok') == '1' and d.get('errors') == '0'


def select(rows, **kw):
    out = []
    for d in rows:
        if all(d.get(k) == str(v) for k, v in kw.items()):
            out.append(d)
    return out


def med(rows, key):
    vals = [num(d, key) for d in rows if good(d)]
    vals = [v for v in vals if v == v]
    if not vals:
        return None
    return (statistics.median(vals), min(vals), max(vals), len(vals))


def fmt_count(x):
    if x is None:
        return 'n/a'
    if x >= 1e9:
        return '%.2f G' % (x / 1e9)
    if x >= 1e6:
        return '%.2f M' % (x / 1e6)
    if x >= 1e3:
        return '%.1f k' % (x / 1e3)
    return '%.0f' % x


def cell(m, scale=1.0, f=fmt_count, unit=''):
    if m is None:
        return 'n/a'
    v, lo, hi, n = m
    return '%s%s (%s-%s, n=%d)' % (f(v * scale), unit, f(lo * scale),
                                  f(hi * scale), n)


def main():
    outdir = sys.argv[1]
    rows = parse(os.path.join(outdir, 'raw.txt'))
    env = {}
    with open(os.path.join(outdir, 'env.txt')) as f:
        for line in f:
            if '=' in line:
                k, v = line.rstrip('\n').split('=', 1)
                env[k] = v
    md = []
    w = md.append
    w('# ClawNexus relay benchmarks')
    w('')
    w('One full run of `bench/run.sh` (%s runs per configuration, %s s '
      'measured per run).' % (env.get('runs'), env.get('duration')))
    w('')
    w('| | |')
    w('|---|---|')
    for k in ('date', 'host_cpu', 'ncpu', 'kernel', 'nginx', 'node', 'ws',
              'wormhole', 'go', 'gorilla_websocket', 'module_old',
              'pinning', 'loadavg_start', 'loadavg_end'):
        w('| %s | %s |' % (k, env.get(k, '')))
    w('')
    try:
        busy = float(env.get('loadavg_start', '0').split()[0]) > 1.0 or \
            float(env.get('loadavg_end', '0').split()[0]) > 2.5
    except ValueError:
        busy = False
    if busy:
        w('**This machine was busy during the run** (shared with other '
          'builds; see the load averages above).  Throughput is therefore '
          'given per relay CPU-second (utime+stime of the relay processes '
          'from /proc/PID/stat over the measured interval), which does not '
          'depend on how much CPU the relay got; wall-clock rates and '
          'latencies are affected by the load.')
        w('')
    mod_ok = env.get('module_ok') == '1'
    if not mod_ok:
        w('**The nginx module relay was not measured**: %s.  Only the '
          'baselines are in the tables below.' %
          env.get('module_smoke_error', 'it did not pass the smoke run'))
        w('')

    # ---------------------------------------------------------------- targets
    targets = []
    node200 = med(select(rows, test='msgs', relay='node', path='json',
                         size=200), 'msgs_per_cpu_s')
    mod200 = med(select(rows, test='msgs', relay='module', path='json',
                        size=200), 'msgs_per_cpu_s')
    if node200 and mod200:
        ratio = mod200[0] / node200[0]
        targets.append(('JSON DATA 200 B, msgs per relay CPU-s vs Node ws',
                        '>= 10x', '%s vs %s: %.1fx' % (fmt_count(mod200[0]),
                                                       fmt_count(node200[0]),
                                                       ratio),
                        '%.2f' % (ratio / 10), ratio >= 10))
    else:
        targets.append(('JSON DATA 200 B, msgs per relay CPU-s vs Node ws',
                        '>= 10x', 'not measured', '', None))
    bulk = med(select(rows, test='bulk', relay='module', path='binary'),
               'bytes_per_cpu_s')
    targets.append(('binary DATA 64 KiB, payload bytes per relay CPU-s',
                    '>= 1.5 GB', '%.2f GB' % (bulk[0] / 1e9) if bulk
                    else 'not measured',
                    '%.2f' % (bulk[0] / 1.5e9) if bulk else '',
                    (bulk[0] >= 1.5e9) if bulk else None))
    p99 = med(select(rows, test='pair', relay='module', load='idle'),
              'p99_us')
    pp99 = med(select(rows, test='pair', relay='module', load='idle'),
               'ping_p99_us')
    prt = med(select(rows, test='pair', relay='module', load='idle-rt'),
              'p99_us')
    targets.append(('pairing JOIN -> both JOINED, p99 (idle relay)',
                    '< 1 ms', ('%.0f us (same-run PING->PONG p99: %s; with '
                               'SCHED_FIFO: %s)' %
                               (p99[0], '%.0f us' % pp99[0] if pp99
                                else 'n/a', '%.0f us' % prt[0] if prt
                                else 'n/a')) if p99 else 'not measured',
                    '%.2f' % (1000.0 / p99[0]) if p99 else '',
                    (p99[0] < 1000) if p99 else None))
    for what, key, limit in (('memory per idle registered socket (10k)',
                              'per_socket_kb', 16),
                             ('memory per active room, all 5,000 rooms '
                              'moving data (10k sockets)',
                              'per_active_room_kb', 64)):
        m = med(select(rows, test='idle', relay='module', count=10000), key)
        targets.append((what, '<= %d KiB' % limit,
                        '%.1f KiB' % m[0] if m else 'not measured',
                        '%.2f' % (limit / m[0]) if m and m[0] > 0 else '',
                        (m[0] <= limit) if m else None))
    hs = med(select(rows, test='session'), 'handshakes_per_s')
    ssu = med(select(rows, test='session'), 'session_setups_per_s')
    bound = med(select(rows, test='session'), 'xx_side_bound_per_s')
    ratio = med(select(rows, test='session'), 'xx_bound_ratio')
    hs_txt = fmt_count(hs[0]) if hs else 'not measured'
    if hs and ssu and bound:
        hs_txt += (' of at most %s that 3 DH + 1 key generation per side '
                   'with libsodium allow in the same run (whole session '
                   'setup: %s; see section 6)'
                   % (fmt_count(bound[0]), fmt_count(ssu[0])))
    targets.append(('session v2 handshakes per second per core (Noise XX, '
                    'one side) against the X25519 bound', '>= 95%',
                    hs_txt + (' = %.1f%%' % (ratio[0] * 100) if ratio else ''),
                    '%.2f' % (ratio[0] / 0.95) if ratio else '',
                    (ratio[0] >= 0.95) if ratio else None))
    for rec in (1024, 16384):
        a = med(select(rows, test='session'), 'aead_ratio_%d' % rec)
        targets.append(('session AEAD vs OpenSSL EVP AES-256-GCM, %d B'
                        ' records' % rec, '>= 95%',
                        '%.0f%%' % (a[0] * 100) if a else 'not measured',
                        '%.2f' % (a[0] / 0.95) if a else '',
                        (a[0] >= 0.95) if a else None))
    # issue 14: the Go baseline, wss, cross-worker, memory, no regression
    def ratio_target(what, goal, a, b, need, fmt=fmt_count):
        if a and b and b[0] > 0:
            r = a[0] / b[0]
            targets.append((what, goal, '%s vs %s: %.2fx' % (
                fmt(a[0]), fmt(b[0]), r), '%.2f' % (r / need), r >= need))
        else:
            targets.append((what, goal, 'not measured', '', None))
    gb_fmt = lambda x: '%.2f GB' % (x / 1e9)
    ratio_target('JSON DATA 200 B, msgs per relay CPU-s vs Go gorilla',
                 '>= 10x', mod200, med(select(rows, test='msgs', relay='go',
                                              path='json', size=200),
                                       'msgs_per_cpu_s'), 10)
    for path, size, key, f in (('json', 200, 'msgs_per_cpu_s', fmt_count),
                               ('binary', 65536, 'bytes_per_cpu_s', gb_fmt)):
        ratio_target('wss %s %s B, %s per relay CPU-s vs Go crypto/tls'
                     % (path, size, 'msgs' if path == 'json' else 'bytes'),
                     '>= 5x',
                     med(select(rows, test='tls', relay='module', path=path),
                         key),
                     med(select(rows, test='tls', relay='go', path=path),
                         key), 5, f)
    ratio_target('2 workers, every pair split across them, msgs per relay '
                 'CPU-s vs 1 worker', '>= 70%',
                 med(select(rows, test='split', workers=2), 'msgs_per_cpu_s'),
                 med(select(rows, test='workers', workers=1),
                     'msgs_per_cpu_s'), 0.7)
    for what, test in (('memory per idle registered socket (10k)', 'idle'),
                       ('memory per socket (10k) after 200 of them each '
                        'sent one 1 MiB message, all idle again', 'idlebig')):
        key = 'per_socket_kb' if test == 'idle' else 'per_socket_after_big_kb'
        m = med(select(rows, test=test, relay='module', count=10000), key)
        targets.append((what + ', relay redesign goal', '<= 4 KiB',
                        '%.2f KiB' % m[0] if m else 'not measured',
                        '%.2f' % (4 / m[0]) if m and m[0] > 0 else '',
                        (m[0] <= 4) if m else None))
    for test, path, key, f in (('msgs', 'json', 'msgs_per_cpu_s', fmt_count),
                               ('bulk', 'binary', 'bytes_per_cpu_s', gb_fmt)):
        kw = dict(test=test, path=path)
        if test == 'msgs':
            kw['size'] = 200
        ratio_target('no regression: %s per relay CPU-s vs the module '
                     'before the change (module-old), same run'
                     % ('JSON 200 B msgs' if test == 'msgs'
                        else 'binary 64 KiB bytes'), '>= 95%',
                     med(select(rows, relay='module', **kw), key),
                     med(select(rows, relay='module-old', **kw), key),
                     0.95, f)
    w('@@TARGETS@@')
    targets_extra = []

    # --------------------------------------------------------------- messages
    relays = [r for r in ('module', 'module-old', 'go', 'node')
              if select(rows, test='msgs', relay=r)
              or select(rows, test='idle', relay=r)]
    w('## 1. Relayed DATA messages per relay CPU-second')
    w('')
    w('20 pairs, both directions, at most 128 messages in flight per '
      'direction; every message checked (room, sequence, length, content). '
      'Median (min-max) of the runs.  Wall rate = messages delivered per '
      'second of wall time.  On loopback a send() also runs the receiving '
      'side\'s TCP processing in the sender\'s context, so the kernel part '
      'of both relays\' per-message cost is higher than with a real NIC; '
      'the system-call table below shows how many calls each relay makes '
      'per message.  "relay busy" is relay CPU time / wall time: below '
      '100% the generator (one core) was the limit, not the relay, and '
      'the relay batched less than it would under more load.')
    w('')
    w('| payload | path | relay | msgs per relay CPU-s | msgs/s (wall) | '
      'relay busy |')
    w('|---|---|---|---|---|---|')
    for f in glob.glob(os.path.join(outdir, '*.dat')):
        os.remove(f)
    for f in glob.glob(os.path.join(outdir, '*.png')):
        os.remove(f)
    with open(os.path.join(outdir, 'msgs.dat'), 'w') as dat:
        dat.write('payload ' + ' '.join('%s-json %s-binary' % (r, r)
                                        for r in relays) + '\n')
        for size in (64, 200, 4096):
            vals = []
            for path in ('json', 'binary'):
                for r in relays:
                    sel = select(rows, test='msgs', relay=r, path=path,
                                 size=size)
                    m = med(sel, 'msgs_per_cpu_s')
                    ws = med(sel, 'msgs_per_s')
                    busy = med([dict(d, busy=str(num(d, 'relay_cpu') /
                                                 max(num(d, 'wall'), 1e-9)))
                                for d in sel], 'busy')
                    w('| %d B | %s | %s | %s | %s | %s |' % (
                        size, path, r, cell(m), cell(ws),
                        '%.0f%%' % (busy[0] * 100) if busy else 'n/a'))
            for r in relays:
                for path in ('json', 'binary'):
                    m = med(select(rows, test='msgs', relay=r, path=path,
                                   size=size), 'msgs_per_cpu_s')
                    vals.append('%.0f' % m[0] if m else '0')
            dat.write('"%d B" %s\n' % (size, ' '.join(vals)))
    w('')
    w('![messages per CPU-second](msgs.png)')
    w('')

    sc = select(rows, test='syscalls')
    if sc:
        w('System calls per relayed message (JSON, 200 B, 20 pairs), counted '
          'with `strace -c -f` attached to the relay during a separate run '
          '(strace slows the relay, so no rate is taken from that run); '
          'calls below 0.01 per message are left out:')
        w('')
        w('| relay | system calls per relayed message |')
        w('|---|---|')
        for d in sc:
            calls = sorted(((k, num(d, k)) for k in d
                            if k not in ('test', 'relay', 'ok', 'msgs',
                                         'errors', '_line')),
                           key=lambda kv: -kv[1])
            w('| %s | %s |' % (d.get('relay'), ', '.join(
                '%s %.3f' % kv for kv in calls if kv[1] >= 0.01)))
        w('')

    # ------------------------------------------------------------------- bulk
    w('## 2. Bulk: 64 KiB messages, payload bytes per relay CPU-second')
    w('')
    w('4 pairs, both directions, 8 messages in flight per direction.  '
      '`proxy` is stock nginx `proxy_pass` (stream, default 16k buffer) to '
      'a sink in the generator: raw TCP bytes, no WebSocket, no routing '
      '(the ceiling for moving bytes through nginx).  `wormhole` is '
      'magic-wormhole\'s transit relay (Python/Twisted, Debian package '
      'magic-wormhole-transit-relay %s): two TCP connections paired by a '
      'token line, then raw bytes glued; like `proxy` it moves plain TCP '
      'bytes, with no WebSocket framing or masking, so it is a byte-moving '
      'reference rather than the same workload.  syncthing-relaysrv was not '
      'measured: its protocol mode needs TLS with device certificates on '
      'both ends before a session can be set up, which the generator does '
      'not implement.' % env.get('wormhole', ''))
    w('')
    w('| relay | path | GB per relay CPU-s | GB/s (wall) |')
    w('|---|---|---|---|')
    gb = lambda x: '%.2f' % x
    with open(os.path.join(outdir, 'bulk.dat'), 'w') as dat:
        ws_relays = ('module', 'module-old', 'go', 'node')
        for r in ws_relays + ('proxy', 'wormhole'):
            for path in (('binary', 'json') if r in ws_relays
                         else ('raw',)):
                sel = select(rows, test='bulk', relay=r)
                if r in ws_relays:
                    sel = select(sel, path=path)
                if not sel:
                    continue
                m = med(sel, 'bytes_per_cpu_s')
                wall = med([dict(d, bps=str(num(d, 'bytes') /
                                             max(num(d, 'wall'), 1e-9)))
                            for d in sel], 'bps')
                w('| %s | %s | %s | %s |' % (r, path,
                                             cell(m, 1e-9, gb),
                                             cell(wall, 1e-9, gb)))
                if m:
                    dat.write('"%s %s" %.3f\n' % (r, path, m[0] / 1e9))
    w('')
    w('![bulk bytes per CPU-second](bulk.png)')
    w('')

    # ---------------------------------------------------------------- pairing
    w('## 3. Pairing latency: JOIN sent -> both JOINED received')
    w('')
    w('Measured by the generator (client side, includes its own event loop). '
      'One pairing outstanding at a time; each pair pairs 4 times.  '
      '"busy": meanwhile 10 other pairs exchange 200 B JSON DATA at a steady '
      '40,000 messages/s in total.  Median over runs of each run\'s '
      'percentile, in microseconds.  After each pairing the initiator sends '
      'one PING and times the PONG: a request the relay answers at once, '
      'whose tail shows how much of the pairing tail is the machine\'s '
      'scheduling rather than the relay.  "idle-rt", "busy-rt": the same '
      'measurements again with the relay and the generator in the '
      'real-time scheduling class (SCHED_FIFO) for the duration of the run, '
      'so that other work on the shared machine cannot preempt them.')
    w('')
    w('| relay | load | samples/run | p50 us | p99 us | p99.9 us | max us | '
      'PING->PONG p50 / p99 us |')
    w('|---|---|---|---|---|---|---|---|')
    us = lambda x: '%.0f' % x
    for r in relays:
        for load in ('idle', 'busy', 'idle-rt', 'busy-rt'):
            sel = select(rows, test='pair', relay=r, load=load)
            if not sel:
                continue
            s = med(sel, 'samples')
            pp50, pp99 = med(sel, 'ping_p50_us'), med(sel, 'ping_p99_us')
            w('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
                r, load, us(s[0]) if s else 'n/a',
                cell(med(sel, 'p50_us'), 1, us),
                cell(med(sel, 'p99_us'), 1, us),
                cell(med(sel, 'p999_us'), 1, us),
                cell(med(sel, 'max_us'), 1, us),
                '%s / %s' % (us(pp50[0]), us(pp99[0])) if pp50 and pp99
                else 'n/a'))
    latdir = os.path.join(outdir, 'latency')
    for r in relays:
        for load in ('idle', 'busy', 'idle-rt', 'busy-rt'):
            samples = []
            for f in glob.glob(os.path.join(latdir, 'lat-%s-%s-[0-9]*.txt' %
                                            (r, load))):
                with open(f) as fh:
                    samples += [float(x) for x in fh if x.strip()]
            samples.sort()
            if samples:
                with open(os.path.join(outdir, 'cdf-%s-%s.dat' % (r, load)),
                          'w') as dat:
                    n = len(samples)
                    for i, v in enumerate(samples):
                        dat.write('%.2f %.5f\n' % (v, (i + 1) / n))
    w('')
    w('![pairing latency CDF](pairing.png)')
    w('')

    # ----------------------------------------------------------------- memory
    w('## 4. Memory: relay RSS growth')
    w('')
    w('A fresh relay process for each count.  Sockets connect and REGISTER '
      '(RSS sampled 0.5 s after the last REGISTERED); then they pair into '
      'rooms (count/2) that each carry one 64 B message both ways (sampled '
      'again: rooms after use); then every room moves data for one second, '
      'one 64 B message in flight per direction, and RSS is sampled while '
      'they do (active rooms).  Per socket = growth over the base / '
      'sockets; per room = growth over the registered state / rooms (the '
      'sockets\' own memory is not included).  VmRSS from /proc/PID/status, '
      'summed over the relay processes.')
    w('')
    w('| relay | sockets | base RSS MiB | per idle socket KiB | '
      'per room after use KiB | per active room KiB |')
    w('|---|---|---|---|---|---|')
    with open(os.path.join(outdir, 'memory.dat'), 'w') as dat:
        for r in relays:
            for count in (1000, 10000):
                sel = select(rows, test='idle', relay=r, count=count)
                if not sel:
                    continue
                base = med(sel, 'rss_base_kb')
                ps = med(sel, 'per_socket_kb')
                pr = med(sel, 'per_room_kb')
                pa = med(sel, 'per_active_room_kb')
                w('| %s | %d | %s | %s | %s | %s |' % (
                    r, count, '%.1f' % (base[0] / 1024) if base else 'n/a',
                    '%.2f' % ps[0] if ps else 'n/a',
                    '%.2f' % pr[0] if pr else 'n/a',
                    '%.2f' % pa[0] if pa else 'n/a'))
                if ps and pr and pa:
                    dat.write('"%s %dk" %.2f %.2f %.2f\n' % (
                        r, count // 1000, ps[0], pr[0], pa[0]))
    ib = select(rows, test='idlebig', relay='module')
    if ib:
        m = med(ib, 'per_socket_after_big_kb')
        w('')
        w('After big messages: a fresh module relay, 10,000 sockets '
          'register, they pair into 5,000 rooms, the rooms of 100 pairs '
          'each carry one 1 MiB binary message each way (1,048,448 B '
          'payload, a frame just under the 1 MiB limit), the others one '
          '64 B message; 0.5 s after the last delivery, RSS growth over '
          'the base / 10,000 sockets: %s KiB per socket (rooms '
          'included).' % ('%.2f' % m[0] if m else 'n/a'))
    w('')
    w('![memory per socket and per room](memory.png)')
    w('')

    # ---------------------------------------------------------------- workers
    wk = select(rows, test='workers')
    if wk:
        w('## 5. Scaling with worker_processes')
        w('')
        w('JSON 200 B, 40 pairs, `listen ... reuseport`, nothing pinned '
          '(generator and workers share the 2 CPUs, so wall rates cannot '
          'scale past the machine).  Cross-worker pairs: pairs whose two '
          'sockets sit in different workers, found from /proc (socket '
          'inodes of each worker vs the generator\'s ports).')
        w('')
        w('| workers | msgs per relay CPU-s | msgs/s (wall) | '
          'cross-worker pairs |')
        w('|---|---|---|---|')
        with open(os.path.join(outdir, 'workers.dat'), 'w') as dat:
            for n in (1, 2, 4):
                sel = select(wk, workers=n)
                if not sel:
                    continue
                m = med(sel, 'msgs_per_cpu_s')
                ws = med(sel, 'msgs_per_s')
                xp = med(sel, 'cross_pairs')
                pr = med(sel, 'pairs')
                w('| %d | %s | %s | %s |' % (
                    n, cell(m), cell(ws),
                    ('%.0f of %.0f' % (xp[0], pr[0])) if xp and xp[0] >= 0
                    else 'n/a (one worker)'))
                if m and ws:
                    dat.write('%d %.0f %.0f\n' % (n, m[0], ws[0]))
        w('')
        w('![workers](workers.png)')
        w('')

    sp = select(rows, test='split')
    if sp:
        m = med(sp, 'msgs_per_cpu_s')
        ws = med(sp, 'msgs_per_s')
        xp = med(sp, 'cross_pairs')
        w('Every pair split across the 2 workers (`cnx-loadgen --split`: '
          'the registered sockets are re-paired by the worker that holds '
          'them before any JOIN; only the imbalance pairs within a '
          'worker): %s msgs per relay CPU-s, %s msgs/s wall, %s of 40 '
          'pairs cross-worker (median).' % (
              cell(m), cell(ws), '%.0f' % xp[0] if xp else 'n/a'))
        w('')

    # -------------------------------------------------------------------- tls
    tl = select(rows, test='tls')
    if tl:
        w('## 5b. wss: the relays behind TLS')
        w('')
        w('The generator speaks TLS through OpenSSL (`--tls`); nginx with '
          '`listen ... ssl` (the stock OpenSSL of the distribution), the Go '
          'relay with crypto/tls, Node with `https`; a P-256 certificate, '
          'TLS 1.3 (nginx is given `ssl_protocols TLSv1.2 TLSv1.3`) with '
          'AES-128-GCM listed first by the generator, which nginx follows '
          'and Go picks anyway (Node keeps its own order, AES-256-GCM); '
          '"negotiated" says what each run got.  JSON 200 B: 20 pairs, '
          'window 128; binary 64 KiB: 4 pairs, window 8.  Relay pinned to '
          'CPU 1 (so the Go runtime runs with GOMAXPROCS 1).')
        w('')
        w('| path | relay | msgs per relay CPU-s | GB per relay CPU-s | '
          'msgs/s (wall) | relay busy | negotiated |')
        w('|---|---|---|---|---|---|---|')
        gb = lambda x: '%.2f' % x
        for path in ('json', 'binary'):
            for r in ('module', 'go', 'node'):
                sel = select(tl, relay=r, path=path)
                if not sel:
                    continue
                busy = med([dict(d, busy=str(num(d, 'relay_cpu') /
                                             max(num(d, 'wall'), 1e-9)))
                            for d in sel], 'busy')
                w('| %s | %s | %s | %s | %s | %s | %s |' % (
                    path, r, cell(med(sel, 'msgs_per_cpu_s')),
                    cell(med(sel, 'bytes_per_cpu_s'), 1e-9, gb),
                    cell(med(sel, 'msgs_per_s')),
                    '%.0f%%' % (busy[0] * 100) if busy else 'n/a',
                    ', '.join(sorted(set(d['tls'] for d in sel
                                         if d.get('tls')))) or 'n/a'))
        w('')

    # ---------------------------------------------------------------- session
    ss = select(rows, test='session')
    if ss:
        w('## 6. Session layer')
        w('')
        w('`bench/cnx-session-bench`, single thread, CPU time of the process. '
          'Handshakes: both sides of a complete Noise handshake run in one '
          'process (`xx_`/`ik_handshakes_per_s`); `handshakes_per_s` is twice '
          'the XX figure, i.e. what one endpoint spends per handshake it '
          'takes part in.  AEAD: `cnx_aead_seal` (the primitive the v2 '
          'transport seals each record with, a wrapper of OpenSSL EVP) '
          'against OpenSSL EVP AES-256-GCM called directly, alternating, '
          'median of rounds; GB per CPU-second.  `session_setups_per_s`: '
          'whole v2 session setups the way two endpoints run them (both '
          'KEY_EXCHANGE messages, then Noise XX in text DATA payloads), per '
          'side.  `x25519_*_libsodium_us`: microseconds of CPU for one '
          '`crypto_scalarmult()` and one key generation '
          '(`randombytes_buf()` + `crypto_scalarmult_base()`) on libsodium '
          'directly, measured before and after the handshakes (the faster '
          'counts); `xx_side_bound_per_s` = 1 / (3 DH + 1 key generation), '
          'the most XX handshakes per second one side could do if nothing '
          'but the X25519 operations cost anything; `xx_bound_ratio` = '
          '`handshakes_per_s` / that bound; `xx_side_overhead_us`: '
          'microseconds of CPU one side spends per XX handshake beyond '
          'those X25519 operations (hashing, AEAD, state).  '
          '`x25519_dh_us`, '
          '`x25519_keygen_us`: the same through the library\'s wrappers; '
          '`x25519_dh_openssl_us`: OpenSSL 3 `EVP_PKEY_derive` for '
          'comparison.  `hkdf_*`, `hmac_*`: one Noise HKDF step and one '
          'HMAC-SHA256 as composed in the library and as one call of '
          'OpenSSL (`EVP_KDF`, `EVP_MAC`) or libsodium (docs/codecs.md).')
        w('')
        w('| metric | median (min-max) |')
        w('|---|---|')
        keys = sorted({k for d in ss for k in d
                       if k not in ('test', 'run', 'ok', 'errors', '_line')})
        for k in keys:
            m = med(ss, k)
            if m:
                w('| %s | %s |' % (k, cell(m, 1, lambda x: '%.4g' % x)))
        w('')
    else:
        w('## 6. Session layer')
        w('')
        w('Not measured in this run (no `bench/cnx-session-bench`).')
        w('')

    # ---------------------------------------------------------------- stream
    st = select(rows, test='stream')
    w('## 7. A stream end to end through the relay')
    w('')
    if st:
        w('A byte source -> `clawnexus-link connect` (reading its stdin, a '
          'pipe) -> a module relay of its own (1 worker, default settings, '
          'binary DATA frames; started for each run like the proxies of the '
          'chain below, not pinned) -> `clawnexus-link serve --forward` -> '
          'a TCP sink, '
          'all on 127.0.0.1; session v2 (AES-256-GCM both ends).  The '
          'source is a Python loop writing zeros in 1 MiB blocks; the sink '
          'is Python `recv_into` a 1 MiB buffer, counting bytes.  Throughput '
          '= bytes / time from the sink\'s first byte to its end of stream.  '
          'CPU seconds of each process over the transfer show where time '
          'goes; "CPU s per GB" sums all five processes.  Five processes '
          'share 2 CPUs, so the wall rate is at most 2 / (CPU s per GB) '
          'GB/s, less when they wait on each other.')
        w('')
        w('| bytes | GB/s end to end | relay CPU s | serve CPU s | '
          'connect CPU s | sink CPU s | source CPU s | CPU s per GB | '
          'path |')
        w('|---|---|---|---|---|---|---|---|---|')
        g3 = lambda x: '%.3f' % x
        g2 = lambda x: '%.2f' % x
        gbps = med(st, 'gbps')
        w('| %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            fmt_count(med(st, 'bytes')[0]) if med(st, 'bytes') else 'n/a',
            cell(gbps, 1, g3), cell(med(st, 'relay_cpu'), 1, g2),
            cell(med(st, 'serve_cpu'), 1, g2),
            cell(med(st, 'connect_cpu'), 1, g2),
            cell(med(st, 'sink_cpu'), 1, g2),
            cell(med(st, 'source_cpu'), 1, g2),
            cell(med(st, 'cpu_per_gb'), 1, g2),
            ', '.join(sorted({d.get('path', '') for d in st if good(d)}))))
        sr = select(rows, test='streamraw')
        rg = med(sr, 'gbps')
        rc = med(sr, 'cpu_per_gb')
        aead = med(select(rows, test='session'), 'aead_session_gbps_16384')
        if sr:
            w('')
            w('The same shape with nothing of this project in it: the source '
              '-> three stock nginx stream proxies (`proxy_pass`, each its '
              'own process, `proxy_buffer_size 1m`) -> the sink.  Three '
              'user-space hops and the same kernel copies per byte, no '
              'framing, no encryption: what moving the bytes alone costs on '
              'this machine.  A run of the chain follows each run of the '
              'stream, so that both meet the same state of the machine.')
            w('')
            w('| bytes | GB/s end to end | proxies CPU s | sink CPU s | '
              'source CPU s | CPU s per GB |')
            w('|---|---|---|---|---|---|')
            w('| %s | %s | %s | %s | %s | %s |' % (
                fmt_count(med(sr, 'bytes')[0]) if med(sr, 'bytes') else 'n/a',
                cell(rg, 1, g3), cell(med(sr, 'proxies_cpu'), 1, g2),
                cell(med(sr, 'sink_cpu'), 1, g2),
                cell(med(sr, 'source_cpu'), 1, g2), cell(rc, 1, g2)))
            if rc and aead:
                need = rc[0] + 2 / aead[0]
                w('')
                w('Both ends of the stream must also encrypt or decrypt every '
                  'byte: at the session AEAD rate of section 6 (%.2f GB per '
                  'CPU-s at 16 KiB records) that adds %.2f CPU s per GB, so '
                  'the byte moving of the proxy chain plus the encryption '
                  'alone need %.2f CPU s per GB: at most %.2f GB/s on the 2 '
                  'CPUs even if the relay and the endpoints cost nothing '
                  'else.' % (aead[0], 2 / aead[0], need, 2 / need))
        stream_txt = '%.2f GB/s' % gbps[0] if gbps else 'not measured'
        sratio = gbps[0] / rg[0] if gbps and rg and rg[0] > 0 else None
        if sratio is not None:
            stream_txt += (' against %.2f GB/s for the same-shape plain nginx '
                           'proxy chain of the same run = %.0f%%'
                           % (rg[0], sratio * 100))
        targets_extra.append(('stream through the relay, end to end, '
                              'binary path (wall), against the plain proxy '
                              'chain', '>= 65%', stream_txt,
                              '%.2f' % (sratio / 0.65) if sratio else '',
                              (sratio >= 0.65) if sratio else None))
    else:
        w('Not measured in this run: %s.' %
          env.get('stream_error', 'not requested'))
    w('')

    # -------------------------------------------------------------------- wg
    wg = select(rows, test='wg')
    w('## 8. clawnexus-wg with 1,000 peers')
    w('')
    if wg:
        w('Userspace backend: wireguard-go in a private network namespace, a '
          'names file naming 1,000 peers (random keys, one /32 each, an '
          'endpoint and a keepalive).  CPU of the clawnexus-wg process '
          '(`perf stat` task-clock, milliseconds); the CPU wireguard-go '
          'spent answering is shown beside it (from /proc, 10 ms steps).  '
          'The kernel backend is not measured here: this machine\'s kernel '
          'has no WireGuard, and the qemu guest that tests it runs under '
          'TCG emulation, whose CPU times say nothing about real hardware.')
        w('')
        w('| command | clawnexus-wg CPU ms | wireguard-go CPU ms | '
          'goal < 100 ms |')
        w('|---|---|---|---|')
        ms = lambda x: '%.1f' % x
        for key, what in (('sync_add', 'sync (adds 1,000 peers)'),
                          ('sync_noop', 'sync (nothing to change)'),
                          ('show', 'show'), ('show_json', 'show --json'),
                          ('export', 'export')):
            m = med(wg, key + '_cpu_ms')
            g = med(wg, key + '_wggo_cpu_ms')
            w('| %s | %s | %s | %s |' % (
                what, cell(m, 1, ms), cell(g, 1, lambda x: '%.0f' % x),
                ('yes' if m[0] < 100 else '**no**') if m else 'n/a'))
            if key in ('sync_noop', 'show', 'export') and m:
                targets_extra.append(('clawnexus-wg %s, 1,000 peers, '
                                      'userspace backend, CPU' % what,
                                      '< 100 ms', '%.1f ms' % m[0],
                                      '%.2f' % (100.0 / m[0]),
                                      m[0] < 100))
    else:
        w('Not measured in this run: %s.' %
          env.get('wg_error', 'not requested'))
    w('')

    # ------------------------------------------------------- whole process
    tv = sorted(k for k in env if k.startswith('timev_'))
    if tv or env.get('module_worker_vmhwm_kb'):
        w('## Whole-process figures')
        w('')
        w('Baseline relays ran under `/usr/bin/time -v` for their whole life '
          '(setup and every test above included); the nginx worker\'s peak '
          'RSS is VmHWM from /proc/PID/status at the end of the run.')
        w('')
        w('| process | user CPU s | system CPU s | peak RSS MiB | elapsed |')
        w('|---|---|---|---|---|')
        for k in tv:
            f = dict(x.split(':', 1) for x in env[k].split(',') if ':' in x)
            try:
                rss = '%.1f' % (float(f.get('maxrss_kb', '')) / 1024)
            except ValueError:
                rss = 'n/a'
            w('| %s | %s | %s | %s | %s |' % (k[6:], f.get('user', ''),
                                              f.get('sys', ''), rss,
                                              f.get('elapsed', '')))
        if env.get('module_worker_vmhwm_kb'):
            try:
                w('| nginx module worker (1 worker) | | | %.1f | |' %
                  (float(env['module_worker_vmhwm_kb']) / 1024))
            except ValueError:
                pass
        w('')

    # --------------------------------------------------------------- failures
    bad = [d for d in rows if not good(d)]
    w('## Failed runs')
    w('')
    if not bad:
        w('None: every run passed the generator\'s delivery checks (each '
          'DATA received once, in order, intact).')
    else:
        w('Runs whose checks failed are excluded from the medians above:')
        w('')
        for d in bad:
            w('- `%s`' % d['_line'][:300])
    w('')
    w('Raw generator lines: [raw.txt](raw.txt); environment: '
      '[env.txt](env.txt).')
    # no data, no plot: gnuplot skips files that are empty
    for f in glob.glob(os.path.join(outdir, '*.dat')):
        with open(f) as fh:
            lines = [l for l in fh if l.strip()]
        if len(lines) <= (1 if f.endswith('msgs.dat') else 0) or (
                f.endswith('msgs.dat') and
                all(set(l.split()[2:]) <= {'0'} for l in lines[1:])):
            os.remove(f)
    tt = ['## Targets', '',
          'Ratio: how the median compares with the goal, oriented so that '
          '>= 1 means met (measured/goal for "at least" goals, goal/measured '
          'for "at most" goals).', '',
          '| target | goal | measured (median) | ratio | met |',
          '|---|---|---|---|---|']
    for t in targets + targets_extra:
        met = {True: 'yes', False: '**no**', None: 'not measured'}[t[4]]
        tt.append('| %s | %s | %s | %s | %s |' % (t[0], t[1], t[2], t[3],
                                                 met))
    if not any(t[0].startswith('clawnexus-wg') for t in targets_extra):
        tt.append('| clawnexus-wg show / sync, 1,000 peers, CPU | < 100 ms '
                  '| not measured | | not measured |')
    tt.append('')
    i = md.index('@@TARGETS@@')
    md[i:i + 1] = tt
    have = {os.path.basename(f) for f in glob.glob(os.path.join(outdir,
                                                                '*.dat'))}
    need = {'msgs.png': 'msgs.dat', 'bulk.png': 'bulk.dat',
            'memory.png': 'memory.dat', 'workers.png': 'workers.dat'}

    def shown(line):
        if not line.startswith('!['):
            return True
        png = line[line.index('(') + 1:line.index(')')]
        if png == 'pairing.png':
            return any(h.startswith('cdf-') for h in have)
        return need.get(png) in have
    md = [l for l in md if shown(l)]
    with open(os.path.join(outdir, 'results.md'), 'w') as f:
        f.write('\n'.join(md) + '\n')


if __name__ == '__main__':
    main()
