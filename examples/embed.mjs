// Embedding wasmvisor: boot the bundled guest, stream its console, read counters. Run: node examples/embed.mjs
import { createVm } from "../dist/host/index.js";

const vm = createVm({ image: new URL("../guests/bin/hello.elf", import.meta.url).pathname, memory: 64 << 20 });
vm.console.pipe(process.stdout);
vm.on("state", (s) => process.stderr.write(`[vm ${s}]\n`));
const result = await vm.start();
console.error(`exit: ${JSON.stringify(result.exit)}, ${result.instret} instructions`, vm.counters().traps, "traps");
