//! What the interpreter runs: the module rewritten (with `wasm-encoder`'s re-encoder) so that
//! wasmi, which reports no frames, leaves a backtrace behind, and around a wasmi bug.
//!
//! **Frames.** A stack of function indices lives in an extra memory, its top (a byte offset)
//! in an extra global. The prologue of a function that calls pushes its index and keeps the
//! new top in a new local; after each call (to an import too: it may re-enter this instance)
//! it puts that top back, and a tail call pops its frame first so the callee takes its place.
//! A function that calls nothing only writes its index to a second global, which its callers
//! clear after calling it: leaves, where small hot functions are, cost one instruction. A trap
//! leaves both globals as they were, so the host reads the frames innermost first from them
//! (`super::backtrace`) and then puts them back as they were before its call. The stack holds
//! as many frames as wasmi's recursion limit allows, and its top wraps around at the end of
//! the memory: a function called from another instance (through an import or a shared table)
//! pushes on its own instance's stack, where no caller pops, and that must never overflow
//! (only the called instance's stack is read, and it is exact). The start function is run by
//! the host after instantiation (exported under a hidden name instead of named in the start
//! section), so a trap in it has frames too. The interpreter runs no exception handling, so
//! nothing but returns unwinds frames. A trap in the checks of a `return_call_indirect` misses
//! the caller, whose frame the tail call popped first.
//!
//! **Profiles.** For `wrun --profile-out`, a module may also count, as code compiled with
//! `waotc --profile-generate` does, how often each defined function was entered and each of
//! its loops began an iteration: an `i64` per defined function in another extra memory, added
//! to at the function's entry and at the top of each `loop` (which every branch back to the
//! loop reaches), so the counts are the native ones exactly.
//!
//! **wasmi 2.0.0's lane stores at large offsets** crash it: they become an extract and an
//! integer store of the same width (`narrow_lane_store`).
//!
//! **wasmi 2.0.0's select fusion.** It fuses a comparison with zero (`i32.eqz`, or `eq`/`ne`
//! with 0) into a following `select` by swapping the selected values and taking the
//! comparison's input as the condition, but when that input is a local (or another value in
//! a stack slot) the fused `select` reads its condition from a register that still holds an
//! older value: `(drop (memory.size)) (select (i32.const 1) (local.get $a) (i32.eqz (local.get
//! $a)))` gives 0 for `a = 0` (docs/upstream/wasmi-select-fusion.md). After every such
//! comparison the rewrite inserts `i32.const 0; drop`, which makes wasmi commit the
//! comparison before anything can fuse with it.

use std::collections::HashSet;
use wasm_encoder::reencode::{utils, Error as ReencodeError, Reencode};
use wasm_encoder::{
    CodeSection, ConstExpr, ExportKind, ExportSection, Function, GlobalSection, GlobalType,
    Instruction, MemArg, MemArgTarget, MemorySection, MemoryType, Module, SectionId, ValType,
};

/// Pages of the frame stack: a `u32` per frame up to wasmi's recursion limit plus the unused
/// slot 0, rounded up to a power of two so that the top wraps with a mask.
pub(super) const FRAME_PAGES: u64 = ((super::MAX_RECURSION_DEPTH as u64 + 1) * 4)
    .div_ceil(65536)
    .next_power_of_two();

/// The mask that wraps the top of the frame stack (a byte offset of a `u32`).
pub(super) const FRAME_MASK: u32 = (FRAME_PAGES * 65536 - 4) as u32;

/// wasmparser's (and wasmi's) limit on a function's parameters and locals together: a
/// function at it has no room for the frame local, and the module then gets no frames.
const MAX_LOCALS: u32 = 50_000;

/// The hidden exports of an instrumented module, named so as not to collide with the guest's.
#[derive(Clone, Debug, Default)]
pub struct Hidden {
    /// The memory of the frame stack.
    pub frames: String,
    /// The global holding the byte offset of the innermost frame on the stack (0: none).
    pub depth: String,
    /// The global holding 1 + the index of the running leaf function (0: none).
    pub leaf: String,
    /// The module's start function, which the host runs after instantiating.
    pub start: Option<String>,
    /// The memory of profile counters, when the module counts (`instrument_with`).
    pub profile: Option<String>,
    /// The sizes in bytes of the memories added (which never grow), in order.
    pub memory_sizes: Vec<u64>,
}

