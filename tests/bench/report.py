#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""report.py OUTDIR: the table of `make bench` from the raw figures that
tests/bench/bench.sh wrote to OUTDIR (latency.csv, throughput.csv, idle.csv,
bridge-load.csv, load.csv, env.txt); also writes OUTDIR/summary.csv (one
line per figure) and the latency plot OUTDIR/latency.png (gnuplot).
Exit status 0; 1 if a target is missed (the table says which)."""

import collections
import csv
import os
import shutil
import subprocess
import sys

OUT = sys.argv[1]

PATHS = [  # name in the CSVs, what it is
    ('spawn', 'spawn check_dummy (floor 1)'),
    ('spawn2', 'spawn a relay that spawns check_dummy (floor 2)'),
    ('nrpe', 'check_nrpe -n -> nrpe (no TLS)'),
    ('nrpe-tls', 'check_nrpe -> nrpe (TLS, ADH)'),
    ('cx-bridge', 'check_xenvchan -> bridge -> agent'),
    ('cx-direct', 'check_xenvchan --direct -> agent'),
    ('br-nrpe', 'check_nrpe -n -> bridge listener -> agent'),
    ('br-nrpe-tls', 'check_nrpe -> bridge listener (TLS) -> agent'),
    ('cx-bridge-alt', 'check_xenvchan -> bridge -> agent, build BENCH_ALT_O'),
    ('cx-direct-alt', 'check_xenvchan --direct -> agent, build BENCH_ALT_O'),
]
OURS = ('cx-bridge', 'cx-direct', 'br-nrpe', 'br-nrpe-tls', 'cx-bridge-alt', 'cx-direct-alt')
XEN_LABELS = {  # make bench-xen: the same names, on real Xen
    'spawn': 'spawn check_dummy in dom0 (floor 1)',
    'spawn2': 'spawn a relay that spawns check_dummy, in dom0 (floor 2)',
    'nrpe': 'check_nrpe -n -> vif -> nrpe in the domU (no TLS)',
    'nrpe-tls': 'check_nrpe -> vif -> nrpe in the domU (TLS, ADH)',
    'cx-bridge': 'check_xenvchan -> bridge -> vchan -> agent',
    'cx-direct': 'check_xenvchan --direct -> vchan -> agent',
}


def quantile(v, q):
    """nearest-rank quantile of a sorted list"""
    if not v:
        return float('nan')
    i = max(1, min(len(v), int(q * len(v) + 0.999999)))
    return v[i - 1]


def median(v):
    v = sorted(v)
    if not v:
        return float('nan')
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def env():
    e = {}
    try:
        for line in open(os.path.join(OUT, 'env.txt')):
            k, _, v = line.partition(':')
            e[k.strip()] = v.strip()
    except OSError:
        pass
    return e


def read_csv(name):
    try:
        with open(os.path.join(OUT, name)) as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def fmt_ms(us):
    ms = us / 1000
    return '%.1f' % ms if ms >= 10 else '%.2f' % ms


summary = []  # (what, value)
targets = []  # (target, measured, ok)

# ---------------------------------------------------------------- latency
lat = collections.defaultdict(dict)  # method -> round -> us
bad = collections.Counter()
for r in read_csv('latency.csv'):
    if r['ok'] == '1':
        lat[r['method']][int(r['round'])] = float(r['us'])
    else:
        bad[r['method']] += 1
stats = {}
for m, _ in PATHS:
    v = sorted(lat[m].values())
    if not v:
        continue
    stats[m] = dict(n=len(v), p50=quantile(v, .5), p25=quantile(v, .25),
                    p75=quantile(v, .75), p99=quantile(v, .99), min=v[0])
    for k in ('p50', 'p25', 'p75', 'p99', 'min'):
        summary.append(('latency_us.%s.%s' % (m, k), '%.1f' % stats[m][k]))


def paired(a, b):
    """median over the rounds of a's time / b's time (same round: side by side)"""
    rs = [lat[a][r] / lat[b][r] for r in lat[a] if r in lat[b]]
    return median(rs)


e = env()
if e.get('host', '').startswith('Xen'):
    PATHS = [(m, XEN_LABELS.get(m, label)) for m, label in PATHS]
print()
print('xenvchan-nrpe bench, %s' % e.get('date', ''))
print('%s; load average %s before, %s after; CPUs busy %s overall during 1-2 '
      '(this bench included)' % (e.get('host', '?'), e.get('loadavg_before_latency', '?'),
                                 e.get('loadavg_after_throughput', '?'),
                                 e.get('machine_busy_latency_throughput', '?')))
print()
print('1. One trivial check (check_dummy 0 OK), %s rounds after %s warm-up; each round runs '
      'every path once, in random order.' % (e.get('rounds', '?'), e.get('warmup', '?')))
print('   Ratios: median over the rounds of (this path / the reference) in the same round.')
print()
print('| path | median ms | p25-p75 ms | p99 ms | / nrpe | / nrpe TLS | / floor 2 |')
print('|---|---:|---:|---:|---:|---:|---:|')
for m, label in PATHS:
    if m not in stats:
        continue
    s = stats[m]
    r_n = r_t = r_f = ''
    if m in OURS or m.startswith('spawn'):
        if 'nrpe' in stats:
            r_n = '%.2f' % paired(m, 'nrpe')
        if 'nrpe-tls' in stats:
            r_t = '%.3f' % paired(m, 'nrpe-tls')
    if 'spawn2' in stats and m != 'spawn2':
        r_f = '%.2f' % paired(m, 'spawn2')
    if m in ('nrpe', 'nrpe-tls') and 'spawn2' in stats:
        r_f = '%.1f' % paired(m, 'spawn2')
    if m == 'nrpe' and 'nrpe-tls' in stats:
        r_t = '%.3f' % paired(m, 'nrpe-tls')
    print('| %s | %s | %s-%s | %s | %s | %s | %s |' % (
        label, fmt_ms(s['p50']), fmt_ms(s['p25']), fmt_ms(s['p75']), fmt_ms(s['p99']),
        r_n, r_t, r_f))
    if bad[m]:
        print('|   (%d wrong answers) ||||||' % bad[m])
for m in OURS:
    if m in stats:
        for ref in ('nrpe', 'nrpe-tls', 'spawn2'):
            if ref in stats:
                summary.append(('ratio.%s/%s' % (m, ref), '%.4f' % paired(m, ref)))

for ours, tag in (('cx-bridge', ''), ('cx-bridge-alt', ' [BENCH_ALT_O build]')):
    if ours not in stats:
        continue
    if 'nrpe' in stats:
        x = 1 / paired(ours, 'nrpe')
        targets.append(('check through the bridge >= 3x faster than nrpe (no TLS)' + tag,
                        '%.2fx' % x, x >= 3))
    if 'nrpe-tls' in stats:
        x = 1 / paired(ours, 'nrpe-tls')
        targets.append(('check through the bridge >= 30x faster than nrpe with TLS' + tag,
                        '%.1fx' % x, x >= 30))
    if 'spawn2' in stats:
        x = paired(ours, 'spawn2')
        targets.append(('check through the bridge within 1.3x of the two-spawn floor' + tag,
                        '%.2fx' % x, x <= 1.3))

# ---------------------------------------------------------------- throughput
tp = collections.defaultdict(list)  # (method, clients) -> [rate per block]
tpc = collections.defaultdict(dict)  # (method, clients) -> cycle -> rate
tperr = collections.Counter()  # (method, clients) -> wrong answers
for r in read_csv('throughput.csv'):
    tp[(r['method'], int(r['clients']))].append(float(r['rate']))
    tperr[(r['method'], int(r['clients']))] += int(r['errors'])
    tpc[(r['method'], int(r['clients']))][int(r['cycle'])] = float(r['rate'])


def tpaired(a, b, c):
    """median over the cycles of a's rate / b's rate in the same cycle"""
    x, y = tpc.get((a, c), {}), tpc.get((b, c), {})
    return median([x[k] / y[k] for k in x if k in y and y[k] > 0])
clients = sorted({c for _, c in tp})
if tp:
    print()
    print('2. Throughput, checks/s: clients each spawn the client program in a loop; '
          'median of %s blocks of %s s per path, the paths in turn.'
          % (e.get('tput_cycles', '?'), e.get('tput_block_s', '?')))
    print('   (min-max of the blocks in brackets; last column: median over the cycles of '
          'this rate / floor 2\'s rate in the same cycle)')
    print()
    print('| path | ' + ' | '.join('%d client%s' % (c, 's' if c > 1 else '') for c in clients)
          + ' | %d clients / floor 2 |' % clients[-1])
    print('|---|' + '---:|' * (len(clients) + 1))
    for m, label in PATHS:
        cells = []
        for c in clients:
            v = tp.get((m, c))
            if not v:
                cells.append('-')
                continue
            cells.append('%.0f (%.0f-%.0f)%s' % (
                median(v), min(v), max(v),
                ' **%d wrong**' % tperr[(m, c)] if tperr[(m, c)] else ''))
            summary.append(('throughput.%s.%d' % (m, c), '%.1f' % median(v)))
            if m != 'spawn2' and tp.get(('spawn2', c)):
                summary.append(('throughput_ratio.%s/spawn2.%d' % (m, c),
                                '%.3f' % tpaired(m, 'spawn2', c)))
        if all(x == '-' for x in cells):
            continue
        cmax = clients[-1]
        rel = ''
        if tp.get((m, cmax)) and tp.get(('spawn2', cmax)) and m != 'spawn2':
            rel = '%.2f' % tpaired(m, 'spawn2', cmax)
        print('| %s | %s | %s |' % (label, ' | '.join(cells), rel))
    cmax = clients[-1]
    for ours, tag in (('cx-bridge', ''), ('cx-bridge-alt', ' [BENCH_ALT_O build]')):
        if tp.get((ours, cmax)) and tp.get(('spawn2', cmax)):
            x = tpaired(ours, 'spawn2', cmax)
            targets.append(('%d-client throughput through the bridge >= 85%% of the floor\'s%s'
                            % (cmax, tag), '%.0f%%' % (100 * x), x >= 0.85))

# ---------------------------------------------------------------- idle agent
idle = read_csv('idle.csv')
if idle:
    print()
    print('3. The idle agent and its probe helper, after serving 20 checks: context switches '
          '(wake-ups) of all their threads over %.0f s; memory (private = Private_Clean + '
          'Private_Dirty of smaps_rollup)' % float(idle[0]['seconds']))
    print()
    print('| agent | wake-ups agent + helper | threads | VmRSS KiB (agent) | PSS KiB agent + helper '
          '| private KiB agent + helper |')
    print('|---|---:|---:|---:|---:|---:|')

    def num(r, k):
        return int(r.get(k) or 0)
    for r in idle:
        if r['agent'].startswith('reference'):
            print('| for scale: `sleep 60` (libc only, does nothing) | | 1 | %s | %s | %s |' % (
                r['vmrss_kb'], r['pss_kb'], r['private_kb']))
            summary.append(('idle.reference_sleep.vmrss_kb', r['vmrss_kb']))
            continue
        where = ('its own network namespace' if r['netns'] == 'own'
                 else "this machine's network namespace")
        wk = num(r, 'wakeups') + num(r, 'helper_wakeups')
        pss = num(r, 'pss_kb') + num(r, 'helper_pss_kb')
        priv = num(r, 'private_kb') + num(r, 'helper_private_kb')
        r['total_wakeups'], r['total_pss_kb'], r['total_private_kb'] = wk, pss, priv
        print('| %s, %s | %d + %d | %s | %s | %s + %s = %d | %s + %s = %d |' % (
            r['agent'], where, num(r, 'wakeups'), num(r, 'helper_wakeups'), r['threads'],
            r['vmrss_kb'], r['pss_kb'], num(r, 'helper_pss_kb'), pss, r['private_kb'],
            num(r, 'helper_private_kb'), priv))
        summary.append(('idle.%s.wakeups' % r['agent'], r['wakeups']))
        summary.append(('idle.%s.helper_wakeups' % r['agent'], num(r, 'helper_wakeups')))
        summary.append(('idle.%s.vmrss_kb' % r['agent'], r['vmrss_kb']))
        summary.append(('idle.%s.pss_kb' % r['agent'], r['pss_kb']))
        summary.append(('idle.%s.private_kb' % r['agent'], r['private_kb']))
        summary.append(('idle.%s.with_helper.pss_kb' % r['agent'], pss))
        summary.append(('idle.%s.with_helper.private_kb' % r['agent'], priv))
    r = idle[0]
    targets.append(('idle agent + helper: 0 wake-ups in 30 s', '%d' % r['total_wakeups'],
                    r['total_wakeups'] == 0))
    targets.append(('idle agent + helper: under 1 MiB private memory together',
                    '%.2f MiB (PSS %.2f MiB; agent VmRSS %.2f MiB)'
                    % (r['total_private_kb'] / 1024, r['total_pss_kb'] / 1024,
                       int(r['vmrss_kb']) / 1024), r['total_private_kb'] < 1024))

# ---------------------------------------------------------------- 200 guests
bl = {r['what']: r['value'] for r in read_csv('bridge-load.csv')}
loadrows = read_csv('load.csv')
if bl and loadrows:
    g = int(bl['guests'])
    okl = sorted(float(r['us']) for r in loadrows if r['rc'] == '0')
    errs = sum(1 for r in loadrows if r['rc'] != '0')
    dur = float(bl['seconds'])
    ticks = int(bl['bridge_cpu_ticks_load'])
    hz = int(bl['clk_tck'])
    rss = int(bl['bridge_rss_kb_after_load'])
    rss0 = int(bl['bridge_rss_kb_3_domains_idle'])
    per_guest = (rss - rss0) / max(1, g - 3)
    print()
    print('4. The bridge with %d emulated guests (a real agent each), %s checks/s for %.0f s '
          '(open loop, one connection per check, every guest checked once before)'
          % (g, bl['rate'], dur))
    print()
    print('| figure | value |')
    print('|---|---:|')
    print('| checks answered / errors | %d / %d |' % (len(okl), errs))
    print('| latency p50 / p99 / max | %s / %s / %s ms |' % (
        fmt_ms(quantile(okl, .5)), fmt_ms(quantile(okl, .99)), fmt_ms(okl[-1] if okl else 0)))
    print('| bridge VmRSS: 3 domains idle / %d domains, none connected / %d connected, '
          'after the load | %.1f / %.1f / %.1f / %.1f MiB |' % (
              g, g, rss0 / 1024, int(bl['bridge_rss_kb_%d_domains_unconnected' % g]) / 1024,
              int(bl['bridge_rss_kb_%d_guests_connected' % g]) / 1024, rss / 1024))
    print('| bridge peak (VmHWM) / private memory after the load | %.1f / %.1f MiB |' % (
        int(bl['bridge_hwm_kb_after_load']) / 1024, int(bl['bridge_private_kb_after_load']) / 1024))
    print('| per guest ((RSS after load - RSS with 3 domains) / %d) | %.1f KiB |'
          % (g - 3, per_guest))
    print('| bridge CPU per check | %.0f us (%.1f%% of one CPU) |' % (
        ticks / hz / max(1, len(okl) + errs) * 1e6, 100 * ticks / hz / dur))
    summary += [('load.p50_us', '%.1f' % quantile(okl, .5)),
                ('load.p99_us', '%.1f' % quantile(okl, .99)),
                ('load.errors', str(errs)), ('load.bridge_rss_kb', str(rss)),
                ('load.per_guest_kb', '%.1f' % per_guest),
                ('load.bridge_cpu_us_per_check',
                 '%.1f' % (ticks / hz / max(1, len(okl) + errs) * 1e6))]
    targets.append(('bridge under 32 MiB with %d guests' % g, '%.1f MiB (peak %.1f)' % (
        rss / 1024, int(bl['bridge_hwm_kb_after_load']) / 1024), rss < 32 * 1024))

# ---------------------------------------------------------------- targets
print()
print('Targets (issue 8):')
print()
print('| target | measured | |')
print('|---|---:|---|')
for t, v, ok in targets:
    print('| %s | %s | %s |' % (t, v, 'met' if ok else '**MISSED**'))
print()
if e.get('alt_build'):
    print('BENCH_ALT_O build: %s' % e['alt_build'])
print('Took %s s. Reproduce: make bench (raw figures, table and plot in %s)'
      % (e.get('duration_s', '?'), OUT))

with open(os.path.join(OUT, 'summary.csv'), 'w') as f:
    w = csv.writer(f)
    w.writerow(['what', 'value'])
    w.writerows(summary)
    for t, v, ok in targets:
        w.writerow(['target: ' + t, '%s %s' % (v, 'met' if ok else 'MISSED')])

# ---------------------------------------------------------------- the plot
if shutil.which('gnuplot') and stats:
    plots = []
    for i, (m, label) in enumerate(PATHS):
        v = sorted(lat[m].values())
        if not v:
            continue
        fn = os.path.join(OUT, 'cdf-%s.dat' % m)
        with open(fn, 'w') as f:
            for k, x in enumerate(v):
                f.write('%.4f %.5f\n' % (x / 1000, (k + 1) / len(v)))
        plots.append("'%s' using 1:2 with lines lw 2 title '%s'" % (fn, label))
    lplot = ''
    if loadrows:
        fn = os.path.join(OUT, 'load-scatter.dat')
        with open(fn, 'w') as f:
            for r in loadrows:
                if r['rc'] == '0':
                    f.write('%.3f %.4f\n' % (float(r['start_ms']) / 1000, float(r['us']) / 1000))
        lplot = ("set title 'bridge with %s guests, %s checks/s: latency of each check'\n"
                 "set xlabel 'time (s)'\nset ylabel 'latency (ms)'\nunset logscale x\n"
                 "set logscale y\nset key off\n"
                 "plot '%s' using 1:2 with points pt 7 ps 0.25 lc rgb '#3060c0'\n" % (
                     bl.get('guests', '?'), bl.get('rate', '?'), fn))
    gp = ("set terminal pngcairo noenhanced size 1400,700 font ',10'\n"
          "set output '%s'\n"
          "set multiplot layout 1,%d\n"
          "set title 'one trivial check, side by side (%s rounds)'\n"
          "set xlabel 'latency (ms, log scale)'\nset ylabel 'fraction of checks'\n"
          "set logscale x\nset grid\nset key below font ',9' maxrows 4\nset yrange [0:1]\n"
          "plot %s\n"
          "set yrange [*:*]\n%s"
          "unset multiplot\n" % (os.path.join(OUT, 'latency.png'), 2 if lplot else 1,
                                 e.get('rounds', '?'), ', '.join(plots), lplot))
    with open(os.path.join(OUT, 'latency.gp'), 'w') as f:
        f.write(gp)
    r = subprocess.run(['gnuplot', os.path.join(OUT, 'latency.gp')], capture_output=True,
                       text=True)
    if r.returncode != 0:
        print('report: gnuplot failed: %s' % r.stderr.strip(), file=sys.stderr)

sys.exit(0 if all(ok for _, _, ok in targets) else 1)
