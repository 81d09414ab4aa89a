// RV64C: expands a 16-bit compressed instruction into its 32-bit equivalent (unprivileged spec ch. 16, Tables 16.5-16.7).
// Returns 0 for illegal and reserved encodings (the caller raises illegal instruction with the 16-bit bits as tval).

@inline function rI(op: u32, rd: u32, f3: u32, rs1: u32, imm: i32): u32 {
  return (<u32>imm << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op;
}
@inline function rR(op: u32, rd: u32, f3: u32, rs1: u32, rs2: u32, f7: u32): u32 {
  return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op;
}
@inline function rS(op: u32, f3: u32, rs1: u32, rs2: u32, imm: i32): u32 {
  const u = <u32>imm;
  return ((u >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((u & 31) << 7) | op;
}
@inline function rB(f3: u32, rs1: u32, rs2: u32, imm: i32): u32 {
  const u = <u32>imm;
  return (((u >> 12) & 1) << 31) | (((u >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
    (((u >> 1) & 0xf) << 8) | (((u >> 11) & 1) << 7) | 0x63;
}
@inline function rJ(rd: u32, imm: i32): u32 {
  const u = <u32>imm;
  return (((u >> 20) & 1) << 31) | (((u >> 1) & 0x3ff) << 21) | (((u >> 11) & 1) << 20) | (((u >> 12) & 0xff) << 12) |
    (rd << 7) | 0x6f;
}
@inline function bit(c: u32, from: u32, to: u32): u32 { return ((c >> from) & 1) << to; }
@inline function sext(v: u32, bits: u32): i32 { return (<i32>(v << (32 - bits))) >> (32 - bits); }

const OP_LOAD: u32 = 0x03, OP_LOAD_FP: u32 = 0x07, OP_IMM: u32 = 0x13, OP_IMM32: u32 = 0x1b, OP_STORE: u32 = 0x23,
  OP_STORE_FP: u32 = 0x27, OP_OP: u32 = 0x33, OP_LUI: u32 = 0x37, OP_OP32: u32 = 0x3b, OP_JALR: u32 = 0x67;

export function expandCompressed(c: u32): u32 {
  const f3 = (c >> 13) & 7;
  const rdFull = (c >> 7) & 31;
  const rs2Full = (c >> 2) & 31;
  const rdp = ((c >> 2) & 7) + 8;  // rd'/rs2' in bits 4:2
  const rs1p = ((c >> 7) & 7) + 8; // rs1'/rd' in bits 9:7
  const imm6 = sext(bit(c, 12, 5) | ((c >> 2) & 31), 6);
  switch (c & 3) {
    case 0: {
      // uimm for C.LW/C.SW: [5:3]=12:10 [2]=6 [6]=5; for C.LD/C.SD/C.FLD/C.FSD: [5:3]=12:10 [7:6]=6:5
      const uw = (((c >> 10) & 7) << 3) | bit(c, 6, 2) | bit(c, 5, 6);
      const ud = (((c >> 10) & 7) << 3) | (((c >> 5) & 3) << 6);
      switch (f3) {
        case 0: { // C.ADDI4SPN: nzuimm[5:4|9:6|2|3]
          const imm = (((c >> 11) & 3) << 4) | (((c >> 7) & 0xf) << 6) | bit(c, 6, 2) | bit(c, 5, 3);
          if (imm == 0) return 0;
          return rI(OP_IMM, rdp, 0, 2, <i32>imm);
        }
        case 1: return rI(OP_LOAD_FP, rdp, 3, rs1p, <i32>ud);   // C.FLD
        case 2: return rI(OP_LOAD, rdp, 2, rs1p, <i32>uw);      // C.LW
        case 3: return rI(OP_LOAD, rdp, 3, rs1p, <i32>ud);      // C.LD
        case 5: return rS(OP_STORE_FP, 3, rs1p, rdp, <i32>ud);  // C.FSD
        case 6: return rS(OP_STORE, 2, rs1p, rdp, <i32>uw);     // C.SW
        case 7: return rS(OP_STORE, 3, rs1p, rdp, <i32>ud);     // C.SD
        default: return 0;
      }
    }
    case 1: {
      switch (f3) {
        case 0: return rI(OP_IMM, rdFull, 0, rdFull, imm6);               // C.ADDI (C.NOP)
        case 1: if (rdFull == 0) return 0; return rI(OP_IMM32, rdFull, 0, rdFull, imm6); // C.ADDIW
        case 2: return rI(OP_IMM, rdFull, 0, 0, imm6);                     // C.LI
        case 3: {
          if (rdFull == 2) { // C.ADDI16SP: nzimm[9]=12 [4]=6 [6]=5 [8:7]=4:3 [5]=2
            const imm = sext(bit(c, 12, 9) | bit(c, 6, 4) | bit(c, 5, 6) | (((c >> 3) & 3) << 7) | bit(c, 2, 5), 10);
            if (imm == 0) return 0;
            return rI(OP_IMM, 2, 0, 2, imm);
          }
          if (imm6 == 0) return 0; // C.LUI with nzimm = 0 is reserved
          return (<u32>imm6 << 12) | (rdFull << 7) | OP_LUI;              // C.LUI
        }
        case 4: {
          const shamt = bit(c, 12, 5) | ((c >> 2) & 31);
          switch ((c >> 10) & 3) {
            case 0: return rI(OP_IMM, rs1p, 5, rs1p, <i32>shamt);          // C.SRLI
            case 1: return rI(OP_IMM, rs1p, 5, rs1p, <i32>(shamt | 0x400)); // C.SRAI
            case 2: return rI(OP_IMM, rs1p, 7, rs1p, imm6);                 // C.ANDI
            default: {
              const sel = (c >> 5) & 3;
              if ((c & 0x1000) == 0) {
                if (sel == 0) return rR(OP_OP, rs1p, 0, rs1p, rdp, 0x20);  // C.SUB
                if (sel == 1) return rR(OP_OP, rs1p, 4, rs1p, rdp, 0);     // C.XOR
                if (sel == 2) return rR(OP_OP, rs1p, 6, rs1p, rdp, 0);     // C.OR
                return rR(OP_OP, rs1p, 7, rs1p, rdp, 0);                    // C.AND
              }
              if (sel == 0) return rR(OP_OP32, rs1p, 0, rs1p, rdp, 0x20);  // C.SUBW
              if (sel == 1) return rR(OP_OP32, rs1p, 0, rs1p, rdp, 0);     // C.ADDW
              return 0;
            }
          }
        }
        case 5: { // C.J: offset[11|4|9:8|10|6|7|3:1|5] in bits 12..2
          const off = sext(bit(c, 12, 11) | bit(c, 11, 4) | (((c >> 9) & 3) << 8) | bit(c, 8, 10) | bit(c, 7, 6) |
            bit(c, 6, 7) | (((c >> 3) & 7) << 1) | bit(c, 2, 5), 12);
          return rJ(0, off);
        }
        default: { // C.BEQZ / C.BNEZ: offset[8|4:3] = 12:10, [7:6|2:1|5] = 6:2
          const off = sext(bit(c, 12, 8) | (((c >> 10) & 3) << 3) | (((c >> 5) & 3) << 6) | (((c >> 3) & 3) << 1) |
            bit(c, 2, 5), 9);
          return rB(f3 == 6 ? 0 : 1, rs1p, 0, off);
        }
      }
    }
    case 2: {
      switch (f3) {
        case 0: return rI(OP_IMM, rdFull, 1, rdFull, <i32>(bit(c, 12, 5) | ((c >> 2) & 31))); // C.SLLI
        case 1: { // C.FLDSP: uimm[5]=12 [4:3]=6:5 [8:6]=4:2
          const u = bit(c, 12, 5) | (((c >> 5) & 3) << 3) | (((c >> 2) & 7) << 6);
          return rI(OP_LOAD_FP, rdFull, 3, 2, <i32>u);
        }
        case 2: { // C.LWSP: uimm[5]=12 [4:2]=6:4 [7:6]=3:2
          if (rdFull == 0) return 0;
          const u = bit(c, 12, 5) | (((c >> 4) & 7) << 2) | (((c >> 2) & 3) << 6);
          return rI(OP_LOAD, rdFull, 2, 2, <i32>u);
        }
        case 3: { // C.LDSP
          if (rdFull == 0) return 0;
          const u = bit(c, 12, 5) | (((c >> 5) & 3) << 3) | (((c >> 2) & 7) << 6);
          return rI(OP_LOAD, rdFull, 3, 2, <i32>u);
        }
        case 4: {
          if ((c & 0x1000) == 0) {
            if (rs2Full == 0) { if (rdFull == 0) return 0; return rI(OP_JALR, 0, 0, rdFull, 0); } // C.JR
            return rR(OP_OP, rdFull, 0, 0, rs2Full, 0);                                        // C.MV
          }
          if (rs2Full == 0) {
            if (rdFull == 0) return 0x00100073;                                                // C.EBREAK
            return rI(OP_JALR, 1, 0, rdFull, 0);                                               // C.JALR
          }
          return rR(OP_OP, rdFull, 0, rdFull, rs2Full, 0);                                     // C.ADD
        }
        case 5: { // C.FSDSP: uimm[5:3]=12:10 [8:6]=9:7
          const u = (((c >> 10) & 7) << 3) | (((c >> 7) & 7) << 6);
          return rS(OP_STORE_FP, 3, 2, rs2Full, <i32>u);
        }
        case 6: { // C.SWSP: uimm[5:2]=12:9 [7:6]=8:7
          const u = (((c >> 9) & 0xf) << 2) | (((c >> 7) & 3) << 6);
          return rS(OP_STORE, 2, 2, rs2Full, <i32>u);
        }
        default: { // C.SDSP
          const u = (((c >> 10) & 7) << 3) | (((c >> 7) & 7) << 6);
          return rS(OP_STORE, 3, 2, rs2Full, <i32>u);
        }
      }
    }
  }
  return 0;
}
