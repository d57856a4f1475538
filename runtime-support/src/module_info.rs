//! An owned description of a wasm module: everything the compiler and the loader need besides
//! the function bodies. Both derive it from the same bytes with the same code, so they agree on
//! index spaces (imports first) by construction.

use std::ops::Range;
use wasmparser::{
    BinaryReaderError, CompositeInnerType, DataKind, ElementItems, ElementKind, ExternalKind,
    FuncType, GlobalType, MemoryType, Name, Operator, Parser, Payload, RefType, SubType, TableInit,
    TableType, TypeRef,
};

use crate::vmctx::VmctxLayout;

/// A structural error with the byte offset it was found at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleError {
    pub message: String,
    pub offset: usize,
}

impl From<BinaryReaderError> for ModuleError {
    fn from(e: BinaryReaderError) -> Self {
        ModuleError {
            message: e.message().to_string(),
            offset: e.offset() as usize,
        }
    }
}

impl std::fmt::Display for ModuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at offset {:#x})", self.message, self.offset)
    }
}

pub type Result<T> = std::result::Result<T, ModuleError>;

/// One instruction of a constant expression.
#[derive(Clone, Debug, PartialEq)]
pub enum ConstOp {
    I32(i32),
    I64(i64),
    /// Raw bits, so that NaN payloads survive.
    F32(u32),
    F64(u64),
    V128(u128),
    RefNull,
    RefFunc(u32),
    GlobalGet(u32),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
    /// GC: `ref.i31`, and allocations of type index `.0`.
    RefI31,
    StructNew(u32),
    StructNewDefault(u32),
    ArrayNew(u32),
    ArrayNewDefault(u32),
    /// Type index and element count.
    ArrayNewFixed(u32, u32),
    /// `any.convert_extern` and `extern.convert_any`: the same word.
    ConvertRef,
}

pub type ConstExpr = Vec<ConstOp>;

#[derive(Clone, Debug)]
pub enum ImportKind {
    Func(u32),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
    Tag(u32),
}

#[derive(Clone, Debug)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub kind: ImportKind,
}

#[derive(Clone, Debug)]
pub struct Export {
    pub name: String,
    pub kind: ExternalKind,
    pub index: u32,
}

#[derive(Clone, Debug)]
pub struct TableDef {
    pub ty: TableType,
    /// Initial value of every element; `None` means null.
    pub init: Option<ConstExpr>,
}

#[derive(Clone, Debug)]
pub enum SegmentMode {
    Passive,
    Declared,
    Active { index: u32, offset: ConstExpr },
}

#[derive(Clone, Debug)]
pub struct ElemSegment {
    pub mode: SegmentMode,
    pub ty: RefType,
    pub items: Vec<ConstExpr>,
}

#[derive(Clone, Debug)]
pub struct DataSegment {
    pub mode: SegmentMode,
    pub bytes: Range<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct ModuleInfo {
    /// The function type of each type index; an empty one for a struct or array type (GC),
    /// which no function, tag or block names, so that function-only code indexes it directly.
    pub types: Vec<FuncType>,
    /// Every type index's full definition (GC: structs, arrays, declared supertypes).
    pub sub_types: Vec<SubType>,
    /// The type indices of each recursion group, in order; a type outside `(rec ...)` is a
    /// group of one.
    pub rec_groups: Vec<Range<u32>>,
    pub imports: Vec<Import>,
    /// Type index of every function, imported ones first.
    pub funcs: Vec<u32>,
    pub num_imported_funcs: u32,
    pub tables: Vec<TableType>,
    pub table_defs: Vec<TableDef>,
    pub num_imported_tables: u32,
    pub memories: Vec<MemoryType>,
    pub num_imported_memories: u32,
    pub globals: Vec<GlobalType>,
    pub global_inits: Vec<ConstExpr>,
    pub num_imported_globals: u32,
    /// Type index of every tag (exception-handling proposal), imported ones first.
    pub tags: Vec<u32>,
    pub num_imported_tags: u32,
    pub exports: Vec<Export>,
    pub start: Option<u32>,
    pub elems: Vec<ElemSegment>,
    pub datas: Vec<DataSegment>,
    /// Byte range of each defined function's body (locals and code) in the module bytes.
    pub bodies: Vec<Range<usize>>,
    /// Byte range of each section, with its name, for error messages.
    pub sections: Vec<(String, Range<usize>)>,
    /// Function names from the name section, sorted by index (first name of an index wins).
    /// Empty for a skeleton: an artifact carries its names apart (`skeleton::names`), and a
    /// native module's backtraces read them from there.
    pub func_names: std::sync::Arc<Vec<(u32, String)>>,
}

impl ModuleInfo {
    /// Reads a module's structure. It does not validate: call this on validated bytes or
    /// expect errors only for malformed binaries.
    pub fn parse(wasm: &[u8]) -> Result<ModuleInfo> {
        Self::parse_with(wasm, true)
    }

