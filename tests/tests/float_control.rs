//! A trap raised by a signal keeps the host thread's floating-point control. In its own test
//! binary: `signals.rs` needs no other test to install waot's handlers before its own.
#![cfg(all(target_arch = "x86_64", target_pointer_width = "64"))]

use waot::{Error, Linker, Store, TrapCode, Val};
use waot_compiler::CompileOptions;

/// MXCSR's sticky status flags (bits 0-5), which any float operation may set: not control.
const MXCSR_STATUS: u32 = 0x3f;

/// The MXCSR and x87 control word of this thread.
fn float_control() -> (u32, u16) {
    let (mut mxcsr, mut cw) = (0u32, 0u16);
    // SAFETY: stores the control registers into the two locals.
    unsafe {
        std::arch::asm!(
            "stmxcsr [{m}]",
            "fnstcw [{c}]",
            m = in(reg) &mut mxcsr,
            c = in(reg) &mut cw,
            options(nostack, preserves_flags),
        );
    }
    (mxcsr & !MXCSR_STATUS, cw)
}

fn set_float_control(mxcsr: u32, cw: u16) {
    // SAFETY: loads the control registers from the two values.
    unsafe {
        std::arch::asm!(
            "ldmxcsr [{m}]",
            "fldcw [{c}]",
            m = in(reg) &mxcsr,
            c = in(reg) &cw,
            options(nostack, readonly, preserves_flags),
        );
    }
}

/// A trap raised by a signal (a fault beyond the memory, an interrupt) leaves the host thread's
/// floating-point control as it was: the kernel runs the handler with the defaults, and an
/// audio host that flushes denormals to zero (MXCSR's FTZ and DAZ) must keep doing so.
#[test]
fn a_trap_by_signal_keeps_the_hosts_floating_point_control() {
    let d = tempfile::tempdir().unwrap();
    let wat = r#"(module (memory 1)
      (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
      (func (export "spin") (loop $l (br $l))))"#;
    let module = waot_tests::load_wat(d.path(), "fp", wat, &CompileOptions::default());
    std::thread::spawn(move || {
        let mut store = Store::new();
        let inst = Linker::new().instantiate(&mut store, &module).unwrap();
        let load = store.get_func(inst, "load").unwrap();
        let spin = store.get_func(inst, "spin").unwrap();
        let handle = store.interrupt_handle().unwrap();
        let before = float_control();
        // Flush to zero and denormals are zero, as an audio host sets them; x87 round toward
        // zero (Rust's code on x86-64 does not use the x87 unit).
        let host = ((before.0 | 0x8040) & !MXCSR_STATUS, before.1 | 0x0c00);
        set_float_control(host.0, host.1);
        match store.call(load, &[Val::I32(1 << 20)]) {
            Err(Error::Trap(t)) => assert_eq!(t.code, Some(TrapCode::MemoryOutOfBounds)),
            other => panic!("{other:?}"),
        }
        assert_eq!(float_control(), host, "after a fault");
        let interrupter = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            handle.interrupt();
        });
        match store.call(spin, &[]) {
            Err(Error::Trap(t)) => assert_eq!(t.code, Some(TrapCode::Interrupted)),
            other => panic!("{other:?}"),
        }
        interrupter.join().unwrap();
        assert_eq!(float_control(), host, "after an interrupt");
        set_float_control(before.0, before.1);
    })
    .join()
    .unwrap();
}
