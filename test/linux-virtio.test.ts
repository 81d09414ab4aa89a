// Debian's riscv64 Linux on wasmvisor's virtio devices: ext4 on virtio-blk (read back on the host with debugfs,
// also after killing the host right after the guest's flush), and ping over virtio-net between two VMs of one
// process (the virtual switch) and of two processes (the UDP bridge). Needs guests/fetch-images.sh with modules.
import { describe, it, expect } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cachedImages } from "../host/files.js";
import { createVm } from "../host/api.js";
import { VirtualSwitch } from "../host/virtio/switch.js";
import { CLI, ROOT } from "./helpers";

const img = cachedImages();
const haveE2fs = spawnSync("sh", ["-c", "command -v debugfs || test -x /usr/sbin/debugfs || test -x /sbin/debugfs"]).status === 0;
const ready = !!img?.initramfs_virtio && haveE2fs;
if (!ready) console.warn("linux-virtio.test: SKIPPED — needs guests/fetch-images.sh with modules (initramfs_virtio) and e2fsprogs");
const base = (job: string) => ["--mem", "256M", "--kernel", img!.kernel, "--initrd", img!.initramfs_virtio,
  "--append", `console=ttyS0 quiet cryptomgr.notests=1 ${job}`];

function mkext4(dir: string): string {
  const p = join(dir, "fs.img");
  const r = spawnSync("bash", [join(ROOT, "guests", "mkext4.sh"), p, "32"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`mkext4.sh failed: ${r.stderr}`);
  return p;
}
function debugfsCat(image: string, file: string): string {
  const r = spawnSync("sh", ["-c", `PATH=$PATH:/usr/sbin:/sbin debugfs -R 'cat ${file}' '${image}'`], { encoding: "utf8" });
  return r.stdout;
}

/** Runs the CLI; `onLine` may return "kill" to SIGKILL it at once. */
function cli(args: string[], timeoutMs: number, onLine?: (l: string) => "kill" | void): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, "run", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", pending = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString("latin1");
      pending += d.toString("latin1");
      let i;
      while ((i = pending.indexOf("\n")) >= 0) {
        const l = pending.slice(0, i); pending = pending.slice(i + 1);
        if (onLine?.(l) === "kill") child.kill("SIGKILL");
      }
    });
    child.stderr.on("data", (d: Buffer) => { out += d.toString(); });
    child.on("close", (code, signal) => { clearTimeout(timer); resolve({ code, signal, out }); });
  });
}

describe.skipIf(!ready)("Debian Linux on virtio-blk", () => {
  it("mounts ext4 on /dev/vda, writes a file, syncs, powers off; the host reads the file back (debugfs)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wv-lx-"));
    try {
      const disk = mkext4(dir);
      const r = await cli([...base('wv.job=blk-write wv.msg="ext4 written by linux on wasmvisor"'), "--disk", disk, "--timeout", "150"], 170_000);
      expect(r.out, r.out.slice(-2000)).toContain("wv: blk-write ok");
      expect(r.code).toBe(0);
      expect(debugfsCat(disk, "/hello.txt")).toBe("ext4 written by linux on wasmvisor\n");
    } finally { rmSync(dir, { recursive: true, force: true }); }
  }, 180_000);

  it("data the guest flushed survives the host being killed right after the flush completes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wv-lx-"));
    try {
      const disk = mkext4(dir);
      // blk-write prints its ok line after sync (a FLUSH request, fsync on the host) and umount: kill right then.
      const r = await cli([...base("wv.job=blk-write wv.msg=survives-kill"), "--disk", disk, "--timeout", "150"], 170_000,
        (l) => (l.includes("wv: blk-write ok") ? "kill" : undefined));
      expect(r.signal, r.out.slice(-2000)).toBe("SIGKILL");
      expect(debugfsCat(disk, "/hello.txt")).toBe("survives-kill\n");
    } finally { rmSync(dir, { recursive: true, force: true }); }
  }, 180_000);
});

describe.skipIf(!ready)("Debian Linux with virtio-rng and virtio-console", () => {
  it("the kernel's virtio-rng driver reads host randomness; a line written to /dev/hvc0 reaches stdout", async () => {
    for (const job of ["rng", "console"]) {
      const r = await cli([...base(`wv.job=${job}`), "--rng", "--virtio-console", "--timeout", "120"], 130_000);
      expect(r.out, r.out.slice(-2000)).toContain(job === "rng" ? "wv: rng ok" : "wv: hello on hvc0");
      if (job === "rng") expect(r.out).toMatch(/wv: rng virtio_rng\.0 [0-9a-f]{128}/);
      expect(r.code).toBe(0);
    }
  }, 280_000);
});

describe.skipIf(!ready)("Debian Linux on virtio-net", () => {
  it("two VMs in one host process ping each other through the virtual switch", async () => {
    const sw = new VirtualSwitch();
    const mk = (n: number, extra: string) => createVm({
      kernel: img!.kernel, initrd: img!.initramfs_virtio, memory: 256 << 20, switch: sw, timeoutMs: 150_000,
      append: `console=ttyS0 quiet cryptomgr.notests=1 wv.job=net wv.ip=10.0.0.${n}/24 ${extra}`,
      devices: [{ kind: "net", mac: `52:54:00:12:34:0${n}` }],
    });
    const a = mk(1, "wv.serve=1 wv.stay=60"), b = mk(2, "wv.peer=10.0.0.1");
    let outB = "";
    b.on("output", (d) => { outB += new TextDecoder().decode(d); });
    const ra = a.start(), rb = await b.start();
    a.stop();
    await ra;
    expect(outB, outB.slice(-2000)).toContain("wv: ping ok");
    expect(rb.exit).toEqual({ kind: "poweroff", code: 0 });
    expect(sw.stats.frames).toBeGreaterThan(6);
  }, 180_000);

  it("two VMs in two host processes ping each other through the UDP bridge", async () => {
    const [pa, pb] = [41000 + Math.floor(Math.random() * 2000), 43000 + Math.floor(Math.random() * 2000)];
    const server = cli([...base("wv.job=net wv.ip=10.0.0.1/24 wv.serve=1 wv.stay=20"), "--nic", "52:54:00:12:34:01",
      "--bridge", `${pa}:127.0.0.1:${pb}`, "--timeout", "120"], 130_000);
    const client = await cli([...base("wv.job=net wv.ip=10.0.0.2/24 wv.peer=10.0.0.1"), "--nic", "52:54:00:12:34:02",
      "--bridge", `${pb}:127.0.0.1:${pa}`, "--timeout", "120"], 130_000);
    expect(client.out, client.out.slice(-2000)).toContain("wv: ping ok");
    expect(client.code).toBe(0);
    const s = await server;
    expect(s.out).toContain("wv: eth0 10.0.0.1/24 up");
  }, 180_000);
});
