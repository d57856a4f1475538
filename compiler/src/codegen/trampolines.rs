//! Per-signature glue between the host's uniform calling convention (an array of 16-byte value
//! slots) and the wasm-call ABI, in both directions.

use super::{add_offset_table, ModuleCx};
use crate::CompileError;
use inkwell::module::Linkage;
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, PointerValue};
use runtime_support::artifact::{self, HOST_CONTEXT_OFFSET_CALLBACK, HOST_CONTEXT_OFFSET_THROW};
use runtime_support::types::VALUE_SLOT_SIZE;

pub fn emit_all(cx: &ModuleCx<'_, '_>) -> Result<(), CompileError> {
    let mut trampolines = Vec::new();
    let mut adapters = Vec::new();
    for index in 0..cx.info.types.len() {
        trampolines.push(emit_trampoline(cx, index)?);
        adapters.push(emit_host_adapter(cx, index)?);
    }
    add_offset_table(cx, artifact::SYM_TRAMPOLINES, &trampolines);
    add_offset_table(cx, artifact::SYM_HOST_ADAPTERS, &adapters);
    Ok(())
}

fn slot<'ctx>(
    cx: &ModuleCx<'_, 'ctx>,
    builder: &inkwell::builder::Builder<'ctx>,
    values: PointerValue<'ctx>,
    index: usize,
) -> Result<PointerValue<'ctx>, CompileError> {
    let offset = cx
        .context
        .i64_type()
        .const_int((index * VALUE_SLOT_SIZE) as u64, false);
    // SAFETY: the caller's value array has a slot for every parameter and result.
    Ok(unsafe { builder.build_gep(cx.context.i8_type(), values, &[offset], "slot")? })
}

/// The function pointer at `offset` in a host function's context.
fn host_context_field<'ctx>(
    cx: &ModuleCx<'_, 'ctx>,
    builder: &inkwell::builder::Builder<'ctx>,
    host_ctx: PointerValue<'ctx>,
    offset: u32,
) -> Result<PointerValue<'ctx>, CompileError> {
    let offset = cx.context.i64_type().const_int(offset as u64, false);
    // SAFETY: the offsets are those of the host context's layout (`runtime_support::artifact`).
    let p = unsafe { builder.build_gep(cx.context.i8_type(), host_ctx, &[offset], "")? };
    Ok(builder
        .build_load(cx.ptr_type(), p, "")?
        .into_pointer_value())
}

/// `void trampoline(code, vmctx, values)`: host → wasm.
fn emit_trampoline<'ctx>(
    cx: &ModuleCx<'_, 'ctx>,
    index: usize,
) -> Result<PointerValue<'ctx>, CompileError> {
    let ptr = cx.ptr_type();
    let ty = cx
        .context
        .void_type()
        .fn_type(&[ptr.into(), ptr.into(), ptr.into()], false);
    let f = cx.module.add_function(
        &format!("waot_trampoline_{index}"),
        ty,
        Some(Linkage::Internal),
    );
    cx.add_guest_attributes(f);
    let builder = cx.context.create_builder();
    builder.position_at_end(cx.context.append_basic_block(f, "entry"));
    let [code, vmctx, values] = [0, 1, 2].map(|i| f.get_nth_param(i).unwrap().into_pointer_value());
    let ft = &cx.info.types[index];
    let mut args: Vec<BasicMetadataValueEnum> = vec![vmctx.into()];
    for (i, t) in ft.params().iter().enumerate() {
        let p = slot(cx, &builder, values, i)?;
        args.push(builder.build_load(cx.val_type(*t), p, "arg")?.into());
    }
    let call = builder.build_indirect_call(cx.fn_types[index], code, &args, "call")?;
    call.set_call_convention(crate::translate::WASM_CALL_CONV);
    let results = ft.results();
    if let Some(value) = call.try_as_basic_value().basic() {
        for i in 0..results.len() {
            let v = if results.len() == 1 {
                value
            } else {
                builder.build_extract_value(value.into_struct_value(), i as u32, "r")?
            };
            builder.build_store(slot(cx, &builder, values, i)?, v)?;
        }
    }
    builder.build_return(None)?;
    Ok(f.as_global_value().as_pointer_value())
}

/// `results adapter(host_ctx, params...)`: wasm → host. Spills the arguments, calls the host
/// callback found at the start of the context, and reloads the results from the same slots.
fn emit_host_adapter<'ctx>(
    cx: &ModuleCx<'_, 'ctx>,
    index: usize,
) -> Result<PointerValue<'ctx>, CompileError> {
    let ptr = cx.ptr_type();
    let ft = &cx.info.types[index];
    let f = cx.module.add_function(
        &format!("waot_host_adapter_{index}"),
        cx.fn_types[index],
        Some(Linkage::Internal),
    );
    f.set_call_conventions(crate::translate::WASM_CALL_CONV);
    cx.add_guest_attributes(f);
    let builder = cx.context.create_builder();
    builder.position_at_end(cx.context.append_basic_block(f, "entry"));
    let slots = ft.params().len().max(ft.results().len()).max(1);
    let array = cx
        .context
        .i8_type()
        .array_type((slots * VALUE_SLOT_SIZE) as u32);
    let values = builder.build_alloca(array, "values")?;
    values
        .as_instruction()
        .unwrap()
        .set_alignment(16)
        .map_err(|e| CompileError::Internal(e.to_string()))?;
    for i in 0..ft.params().len() {
        let param: BasicValueEnum = f.get_nth_param(i as u32 + 1).unwrap();
        builder.build_store(slot(cx, &builder, values, i)?, param)?;
    }
    let host_ctx = f.get_nth_param(0).unwrap().into_pointer_value();
    let callback = host_context_field(cx, &builder, host_ctx, HOST_CONTEXT_OFFSET_CALLBACK)?;
    let callback_ty = ptr.fn_type(&[ptr.into(), ptr.into()], false);
    let thrown = builder
        .build_indirect_call(callback_ty, callback, &[host_ctx.into(), values.into()], "")?
        .try_as_basic_value()
        .basic()
        .expect("the callback returns a pointer")
        .into_pointer_value();
    // A host function that throws returns the exception; it is thrown from here, in guest
    // code, so that no host frame is unwound.
    let throw_block = cx.context.append_basic_block(f, "throw");
    let done = cx.context.append_basic_block(f, "done");
    let is_null = builder.build_is_null(thrown, "")?;
    builder.build_conditional_branch(is_null, done, throw_block)?;
    builder.position_at_end(throw_block);
    let throw_fn = host_context_field(cx, &builder, host_ctx, HOST_CONTEXT_OFFSET_THROW)?;
    let throw_ty = cx
        .context
        .void_type()
        .fn_type(&[ptr.into(), ptr.into()], false);
    builder.build_indirect_call(throw_ty, throw_fn, &[host_ctx.into(), thrown.into()], "")?;
    builder.build_unreachable()?;
    builder.position_at_end(done);
    let mut results = Vec::new();
    for (i, t) in ft.results().iter().enumerate() {
        results.push(builder.build_load(cx.val_type(*t), slot(cx, &builder, values, i)?, "r")?);
    }
    match results.len() {
        0 => builder.build_return(None)?,
        1 => builder.build_return(Some(&results[0]))?,
        _ => builder.build_aggregate_return(&results)?,
    };
    Ok(f.as_global_value().as_pointer_value())
}