/// Active segments from these on (element, data) become passive: they initialize nothing.
#[derive(Clone, Copy, Debug)]
pub struct PassiveFrom {
    pub elements: u32,
    pub data: u32,
}

impl PassiveFrom {
    pub const NONE: PassiveFrom = PassiveFrom {
        elements: u32::MAX,
        data: u32::MAX,
    };
}

/// `wasm` (already validated, without exception handling) instrumented for backtraces and
/// around the select-fusion bug, with the active segments from `passive` on made passive,
/// and counting for a profile when `profile` is true.
pub fn instrument_with(
    wasm: &[u8],
    passive: PassiveFrom,
    profile: bool,
) -> Result<(Vec<u8>, Hidden), String> {
    let mut exports = HashSet::new();
    let mut start = None;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            wasmparser::Payload::ExportSection(reader) => {
                for export in reader {
                    exports.insert(export.map_err(|e| e.to_string())?.name.to_string());
                }
            }
            wasmparser::Payload::StartSection { func, range } => start = Some((func, range)),
            _ => {}
        }
    }
    // The start function is exported instead, for the host to run (see above).
    let wasm = match &start {
        Some((_, range)) => {
            let mut stripped = wasm[..section_start(wasm, range.start as usize)].to_vec();
            stripped.extend_from_slice(&wasm[range.end as usize..]);
            stripped
        }
        None => wasm.to_vec(),
    };
    let unique = |base: &str| {
        let mut name = base.to_string();
        while exports.contains(&name) {
            name.push('\'');
        }
        name
    };
    let hidden = Hidden {
        frames: unique("waot:frames"),
        depth: unique("waot:depth"),
        leaf: unique("waot:leaf"),
        start: None,
        profile: profile.then(|| unique("waot:profile")),
        memory_sizes: Vec::new(),
    };
    let calls = callers(&wasm).map_err(|e| e.to_string())?;
    let rewrite = |frames| {
        let mut rewriter = Rewriter {
            calls: calls.clone(),
            hidden: hidden.clone(),
            start_name: unique("waot:start"),
            start: start.as_ref().map(|(func, _)| *func),
            passive,
            frames,
            profile,
            ..Rewriter::default()
        };
        let mut module = Module::new();
        rewriter
            .parse_core_module(&mut module, wasmparser::Parser::new(0), &wasm)
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((module.finish(), rewriter))
    };
    let (mut out, mut rewriter) = rewrite(true)?;
    if rewriter.no_room {
        // Rare enough (a function at the locals limit) that rewriting twice costs nothing.
        (out, rewriter) = rewrite(false)?;
    }
    Ok((out, rewriter.hidden))
}

/// What a defined function calls.
#[derive(Clone, Copy, Debug, Default)]
struct Calls {
    /// Anything, a tail call included: else it is a leaf.
    any: bool,
    /// A tail call, which may hand its caller's return to a leaf that leaves its mark.
    tail: bool,
}

fn callers(wasm: &[u8]) -> std::result::Result<Vec<Calls>, wasmparser::BinaryReaderError> {
    use wasmparser::Operator as O;
    let mut calls = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::CodeSectionEntry(body) = payload? {
            let mut ops = body.get_operators_reader()?;
            let mut c = Calls::default();
            while !ops.eof() {
                match ops.read()? {
                    O::Call { .. } | O::CallIndirect { .. } | O::CallRef { .. } => c.any = true,
                    O::ReturnCall { .. }
                    | O::ReturnCallIndirect { .. }
                    | O::ReturnCallRef { .. } => {
                        c.any = true;
                        c.tail = true;
                    }
                    _ => {}
                }
            }
            calls.push(c);
        }
    }
    Ok(calls)
}

