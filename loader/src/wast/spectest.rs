//! The `spectest` module that the specification's scripts import.

use crate::{Extern, GlobalType, Linker, RefType, Store, Val, ValType};

pub fn define(store: &mut Store, linker: &mut Linker) {
    let prints: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[ValType::I32]),
        ("print_i64", &[ValType::I64]),
        ("print_f32", &[ValType::F32]),
        ("print_f64", &[ValType::F64]),
        ("print_i32_f32", &[ValType::I32, ValType::F32]),
        ("print_f64_f64", &[ValType::F64, ValType::F64]),
    ];
    for (name, params) in prints {
        // The reference interpreter prints its arguments; nothing checks them, and printing
        // would interleave with the report, so these accept and ignore them.
        let f = store.func_new(params, &[], |_, _, _| Ok(()));
        linker.define("spectest", name, Extern::Func(f));
    }
    let globals = [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        ("global_f32", Val::f32(666.6)),
        ("global_f64", Val::f64(666.6)),
    ];
    for (name, value) in globals {
        let ty = GlobalType {
            content_type: value.ty(),
            mutable: false,
            shared: false,
        };
        let g = store.global_new(ty, value).expect("spectest global");
        linker.define("spectest", name, Extern::Global(g));
    }
    let table = store
        .table_new(RefType::FUNCREF, 10, Some(20))
        .expect("spectest table");
    linker.define("spectest", "table", Extern::Table(table));
    let table64 = store
        .table64_new(RefType::FUNCREF, 10, Some(20))
        .expect("spectest table64");
    linker.define("spectest", "table64", Extern::Table(table64));
    let memory = store.memory_new(1, Some(2)).expect("spectest memory");
    linker.define("spectest", "memory", Extern::Memory(memory));
    let shared = store
        .shared_memory_new(1, 2)
        .expect("spectest shared memory");
    linker.define("spectest", "shared_memory", Extern::Memory(shared));
}
