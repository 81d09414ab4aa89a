// The `wasmvisor` command line as a real subprocess (node dist/host/cli.js): outputs and exit codes.
import { afterAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { describeRun, elfView, enc, guestPath, phdrOf, readGuest, runCli, tempDir, words, ROOT } from "./helpers.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const tmpFile = (name: string, data: Uint8Array | string) => { const p = join(tmp.dir, name); writeFileSync(p, data); return p; };

/** stderr must be exactly one "wasmvisor: ..." line, without a stack trace. */
function expectOneErrorLine(stderr: string, re?: RegExp): void {
  const lines = stderr.split("\n").filter((l) => l !== "");
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^wasmvisor: /);
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toMatch(/internal error/);
  if (re) expect(lines[0]).toMatch(re);
}

describe("wasmvisor CLI: basics", () => {
  it("run hello.elf prints the greeting and exits 0", () => {
    const r = runCli(["run", guestPath("hello.elf")]);
    expect(r.status, describeRun(r)).toBe(0);
    expect(r.stdout).toContain("Hello from a wasmvisor guest!");
    expect(r.stdout).toContain("sum of squares 1..1000 = 333833500");
    expect(r.stdout).toMatch(/misa: RV64\w*I\w*M/);
    expect(r.stderr).toBe("");
  });

  it("--help exits 0 with the usage on stdout", () => {
    for (const args of [["--help"], ["-h"], ["run", "--help"]]) {
      const r = runCli(args);
      expect(r.status, `${args.join(" ")}: ${describeRun(r)}`).toBe(0);
      expect(r.stdout).toMatch(/^usage: wasmvisor run/);
      expect(r.stdout).toContain("--signature-granularity");
    }
  });

  it("--version prints the package version", () => {
    const r = runCli(["--version"]);
    expect(r.status, describeRun(r)).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);
  });

  it("no arguments: usage, exit 2", () => {
    const r = runCli([]);
    expect(r.status, describeRun(r)).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/usage: wasmvisor run/);
  });

  it("unknown flag: exit 2, one stderr line, no stack trace", () => {
    const r = runCli(["run", "--bogus-flag", guestPath("hello.elf")]);
    expect(r.status, describeRun(r)).toBe(2);
    expectOneErrorLine(r.stderr, /bogus-flag/);
  });

  it("unknown command: exit 2", () => {
    const r = runCli(["frobnicate"]);
    expect(r.status, describeRun(r)).toBe(2);
    expectOneErrorLine(r.stderr, /unknown command 'frobnicate'/);
  });

  it("run without an image, or with two: exit 2", () => {
    for (const args of [["run"], ["run", guestPath("hello.elf"), guestPath("hello.elf")]]) {
      const r = runCli(args);
      expect(r.status, describeRun(r)).toBe(2);
      expectOneErrorLine(r.stderr, /exactly one image/);
    }
  });

  it("bad option values: exit 2", () => {
    const cases: [string[], RegExp][] = [
      [["--mem", "lots"], /--mem/],
      [["--timeout", "-1"], /--timeout/],
      [["--max-insns", "zero"], /--max-insns/],
      [["--signature-granularity", "3", "--signature", join(tmp.dir, "never")], /granularity/],
    ];
    for (const [opts, re] of cases) {
      const r = runCli(["run", ...opts, guestPath("hello.elf")]);
      expect(r.status, `${opts.join(" ")}: ${describeRun(r)}`).toBe(2);
      expectOneErrorLine(r.stderr, re);
    }
  });
});

