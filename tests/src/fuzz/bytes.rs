//! Random and mutated bytes for everything that reads untrusted input: the validator, the
//! module parser, the compiler (on what validates), the artifact header and universal-section
//! decoders, and the loader's checks. Each must answer with an error, never a panic, an abort
//! or a crash; and a universal file whose signed bytes changed must never load natively.

use super::generate::Rng;
use std::path::Path;
use std::sync::OnceLock;
use waot_compiler::{compile_to_file, CompileOptions, OptLevel};

/// The signing key of the universal files in the corpus.
pub const KEY: [u8; 32] = [7; 32];

const SOURCE: &str = r#"(module
  (memory (export "memory") 1)
  (global (export "g") (mut i32) (i32.const 1))
  (table 2 funcref) (elem (i32.const 0) $a $b)
  (tag $e (param i32))
  (func $a (export "a") (param i32) (result i32) (i32.add (local.get 0) (global.get 0)))
  (func $b (param i32) (result i32)
    (block $h (result i32) (try_table (catch $e $h) (throw $e (local.get 0))) (i32.const 0)))
  (data (i32.const 8) "bytes"))"#;

/// Seed files: a module, the same compiled to a universal file and to a shared object.
struct Corpus {
    module: Vec<u8>,
    universal: Vec<u8>,
    shared_object: Vec<u8>,
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let module = wat::parse_str(SOURCE).expect("corpus module");
        let universal = dir.path().join("u.wasm");
        let so = dir.path().join("m.so");
        let options = CompileOptions {
            opt_level: OptLevel::O0,
            ..Default::default()
        };
        // The universal file is signed with `KEY`: compile through the command, which reads
        // `WAOT_KEY` (setting it in this process would race with other threads).
        let input = dir.path().join("in.wasm");
        std::fs::write(&input, &module).unwrap();
        let hex: String = KEY.iter().map(|b| format!("{b:02x}")).collect();
        let status = std::process::Command::new(crate::binary("waotc"))
            .env("WAOT_KEY", hex)
            .args(["-O0"])
            .arg(&input)
            .arg(&universal)
            .status()
            .expect("waotc (cargo build --release --bins)");
        assert!(status.success());
        compile_to_file(&module, "m", &so, &options).expect("corpus shared object");
        Corpus {
            module,
            universal: std::fs::read(universal).unwrap(),
            shared_object: std::fs::read(so).unwrap(),
        }
    })
}

/// `input` changed a few ways: bytes flipped, inserted, removed, overwritten by edge values,
/// or cut short.
pub fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        if out.is_empty() {
            out.push(rng.next_u64() as u8);
        }
        let at = rng.below(out.len() as u64) as usize;
        match rng.below(6) {
            0 => out[at] ^= 1 << rng.below(8),
            1 => out[at] = rng.next_u64() as u8,
            2 => out.insert(at, rng.next_u64() as u8),
            3 => {
                out.remove(at);
            }
            4 => {
                let edge: u32 =
                    [0, 1, 0x7f, 0x80, 0xff, 0xffff, u32::MAX, 0x8000_0000][rng.below(8) as usize];
                let end = (at + 4).min(out.len());
                let bytes = edge.to_le_bytes();
                out[at..end].copy_from_slice(&bytes[..end - at]);
            }
            _ => out.truncate(at),
        }
    }
    out
}

/// Runs `f`, turning a panic into an error naming `what`.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| format!("{what} panicked"))
}

