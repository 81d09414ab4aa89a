// Signature dump for the RISC-V architecture tests (riscof): the format spike and Sail write.

/** Writes the signature region as spike does: one line per `gran` bytes, most significant byte first. */
export function formatSignature(mem: Uint8Array, gran: number): string {
  const lines: string[] = [];
  for (let i = 0; i + gran <= mem.length; i += gran) {
    let s = "";
    for (let b = gran - 1; b >= 0; b--) s += mem[i + b].toString(16).padStart(2, "0");
    lines.push(s);
  }
  return lines.join("\n") + (lines.length ? "\n" : "");
}

