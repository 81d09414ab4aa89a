// Decoder: turns a 32-bit instruction (compressed ones already expanded) into a decoded-cache entry whose op is a
// dense index, with register offsets and the sign-extended immediate precomputed, so the interpreter dispatches
// once (one br_table) and does no field extraction. Layout of an entry: layout.ts (DC_*).
import { H_XSCRATCH } from "./layout";

// Dense op numbers: keep them contiguous from 0 so the dispatch `switch` compiles to a br_table.
export const OP_ILLEGAL: u16 = 0;
export const OP_LUI: u16 = 1;    // imm = result
export const OP_AUIPC: u16 = 2;
export const OP_JAL: u16 = 3;
export const OP_JALR: u16 = 4;
export const OP_BEQ: u16 = 5;
export const OP_BNE: u16 = 6;
export const OP_BLT: u16 = 7;
export const OP_BGE: u16 = 8;
export const OP_BLTU: u16 = 9;
export const OP_BGEU: u16 = 10;
export const OP_LB: u16 = 11;
export const OP_LH: u16 = 12;
export const OP_LW: u16 = 13;
export const OP_LD: u16 = 14;
export const OP_LBU: u16 = 15;
export const OP_LHU: u16 = 16;
export const OP_LWU: u16 = 17;
export const OP_SB: u16 = 18;
export const OP_SH: u16 = 19;
export const OP_SW: u16 = 20;
export const OP_SD: u16 = 21;
export const OP_ADDI: u16 = 22;
export const OP_SLTI: u16 = 23;
export const OP_SLTIU: u16 = 24;
export const OP_XORI: u16 = 25;
export const OP_ORI: u16 = 26;
export const OP_ANDI: u16 = 27;
export const OP_SLLI: u16 = 28;
export const OP_SRLI: u16 = 29;
export const OP_SRAI: u16 = 30;
export const OP_ADDIW: u16 = 31;
export const OP_SLLIW: u16 = 32;
export const OP_SRLIW: u16 = 33;
export const OP_SRAIW: u16 = 34;
export const OP_ADD: u16 = 35;
export const OP_SUB: u16 = 36;
export const OP_SLL: u16 = 37;
export const OP_SLT: u16 = 38;
export const OP_SLTU: u16 = 39;
export const OP_XOR: u16 = 40;
export const OP_SRL: u16 = 41;
export const OP_SRA: u16 = 42;
export const OP_OR: u16 = 43;
export const OP_AND: u16 = 44;
export const OP_ADDW: u16 = 45;
export const OP_SUBW: u16 = 46;
export const OP_SLLW: u16 = 47;
export const OP_SRLW: u16 = 48;
export const OP_SRAW: u16 = 49;
export const OP_MUL: u16 = 50;
export const OP_MULH: u16 = 51;
export const OP_MULHSU: u16 = 52;
export const OP_MULHU: u16 = 53;
export const OP_DIV: u16 = 54;
export const OP_DIVU: u16 = 55;
export const OP_REM: u16 = 56;
export const OP_REMU: u16 = 57;
export const OP_MULW: u16 = 58;
export const OP_DIVW: u16 = 59;
export const OP_DIVUW: u16 = 60;
export const OP_REMW: u16 = 61;
export const OP_REMUW: u16 = 62;
export const OP_FENCE: u16 = 63;
export const OP_FLW: u16 = 64;   // rd offset is into f[]; rs2 offset into f[] for stores
export const OP_FLD: u16 = 65;
export const OP_FSW: u16 = 66;
export const OP_FSD: u16 = 67;
export const OP_AMO: u16 = 68;   // executed from the 32-bit form
export const OP_SYSTEM: u16 = 69;
export const OP_FP: u16 = 70;
export const OP_FMA: u16 = 71;
export const OP_MV: u16 = 72;    // add rd, x0, rs2 / addi rd, rs1, 0: the commonest moves get their own op
export const OP_LI: u16 = 73;    // addi rd, x0, imm
export const OP_COUNT: u16 = 74;

@inline function xoff(r: u32): u16 { return r == 0 ? <u16>H_XSCRATCH : <u16>(r << 3); }

