// The embedding API: `import { Vm, runToExit } from "wasmvisor"`.
export { Vm, DEFAULT_RAM_BASE, DEFAULT_MEM_BYTES, type VmOptions, type StopReason, type ExitStatus } from "./vm.js";
export { runToExit, type RunOptions, type RunResult } from "./runner.js";
export { parseElf, isElf, type ElfImage, type ElfSegment } from "./elf.js";
export { WasmvisorError, ExitCode } from "./errors.js";
export { createVm, restoreVm, incomingVm, VirtualMachine, type VmConfig, type VmState, type IncomingConfig } from "./api.js";
export { VmController } from "./controller.js";
export { type CheckpointPolicy, type CheckpointEvent } from "./policy.js";
export { readSnapshot } from "./snapshot/reader.js";
export { readChain, mergeChain } from "./snapshot/chain.js";
export { writeSnapshot } from "./snapshot/writer.js";
export { inspectSnapshot, type SnapshotReport } from "./snapshot/inspect.js";
export { vmDigest } from "./snapshot/vmstate.js";
export { InputQueue } from "./runner.js";
export { VirtioDevices, attachDevices, type DeviceSpec, type DeviceOptions, type IommuFault } from "./virtio/devices.js";
export { VirtualSwitch, defaultSwitch, udpBridge } from "./virtio/switch.js";
