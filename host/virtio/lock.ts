// Exclusive write access to disk images: one writer per image across every wasmvisor process on the host
// (a lock file next to the image holding the owner's pid; a lock left by a dead process is taken over).
import * as fs from "node:fs";
import * as path from "node:path";
import { WasmvisorError } from "../errors.js";

const held = new Map<string, string>(); // real path -> lock file path

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === "EPERM"; }
}

/** Takes the write lock of image `file`; throws a one-line error if another VM or process holds it. */
export function lockImage(file: string): () => void {
  const real = fs.realpathSync(file);
  if (held.has(real)) throw new WasmvisorError(`disk image ${file} is already open for writing by another VM in this process`);
  const lockPath = path.join(path.dirname(real), `.${path.basename(real)}.wasmvisor-lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, `${process.pid}\n`, { flag: "wx" });
      held.set(real, lockPath);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        held.delete(real);
        try { fs.unlinkSync(lockPath); } catch { /* gone already */ }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new WasmvisorError(`cannot lock disk image ${file}: ${(e as Error).message}`);
      const pid = Number.parseInt(fs.readFileSync(lockPath, "utf8"), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new WasmvisorError(`disk image ${file} is already open for writing by wasmvisor process ${pid}`);
      }
      fs.rmSync(lockPath, { force: true }); // stale: its owner is gone
    }
  }
  throw new WasmvisorError(`cannot lock disk image ${file}`);
}

process.on("exit", () => { for (const l of held.values()) { try { fs.unlinkSync(l); } catch { /* ignore */ } } });
