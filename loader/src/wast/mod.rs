//! Running WebAssembly spec scripts (`.wast`) against compiled artifacts.
//!
//! Every module in a script is compiled by a `ModuleCompiler` (the `waotc` process, or the
//! compiler library in tests), loaded like any artifact and run through the embedding API, so
//! the suite tests exactly what users run.

mod compare;
mod interp_backend;
mod legacy_try;
/// Rewrites the folded legacy `(try (do ..) (catch ..))` to the flat form the `wast` crate parses.
pub use legacy_try::unfold as unfold_legacy_try;
mod spectest;

use crate::{Error, Instance, Linker, Module, Store, Val};
use compare::{arg_value, matches};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use wast::core::WastRetCore;
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

/// Why a module did not compile.
#[derive(Debug)]
pub struct CompileFailure {
    /// The module was rejected as invalid or malformed, which is how `assert_invalid` and
    /// `assert_malformed` pass. Any other failure (unsupported, internal, link) fails them.
    pub invalid: bool,
    pub message: String,
}

/// Compiles wasm bytes to an artifact at `output`.
pub trait ModuleCompiler: Sync {
    fn compile(&self, wasm: &[u8], output: &Path) -> Result<(), CompileFailure>;
}

/// Runs the `waotc` executable.
pub struct ProcessCompiler {
    pub waotc: PathBuf,
    pub args: Vec<String>,
}

impl ProcessCompiler {
    /// `waotc` next to the running executable, or `$WAOTC`.
    pub fn beside_current_exe(args: Vec<String>) -> Result<Self, String> {
        let waotc = match std::env::var_os("WAOTC") {
            Some(p) => PathBuf::from(p),
            None => {
                let exe = std::env::current_exe().map_err(|e| e.to_string())?;
                exe.with_file_name("waotc")
            }
        };
        if !waotc.is_file() {
            return Err(format!(
                "cannot find the compiler at {} (build it or set WAOTC)",
                waotc.display()
            ));
        }
        Ok(ProcessCompiler { waotc, args })
    }
}

impl ModuleCompiler for ProcessCompiler {
    fn compile(&self, wasm: &[u8], output: &Path) -> Result<(), CompileFailure> {
        let failure = |message: String| CompileFailure {
            invalid: false,
            message,
        };
        let input = output.with_extension("wasm");
        std::fs::write(&input, wasm).map_err(|e| failure(e.to_string()))?;
        let out = std::process::Command::new(&self.waotc)
            .args(&self.args)
            .arg(&input)
            .arg(output)
            .output()
            .map_err(|e| failure(format!("cannot run {}: {e}", self.waotc.display())))?;
        if out.status.success() {
            return Ok(());
        }
        // waotc reports a module that fails validation as `FILE: invalid module ...`.
        let message = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(CompileFailure {
            invalid: out.status.code() == Some(1) && message.contains(": invalid module"),
            message,
        })
    }
}

/// The outcome of one script.
#[derive(Debug, Default)]
pub struct FileReport {
    pub passed: usize,
    /// `(line, reason)` of each failed directive.
    pub failures: Vec<(usize, String)>,
}

/// Runs the script at `path` through the AOT path.
pub fn run_file(path: &Path, compiler: &dyn ModuleCompiler) -> FileReport {
    run_file_with(path, Mode::Aot(compiler))
}

/// Which backend runs a script.
#[derive(Clone, Copy)]
pub enum Mode<'c> {
    Aot(&'c dyn ModuleCompiler),
    /// The interpreter, validating with these proposals (see `validate::wasm_features`).
    Interp(&'c [String]),
}

pub fn run_file_with(path: &Path, mode: Mode<'_>) -> FileReport {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return FileReport {
                passed: 0,
                failures: vec![(0, format!("cannot read: {e}"))],
            }
        }
    };
    run_script(&text, mode)
}

pub fn run_script(text: &str, mode: Mode<'_>) -> FileReport {
    let mut report = FileReport::default();
    let unfolded;
    let text = if text.contains("(do") {
        unfolded = legacy_try::unfold(text);
        unfolded.as_str()
    } else {
        text
    };
    // names.wast deliberately holds bidirectional-override characters.
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(b) => b,
        Err(e) => {
            report
                .failures
                .push((0, format!("cannot parse script: {e}")));
            return report;
        }
    };
    let script = match parser::parse::<Wast>(&buf) {
        Ok(s) => s,
        Err(e) => {
            report
                .failures
                .push((0, format!("cannot parse script: {}", e.message())));
            return report;
        }
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            report
                .failures
                .push((0, format!("temporary directory: {e}")));
            return report;
        }
    };
    let mut aot;
    let mut interp;
    let backend: &mut dyn Backend = match mode {
        Mode::Aot(compiler) => {
            aot = AotBackend::new(compiler, dir.path().to_path_buf());
            &mut aot
        }
        Mode::Interp(proposals) => {
            interp = interp_backend::InterpBackend::new(proposals.to_vec());
            &mut interp
        }
    };
    let mut runner = Runner::new(backend);
    for directive in script.directives {
        let (line, _) = directive.span().linecol_in(text);
        match runner.run(directive) {
            Ok(()) => report.passed += 1,
            Err(reason) => report.failures.push((line + 1, reason)),
        }
    }
    drop(runner);
    report
}