describe("wasmvisor CLI: bad images", () => {
  it("missing file: exit 2", () => {
    const r = runCli(["run", join(tmp.dir, "does-not-exist.elf")]);
    expect(r.status, describeRun(r)).toBe(2);
    expectOneErrorLine(r.stderr, /no such file/);
  });

  it("truncated ELF: exit 2", () => {
    const p = tmpFile("truncated.elf", readGuest("hello.elf").subarray(0, 0x1010));
    const r = runCli(["run", p]);
    expect(r.status, describeRun(r)).toBe(2);
    expectOneErrorLine(r.stderr, /malformed ELF: segment \d+ is truncated/);
  });

  it("ELF header only (64 bytes): exit 2", () => {
    const p = tmpFile("header.elf", readGuest("hello.elf").subarray(0, 64));
    const r = runCli(["run", p]);
    expect(r.status, describeRun(r)).toBe(2);
    expectOneErrorLine(r.stderr, /malformed ELF/);
  });

  it("segment outside RAM (address above RAM): exit 2", () => {
    const e = elfView(readGuest("hello.elf"));
    const ph = phdrOf(e);
    e.dv.setBigUint64(ph + 16, 0x9000_0000n, true); // p_vaddr
    e.dv.setBigUint64(ph + 24, 0x9000_0000n, true); // p_paddr: beyond 128 MiB of RAM at 0x8000_0000
    const r = runCli(["run", tmpFile("high.elf", e.buf)]);
    expect(r.status, describeRun(r)).toBe(2);
    expectOneErrorLine(r.stderr, /segment at 0x90000000.* lies outside guest RAM/);
  });

  it("segment larger than --mem 1M: exit 2 (and the same image runs with more memory)", () => {
    const e = elfView(readGuest("hello.elf"));
    e.dv.setBigUint64(phdrOf(e) + 40, 2n * 1024n * 1024n, true); // p_memsz: 2 MiB (rest is .bss-like zeros)
    const p = tmpFile("big.elf", e.buf);
    const r = runCli(["run", "--mem", "1M", p]);
    expect(r.status, describeRun(r)).toBe(2);
    expectOneErrorLine(r.stderr, /lies outside guest RAM/);
    const ok = runCli(["run", "--mem", "4M", p]);
    expect(ok.status, describeRun(ok)).toBe(0);
    expect(ok.stdout).toContain("Goodbye.");
  });

  it("--load-addr with an ELF: exit 2", () => {
    const r = runCli(["run", "--load-addr", "0x80000000", guestPath("hello.elf")]);
    expect(r.status, describeRun(r)).toBe(2);
    expectOneErrorLine(r.stderr, /--load-addr applies to raw binaries/);
  });
});

describe("wasmvisor CLI: raw binaries", () => {
  // Position-independent: print "R\n" on the UART, then power off through the test device with code 0.
  const T0 = 5, T1 = 6;
  const raw = words([
    enc.lui(T0, 0x10000),           // t0 = UART0 (0x1000_0000)
    enc.addi(T1, 0, 0x52), enc.sb(T1, T0, 0),
    enc.addi(T1, 0, 0x0a), enc.sb(T1, T0, 0),
    enc.lui(T0, 0x100),             // t0 = test device (0x10_0000)
    enc.lui(T1, 5), enc.addi(T1, T1, 0x555), enc.sw(T1, T0, 0), // 0x5555: pass
    enc.self(),
  ]);
  const p = tmpFile("raw.bin", raw);

  it("--load-addr loads and starts a raw binary there: exit 0", () => {
    const r = runCli(["run", "--load-addr", "0x80200000", "--max-insns", "100", p]);
    expect(r.status, describeRun(r)).toBe(0);
    expect(r.stdout).toBe("R\n");
  });

  it("a raw binary defaults to the start of RAM", () => {
    const r = runCli(["run", "--max-insns", "100", p]);
    expect(r.status, describeRun(r)).toBe(0);
    expect(r.stdout).toBe("R\n");
  });

  it("--load-addr outside RAM: exit 2", () => {
    const r = runCli(["run", "--load-addr", "0x1000", p]);
    expect(r.status, describeRun(r)).toBe(2);
    expectOneErrorLine(r.stderr, /outside guest RAM/);
  });

  it("--load-addr that is not a number: exit 2", () => {
    const r = runCli(["run", "--load-addr", "somewhere", p]);
    expect(r.status, describeRun(r)).toBe(2);
    expectOneErrorLine(r.stderr, /--load-addr/);
  });

  it("a guest stuck in a trap loop (illegal instruction, mtvec = 0): exit 4, not a hang", () => {
    const r = runCli(["run", "--timeout", "20", tmpFile("illegal.bin", new Uint8Array(4))], { timeoutMs: 40_000 });
    expect(r.status, describeRun(r)).toBe(4);
    expectOneErrorLine(r.stderr, /trap loop/);
  });

  it("empty raw image: exit 2", () => {
    const r = runCli(["run", tmpFile("empty.bin", new Uint8Array(0))]);
    expect(r.status, describeRun(r)).toBe(2);
    expectOneErrorLine(r.stderr, /empty image/);
  });
});

