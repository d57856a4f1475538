//! Scripts through the interpreter: wasmi with the same validation, values and trap kinds as
//! the AOT path.

use super::{Backend, CompileFailure, Outcome};
use crate::interp::{Instance, Module};
use crate::{interp, Error, Val};
use wasmi::{Engine, Extern, Linker, Store};

pub struct InterpBackend {
    engine: Engine,
    store: Store<()>,
    linker: Linker<()>,
    modules: Vec<Module>,
    instances: Vec<Instance>,
    proposals: Vec<String>,
}

impl InterpBackend {
    pub fn new(proposals: Vec<String>) -> Self {
        let engine = interp::engine();
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        define_spectest(&mut store, &mut linker);
        InterpBackend {
            engine,
            store,
            linker,
            modules: Vec::new(),
            instances: Vec::new(),
            proposals,
        }
    }
}

fn define_spectest(store: &mut Store<()>, linker: &mut Linker<()>) {
    use wasmi::ValType as T;
    let prints: [(&str, &[T]); 7] = [
        ("print", &[]),
        ("print_i32", &[T::I32]),
        ("print_i64", &[T::I64]),
        ("print_f32", &[T::F32]),
        ("print_f64", &[T::F64]),
        ("print_i32_f32", &[T::I32, T::F32]),
        ("print_f64_f64", &[T::F64, T::F64]),
    ];
    for (name, params) in prints {
        let ty = wasmi::FuncType::new(params.iter().copied(), []);
        linker
            .func_new("spectest", name, ty, |_, _, _| Ok(()))
            .expect("spectest function");
    }
    let globals = [
        ("global_i32", wasmi::Val::I32(666)),
        ("global_i64", wasmi::Val::I64(666)),
        (
            "global_f32",
            wasmi::Val::F32(wasmi::F32::from_bits(666.6f32.to_bits())),
        ),
        (
            "global_f64",
            wasmi::Val::F64(wasmi::F64::from_bits(666.6f64.to_bits())),
        ),
    ];
    for (name, v) in globals {
        let g = wasmi::Global::new(&mut *store, v, wasmi::Mutability::Const);
        linker.define("spectest", name, g).expect("spectest global");
    }
    let tables = [
        (
            "table",
            wasmi::TableType::new(wasmi::RefType::Func, 10, Some(20)),
        ),
        (
            "table64",
            wasmi::TableType::new64(wasmi::RefType::Func, 10, Some(20)),
        ),
    ];
    for (name, ty) in tables {
        let null = wasmi::Ref::Func(wasmi::Nullable::Null);
        let table = wasmi::Table::new(&mut *store, ty, null).expect("spectest table");
        linker
            .define("spectest", name, table)
            .expect("spectest table");
    }
    let memory = wasmi::Memory::new(&mut *store, wasmi::MemoryType::new(1, Some(2)))
        .expect("spectest memory");
    linker
        .define("spectest", "memory", memory)
        .expect("spectest memory");
}

impl Backend for InterpBackend {
    fn load(&mut self, wasm: &[u8]) -> Result<usize, CompileFailure> {
        runtime_support::validate::validate(wasm, &self.proposals).map_err(|e| CompileFailure {
            invalid: true,
            message: e.to_string(),
        })?;
        interp::check_supported(wasm).map_err(|message| CompileFailure {
            invalid: false,
            message,
        })?;
        let module = interp::prepare(&self.engine, wasm).map_err(|e| CompileFailure {
            invalid: false,
            message: e.to_string(),
        })?;
        self.modules.push(module);
        Ok(self.modules.len() - 1)
    }

    fn instantiate(&mut self, module: usize) -> Result<usize, Error> {
        let instance = interp::instantiate(&self.linker, &mut self.store, &self.modules[module])?;
        self.instances.push(instance);
        Ok(self.instances.len() - 1)
    }

    fn register(&mut self, name: &str, instance: usize) -> Outcome {
        self.linker
            .instance(&mut self.store, name, *self.instances[instance].wasmi())
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn call(&mut self, instance: usize, name: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
        interp::call(&mut self.store, &self.instances[instance], name, args)
    }

    fn global(&mut self, instance: usize, name: &str) -> Result<Val, Error> {
        match self.instances[instance]
            .wasmi()
            .get_export(&self.store, name)
        {
            Some(Extern::Global(g)) => Ok(interp::from_wasmi(&g.get(&self.store), &self.store)),
            _ => Err(Error::Usage(format!("no global `{name}`"))),
        }
    }
}
