// host/elf.ts: real guests parse to the expected entry, segments and symbols; malformed images (built here by
// mutating a real ELF) throw a WasmvisorError whose message is one line naming the problem.
import { describe, expect, it } from "vitest";
import { isElf, parseElf } from "../host/elf.js";
import { WasmvisorError, ExitCode } from "../host/errors.js";
import { elfView, phdrOf, readGuest, shdrOf, PT_LOAD, SHT_SYMTAB } from "./helpers.js";

const hello = readGuest("hello.elf");

/** parseElf(buf) must throw a one-line WasmvisorError matching `why`. */
function expectMalformed(buf: Uint8Array, why: RegExp): void {
  let err: unknown;
  try {
    parseElf(buf, "bad.elf");
  } catch (e) {
    err = e;
  }
  expect(err, "parseElf accepted a malformed image").toBeInstanceOf(WasmvisorError);
  const e = err as WasmvisorError;
  expect(e.name).toBe("WasmvisorError");
  expect(e.exitCode).toBe(ExitCode.USAGE);
  expect(e.message).toMatch(why);
  expect(e.message.startsWith("bad.elf: "), e.message).toBe(true); // names the file
  expect(e.message).not.toMatch(/[\r\n]/);
  expect(e.message).not.toMatch(/\bat .*:\d+:\d+/); // no stack frames
  expect(e.message.length).toBeLessThan(200);
}

describe("parseElf on real guests", () => {
  it("hello.elf: entry, one loadable segment with its bytes, symbols", () => {
    expect(isElf(hello)).toBe(true);
    const img = parseElf(hello, "hello.elf");
    expect(img.entry).toBe(0x8000_0000n);
    expect(img.segments.length).toBe(1);
    const s = img.segments[0];
    expect(s.paddr).toBe(0x8000_0000n);
    expect(s.vaddr).toBe(0x8000_0000n);
    expect(s.memsz).toBeGreaterThanOrEqual(BigInt(s.data.length));
    // The segment's bytes are the file bytes at p_offset.
    const e = elfView(hello);
    const ph = phdrOf(e, PT_LOAD);
    const off = Number(e.dv.getBigUint64(ph + 8, true));
    expect(Buffer.from(s.data).equals(Buffer.from(hello.subarray(off, off + s.data.length)))).toBe(true);
    // The first instruction of crt0 is csrr t0, mhartid.
    expect(new DataView(s.data.buffer, s.data.byteOffset).getUint32(0, true)).toBe(0xf14022f3);
    expect(img.symbols.get("_start")).toBe(0x8000_0000n);
    expect(img.symbols.has("main")).toBe(true);
    expect(img.symbols.has("tohost")).toBe(false);
    expect(img.symbols.get("__stack_top")! > img.symbols.get("__stack_bottom")!).toBe(true);
  });

  it("an HTIF guest exposes tohost and fromhost", () => {
    const img = parseElf(readGuest("test-htif-pass.elf"));
    const tohost = img.symbols.get("tohost");
    expect(tohost).toBeDefined();
    expect(tohost! % 8n).toBe(0n);
    expect(img.symbols.get("fromhost")).toBeDefined();
    // tohost lies inside a loadable segment.
    expect(img.segments.some((s) => tohost! >= s.paddr && tohost! + 8n <= s.paddr + s.memsz)).toBe(true);
  });

  it("a signature guest exposes begin_signature/end_signature", () => {
    const img = parseElf(readGuest("test-signature.elf"));
    expect(img.symbols.get("end_signature")! - img.symbols.get("begin_signature")!).toBe(32n);
  });

  it("every committed guest parses", () => {
    for (const name of ["wl-int.elf", "wl-fp.elf", "test-trace.elf", "test-loop.elf"]) {
      const img = parseElf(readGuest(name), name);
      expect(img.entry, name).toBe(0x8000_0000n);
      expect(img.segments.length, name).toBeGreaterThan(0);
    }
  });

  it("does not mutate or copy-alias beyond the input (parsing twice gives equal results)", () => {
    const a = parseElf(hello), b = parseElf(hello);
    expect([...a.symbols]).toEqual([...b.symbols]);
    expect(a.segments.map((s) => s.paddr)).toEqual(b.segments.map((s) => s.paddr));
  });
});

