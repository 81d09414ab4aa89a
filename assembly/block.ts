// Basic-block cache: builds blocks of decoded ops from guest code and finds them again (layout.ts, BC_*).
import * as L from "./layout";
import { H } from "./state";
import { decode, OP_ILLEGAL, OP_JAL, OP_JALR, OP_SYSTEM, OP_FENCE } from "./decode";
import { expandCompressed } from "./rvc";

/** The 32-bit form of a 16-bit parcel through the shared RVC table (1 = illegal). */
@inline function expandCached(raw: u32): u32 {
  const slot = L.RVC_TABLE + (<usize>raw << 2);
  let insn = load<u32>(slot);
  if (insn == 0) { insn = expandCompressed(raw); if (insn == 0) insn = 1; store<u32>(slot, insn); }
  return insn;
}

/** Decodes the instruction with bits `w` (16 or 32 bits, len 2 or 4) into op `o`. Returns the op code. */
export function decodeOp(w: u32, len: u32, o: usize): u16 {
  if (len == 2) {
    const x = expandCached(w);
    if (x == 1) { store<u64>(o, 0, 8); store<u64>(o, 0, 16); store<u32>(o, w, 24); }
    else decode(x, o);
  } else decode(w, o);
  store<u8>(o, <u8>len, 2);
  store<u32>(o, w, 28);
  return load<u16>(o, 16);
}

/**
 * Unconditional jumps, SYSTEM, FENCE(.I) and illegal instructions end a block. Conditional branches do not:
 * a taken branch leaves the block early (a superblock along the fall-through path).
 */
@inline function endsBlock(op: u16): bool {
  return op == OP_JAL || op == OP_JALR || op == OP_SYSTEM || op == OP_FENCE || op == OP_ILLEGAL;
}

@inline function arenaStart(bc: usize): usize { return bc + L.BLOCK_MAP_BYTES; }

/** Clears this hart's block cache (all map entries, arena reset). */
export function blockFlush(bc: usize): void {
  memory.fill(bc, 0, L.BLOCK_MAP_BYTES);
  store<u32>(H + L.H_ARENA_TOP, <u32>arenaStart(bc));
}

/**
 * Builds the block starting at linear-memory offset `ptr` (guest pc offset in its page: pageOff) into map entry
 * `me`. The first instruction must lie within the page (the caller handles page-straddling ones).
 */
export function blockBuild(bc: usize, me: usize, ptr: u32, pageOff: u32): void {
  let top = <usize>load<u32>(H + L.H_ARENA_TOP);
  const need = <usize>L.BLOCK_MAX * L.OP_BYTES + <usize>L.BLOCK_MAX * 4 + 8;
  if (top < arenaStart(bc) || top + need > arenaStart(bc) + L.BLOCK_ARENA_BYTES) {
    blockFlush(bc);
    top = arenaStart(bc);
  }
  const ops = top;
  const left: u32 = 4096 - pageOff;
  let off: u32 = 0;
  let count: u32 = 0;
  while (count < L.BLOCK_MAX && off + 2 <= left) {
    const p = <usize>ptr + <usize>off;
    let w = <u32>load<u16>(p);
    let len: u32 = 2;
    if ((w & 3) == 3) {
      if (off + 4 > left) break; // straddles the page: the next block starts with it
      w = load<u32>(p);
      len = 4;
    }
    const o = ops + (<usize>count << 5);
    store<u16>(o, <u16>off);
    const op = decodeOp(w, len, o);
    count++;
    off += len;
    if (endsBlock(op)) break;
  }
  // Keep a copy of the code bytes for revalidation on entry.
  const copy = ops + (<usize>count << 5);
  memory.copy(copy, <usize>ptr, <usize>off);
  store<u32>(H + L.H_ARENA_TOP, <u32>((copy + <usize>off + 7) & ~<usize>7));
  // Mark the page as holding code (generation odd, never 0) and remember its generation.
  const gp = L.codeGenPtr(<usize>ptr);
  let g = load<u32>(gp);
  if (g == 0) { g = 1; store<u32>(gp, g); }
  store<u32>(me, ptr);
  store<u32>(me, <u32>ops, 4);
  store<u16>(me, <u16>count, 8);
  store<u16>(me, <u16>off, 10);
  store<u32>(me, g, 12);
}

/**
 * True if the code bytes of the block in map entry `me` (at `ptr`) are unchanged since it was built. Called only
 * when its page's generation moved on; a block that still matches adopts the new generation.
 */
export function blockRevalidate(me: usize, ptr: u32): bool {
  const bytes = <u32>load<u16>(me, 10);
  const copy = <usize>load<u32>(me, 4) + (<usize>load<u16>(me, 8) << 5);
  const p = <usize>ptr;
  let i: u32 = 0;
  for (; i + 8 <= bytes; i += 8) if (load<u64>(p + <usize>i) != load<u64>(copy + <usize>i)) return false;
  for (; i < bytes; i += 2) if (load<u16>(p + <usize>i) != load<u16>(copy + <usize>i)) return false;
  store<u32>(me, load<u32>(L.codeGenPtr(p)), 12);
  return true;
}
