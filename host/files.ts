// Reading the user's input files with one-line errors, and locating the Debian guest images that
// guests/fetch-images.sh caches outside the repository.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { WasmvisorError } from "./errors.js";

/** The file's bytes, or a WasmvisorError naming it ("no such file" or the system's reason). */
export function readInputFile(path: string, what = ""): Uint8Array {
  try { return readFileSync(path); } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message;
    throw new WasmvisorError(`${what ? what + " " : ""}${path}: ${why}`);
  }
}

/** Where guests/fetch-images.sh caches images (WASMVISOR_IMAGES, else ~/.cache/wasmvisor/images). */
export function imagesDir(): string {
  return process.env.WASMVISOR_IMAGES ?? join(homedir(), ".cache", "wasmvisor", "images");
}

/**
 * name → path from the fetch script's manifest (kernel, initramfs, busybox, fw_jump, fw_dynamic, uboot, …),
 * keeping only files that exist; null when the kernel and initramfs were never fetched.
 */
export function cachedImages(): Record<string, string> | null {
  const dir = imagesDir();
  const manifest = join(dir, "manifest");
  if (!existsSync(manifest)) return null;
  const out: Record<string, string> = {};
  for (const line of readFileSync(manifest, "utf8").split("\n")) {
    const m = /^([\w-]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    const p = isAbsolute(m[2]) ? m[2] : join(dir, m[2]);
    if (existsSync(p)) out[m[1]] = p;
  }
  return out.kernel && out.initramfs ? out : null;
}