describe("wasmvisor CLI: limits and exit codes", () => {
  it("--timeout 1 on a guest that loops forever: exit 3 after about a second", () => {
    const r = runCli(["run", "--timeout", "1", guestPath("test-loop.elf")], { timeoutMs: 30_000 });
    expect(r.status, describeRun(r)).toBe(3);
    expect(r.stderr).toMatch(/timeout after 1 s/);
    expect(r.ms).toBeGreaterThan(900);
    expect(r.ms).toBeLessThan(20_000);
  });

  it("a guest sleeping in WFI on its machine timer, stdin closed, is never mistaken for one nothing can wake", () => {
    // dirtier sleeps in WFI between batches (thousands of times a second). A WFI the host saw just after the
    // deadline used to report "waits for an interrupt that cannot arrive" (exit 4) within a second.
    const r = runCli(["run", "--timeout", "3", guestPath("dirtier.elf")], { timeoutMs: 30_000 });
    expect(r.status, describeRun(r)).toBe(3);
    expect(r.stderr).toMatch(/timeout after 3 s/);
    expect(r.stdout).not.toContain("FAIL");
  });

  it("--max-insns 1000 stops after exactly 1000 instructions: exit 3", () => {
    const r = runCli(["run", "--max-insns", "1000", guestPath("test-loop.elf")]);
    expect(r.status, describeRun(r)).toBe(3);
    // c.li at 0x80000000, then (c.addi at +2, c.j at +4) repeated: after 1000 the next is the c.j.
    expect(r.stderr).toMatch(/stopped after 1000 instructions \(pc 0x80000004\)/);
  });

  it("--stats prints instructions and MIPS on stderr", () => {
    const r = runCli(["run", "--stats", guestPath("hello.elf")]);
    expect(r.status, describeRun(r)).toBe(0);
    expect(r.stderr).toMatch(/^wasmvisor: \d+ instructions in [\d.]+ ms \([\d.]+ MIPS\); tlb misses \d+ \(data hit rate ([\d.]+%|n\/a)\), .*traps \d+, mmio \d+; guest memory \d+ KiB in use, G-stage tables \d+ KiB; exits to the host: (\w+ \d+(, )?)+$/m);
    const n = Number(/(\d+) instructions/.exec(r.stderr)![1]);
    expect(n).toBeGreaterThan(100);
  });

  it("guest exit code propagates: (7<<16)|0x3333 to the test device exits 7", () => {
    const r = runCli(["run", guestPath("test-exit7.elf")]);
    expect(r.status, describeRun(r)).toBe(7);
    expect(r.stderr).toMatch(/exit code 7/);
  });

  it("--deterministic runs give identical output", () => {
    const a = runCli(["run", "--deterministic", "--stats", guestPath("hello.elf")]);
    const b = runCli(["run", "--deterministic", "--stats", guestPath("hello.elf")]);
    expect(a.status).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(/(\d+) instructions/.exec(a.stderr)![1]).toBe(/(\d+) instructions/.exec(b.stderr)![1]);
  });
});