    /// `parse` without reading the code section's bodies (`bodies` stays empty, and a
    /// malformed body goes unnoticed): what a loader needs of a skeleton, whose stub bodies it
    /// never looks at (yosys has 46,000). The function section still gives the number of
    /// defined functions; wasmparser checks the code section's count against it.
    pub fn parse_declarations(wasm: &[u8]) -> Result<ModuleInfo> {
        Self::parse_with(wasm, false)
    }

    fn parse_with(wasm: &[u8], bodies: bool) -> Result<ModuleInfo> {
        let mut m = ModuleInfo::default();
        let mut parser = Parser::new(0);
        let mut rest = wasm;
        loop {
            let (consumed, payload) = match parser.parse(rest, true)? {
                wasmparser::Chunk::Parsed { consumed, payload } => (consumed, payload),
                wasmparser::Chunk::NeedMoreData(_) => {
                    return Err(ModuleError {
                        message: "unexpected end of the module".into(),
                        offset: wasm.len(),
                    })
                }
            };
            rest = &rest[consumed..];
            let skip = match payload {
                Payload::CodeSectionStart { size, .. } if !bodies => Some(size as usize),
                _ => None,
            };
            let end = matches!(payload, Payload::End(_));
            m.add(payload, wasm)?;
            if let Some(size) = skip {
                parser.skip_section();
                rest = rest.get(size..).ok_or_else(|| ModuleError {
                    message: "the code section runs past the end of the module".into(),
                    offset: wasm.len() - rest.len(),
                })?;
            }
            if end {
                break;
            }
        }
        // Looked up once per function when an artifact is loaded: sorted for binary search.
        let names = std::sync::Arc::make_mut(&mut m.func_names);
        names.sort_by_key(|(i, _)| *i);
        names.dedup_by_key(|(i, _)| *i);
        Ok(m)
    }

