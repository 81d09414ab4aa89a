// Runs riscv-tests ISA ELFs (rv64ui-p-add, ...) through the wasmvisor CLI in HTIF mode and prints a per-suite pass table.
import { spawn } from 'node:child_process';
import { openSync, readSync, closeSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const USAGE = `usage: node scripts/riscv-tests.mjs <dir-with-elfs> [--filter REGEX] [--jobs N] [--timeout SEC] [--cli PATH] [--verbose]
  Runs every ELF in <dir> (files ending in .dump and non-ELF files are skipped) with
  \`node <cli> run --htif --timeout SEC <elf>\`; exit status 0 means the test passed.
  --filter REGEX  only run tests whose file name matches REGEX (e.g. 'rv64u[im]-p-')
  --jobs N        parallel runs (default 2)
  --timeout SEC   per-test timeout passed to the CLI (default 20); the runner kills a run after SEC+10 s
  --cli PATH      CLI to run (default: dist/host/cli.js in this repository)
  --verbose       print every result as it completes
  Exit status: 0 all passed, 1 some failed, 2 usage error / nothing to run.`;

function die(msg) {
  console.error(msg);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { dir: null, filter: null, jobs: 2, timeout: 20, cli: null, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value\n${USAGE}`);
      return argv[++i];
    };
    if (a === '--filter') opts.filter = new RegExp(val());
    else if (a === '--jobs' || a === '-j') opts.jobs = Number(val());
    else if (a === '--timeout') opts.timeout = Number(val());
    else if (a === '--cli') opts.cli = val();
    else if (a === '--verbose' || a === '-v') opts.verbose = true;
    else if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
    else if (a.startsWith('-')) die(`unknown option ${a}\n${USAGE}`);
    else if (opts.dir === null) opts.dir = a;
    else die(`unexpected argument ${a}\n${USAGE}`);
  }
  if (opts.dir === null) die(USAGE);
  if (!Number.isInteger(opts.jobs) || opts.jobs < 1) die('--jobs must be a positive integer');
  if (!(opts.timeout > 0)) die('--timeout must be a positive number');
  return opts;
}

function isElf(path) {
  let fd;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(4);
    return readSync(fd, buf, 0, 4, 0) === 4 && buf.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

// rv64ui-p-add -> { suite: 'rv64ui', variant: 'p', test: 'add' }
function classify(name) {
  const m = /^(rv\d+[a-z_]+)-([a-z]+)-(.+)$/.exec(name);
  return m ? { suite: m[1], variant: m[2], test: m[3] } : { suite: 'other', variant: '-', test: name };
}

// The most useful line of the CLI's stderr: a FAIL line if there is one, else the last non-empty line.
function reasonFrom(stderr, code, signal, timedOut) {
  if (timedOut) return 'killed: runner timeout';
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const fail = lines.find((l) => /\bFAIL\b/.test(l));
  const line = fail ?? lines.at(-1);
  const status = signal ? `signal ${signal}` : `exit ${code}`;
  if (!line) return status;
  return line.length > 160 ? `${line.slice(0, 157)}... (${status})` : `${line} (${status})`;
}

function runOne(cli, elf, timeout) {
  return new Promise((res) => {
    const start = Date.now();
    const child = spawn(process.execPath, [cli, 'run', '--htif', '--timeout', String(timeout), elf], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let timedOut = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      if (stderr.length < 65536) stderr += d;
    });
    const killer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, (timeout + 10) * 1000);
    const finish = (code, signal, err) => {
      clearTimeout(killer);
      const ms = Date.now() - start;
      if (err) return res({ pass: false, reason: `spawn failed: ${err.message}`, ms });
      const pass = code === 0 && !timedOut;
      res({ pass, reason: pass ? '' : reasonFrom(stderr, code, signal, timedOut), ms });
    };
    child.on('error', (err) => finish(null, null, err));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const cli = resolve(opts.cli ?? join(repoRoot, 'dist/host/cli.js'));
  if (!existsSync(cli)) die(`CLI not found: ${cli} (build it with \`npm run build\`, or pass --cli)`);
  const dir = resolve(opts.dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) die(`not a directory: ${dir}`);

  const names = readdirSync(dir)
    .filter((n) => !n.endsWith('.dump'))
    .filter((n) => !opts.filter || opts.filter.test(n))
    .filter((n) => statSync(join(dir, n)).isFile() && isElf(join(dir, n)))
    .sort();
  if (names.length === 0) die(`no ELF files to run in ${dir}${opts.filter ? ` matching ${opts.filter}` : ''}`);

  const jobs = Math.min(opts.jobs, names.length);
  const results = new Map();
  const showProgress = !opts.verbose && process.stderr.isTTY;
  let next = 0;
  let done = 0;
  const t0 = Date.now();
  console.log(`running ${names.length} tests from ${dir} with ${jobs} job(s)`);

  async function worker() {
    while (next < names.length) {
      const name = names[next++];
      const r = await runOne(cli, join(dir, name), opts.timeout);
      results.set(name, r);
      done++;
      if (opts.verbose) {
        console.log(`${r.pass ? 'PASS' : 'FAIL'} ${name} (${r.ms} ms)${r.pass ? '' : `: ${r.reason}`}`);
      } else if (showProgress) {
        process.stderr.write(`\r${done}/${names.length} ${name}`.padEnd(60).slice(0, 79));
      }
    }
  }
  await Promise.all(Array.from({ length: jobs }, worker));
  if (showProgress) process.stderr.write('\r'.padEnd(80) + '\r');

  // Group by suite + variant, in name order.
  const groups = new Map();
  for (const name of names) {
    const { suite, variant, test } = classify(name);
    const key = `${suite}\0${variant}`;
    if (!groups.has(key)) groups.set(key, { suite, variant, total: 0, passed: 0, failures: [] });
    const g = groups.get(key);
    const r = results.get(name);
    g.total++;
    if (r.pass) g.passed++;
    else g.failures.push({ test, reason: r.reason });
  }

  const rows = [...groups.values()];
  const w = Math.max(5, ...rows.map((g) => g.suite.length));
  const pad = (s, n) => String(s).padEnd(n);
  console.log('');
  console.log(`${pad('suite', w)}  variant  passed/total  status`);
  console.log(`${'-'.repeat(w)}  -------  ------------  ------`);
  let passed = 0;
  for (const g of rows) {
    passed += g.passed;
    const ok = g.passed === g.total;
    console.log(`${pad(g.suite, w)}  ${pad(g.variant, 7)}  ${pad(`${g.passed}/${g.total}`, 12)}  ${ok ? 'ok' : 'FAIL'}`);
    for (const f of g.failures) console.log(`${' '.repeat(w + 2)}  - ${f.test}: ${f.reason}`);
  }
  const failed = names.length - passed;
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  console.log('');
  console.log(`${passed}/${names.length} passed, ${failed} failed (${secs} s, ${basename(cli)} on ${os.cpus().length} CPU(s), ${jobs} job(s))`);
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err?.stack ?? String(err));
  process.exit(2);
});