/** Fills the entry at `e` for `insn` (32-bit form). tag/raw/length are written by the caller. */
export function decode(insn: u32, e: usize): void {
  const rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31, f3 = (insn >> 12) & 7, f7 = insn >> 25;
  const immI = <i64>(<i32>insn >> 20);
  let op: u16 = OP_ILLEGAL;
  let imm: i64 = 0;
  let rdo = xoff(rd);
  const rs1o: u16 = <u16>(rs1 << 3);
  let rs2o: u16 = <u16>(rs2 << 3);
  switch ((insn >> 2) & 31) {
    case 0x0d: op = OP_LUI; imm = <i64><i32>(insn & 0xffff_f000); break;
    case 0x05: op = OP_AUIPC; imm = <i64><i32>(insn & 0xffff_f000); break;
    case 0x1b: op = OP_JAL;
      imm = <i64>(((<i32>(insn & 0x8000_0000)) >> 11) | <i32>(insn & 0xff000) | <i32>((insn >> 9) & 0x800) | <i32>((insn >> 20) & 0x7fe));
      break;
    case 0x19: if (f3 == 0) { op = OP_JALR; imm = immI; } break;
    case 0x18: {
      imm = <i64>(((<i32>(insn & 0x8000_0000)) >> 19) | <i32>((insn << 4) & 0x800) | <i32>((insn >> 20) & 0x7e0) | <i32>((insn >> 7) & 0x1e));
      if (f3 == 0) op = OP_BEQ; else if (f3 == 1) op = OP_BNE; else if (f3 == 4) op = OP_BLT;
      else if (f3 == 5) op = OP_BGE; else if (f3 == 6) op = OP_BLTU; else if (f3 == 7) op = OP_BGEU;
      break;
    }
    case 0x00: imm = immI; if (f3 != 7) op = OP_LB + <u16>f3; break; // LB LH LW LD LBU LHU LWU
    case 0x08: imm = <i64>(((<i32>insn >> 20) & ~31) | <i32>((insn >> 7) & 31)); if (f3 < 4) op = OP_SB + <u16>f3; break;
    case 0x04: {
      imm = immI;
      switch (f3) {
        case 0: op = rs1 == 0 ? OP_LI : imm == 0 ? OP_MV : OP_ADDI; if (op == OP_MV) rs2o = rs1o; break;
        case 1: if ((insn >> 26) == 0) { op = OP_SLLI; imm &= 63; } break;
        case 2: op = OP_SLTI; break;
        case 3: op = OP_SLTIU; break;
        case 4: op = OP_XORI; break;
        case 5: { const f6 = insn >> 26; if (f6 == 0) op = OP_SRLI; else if (f6 == 0x10) op = OP_SRAI; imm &= 63; break; }
        case 6: op = OP_ORI; break;
        default: op = OP_ANDI; break;
      }
      break;
    }
    case 0x06: {
      imm = immI;
      if (f3 == 0) op = OP_ADDIW;
      else if (f3 == 1 && f7 == 0) { op = OP_SLLIW; imm = <i64>rs2; }
      else if (f3 == 5 && f7 == 0) { op = OP_SRLIW; imm = <i64>rs2; }
      else if (f3 == 5 && f7 == 0x20) { op = OP_SRAIW; imm = <i64>rs2; }
      break;
    }
    case 0x0c: {
      if (f7 == 0) {
        switch (f3) {
          case 0: op = rs1 == 0 ? OP_MV : OP_ADD; break;
          case 1: op = OP_SLL; break;
          case 2: op = OP_SLT; break;
          case 3: op = OP_SLTU; break;
          case 4: op = OP_XOR; break;
          case 5: op = OP_SRL; break;
          case 6: op = OP_OR; break;
          default: op = OP_AND; break;
        }
      } else if (f7 == 0x20) { if (f3 == 0) op = OP_SUB; else if (f3 == 5) op = OP_SRA; }
      else if (f7 == 1) op = OP_MUL + <u16>f3;
      break;
    }
    case 0x0e: {
      if (f7 == 0) { if (f3 == 0) op = OP_ADDW; else if (f3 == 1) op = OP_SLLW; else if (f3 == 5) op = OP_SRLW; }
      else if (f7 == 0x20) { if (f3 == 0) op = OP_SUBW; else if (f3 == 5) op = OP_SRAW; }
      else if (f7 == 1) {
        if (f3 == 0) op = OP_MULW; else if (f3 == 4) op = OP_DIVW; else if (f3 == 5) op = OP_DIVUW;
        else if (f3 == 6) op = OP_REMW; else if (f3 == 7) op = OP_REMUW;
      }
      break;
    }
    case 0x03: if (f3 <= 1) op = OP_FENCE; break;
    case 0x01: imm = immI; if (f3 == 2) op = OP_FLW; else if (f3 == 3) op = OP_FLD; break;
    case 0x09: imm = <i64>(((<i32>insn >> 20) & ~31) | <i32>((insn >> 7) & 31)); if (f3 == 2) op = OP_FSW; else if (f3 == 3) op = OP_FSD; break;
    case 0x0b: op = OP_AMO; break;
    case 0x1c: op = OP_SYSTEM; break;
    case 0x14: op = OP_FP; break;
    case 0x10: case 0x11: case 0x12: case 0x13: op = OP_FMA; break;
    default: break;
  }
  if (op == OP_FLW || op == OP_FLD) rdo = <u16>(rd << 3);        // f register index, not x
  if (op == OP_FSW || op == OP_FSD) rs2o = <u16>(rs2 << 3);
  store<i64>(e, imm, 8);
  store<u16>(e, op, 16);
  store<u16>(e, rdo, 18);
  store<u16>(e, rs1o, 20);
  store<u16>(e, rs2o, 22);
  store<u32>(e, insn, 24);
}