#[derive(Default)]
struct Rewriter {
    /// Whether functions record their frames (else only the select-fusion rewrite is done).
    frames: bool,
    /// A function that calls has no room for the frame local: rewrite without frames.
    no_room: bool,
    /// Whether functions count their entries and loop iterations.
    profile: bool,
    hidden: Hidden,
    /// What each defined function calls: leaves get the one-global prologue.
    calls: Vec<Calls>,
    start_name: String,
    /// Parameter counts of the module's function types.
    type_params: Vec<u32>,
    /// The type of each defined function.
    func_types: Vec<u32>,
    imported_funcs: u32,
    imported_memories: u32,
    imported_globals: u32,
    defined_memories: u32,
    defined_globals: u32,
    /// Defined functions re-encoded so far.
    bodies: u32,
    start: Option<u32>,
    passive: PassiveFrom,
    elements: u32,
    data: u32,
    memory_added: bool,
    global_added: bool,
    exports_added: bool,
}

/// The byte where a section starts (its id), given where its contents start.
fn section_start(wasm: &[u8], contents: usize) -> usize {
    let mut i = contents - 1; // the size's last byte
    while i > 0 && wasm[i - 1] & 0x80 != 0 {
        i -= 1;
    }
    i - 1
}

/// Where a section comes in a module, for inserting missing ones in order.
fn rank(id: SectionId) -> u8 {
    match id {
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
        _ => 0,
    }
}

type R<T> = std::result::Result<T, ReencodeError>;

impl Rewriter {
    fn ring_memory(&self) -> u32 {
        self.imported_memories + self.defined_memories
    }

    fn profile_memory(&self) -> u32 {
        self.ring_memory() + 1
    }

    fn depth_global(&self) -> u32 {
        self.imported_globals + self.defined_globals
    }

    fn leaf_global(&self) -> u32 {
        self.depth_global() + 1
    }

    /// What function `index` calls, if it is defined here.
    fn calls_of(&self, index: u32) -> Option<Calls> {
        let i = index.checked_sub(self.imported_funcs)?;
        self.calls.get(i as usize).copied()
    }