/// One input from `seed`: random bytes or a mutated corpus file, through every reader.
pub fn run_seed(seed: u64, dir: &Path) -> Result<(), String> {
    let corpus = corpus();
    let mut rng = Rng::new(seed);
    let (kind, input) = match rng.below(5) {
        0 => {
            let n = rng.below(300) as usize;
            ("random", rng.bytes(n))
        }
        1 => ("module", mutate(&mut rng, &corpus.module)),
        2 => ("shared object", mutate(&mut rng, &corpus.shared_object)),
        _ => ("universal", mutate(&mut rng, &corpus.universal)),
    };
    let at = |what: &str| format!("seed {seed} ({kind}): {what}");
    let valid = no_panic(&at("validate"), || {
        runtime_support::validate::validate(&input, &[]).is_ok()
    })?;
    // What the loader parses of a skeleton, on any bytes: an error, never a panic.
    let declarations = no_panic(&at("ModuleInfo::parse_declarations"), || {
        runtime_support::ModuleInfo::parse_declarations(&input).map(drop)
    })?;
    if valid {
        no_panic(&at("ModuleInfo::parse"), || {
            runtime_support::ModuleInfo::parse(&input).map(drop)
        })?
        .map_err(|e| at(&format!("a valid module does not parse: {e}")))?;
        declarations
            .map_err(|e| at(&format!("a valid module's declarations do not parse: {e}")))?;
        // What an artifact carries of a valid module parses as a module too.
        for (what, part) in [
            ("skeleton", skeleton_with_images as fn(&[u8]) -> _),
            ("names", runtime_support::skeleton::names),
        ] {
            let part = no_panic(&at(what), || part(&input))?
                .map_err(|e| at(&format!("no {what} for a valid module: {e}")))?;
            no_panic(&at(&format!("ModuleInfo::parse of the {what}")), || {
                runtime_support::ModuleInfo::parse(&part).map(drop)
            })?
            .map_err(|e| at(&format!("its {what} does not parse: {e}")))?;
            no_panic(
                &at(&format!("ModuleInfo::parse_declarations of the {what}")),
                || runtime_support::ModuleInfo::parse_declarations(&part).map(drop),
            )?
            .map_err(|e| at(&format!("its {what}'s declarations do not parse: {e}")))?;
        }
        if rng.below(4) == 0 {
            let options = CompileOptions {
                opt_level: OptLevel::O0,
                ..Default::default()
            };
            no_panic(&at("compile"), || {
                compile_to_file(&input, "m", &dir.join("fuzz.so"), &options).map(drop)
            })?
            .map_err(|e| at(&format!("a valid module does not compile: {e}")))?;
        }
    }
    no_panic(&at("ArtifactHeader::decode"), || {
        runtime_support::artifact::ArtifactHeader::decode(&input).map(drop)
    })?
    .ok();
    no_panic(&at("universal::split"), || {
        runtime_support::universal::split(&input)
            .1
            .map(|r| r.map(drop))
    })?;
    let path = dir.join(match kind {
        "shared object" => "input.so",
        _ => "input.wasm",
    });
    std::fs::write(&path, &input).map_err(|e| e.to_string())?;
    let Ok(artifact) = no_panic(&at("Artifact::open"), || waot::Artifact::open(&path))? else {
        return Ok(());
    };
    no_panic(&at("Artifact::wasm"), || artifact.wasm().map(drop))?.ok();
    if artifact.kind == waot::ArtifactKind::UniversalWasm {
        // A shared object is native code trusted like any library (README, "Trust"): only
        // its checks are exercised above. A universal file's native code must load only when
        // every signed byte is unchanged: its native section, which must still end the file.
        // The module before it is not read to run native code (which reads the skeleton in
        // the signed object), so altering only the module may still load the signed code.
        let policy = waot::TrustPolicy {
            keys: vec![KEY],
            trust_any: false,
        };
        let native = no_panic(&at("Module::from_artifact"), || {
            waot::Module::from_artifact(&artifact, &policy).is_ok()
        })?;
        let module_len = runtime_support::universal::split(&corpus.universal).0.len();
        let section = &corpus.universal[module_len..];
        if native && !input.ends_with(section) {
            return Err(at("an altered universal file loaded natively"));
        }
    }
    Ok(())
}

/// The skeleton an artifact carries: its segments for memories with images are empty.
fn skeleton_with_images(wasm: &[u8]) -> Result<Vec<u8>, String> {
    let info = runtime_support::ModuleInfo::parse(wasm).map_err(|e| e.to_string())?;
    let plan = runtime_support::memory_image::plan(&info);
    let imaged: Vec<u32> = plan.iter().map(|l| l.memory).collect();
    runtime_support::skeleton::skeleton(wasm, &imaged)
}