/// What a script runs on: the AOT path or the interpreter. Modules and instances are
/// numbered in the order they were made.
pub trait Backend {
    /// Compiles (or prepares) a module; `Err` if it is rejected or cannot be compiled.
    fn load(&mut self, wasm: &[u8]) -> Result<usize, CompileFailure>;
    fn instantiate(&mut self, module: usize) -> Result<usize, Error>;
    fn register(&mut self, name: &str, instance: usize) -> Outcome;
    fn call(&mut self, instance: usize, name: &str, args: &[Val]) -> Result<Vec<Val>, Error>;
    fn global(&mut self, instance: usize, name: &str) -> Result<Val, Error>;
}

/// The AOT path: every module compiled, loaded and instantiated like any artifact.
pub struct AotBackend<'c> {
    compiler: &'c dyn ModuleCompiler,
    dir: PathBuf,
    store: Store,
    linker: Linker,
    modules: Vec<Module>,
    instances: Vec<Instance>,
}

impl<'c> AotBackend<'c> {
    pub fn new(compiler: &'c dyn ModuleCompiler, dir: PathBuf) -> Self {
        let mut store = Store::new();
        let mut linker = Linker::new();
        spectest::define(&mut store, &mut linker);
        AotBackend {
            compiler,
            dir,
            store,
            linker,
            modules: Vec::new(),
            instances: Vec::new(),
        }
    }
}

impl Backend for AotBackend<'_> {
    fn load(&mut self, wasm: &[u8]) -> Result<usize, CompileFailure> {
        let so = self.dir.join(format!("m{}.so", self.modules.len()));
        self.compiler.compile(wasm, &so)?;
        let module = Module::from_file(&so).map_err(|e| CompileFailure {
            invalid: false,
            message: e.to_string(),
        })?;
        let _ = std::fs::remove_file(&so);
        self.modules.push(module);
        Ok(self.modules.len() - 1)
    }

    fn instantiate(&mut self, module: usize) -> Result<usize, Error> {
        let instance = self
            .linker
            .instantiate(&mut self.store, &self.modules[module])?;
        self.instances.push(instance);
        Ok(self.instances.len() - 1)
    }

    fn register(&mut self, name: &str, instance: usize) -> Outcome {
        self.linker
            .define_instance(&self.store, name, self.instances[instance]);
        Ok(())
    }

    fn call(&mut self, instance: usize, name: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
        let func = self
            .store
            .get_func(self.instances[instance], name)
            .ok_or_else(|| Error::Usage(format!("no exported function `{name}`")))?;
        self.store.call(func, args)
    }

    fn global(&mut self, instance: usize, name: &str) -> Result<Val, Error> {
        let g = self
            .store
            .get_global(self.instances[instance], name)
            .ok_or_else(|| Error::Usage(format!("no global `{name}`")))?;
        self.store.global_get(g)
    }
}

struct Runner<'b> {
    backend: &'b mut dyn Backend,
    current: Option<usize>,
    named: HashMap<String, usize>,
    definitions: HashMap<String, usize>,
}

type Outcome<T = ()> = Result<T, String>;

impl<'b> Runner<'b> {
    fn new(backend: &'b mut dyn Backend) -> Self {
        Runner {
            backend,
            current: None,
            named: HashMap::new(),
            definitions: HashMap::new(),
        }
    }

    fn compile(&mut self, wasm: &[u8]) -> Outcome<usize> {
        self.backend.load(wasm).map_err(|f| f.message)
    }

    fn instantiate(&mut self, module: usize) -> Result<usize, Error> {
        self.backend.instantiate(module)
    }

    fn instance(&self, id: Option<wast::token::Id<'_>>) -> Outcome<usize> {
        match id {
            Some(id) => self
                .named
                .get(id.name())
                .copied()
                .ok_or_else(|| format!("unknown module ${}", id.name())),
            None => self
                .current
                .ok_or_else(|| "no module instantiated".to_string()),
        }
    }