    fn add_memory(&mut self, memories: &mut MemorySection) {
        memories.memory(MemoryType {
            minimum: FRAME_PAGES,
            maximum: Some(FRAME_PAGES),
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        self.hidden.memory_sizes = vec![FRAME_PAGES * 65536];
        if self.profile {
            // The function section, which comes before, gave the number of counters.
            let pages = (self.func_types.len() as u64 * 8).div_ceil(65536).max(1);
            memories.memory(MemoryType {
                minimum: pages,
                maximum: Some(pages),
                memory64: false,
                shared: false,
                page_size_log2: None,
            });
            self.hidden.memory_sizes.push(pages * 65536);
        }
        self.memory_added = true;
    }

    fn add_global(&mut self, globals: &mut GlobalSection) {
        let ty = GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        };
        globals.global(ty, &ConstExpr::i32_const(0));
        globals.global(ty, &ConstExpr::i32_const(0));
        self.global_added = true;
    }

    fn add_exports(&mut self, exports: &mut ExportSection) {
        exports.export(&self.hidden.frames, ExportKind::Memory, self.ring_memory());
        exports.export(&self.hidden.depth, ExportKind::Global, self.depth_global());
        exports.export(&self.hidden.leaf, ExportKind::Global, self.leaf_global());
        if let Some(name) = &self.hidden.profile {
            exports.export(name, ExportKind::Memory, self.profile_memory());
        }
        if let Some(start) = self.start {
            exports.export(&self.start_name, ExportKind::Func, start);
            self.hidden.start = Some(self.start_name.clone());
        }
        self.exports_added = true;
    }

    /// Instructions that push function `index` on the frame stack, the new top in `local`.
    fn prologue(&self, f: &mut Function, index: u32, local: u32) {
        let depth = self.depth_global();
        f.instruction(&Instruction::GlobalGet(depth));
        f.instruction(&Instruction::I32Const(4));
        f.instruction(&Instruction::I32Add);
        f.instruction(&Instruction::I32Const(FRAME_MASK as i32));
        f.instruction(&Instruction::I32And);
        f.instruction(&Instruction::LocalTee(local));
        f.instruction(&Instruction::GlobalSet(depth));
        f.instruction(&Instruction::LocalGet(local));
        f.instruction(&Instruction::I32Const(index as i32));
        f.instruction(&Instruction::I32Store(MemArg {
            offset: 0,
            align: 2,
            target: MemArgTarget::Memory(self.ring_memory()),
            ordering: None,
        }));
    }

    /// Instructions that add one to defined function `defined`'s counter.
    fn count(&self, f: &mut Function, defined: u32) {
        let at = MemArg {
            offset: defined as u64 * 8,
            align: 3,
            target: MemArgTarget::Memory(self.profile_memory()),
            ordering: None,
        };
        f.instruction(&Instruction::I32Const(0));
        f.instruction(&Instruction::I32Const(0));
        f.instruction(&Instruction::I64Load(at));
        f.instruction(&Instruction::I64Const(1));
        f.instruction(&Instruction::I64Add);
        f.instruction(&Instruction::I64Store(at));
    }

    /// After a call to `callee` (`None`: not known) returned, from a function whose frame top
    /// is in `local`: the callee's marks are undone.
    fn after_call(&self, f: &mut Function, callee: Option<u32>, local: u32) {
        // An import (`calls_of` is `None`) may be this instance's own function re-entered.
        let calls = callee.and_then(|c| self.calls_of(c));
        let leaf = calls.is_some_and(|c| !c.any);
        if calls.is_none_or(|c| !c.any || c.tail) {
            f.instruction(&Instruction::I32Const(0));
            f.instruction(&Instruction::GlobalSet(self.leaf_global()));
        }
        if !leaf {
            f.instruction(&Instruction::LocalGet(local));
            f.instruction(&Instruction::GlobalSet(self.depth_global()));
        }
    }

    /// wasmi 2.0.0 crashes (a jump to a garbage address) on `v128.store8_lane` and
    /// `v128.store16_lane` with a static offset of 2^16 or more whose value is not a constant
    /// (docs/upstream/wasmi-store-lane-offset.md). Extracting the lane and storing it as an
    /// integer of the same width at the same offset is the same access: the same bytes, the
    /// same bounds check.
    fn narrow_lane_store(
        &mut self,
        op: &wasmparser::Operator<'_>,
    ) -> R<Option<[Instruction<'static>; 2]>> {
        use wasmparser::Operator as O;
        Ok(match *op {
            O::V128Store8Lane { memarg, lane } if memarg.offset >= 1 << 16 => Some([
                Instruction::I8x16ExtractLaneU(lane),
                Instruction::I32Store8(self.mem_arg(memarg)?),
            ]),
            O::V128Store16Lane { memarg, lane } if memarg.offset >= 1 << 16 => Some([
                Instruction::I16x8ExtractLaneU(lane),
                Instruction::I32Store16(self.mem_arg(memarg)?),
            ]),
            _ => None,
        })
    }
}

impl Default for PassiveFrom {
    fn default() -> Self {
        PassiveFrom::NONE
    }
}

impl Reencode for Rewriter {
    type Error = std::convert::Infallible;

    fn parse_element(
        &mut self,
        elements: &mut wasm_encoder::ElementSection,
        element: wasmparser::Element<'_>,
    ) -> R<()> {
        let index = self.elements;
        self.elements += 1;
        if index >= self.passive.elements {
            if let wasmparser::ElementKind::Active { .. } = element.kind {
                let items = self.element_items(element.items)?;
                elements.passive(items);
                return Ok(());
            }
        }
        utils::parse_element(self, elements, element)
    }

    fn parse_data(
        &mut self,
        data: &mut wasm_encoder::DataSection,
        datum: wasmparser::Data<'_>,
    ) -> R<()> {
        let index = self.data;
        self.data += 1;
        if index >= self.passive.data {
            data.passive(datum.data.iter().copied());
            return Ok(());
        }
        utils::parse_data(self, data, datum)
    }

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> R<()> {
        for group in section.clone() {
            for ty in group?.into_types() {
                let params = match &ty.composite_type.inner {
                    wasmparser::CompositeInnerType::Func(f) => f.params().len() as u32,
                    _ => 0,
                };
                self.type_params.push(params);
            }
        }
        utils::parse_type_section(self, types, section)
    }

