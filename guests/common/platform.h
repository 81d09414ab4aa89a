/* Platform constants shared by guests: the QEMU `virt` devices that wasmvisor also provides. */
#ifndef GUEST_PLATFORM_H
#define GUEST_PLATFORM_H
#define UART0_BASE      0x10000000  /* NS16550A */
#define UART_THR        0           /* transmit holding register (write) */
#define UART_LSR        5           /* line status register */
#define UART_LSR_THRE   0x20        /* transmit holding register empty */
#define TEST_BASE       0x00100000  /* sifive,test0 / syscon: exit device */
#define TEST_PASS       0x5555      /* poweroff, exit code 0 */
#define TEST_FAIL       0x3333      /* (code << 16) | TEST_FAIL: exit with code */
#define CLINT_BASE      0x02000000
#define CLINT_MSIP      0x0000
#define CLINT_MTIMECMP  0x4000
#define CLINT_MTIME     0xbff8
#endif
