//! The optimization pipeline: LLVM's `default<On>` with waot's passes at its extension points
//! (`cpp/pipeline.cpp`), and object emission (`cpp/emit.cpp`), each reporting the time it
//! spent on every function.

use inkwell::module::Module;
use inkwell::targets::TargetMachine;
use llvm_sys::prelude::LLVMModuleRef;
use llvm_sys::target_machine::LLVMTargetMachineRef;
use std::ffi::{c_char, c_void, CStr, CString};

type FunctionTime = extern "C" fn(ctx: *mut c_void, name: *const c_char, len: usize, seconds: f64);
type Bytes = extern "C" fn(ctx: *mut c_void, data: *const c_char, len: usize);

extern "C" {
    fn waot_enabled_features(machine: LLVMTargetMachineRef) -> *mut c_char;
    fn waot_optimize_module(
        module: LLVMModuleRef,
        machine: LLVMTargetMachineRef,
        passes: *const c_char,
        keep_every_load: bool,
        pass_budget: u32,
        block_budget: u32,
        blocks_budget: u32,
        report: FunctionTime,
        ctx: *mut c_void,
    ) -> *mut c_char;
    fn waot_emit_object(
        module: LLVMModuleRef,
        machine: LLVMTargetMachineRef,
        sink: Bytes,
        report: FunctionTime,
        ctx: *mut c_void,
    ) -> *mut c_char;
}

/// What the C++ side calls back: a function's time, or the object's bytes.
struct Callbacks<'a> {
    on_function: &'a mut dyn FnMut(&str, f64),
    bytes: Vec<u8>,
}

extern "C" fn function_time(ctx: *mut c_void, name: *const c_char, len: usize, seconds: f64) {
    // SAFETY: `ctx` is the `Callbacks` the caller passed, alive for the call; `name` points at
    // `len` bytes of a function's name.
    let (callbacks, name) = unsafe {
        (
            &mut *(ctx as *mut Callbacks<'_>),
            std::slice::from_raw_parts(name as *const u8, len),
        )
    };
    (callbacks.on_function)(&String::from_utf8_lossy(name), seconds);
}

extern "C" fn object_bytes(ctx: *mut c_void, data: *const c_char, len: usize) {
    // SAFETY: as above; `data` points at `len` bytes.
    let (callbacks, data) = unsafe {
        (
            &mut *(ctx as *mut Callbacks<'_>),
            std::slice::from_raw_parts(data as *const u8, len),
        )
    };
    callbacks.bytes = data.to_vec();
}

/// `Err` with the message LLVM returned, disposing of it, or `Ok` for none.
///
/// # Safety
/// `error` is null or a message made with `LLVMCreateMessage`.
unsafe fn message(error: *mut c_char) -> Result<(), String> {
    if error.is_null() {
        return Ok(());
    }
    let text = CStr::from_ptr(error).to_string_lossy().into_owned();
    llvm_sys::core::LLVMDisposeMessage(error);
    Err(text)
}

/// Compile-time budgets (`cpp/budget.cpp`): functions larger than `passes` (instructions and
/// switch cases) skip the optimizer's superlinear passes; functions with a block larger than
/// `block` instructions skip those superlinear in a block, and they and functions of more
/// than `blocks` blocks get LLVM's fast code generation. 0 is no limit.
#[derive(Clone, Copy, Debug)]
pub struct Budgets {
    pub passes: u32,
    pub block: u32,
    pub blocks: u32,
}

/// Runs the pass pipeline `passes` (e.g. `default<O2>`) on `module`; `keep_every_load` makes
/// every linear-memory load volatile, so none is deleted and each can trap (for -O0).
/// `on_function` gets each function's name and optimization time.
pub fn optimize(
    module: &Module<'_>,
    machine: &TargetMachine,
    passes: &str,
    keep_every_load: bool,
    budgets: Budgets,
    on_function: &mut dyn FnMut(&str, f64),
) -> Result<(), String> {
    let passes = CString::new(passes).map_err(|e| e.to_string())?;
    let mut callbacks = Callbacks {
        on_function,
        bytes: Vec::new(),
    };
    // SAFETY: both references are live LLVM objects for the duration of the call, and so is
    // `callbacks`, which only the callbacks above touch; the returned message is ours.
    unsafe {
        message(waot_optimize_module(
            module.as_mut_ptr(),
            machine.as_mut_ptr(),
            passes.as_ptr(),
            keep_every_load,
            budgets.passes,
            budgets.block,
            budgets.blocks,
            function_time,
            &mut callbacks as *mut Callbacks<'_> as *mut c_void,
        ))
    }
}

/// The object file of `module`; `on_function` gets each function's name and code generation
/// time as soon as it is done.
pub fn emit_object(
    module: &Module<'_>,
    machine: &TargetMachine,
    on_function: &mut dyn FnMut(&str, f64),
) -> Result<Vec<u8>, String> {
    let mut callbacks = Callbacks {
        on_function,
        bytes: Vec::new(),
    };
    // SAFETY: as for `optimize`.
    unsafe {
        message(waot_emit_object(
            module.as_mut_ptr(),
            machine.as_mut_ptr(),
            object_bytes,
            function_time,
            &mut callbacks as *mut Callbacks<'_> as *mut c_void,
        ))?;
    }
    Ok(callbacks.bytes)
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
