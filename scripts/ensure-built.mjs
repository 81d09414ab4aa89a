#!/usr/bin/env node
// Rebuilds what is stale before `npm start`, `npm test` and `npm run bench` (their pre-scripts):
//   build/core.wasm  when missing or older than any file under assembly/ (or asconfig.json)  -> npx asc ... --target release
//   dist/            when an output is missing or older than its source under host/ or bench/ (or tsconfig.json) -> npx tsc -p .
// Prints one line per rebuild; silent when everything is up to date. Exits non-zero if a build fails.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Every file under `dir` (recursive); [] if it does not exist. */
function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : -Infinity);

/** The first of `sources` newer than `target` (or the reason the target is missing), else null. */
function staleBecause(target, sources) {
  const t = mtime(target);
  if (t === -Infinity) return `${relative(root, target)} is missing`;
  for (const s of sources) if (mtime(s) > t) return `${relative(root, s)} changed`;
  return null;
}

function run(what, why, args) {
  process.stdout.write(`ensure-built: rebuilding ${what} (${why})\n`);
  const r = spawnSync("npx", args, { cwd: root, stdio: "inherit", shell: process.platform === "win32" });
  if (r.status !== 0) {
    throw new Error(`ensure-built: \`npx ${args.join(" ")}\` failed (${r.error ? r.error.message : `exit ${r.status}`})`);
  }
}

export function ensureBuilt() {
  // Core: one output, many inputs.
  const core = join(root, "build", "core.wasm");
  const coreSources = [...filesUnder(join(root, "assembly")), join(root, "asconfig.json")].filter(existsSync);
  const coreWhy = staleBecause(core, coreSources);
  if (coreWhy) run("build/core.wasm", coreWhy, ["asc", "assembly/index.ts", "--target", "release"]);

  // Host: each .ts under host/ and bench/ has its own .js under dist/ (a deleted source leaves no stale trigger).
  const tsconfig = join(root, "tsconfig.json");
  let hostWhy = null;
  for (const dir of ["host", "bench"]) {
    for (const src of filesUnder(join(root, dir))) {
      if (!src.endsWith(".ts") || src.endsWith(".d.ts")) continue;
      const out = join(root, "dist", relative(root, src)).replace(/\.ts$/, ".js");
      hostWhy = staleBecause(out, [src, tsconfig]);
      if (hostWhy) break;
    }
    if (hostWhy) break;
  }
  if (!hostWhy && !existsSync(join(root, "dist"))) hostWhy = "dist/ is missing";
  if (hostWhy) run("dist/", hostWhy, ["tsc", "-p", "."]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    ensureBuilt();
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
}