    fn run(&mut self, directive: WastDirective<'_>) -> Outcome {
        match directive {
            WastDirective::Module(mut quote) => {
                let name = quote_name(&quote);
                let wasm = quote
                    .encode()
                    .map_err(|e| format!("cannot encode module: {e}"))?;
                let module = self.compile(&wasm)?;
                let instance = self.instantiate(module).map_err(|e| e.to_string())?;
                self.current = Some(instance);
                if let Some(name) = name {
                    self.named.insert(name, instance);
                }
                Ok(())
            }
            WastDirective::ModuleDefinition(mut quote) => {
                let name = quote_name(&quote);
                let wasm = quote
                    .encode()
                    .map_err(|e| format!("cannot encode module: {e}"))?;
                let module = self.compile(&wasm)?;
                if let Some(name) = name {
                    self.definitions.insert(name, module);
                }
                Ok(())
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let def = module.and_then(|m| self.definitions.get(m.name()).copied());
                let def = def.ok_or("unknown module definition")?;
                let inst = self.instantiate(def).map_err(|e| e.to_string())?;
                self.current = Some(inst);
                if let Some(id) = instance {
                    self.named.insert(id.name().to_string(), inst);
                }
                Ok(())
            }
            WastDirective::AssertMalformed { module, .. }
            | WastDirective::AssertInvalid { module, .. } => self.expect_rejected(module),
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module)?;
                self.backend.register(name, instance)
            }
            WastDirective::Invoke(invoke) => {
                self.invoke(invoke).map(drop).map_err(|e| e.to_string())
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = self
                    .execute(exec)
                    .map_err(|e| format!("expected a return, got {e}"))?;
                check_results(&actual, &results)
            }
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec) {
                Ok(v) => Err(format!("expected trap `{message}`, got {v:?}")),
                Err(Error::Trap(t)) if trap_matches(&t.message, message) => Ok(()),
                Err(e) => Err(format!("expected trap `{message}`, got {e}")),
            },
            WastDirective::AssertException { exec, .. } => match self.execute(exec) {
                Err(Error::Trap(t)) if t.exception().is_some() => Ok(()),
                other => Err(format!("expected an uncaught exception, got {other:?}")),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(call) {
                Err(Error::Trap(t)) if t.code == Some(crate::TrapCode::StackOverflow) => Ok(()),
                other => Err(format!("expected `{message}`, got {other:?}")),
            },
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let wasm = module
                    .encode()
                    .map_err(|e| format!("cannot encode module: {e}"))?;
                let module = self.compile(&wasm)?;
                match self.instantiate(module) {
                    Err(Error::Link(_)) => Ok(()),
                    other => Err(format!("expected unlinkable `{message}`, got {other:?}")),
                }
            }
            // A custom section's contents never make a module invalid (the binary format
            // leaves them to tools): the text parser may reject the annotation, else the module
            // must load as if the section were not there.
            WastDirective::AssertMalformedCustom { mut module, .. }
            | WastDirective::AssertInvalidCustom { mut module, .. } => match module.encode() {
                Err(_) => Ok(()),
                Ok(wasm) => self.compile(&wasm).map(drop).map_err(|e| {
                    format!("a bad custom section must not make the module fail: {e}")
                }),
            },
            other => Err(format!(
                "unsupported directive {:?}",
                std::mem::discriminant(&other)
            )),
        }
    }

    fn expect_rejected(&mut self, mut quote: QuoteWat<'_>) -> Outcome {
        let Ok(wasm) = quote.encode() else {
            return Ok(());
        };
        match self.backend.load(&wasm) {
            Err(f) if f.invalid => Ok(()),
            Err(f) => Err(format!(
                "expected the module to be rejected as invalid, got: {}",
                f.message
            )),
            Ok(_) => Err("module was accepted, expected it to be rejected".into()),
        }
    }

    fn invoke(&mut self, invoke: WastInvoke<'_>) -> Result<Vec<Val>, Error> {
        let instance = self.instance(invoke.module).map_err(Error::Usage)?;
        let args = invoke
            .args
            .iter()
            .map(arg_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::Usage)?;
        self.backend.call(instance, invoke.name, &args)
    }

    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Vec<Val>, Error> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(invoke),
            WastExecute::Wat(mut wat) => {
                let wasm = wat
                    .encode()
                    .map_err(|e| Error::Usage(format!("cannot encode module: {e}")))?;
                let module = self.compile(&wasm).map_err(Error::Usage)?;
                self.instantiate(module).map(|_| Vec::new())
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module).map_err(Error::Usage)?;
                Ok(vec![self.backend.global(instance, global)?])
            }
        }
    }
}

fn quote_name(quote: &QuoteWat<'_>) -> Option<String> {
    match quote {
        QuoteWat::Wat(Wat::Module(m)) => m.id.map(|id| id.name().to_string()),
        _ => None,
    }
}

/// Trap kinds match by the specification's wording; the suite sometimes adds detail after it.
/// A message may name two kinds that an engine does not tell apart (`A: B`, as the
/// interpreter's for tables); it matches either.
fn trap_matches(actual: &str, expected: &str) -> bool {
    actual
        .split(": ")
        .any(|kind| expected.starts_with(kind) || kind.starts_with(expected))
}

fn check_results(actual: &[Val], expected: &[WastRet<'_>]) -> Outcome {
    if actual.len() != expected.len() {
        return Err(format!(
            "expected {} results, got {actual:?}",
            expected.len()
        ));
    }
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let WastRet::Core(e) = e else {
            return Err("component results are not supported".into());
        };
        if !matches(a, e) {
            return Err(format!("result {i}: expected {}, got {a:?}", describe(e)));
        }
    }
    Ok(())
}

fn describe(e: &WastRetCore<'_>) -> String {
    format!("{e:?}").chars().take(120).collect()
}
