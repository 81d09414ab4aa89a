// NS16550A UART (as in QEMU virt at 0x1000_0000): transmit into the console ring, receive from the host's input ring.
import { VM_UART, CONSOLE_HEAD, CONSOLE_TAIL, CONSOLE_DATA, CONSOLE_SIZE } from "../layout";
import { requestStop } from "../state";
import { STOP_CONSOLE } from "../stop";
import { plicSetLevel } from "./plic";

export const UART_IRQ: u32 = 10; // PLIC source (QEMU virt)

export const UART_BASE: u64 = 0x1000_0000;
export const UART_SIZE: u64 = 0x100;

// Register offsets (PC16550D datasheet, Table 2)
const UART_RBR_THR: u64 = 0; // receive buffer / transmit holding; DLL when LCR.DLAB
const UART_IER: u64 = 1;     // interrupt enable; DLM when LCR.DLAB
const UART_IIR_FCR: u64 = 2; // interrupt identification (read) / FIFO control (write)
const UART_LCR: u64 = 3;
const UART_MCR: u64 = 4;
const UART_LSR: u64 = 5;
const UART_MSR: u64 = 6;
const UART_SCR: u64 = 7;
const LCR_DLAB: u32 = 0x80;
const LSR_DR: u32 = 0x01;    // data ready
const LSR_THRE: u32 = 0x20;  // transmit holding register empty
const LSR_TEMT: u32 = 0x40;  // transmitter empty
const IIR_NO_INT: u32 = 0x01;
const IIR_THRI: u32 = 0x02;       // transmitter holding register empty
const IIR_RDI: u32 = 0x04;        // received data available
const IER_ERBFI: u32 = 0x01;      // enable received-data interrupt
const IER_ETBEI: u32 = 0x02;      // enable THR-empty interrupt
const IIR_FIFO_ENABLED: u32 = 0xc0;

// State in the VM block
const U_IER = VM_UART + 0;
const U_LCR = VM_UART + 1;
const U_MCR = VM_UART + 2;
const U_SCR = VM_UART + 3;
const U_DLL = VM_UART + 4;
const U_DLM = VM_UART + 5;
const U_FCR = VM_UART + 6;
const U_THRI = VM_UART + 7; // u8 1 while a THR-empty interrupt is pending (cleared by reading IIR or writing THR)
export const UART_RX_HEAD = VM_UART + 8;  // u32 written by the host
export const UART_RX_TAIL = VM_UART + 12; // u32 consumed by the core
export const UART_RX_DATA = VM_UART + 16; // UART_RX_SIZE bytes
export const UART_RX_SIZE: u32 = 256;

export function uartReset(): void {
  memory.fill(VM_UART, 0, 16);
  store<u8>(U_DLL, 1);
}

export function uartRxAvailable(): bool { return load<u32>(UART_RX_HEAD) != load<u32>(UART_RX_TAIL); }

/** Takes the next received byte (the caller has checked uartRxAvailable). */
export function uartTakeRx(): u32 {
  const tail = load<u32>(UART_RX_TAIL);
  const b = <u32>load<u8>(UART_RX_DATA + <usize>(tail & (UART_RX_SIZE - 1)));
  store<u32>(UART_RX_TAIL, tail + 1);
  return b;
}

/** The interrupt the UART reports in IIR, by priority (PC16550D Table 4): received data, then THR empty. */
function pendingIir(): u32 {
  const ier = <u32>load<u8>(U_IER);
  if ((ier & IER_ERBFI) != 0 && uartRxAvailable()) return IIR_RDI;
  if ((ier & IER_ETBEI) != 0 && load<u8>(U_THRI) != 0) return IIR_THRI;
  return IIR_NO_INT;
}

/** Drives the UART's PLIC line from its state (called after register accesses and when input arrives). */
export function uartUpdate(): void { plicSetLevel(UART_IRQ, pendingIir() != IIR_NO_INT); }

/** Appends a byte to the console ring; asks the run loop to return to the host when the ring is nearly full. */
export function consolePut(b: u32): void {
  const head = load<u32>(CONSOLE_HEAD);
  const tail = load<u32>(CONSOLE_TAIL);
  if (head - tail >= CONSOLE_SIZE) { requestStop(STOP_CONSOLE); return; } // host has not drained: drop is avoided by stopping earlier
  store<u8>(CONSOLE_DATA + <usize>(head & (CONSOLE_SIZE - 1)), <u8>b);
  store<u32>(CONSOLE_HEAD, head + 1);
  if (head + 1 - tail >= CONSOLE_SIZE - 64) requestStop(STOP_CONSOLE);
}

export function uartRead(off: u64): u32 {
  const dlab = (load<u8>(U_LCR) & LCR_DLAB) != 0;
  switch (<u32>off) {
    case <u32>UART_RBR_THR: {
      if (dlab) return load<u8>(U_DLL);
      const b = uartRxAvailable() ? uartTakeRx() : 0;
      uartUpdate();
      return b;
    }
    case <u32>UART_IER: return dlab ? load<u8>(U_DLM) : load<u8>(U_IER);
    case <u32>UART_IIR_FCR: {
      const iir = pendingIir();
      if (iir == IIR_THRI) { store<u8>(U_THRI, 0); uartUpdate(); } // reading IIR acknowledges THR empty
      return iir | ((load<u8>(U_FCR) & 1) ? IIR_FIFO_ENABLED : 0);
    }
    case <u32>UART_LCR: return load<u8>(U_LCR);
    case <u32>UART_MCR: return load<u8>(U_MCR);
    case <u32>UART_LSR: {
      const rx = load<u32>(UART_RX_HEAD) != load<u32>(UART_RX_TAIL) ? LSR_DR : 0;
      return LSR_THRE | LSR_TEMT | rx;
    }
    case <u32>UART_MSR: return 0xb0; // DCD, DSR, CTS asserted
    case <u32>UART_SCR: return load<u8>(U_SCR);
  }
  return 0;
}

export function uartWrite(off: u64, val: u32): void {
  const dlab = (load<u8>(U_LCR) & LCR_DLAB) != 0;
  const b = <u8>val;
  switch (<u32>off) {
    // Transmission is instantaneous: after a THR write the register is empty again at once.
    case <u32>UART_RBR_THR: if (dlab) store<u8>(U_DLL, b); else { consolePut(b); store<u8>(U_THRI, 1); } break;
    case <u32>UART_IER: {
      if (dlab) { store<u8>(U_DLM, b); break; }
      // Enabling the THR-empty interrupt while THR is empty raises it (as the 16550 and QEMU do).
      if ((b & IER_ETBEI) != 0 && (load<u8>(U_IER) & IER_ETBEI) == 0) store<u8>(U_THRI, 1);
      store<u8>(U_IER, b & 0x0f);
      break;
    }
    case <u32>UART_IIR_FCR: store<u8>(U_FCR, b); break;
    case <u32>UART_LCR: store<u8>(U_LCR, b); break;
    case <u32>UART_MCR: store<u8>(U_MCR, b & 0x1f); break;
    case <u32>UART_SCR: store<u8>(U_SCR, b); break;
    default: break;
  }
  uartUpdate();
}
