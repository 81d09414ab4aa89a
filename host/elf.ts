// ELF64 (little-endian, RISC-V) reader: loadable segments, entry point and the symbol table. Every offset and
// length in the file is checked before use: a malformed image gets a one-line error, never an exception trace.
import { WasmvisorError } from "./errors.js";

const EM_RISCV = 243;
const PT_LOAD = 1;
const SHT_SYMTAB = 2;

export interface ElfSegment { paddr: bigint; vaddr: bigint; data: Uint8Array; memsz: bigint }
export interface ElfImage { entry: bigint; segments: ElfSegment[]; symbols: Map<string, bigint> }

export function isElf(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

export function parseElf(buf: Uint8Array, name = "image"): ElfImage {
  const bad = (why: string): never => { throw new WasmvisorError(`${name}: malformed ELF: ${why}`); };
  if (buf.length < 64 || !isElf(buf)) bad("missing ELF header");
  if (buf[4] !== 2) bad("not a 64-bit ELF (EI_CLASS)");
  if (buf[5] !== 1) bad("not little-endian (EI_DATA)");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u16 = (o: number) => dv.getUint16(o, true);
  const u32 = (o: number) => dv.getUint32(o, true);
  const u64 = (o: number) => dv.getBigUint64(o, true);
  const machine = u16(18);
  if (machine !== EM_RISCV) bad(`e_machine is ${machine}, not RISC-V (243)`);
  const entry = u64(24);
  const phoff = Number(u64(32));
  const shoff = Number(u64(40));
  const phentsize = u16(54), phnum = u16(56), shentsize = u16(58), shnum = u16(60);
  const within = (off: number, len: number) => Number.isSafeInteger(off) && off >= 0 && len >= 0 && off + len <= buf.length;

  const segments: ElfSegment[] = [];
  if (phnum > 0) {
    if (phentsize < 56 || !within(phoff, phentsize * phnum)) bad("program headers lie outside the file");
    for (let i = 0; i < phnum; i++) {
      const p = phoff + i * phentsize;
      if (u32(p) !== PT_LOAD) continue;
      const offset = u64(p + 8), vaddr = u64(p + 16), paddr = u64(p + 24), filesz = u64(p + 32), memsz = u64(p + 40);
      if (filesz > memsz) bad(`segment ${i}: p_filesz exceeds p_memsz`);
      if (!within(Number(offset), Number(filesz))) bad(`segment ${i} is truncated (file too short)`);
      if (memsz === 0n) continue;
      segments.push({ paddr, vaddr, memsz, data: buf.subarray(Number(offset), Number(offset) + Number(filesz)) });
    }
  }
  if (segments.length === 0) bad("no loadable segments");

  // Symbols (optional): from the first SHT_SYMTAB and its linked string table.
  const symbols = new Map<string, bigint>();
  if (shnum > 0 && shoff !== 0) {
    if (shentsize < 64 || !within(shoff, shentsize * shnum)) bad("section headers lie outside the file");
    for (let i = 0; i < shnum; i++) {
      const s = shoff + i * shentsize;
      if (u32(s + 4) !== SHT_SYMTAB) continue;
      const off = Number(u64(s + 24)), size = Number(u64(s + 32)), link = u32(s + 40), entsize = Number(u64(s + 56)) || 24;
      if (link >= shnum || !within(off, size) || entsize < 24) bad("symbol table lies outside the file");
      const ls = shoff + link * shentsize;
      const stroff = Number(u64(ls + 24)), strsize = Number(u64(ls + 32));
      if (!within(stroff, strsize)) bad("string table lies outside the file");
      for (let e = off; e + entsize <= off + size; e += entsize) {
        const nameOff = u32(e);
        if (nameOff === 0 || nameOff >= strsize) continue;
        let end = stroff + nameOff;
        while (end < stroff + strsize && buf[end] !== 0) end++;
        const sym = new TextDecoder().decode(buf.subarray(stroff + nameOff, end));
        if (!symbols.has(sym)) symbols.set(sym, u64(e + 8));
      }
      break;
    }
  }
  return { entry, segments, symbols };
}