describe("parseElf on malformed images", () => {
  it("empty buffer", () => expectMalformed(new Uint8Array(0), /ELF header/));

  it("shorter than the ELF header", () => expectMalformed(hello.subarray(0, 40), /ELF header/));

  it("bad magic", () => {
    const e = elfView(hello);
    e.buf[1] = 0x58; // "\x7fXLF"
    expect(isElf(e.buf)).toBe(false);
    expectMalformed(e.buf, /ELF header/);
  });

  it("32-bit class", () => {
    const e = elfView(hello);
    e.buf[4] = 1; // ELFCLASS32
    expectMalformed(e.buf, /64-bit/);
  });

  it("big-endian", () => {
    const e = elfView(hello);
    e.buf[5] = 2; // ELFDATA2MSB
    expectMalformed(e.buf, /little-endian/);
  });

  it("wrong e_machine", () => {
    const e = elfView(hello);
    e.dv.setUint16(18, 62, true); // EM_X86_64
    expectMalformed(e.buf, /e_machine is 62.*RISC-V/);
  });

  it("program headers past the end of the file", () => {
    const e = elfView(hello);
    e.dv.setBigUint64(32, BigInt(e.buf.length - 8), true);
    expectMalformed(e.buf, /program headers lie outside the file/);
  });

  it("program header offset absurdly large (beyond 2^53)", () => {
    const e = elfView(hello);
    e.dv.setBigUint64(32, 0xffff_ffff_ffff_0000n, true);
    expectMalformed(e.buf, /program headers lie outside the file/);
  });

  it("program header entry size too small", () => {
    const e = elfView(hello);
    e.dv.setUint16(54, 32, true);
    expectMalformed(e.buf, /program headers/);
  });

  it("truncated segment (file cut inside the loadable bytes)", () => {
    const e = elfView(hello);
    const ph = phdrOf(e);
    const off = Number(e.dv.getBigUint64(ph + 8, true));
    expectMalformed(e.buf.subarray(0, off + 16), /segment \d+ is truncated/);
  });

  it("segment whose p_offset + p_filesz overflows", () => {
    const e = elfView(hello);
    const ph = phdrOf(e);
    e.dv.setBigUint64(ph + 8, 0xffff_ffff_ffff_f000n, true);
    expectMalformed(e.buf, /segment \d+ is truncated/);
  });

  it("p_filesz > p_memsz", () => {
    const e = elfView(hello);
    const ph = phdrOf(e);
    const filesz = e.dv.getBigUint64(ph + 32, true);
    e.dv.setBigUint64(ph + 40, filesz - 1n, true);
    expectMalformed(e.buf, /p_filesz exceeds p_memsz/);
  });

  it("no loadable segments (PT_LOAD turned into PT_NULL)", () => {
    const e = elfView(hello);
    e.dv.setUint32(phdrOf(e), 0, true);
    expectMalformed(e.buf, /no loadable segments/);
  });

  it("no program headers at all", () => {
    const e = elfView(hello);
    e.dv.setUint16(56, 0, true);
    expectMalformed(e.buf, /no loadable segments/);
  });

  it("section headers past the end of the file", () => {
    const e = elfView(hello);
    e.dv.setBigUint64(40, BigInt(e.buf.length), true);
    expectMalformed(e.buf, /section headers lie outside the file/);
  });

  it("symbol table out of range", () => {
    const e = elfView(hello);
    const sh = shdrOf(e, SHT_SYMTAB);
    e.dv.setBigUint64(sh + 24, BigInt(e.buf.length - 16), true); // sh_offset near the end, sh_size unchanged
    expectMalformed(e.buf, /symbol table lies outside the file/);
  });

  it("symbol table with an invalid sh_link", () => {
    const e = elfView(hello);
    const sh = shdrOf(e, SHT_SYMTAB);
    e.dv.setUint32(sh + 40, 0xffff, true);
    expectMalformed(e.buf, /symbol table/);
  });

  it("string table out of range", () => {
    const e = elfView(hello);
    const sh = shdrOf(e, SHT_SYMTAB);
    const link = e.dv.getUint32(sh + 40, true);
    e.dv.setBigUint64(e.shoff + link * e.shentsize + 32, BigInt(e.buf.length * 2), true);
    expectMalformed(e.buf, /string table lies outside the file/);
  });

  it("random corruption never escapes as anything but WasmvisorError", () => {
    let seed = 0x2545f491;
    const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed; };
    for (let i = 0; i < 2000; i++) {
      const e = elfView(hello);
      // Corrupt a few bytes in the headers (ELF, program, section) where the interesting fields live.
      for (let k = 0; k < 1 + (rnd() % 4); k++) {
        const region = rnd() % 3;
        const at = region === 0 ? rnd() % 64 : region === 1 ? e.phoff + (rnd() % (e.phnum * e.phentsize)) : e.shoff + (rnd() % (e.shnum * e.shentsize));
        e.buf[at] = rnd() & 0xff;
      }
      const cut = rnd() % 4 === 0 ? rnd() % e.buf.length : e.buf.length;
      try {
        parseElf(e.buf.subarray(0, cut));
      } catch (err) {
        if (!(err instanceof WasmvisorError)) throw new Error(`iteration ${i}: ${(err as Error)?.stack ?? err}`);
        expect((err as Error).message).not.toMatch(/\n/);
      }
    }
  });
});
