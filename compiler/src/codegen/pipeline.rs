//! The optimization pipeline: LLVM's `default<On>` with waot's passes at its extension points
//! (`cpp/pipeline.cpp`).

use inkwell::module::Module;
use inkwell::targets::TargetMachine;
use llvm_sys::prelude::LLVMModuleRef;
use llvm_sys::target_machine::LLVMTargetMachineRef;
use std::ffi::{c_char, CStr, CString};

extern "C" {
    fn waot_enabled_features(machine: LLVMTargetMachineRef) -> *mut c_char;
    fn waot_optimize_module(
        module: LLVMModuleRef,
        machine: LLVMTargetMachineRef,
        passes: *const c_char,
        keep_every_load: bool,
    ) -> *mut c_char;
}

/// Runs the pass pipeline `passes` (e.g. `default<O2>`) on `module`; `keep_every_load` makes
/// every linear-memory load volatile, so none is deleted and each can trap (for -O0).
pub fn optimize(
    module: &Module<'_>,
    machine: &TargetMachine,
    passes: &str,
    keep_every_load: bool,
) -> Result<(), String> {
    let passes = CString::new(passes).map_err(|e| e.to_string())?;
    // SAFETY: both references are live LLVM objects for the duration of the call; the
    // returned message, if any, is ours to read and dispose of.
    unsafe {
        let error = waot_optimize_module(
            module.as_mut_ptr(),
            machine.as_mut_ptr(),
            passes.as_ptr(),
            keep_every_load,
        );
        if error.is_null() {
            return Ok(());
        }
        let message = CStr::from_ptr(error).to_string_lossy().into_owned();
        llvm_sys::core::LLVMDisposeMessage(error);
        Err(message)
    }
}

/// Every feature `machine` may use, `+a,+b,...`, including those its CPU name implies.
pub fn enabled_features(machine: &TargetMachine) -> String {
    // SAFETY: a live target machine; the message is ours to read and dispose of.
    unsafe {
        let text = waot_enabled_features(machine.as_mut_ptr());
        let features = CStr::from_ptr(text).to_string_lossy().into_owned();
        llvm_sys::core::LLVMDisposeMessage(text);
        features
    }
}
