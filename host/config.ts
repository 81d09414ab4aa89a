// VM configuration files (`wasmvisor run --config FILE`): JSON validated against schema/vm-config.schema.json,
// with errors that name the field and the problem in one line.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { createRequire } from "node:module";
import { WasmvisorError } from "./errors.js";
import { packageRoot } from "./core-module.js";
import { readInputFile } from "./files.js";

export interface VmConfigFile {
  memory?: number | string;
  image?: string;
  loadAddr?: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  bios?: string;
  htif?: boolean;
  deterministic?: boolean;
  timeout?: number;
  maxInsns?: number;
  disks?: { path: string; readonly?: boolean; serial?: string }[];
  nics?: { mac: string }[];
  bridge?: string;
  rng?: boolean;
  virtioConsole?: boolean;
  io?: "thread" | "sync";
}

type Validator = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string; params?: Record<string, unknown>; keyword: string }[] | null };
let validator: Validator | undefined;

function validate(): Validator {
  if (validator) return validator;
  const require = createRequire(import.meta.url);
  const Ajv = require("ajv") as new (o: object) => { compile(s: object): Validator };
  const schema = JSON.parse(readFileSync(join(packageRoot(), "schema", "vm-config.schema.json"), "utf8"));
  validator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  return validator;
}

/** Reads and validates a configuration file; paths in it become absolute (relative to the file). */
export function loadVmConfig(path: string): VmConfigFile {
  const text = new TextDecoder().decode(readInputFile(path));
  let data: unknown;
  try { data = JSON.parse(text); } catch (e) {
    throw new WasmvisorError(`${path}: not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  const v = validate();
  if (!v(data)) {
    const errs = v.errors ?? [];
    // Prefer the most telling error: an unknown field, then a field's own problem, then the overall shape.
    const err = errs.find((e) => e.keyword === "additionalProperties") ?? errs.find((e) => e.instancePath !== "") ?? errs[0];
    const field = err.instancePath || "(top level)";
    let what = err.message ?? "is invalid";
    if (err.keyword === "additionalProperties") what = `unknown field '${String(err.params?.additionalProperty)}'`;
    else if (err.instancePath === "/memory") what = 'must be a number of bytes (a multiple of 4096) or a size such as "512M"';
    else if (err.instancePath === "") what = "needs exactly one of 'image' (bare metal) or 'kernel' (with optional initrd, append, bios)";
    throw new WasmvisorError(`${path}: ${field}: ${what}`);
  }
  const cfg = data as VmConfigFile;
  const base = dirname(resolve(path));
  const abs = (p?: string) => (p === undefined || p === "none" || isAbsolute(p) ? p : join(base, p));
  return {
    ...cfg, image: abs(cfg.image), kernel: abs(cfg.kernel), initrd: abs(cfg.initrd), bios: abs(cfg.bios),
    disks: cfg.disks?.map((d) => ({ ...d, path: abs(d.path)! })),
  };
}