    fn parse_import_section(
        &mut self,
        imports: &mut wasm_encoder::ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> R<()> {
        for import in section.clone().into_imports() {
            match import?.ty {
                wasmparser::TypeRef::Func(_) => self.imported_funcs += 1,
                wasmparser::TypeRef::Memory(_) => self.imported_memories += 1,
                wasmparser::TypeRef::Global(_) => self.imported_globals += 1,
                _ => {}
            }
        }
        utils::parse_import_section(self, imports, section)
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> R<()> {
        for ty in section.clone() {
            self.func_types.push(ty?);
        }
        utils::parse_function_section(self, functions, section)
    }

    fn parse_memory_section(
        &mut self,
        memories: &mut MemorySection,
        section: wasmparser::MemorySectionReader<'_>,
    ) -> R<()> {
        self.defined_memories = section.count();
        utils::parse_memory_section(self, memories, section)?;
        self.add_memory(memories);
        Ok(())
    }

    fn parse_global_section(
        &mut self,
        globals: &mut GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> R<()> {
        self.defined_globals = section.count();
        utils::parse_global_section(self, globals, section)?;
        self.add_global(globals);
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> R<()> {
        utils::parse_export_section(self, exports, section)?;
        self.add_exports(exports);
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> R<()> {
        let next = before.map_or(u8::MAX, rank);
        if !self.memory_added && next > rank(SectionId::Memory) {
            let mut memories = MemorySection::new();
            self.add_memory(&mut memories);
            module.section(&memories);
        }
        if !self.global_added && next > rank(SectionId::Global) {
            let mut globals = GlobalSection::new();
            self.add_global(&mut globals);
            module.section(&globals);
        }
        if !self.exports_added && next > rank(SectionId::Export) {
            let mut exports = ExportSection::new();
            self.add_exports(&mut exports);
            module.section(&exports);
        }
        Ok(())
    }

    /// Copied as they are: the rewrite renumbers nothing, and a malformed `name` section (which
    /// a module may carry and still be valid) must not stop it.
    fn parse_custom_section(
        &mut self,
        module: &mut Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> R<()> {
        module.section(&utils::custom_section(self, section));
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> R<()> {
        utils::parse_code_section(self, code, section)
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> R<()> {
        let defined = self.bodies;
        self.bodies += 1;
        let index = self.imported_funcs + defined;
        let ty = self.func_types[defined as usize];
        let mut locals = Vec::new();
        let mut local = self.type_params[ty as usize];
        for pair in func.get_locals_reader()? {
            let (count, ty) = pair?;
            local += count;
            locals.push((count, self.val_type(ty)?));
        }
        let frames = self.frames;
        let leaf = !self.calls[defined as usize].any;
        if frames && !leaf {
            self.no_room |= local >= MAX_LOCALS;
            locals.push((1, ValType::I32));
        }
        let mut f = Function::new(locals);
        if frames && leaf {
            f.instruction(&Instruction::I32Const(index as i32 + 1));
            f.instruction(&Instruction::GlobalSet(self.leaf_global()));
        } else if frames {
            self.prologue(&mut f, index, local);
        }
        if self.profile {
            self.count(&mut f, defined);
        }
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            let commit = matches!(
                op,
                wasmparser::Operator::I32Eqz
                    | wasmparser::Operator::I64Eqz
                    | wasmparser::Operator::I32Eq
                    | wasmparser::Operator::I32Ne
                    | wasmparser::Operator::I64Eq
                    | wasmparser::Operator::I64Ne
            );
            if let Some([extract, store]) = self.narrow_lane_store(&op)? {
                f.instruction(&extract);
                f.instruction(&store);
                continue;
            }
            let instruction = self.instruction(op)?;
            match instruction {
                Instruction::ReturnCall(_)
                | Instruction::ReturnCallIndirect { .. }
                | Instruction::ReturnCallRef(_)
                    if frames =>
                {
                    // The callee takes this frame's place.
                    f.instruction(&Instruction::LocalGet(local));
                    f.instruction(&Instruction::I32Const(4));
                    f.instruction(&Instruction::I32Sub);
                    f.instruction(&Instruction::GlobalSet(self.depth_global()));
                    f.instruction(&instruction);
                }
                Instruction::Call(callee) if frames => {
                    f.instruction(&instruction);
                    self.after_call(&mut f, Some(callee), local);
                }
                Instruction::CallIndirect { .. } | Instruction::CallRef(_) if frames => {
                    f.instruction(&instruction);
                    self.after_call(&mut f, None, local);
                }
                Instruction::Loop(_) if self.profile => {
                    f.instruction(&instruction);
                    self.count(&mut f, defined);
                }
                _ => {
                    f.instruction(&instruction);
                    if commit {
                        f.instruction(&Instruction::I32Const(0));
                        f.instruction(&Instruction::Drop);
                    }
                }
            }
        }
        code.function(&f);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instrument(wasm: &[u8]) -> Result<(Vec<u8>, Hidden), String> {
        instrument_with(wasm, PassiveFrom::NONE, false)
    }

    fn valid(wasm: &[u8]) {
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(wasm)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn every_shape_of_module_stays_valid_with_hidden_names_that_do_not_collide() {
        let modules = [
            "(module)",
            "(module (func (export \"f\") (result i32) (i32.eqz (i32.const 1))))",
            r#"(module
                 (import "env" "g" (global i32)) (import "env" "m" (memory 1))
                 (import "env" "h" (func $h))
                 (global $own (mut i32) (global.get 0))
                 (func $f (export "waot:frames") (call $h) (global.set $own (i32.const 2)))
                 (func $s (call $f) (return_call $f))
                 (export "waot:depth" (global $own))
                 (start $s)
                 (data (i32.const 0) "after the code"))"#,
            r#"(module (memory 1) (table 2 funcref) (type $t (func))
                 (func $a (call_indirect (type $t) (i32.const 0)))
                 (elem (i32.const 0) $a) (elem (i32.const 1) $a))"#,
        ];
        for text in modules {
            let wasm = wat::parse_str(text).unwrap();
            let (out, hidden) = instrument(&wasm).unwrap();
            valid(&out);
            let mut exports = Vec::new();
            for payload in wasmparser::Parser::new(0).parse_all(&out) {
                match payload.unwrap() {
                    wasmparser::Payload::ExportSection(r) => {
                        exports.extend(r.into_iter().map(|e| e.unwrap().name.to_string()))
                    }
                    wasmparser::Payload::StartSection { .. } => panic!("a start section"),
                    _ => {}
                }
            }
            let mut unique = exports.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), exports.len(), "{exports:?}");
            assert!(exports.contains(&hidden.frames) && exports.contains(&hidden.depth));
            let (passive, _) = instrument_with(
                &wasm,
                PassiveFrom {
                    elements: 1,
                    data: 0,
                },
                false,
            )
            .unwrap();
            valid(&passive);
            let (profiled, hidden) = instrument_with(&wasm, PassiveFrom::NONE, true).unwrap();
            valid(&profiled);
            assert!(hidden.profile.is_some());
        }
    }

    /// A malformed `name` section leaves a module valid; it is copied as it is.
    #[test]
    fn a_malformed_name_section_is_copied() {
        let mut wasm = wat::parse_str("(module (func (export \"f\") (call 0)))").unwrap();
        let payload = [&[4u8][..], b"name", &[1, 0x7f, 0xff]].concat();
        wasm.push(0);
        wasm.push(payload.len() as u8);
        wasm.extend_from_slice(&payload);
        valid(&wasm);
        let (out, _) = instrument(&wasm).unwrap();
        valid(&out);
        assert!(out.ends_with(&payload));
    }

    /// A function that calls, with as many locals as a function may have, leaves no room for
    /// the frame local: the module is rewritten without frames, and stays valid.
    #[test]
    fn a_caller_at_the_locals_limit_gets_no_frames() {
        let wat = format!(
            "(module (func $f (param i32) (local {}) (call $g)) (func $g))",
            "i32 ".repeat(MAX_LOCALS as usize - 1)
        );
        let wasm = wat::parse_str(&wat).unwrap();
        valid(&wasm);
        let (out, hidden) = instrument(&wasm).unwrap();
        valid(&out);
        assert!(!hidden.depth.is_empty());
        let room = wat::parse_str(wat.replacen("(param i32) ", "", 1)).unwrap();
        let (framed, _) = instrument(&room).unwrap();
        valid(&framed);
        assert!(framed.len() > out.len(), "the smaller function got frames");
    }
}
