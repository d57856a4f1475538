//! The embedding API's side of the cache of checked native code (issue 14): a universal file
//! loaded from the cache is not read, yet its module is there when asked for, read then and
//! checked against the header. (Alone in its test binary: it sets the process's environment.)

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use waot::{Linker, Store, Val};
use waot_compiler::{compile_as, CompileOptions, OutputKind};

#[test]
fn a_module_loaded_from_the_cache_reads_its_wasm_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("XDG_CONFIG_HOME", dir.path().join("config"));
    std::env::set_var("XDG_CACHE_HOME", dir.path().join("cache"));
    std::env::remove_var("WAOT_KEY");
    std::env::remove_var("WAOT_NATIVE_CACHE");
    let wasm = wat::parse_str(
        r#"(module (memory 1) (data (i32.const 0) "cached")
             (func (export "first") (result i32) (i32.load8_u (i32.const 0))))"#,
    )
    .unwrap();
    let app = dir.path().join("app.wasm");
    compile_as(
        &wasm,
        "app",
        &app,
        OutputKind::Universal,
        &CompileOptions::default(),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let first = waot::Module::from_file(&app).unwrap();
    assert_eq!(first.wasm().unwrap(), &wasm[..]);
    let native = dir.path().join("cache/waot/native");
    let header = std::fs::read_dir(&native)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "header"))
        .expect("an entry after the first load");
    let past = UNIX_EPOCH + Duration::from_secs(1_000_000);
    let mark = || {
        std::fs::File::options()
            .write(true)
            .open(&header)
            .unwrap()
            .set_modified(past)
            .unwrap()
    };
    mark();
    let cached = waot::Module::from_file(&app).unwrap();
    let used: SystemTime = std::fs::metadata(&header).unwrap().modified().unwrap();
    assert!(used > past, "the second load came from the cache");
    let mut store = Store::new();
    let i = Linker::new().instantiate(&mut store, &cached).unwrap();
    let f = store.get_func(i, "first").unwrap();
    assert_eq!(store.call(f, &[]).unwrap(), vec![Val::I32(b'c' as i32)]);
    assert_eq!(
        cached.wasm().unwrap(),
        &wasm[..],
        "read from the file, checked"
    );
    assert_eq!(cached.wasm().unwrap(), &wasm[..]);
    // The embedding's artifact path takes the cache too.
    mark();
    let artifact = waot::artifact::Artifact::open(&app).unwrap();
    let policy = waot::artifact::TrustPolicy::from_environment().unwrap();
    assert!(waot::Module::from_artifact(&artifact, &policy).is_ok());
    assert!(std::fs::metadata(&header).unwrap().modified().unwrap() > past);
    assert_eq!(artifact.wasm().unwrap(), wasm);
}