describe("wasmvisor CLI: --trace", () => {
  // guests/tests/trace.S, in spike's commit-log format.
  const expected = [
    "core   0: 3 0x0000000080000000 (0x12300513) x10 0x0000000000000123",
    "core   0: 3 0x0000000080000004 (0x123455b7) x11 0x0000000012345000",
    "core   0: 3 0x0000000080000008 (0x00b50633) x12 0x0000000012345123",
    "core   0: 3 0x000000008000000c (0x0605) x12 0x0000000012345124",
    "core   0: 3 0x000000008000000e (0x001002b7) x5  0x0000000000100000",
    "core   0: 3 0x0000000080000012 (0x00005337) x6  0x0000000000005000",
    "core   0: 3 0x0000000080000016 (0x5553031b) x6  0x0000000000005555",
    "core   0: 3 0x000000008000001a (0x0062a023)",
  ];

  it("--trace logs every retired instruction to stderr", () => {
    const r = runCli(["run", "--trace", guestPath("test-trace.elf")]);
    expect(r.status, describeRun(r)).toBe(0);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    expect(lines).toEqual(expected);
    expect(r.stdout).toBe("");
  });

  it("--trace-file writes the same lines to a file", () => {
    const f = join(tmp.dir, "trace.log");
    const r = runCli(["run", "--trace-file", f, guestPath("test-trace.elf")]);
    expect(r.status, describeRun(r)).toBe(0);
    expect(readFileSync(f, "utf8")).toBe(expected.join("\n") + "\n");
    expect(r.stderr).toBe("");
  });

  it("--trace of a longer guest: every line is well-formed and pcs start at the entry", () => {
    const r = runCli(["run", "--trace", "--max-insns", "300", guestPath("hello.elf")]);
    expect(r.status, describeRun(r)).toBe(3);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("core"));
    expect(lines.length).toBe(300);
    for (const l of lines) {
      expect(l).toMatch(/^core {3}0: [013] 0x[0-9a-f]{16} \((0x[0-9a-f]{8}|0x[0-9a-f]{4})\)( [xf]\d{1,2} {1,2}0x[0-9a-f]{16})?$/);
    }
    // crt0: csrr t0, mhartid (t0 = 0), then bnez (no write).
    expect(lines[0]).toBe("core   0: 3 0x0000000080000000 (0xf14022f3) x5  0x0000000000000000");
    expect(lines[1]).toMatch(/^core {3}0: 3 0x0000000080000004 \(0x([0-9a-f]{4}|[0-9a-f]{8})\)$/);
  });
});

describe("wasmvisor CLI: --htif", () => {
  it("pass (tohost = 1): exit 0", () => {
    const r = runCli(["run", "--htif", "--timeout", "20", guestPath("test-htif-pass.elf")]);
    expect(r.status, describeRun(r)).toBe(0);
    expect(r.stderr).toBe("");
  });

  it("fail (tohost = (5<<1)|1): exit 1 with FAIL: test 5", () => {
    const r = runCli(["run", "--htif", "--timeout", "20", guestPath("test-htif-fail.elf")]);
    expect(r.status, describeRun(r)).toBe(1);
    expect(r.stderr).toMatch(/FAIL: test 5\b/);
  });

  it("an ELF without tohost: exit 2", () => {
    const r = runCli(["run", "--htif", guestPath("hello.elf")]);
    expect(r.status, describeRun(r)).toBe(2);
    expectOneErrorLine(r.stderr, /tohost/);
  });
});

describe("wasmvisor CLI: --signature", () => {
  const guest = guestPath("test-signature.elf");
  const cases: [string[], string[]][] = [
    [[], ["11223344", "ffffffff", "89abcdef", "01234567", "deadbeef", "cafef00d", "00000000", "80000000"]],
    [["--signature-granularity", "8"], ["ffffffff11223344", "0123456789abcdef", "cafef00ddeadbeef", "8000000000000000"]],
    [["--signature-granularity", "16"], ["0123456789abcdefffffffff11223344", "8000000000000000cafef00ddeadbeef"]],
  ];
  for (const [opts, lines] of cases) {
    it(`writes begin_signature..end_signature ${opts.length ? opts.join(" ") : "(4-byte lines by default)"}`, () => {
      const f = join(tmp.dir, `sig-${opts.join("") || "default"}.txt`);
      const r = runCli(["run", "--signature", f, ...opts, guest]);
      expect(r.status, describeRun(r)).toBe(0);
      expect(readFileSync(f, "utf8")).toBe(lines.join("\n") + "\n");
    });
  }

  it("an ELF without signature symbols: exit 2 and no file", () => {
    const f = join(tmp.dir, "nosig.txt");
    const r = runCli(["run", "--signature", f, guestPath("hello.elf")]);
    expect(r.status, describeRun(r)).toBe(2);
    expectOneErrorLine(r.stderr, /begin_signature/);
    expect(existsSync(f)).toBe(false);
  });
});