    fn add(&mut self, payload: Payload<'_>, wasm: &[u8]) -> Result<()> {
        if let Some((id, range)) = payload.as_section() {
            self.sections.push((
                section_name(id, &payload),
                range.start as usize..range.end as usize,
            ));
        }
        match payload {
            // A component's payloads are not a module's (and with wasmparser's component
            // feature, which another crate of the workspace may turn on, they would come).
            Payload::Version {
                encoding: wasmparser::Encoding::Component,
                range,
                ..
            } => {
                return Err(ModuleError {
                    message: "a component, not a core module".into(),
                    offset: range.start as usize,
                })
            }
            Payload::TypeSection(r) => {
                for group in r {
                    let start = self.sub_types.len() as u32;
                    for sub in group?.into_types() {
                        self.types.push(match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => f.clone(),
                            _ => FuncType::new([], []),
                        });
                        self.sub_types.push(sub);
                    }
                    self.rec_groups.push(start..self.sub_types.len() as u32);
                }
            }
            Payload::ImportSection(r) => {
                for import in r.into_imports() {
                    self.add_import(import?);
                }
            }
            Payload::FunctionSection(r) => {
                for ty in r {
                    self.funcs.push(ty?);
                }
            }
            Payload::TableSection(r) => {
                for table in r {
                    let table = table?;
                    let init = match table.init {
                        TableInit::RefNull => None,
                        TableInit::Expr(e) => Some(const_expr(&e)?),
                    };
                    self.tables.push(table.ty);
                    self.table_defs.push(TableDef { ty: table.ty, init });
                }
            }
            Payload::MemorySection(r) => {
                for mem in r {
                    self.memories.push(mem?);
                }
            }
            Payload::GlobalSection(r) => {
                for g in r {
                    let g = g?;
                    self.globals.push(g.ty);
                    self.global_inits.push(const_expr(&g.init_expr)?);
                }
            }
            Payload::TagSection(r) => {
                for t in r {
                    self.tags.push(t?.func_type_idx);
                }
            }
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e?;
                    self.exports.push(Export {
                        name: e.name.into(),
                        kind: e.kind,
                        index: e.index,
                    });
                }
            }
            Payload::StartSection { func, .. } => self.start = Some(func),
            Payload::ElementSection(r) => {
                for e in r {
                    self.elems.push(elem_segment(e?)?);
                }
            }
            Payload::DataSection(r) => {
                for d in r {
                    let d = d?;
                    let mode = match d.kind {
                        DataKind::Passive => SegmentMode::Passive,
                        DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => SegmentMode::Active {
                            index: memory_index,
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    let start = d.data.as_ptr() as usize - wasm.as_ptr() as usize;
                    self.datas.push(DataSegment {
                        mode,
                        bytes: start..start + d.data.len(),
                    });
                }
            }
            Payload::CodeSectionEntry(body) => {
                let r = body.range();
                self.bodies.push(r.start as usize..r.end as usize);
            }
            Payload::CustomSection(c) => {
                if let wasmparser::KnownCustom::Name(names) = c.as_known() {
                    // A malformed name section is not an error in the spec: names are advisory.
                    for name in names.into_iter().flatten() {
                        if let Name::Function(map) = name {
                            std::sync::Arc::make_mut(&mut self.func_names).extend(
                                map.into_iter().flatten().map(|n| (n.index, n.name.into())),
                            );
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn add_import(&mut self, import: wasmparser::Import<'_>) {
        let kind = match import.ty {
            TypeRef::Func(t) => {
                self.funcs.push(t);
                self.num_imported_funcs += 1;
                ImportKind::Func(t)
            }
            TypeRef::Table(t) => {
                self.tables.push(t);
                self.num_imported_tables += 1;
                ImportKind::Table(t)
            }
            TypeRef::Memory(t) => {
                self.memories.push(t);
                self.num_imported_memories += 1;
                ImportKind::Memory(t)
            }
            TypeRef::Global(t) => {
                self.globals.push(t);
                self.num_imported_globals += 1;
                ImportKind::Global(t)
            }
            TypeRef::Tag(t) => {
                self.tags.push(t.func_type_idx);
                self.num_imported_tags += 1;
                ImportKind::Tag(t.func_type_idx)
            }
            // Later proposals; validation rejects them under the enabled feature set.
            _ => ImportKind::Tag(u32::MAX),
        };
        self.imports.push(Import {
            module: import.module.into(),
            name: import.name.into(),
            kind,
        });
    }

    pub fn func_type(&self, func: u32) -> &FuncType {
        &self.types[self.funcs[func as usize] as usize]
    }

    pub fn num_defined_funcs(&self) -> u32 {
        self.funcs.len() as u32 - self.num_imported_funcs
    }

    pub fn vmctx_layout(&self) -> VmctxLayout {
        VmctxLayout::new(
            self.memories.len() as u32,
            self.tables.len() as u32,
            self.tags.len() as u32,
            self.funcs.len() as u32,
            self.num_imported_globals,
            self.globals.len() as u32 - self.num_imported_globals,
        )
    }

    /// The name of function `index` from the name section, if any.
    pub fn func_name(&self, index: u32) -> Option<&str> {
        let at = self
            .func_names
            .binary_search_by_key(&index, |(i, _)| *i)
            .ok()?;
        Some(self.func_names[at].1.as_str())
    }

    /// The section that contains byte `offset`, for error messages.
    pub fn section_at(&self, offset: usize) -> Option<&str> {
        self.sections
            .iter()
            .find(|(_, r)| r.contains(&offset))
            .map(|(n, _)| n.as_str())
    }
}

fn section_name(id: u8, payload: &Payload<'_>) -> String {
    match (id, payload) {
        (0, Payload::CustomSection(c)) => format!("custom section `{}`", c.name()),
        _ => format!("{} section", section_id_name(id)),
    }
}

/// The specification's name for section `id`.
pub fn section_id_name(id: u8) -> &'static str {
    const NAMES: [&str; 14] = [
        "custom",
        "type",
        "import",
        "function",
        "table",
        "memory",
        "global",
        "export",
        "start",
        "element",
        "code",
        "data",
        "data count",
        "tag",
    ];
    NAMES.get(id as usize).copied().unwrap_or("unknown")
}

fn elem_segment(e: wasmparser::Element<'_>) -> Result<ElemSegment> {
    let mode = match e.kind {
        ElementKind::Passive => SegmentMode::Passive,
        ElementKind::Declared => SegmentMode::Declared,
        ElementKind::Active {
            table_index,
            offset_expr,
        } => SegmentMode::Active {
            index: table_index.unwrap_or(0),
            offset: const_expr(&offset_expr)?,
        },
    };
    let (ty, items) = match e.items {
        ElementItems::Functions(r) => {
            let items = r
                .into_iter()
                .map(|f| f.map(|f| vec![ConstOp::RefFunc(f)]).map_err(Into::into));
            (RefType::FUNCREF, items.collect::<Result<_>>()?)
        }
        ElementItems::Expressions(ty, r) => (
            ty,
            r.into_iter()
                .map(|e| const_expr(&e?))
                .collect::<Result<_>>()?,
        ),
    };
    Ok(ElemSegment { mode, ty, items })
}

/// Converts a constant expression. Operators outside the constant subset become an error at
/// validation time; here they are reported as malformed.
pub fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr> {
    let mut ops = Vec::new();
    let mut reader = expr.get_operators_reader();
    while !reader.eof() {
        let offset = reader.original_position();
        let op = match reader.read()? {
            Operator::I32Const { value } => ConstOp::I32(value),
            Operator::I64Const { value } => ConstOp::I64(value),
            Operator::F32Const { value } => ConstOp::F32(value.bits()),
            Operator::F64Const { value } => ConstOp::F64(value.bits()),
            Operator::V128Const { value } => ConstOp::V128(value.i128() as u128),
            Operator::RefNull { .. } => ConstOp::RefNull,
            Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
            Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
            Operator::I32Add => ConstOp::I32Add,
            Operator::I32Sub => ConstOp::I32Sub,
            Operator::I32Mul => ConstOp::I32Mul,
            Operator::I64Add => ConstOp::I64Add,
            Operator::I64Sub => ConstOp::I64Sub,
            Operator::I64Mul => ConstOp::I64Mul,
            Operator::RefI31 => ConstOp::RefI31,
            Operator::StructNew { struct_type_index } => ConstOp::StructNew(struct_type_index),
            Operator::StructNewDefault { struct_type_index } => {
                ConstOp::StructNewDefault(struct_type_index)
            }
            Operator::ArrayNew { array_type_index } => ConstOp::ArrayNew(array_type_index),
            Operator::ArrayNewDefault { array_type_index } => {
                ConstOp::ArrayNewDefault(array_type_index)
            }
            Operator::ArrayNewFixed {
                array_type_index,
                array_size,
            } => ConstOp::ArrayNewFixed(array_type_index, array_size),
            Operator::AnyConvertExtern | Operator::ExternConvertAny => ConstOp::ConvertRef,
            Operator::End => break,
            other => {
                return Err(ModuleError {
                    message: format!("unsupported operator in constant expression: {other:?}"),
                    offset: offset as usize,
                })
            }
        };
        ops.push(op);
    }
    Ok(ops)
}
