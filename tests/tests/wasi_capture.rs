//! A guest cannot make the host hold more of its output than the host allowed: every way of
//! growing an in-memory standard stream's file (writing at its position, at its end when
//! appending, at an offset; setting its size; allocating) stops at the capture limit, and
//! what the host reads back is bounded by it.

use std::sync::{Arc, Mutex};
use waot::wasi::{self, Stdio, WasiConfig, WasiCtx};
use waot::{Linker, Store, Val};
use waot_compiler::CompileOptions;
use waot_tests::load_wat;

const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pwrite" (func $pwrite (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_set_size" (func $set_size (param i32 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_allocate" (func $allocate (param i32 i64 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_set_flags" (func $set_flags (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; One iovec at 0 over `len` bytes from 1024; the count lands at 16.
  (func $iovec (param $len i32)
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (local.get $len))
    (i32.store (i32.const 16) (i32.const -1)))
  (func (export "write") (param $fd i32) (param $len i32) (result i32)
    (call $iovec (local.get $len))
    (call $write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 16)))
  (func (export "pwrite") (param $fd i32) (param $len i32) (param $at i64) (result i32)
    (call $iovec (local.get $len))
    (call $pwrite (local.get $fd) (i32.const 0) (i32.const 1) (local.get $at) (i32.const 16)))
  (func (export "written") (result i32) (i32.load (i32.const 16)))
  (func (export "set_size") (param i32 i64) (result i32) (call $set_size (local.get 0) (local.get 1)))
  (func (export "allocate") (param i32 i64 i64) (result i32)
    (call $allocate (local.get 0) (local.get 1) (local.get 2)))
  (func (export "seek") (param i32 i64) (result i32)
    (call $seek (local.get 0) (local.get 1) (i32.const 0) (i32.const 24)))
  (func (export "append") (param i32) (result i32) (call $set_flags (local.get 0) (i32.const 1))))"#;

const EFBIG: i32 = 22;
const LIMIT: u64 = 100_000;

struct Guest {
    store: Store,
    instance: waot::Instance,
    ctx: Arc<Mutex<WasiCtx>>,
}

impl Guest {
    fn new(dir: &std::path::Path, capture_limit: Option<u64>, stdin: Vec<u8>) -> Guest {
        let module = load_wat(dir, "capture", GUEST, &CompileOptions::default());
        let mut store = Store::new();
        let config = WasiConfig {
            stdio: [
                Stdio::Memory(stdin),
                Stdio::Memory(Vec::new()),
                Stdio::Inherit,
            ],
            capture_limit,
            ..Default::default()
        };
        let ctx = Arc::new(Mutex::new(WasiCtx::new(config).unwrap()));
        let mut linker = Linker::new();
        wasi::add_to_linker(&mut linker, &mut store, ctx.clone());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        Guest {
            store,
            instance,
            ctx,
        }
    }

    fn call(&mut self, name: &str, args: &[Val]) -> i32 {
        let f = self.store.get_func(self.instance, name).unwrap();
        match self.store.call(f, args).unwrap()[..] {
            [Val::I32(v)] => v,
            ref other => panic!("{name}: {other:?}"),
        }
    }

    /// `fd_write` of `len` bytes: the errno, and the count written on success.
    fn write(&mut self, fd: i32, len: i32) -> (i32, i32) {
        let errno = self.call("write", &[Val::I32(fd), Val::I32(len)]);
        (errno, self.call("written", &[]))
    }

    fn pwrite(&mut self, fd: i32, len: i32, at: i64) -> (i32, i32) {
        let errno = self.call("pwrite", &[Val::I32(fd), Val::I32(len), Val::I64(at)]);
        (errno, self.call("written", &[]))
    }

    fn captured(&self, fd: u32) -> usize {
        let ctx = self.ctx.lock().unwrap();
        ctx.captured(fd).unwrap().unwrap().len()
    }
}

#[test]
fn writes_stop_at_the_capture_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Guest::new(dir.path(), Some(LIMIT), Vec::new());
    // Written in full, then shortened to fit, then refused.
    assert_eq!(g.write(1, 65536), (0, 65536));
    assert_eq!(g.write(1, 65536), (0, (LIMIT - 65536) as i32));
    assert_eq!(g.write(1, 65536).0, EFBIG);
    assert_eq!(
        g.write(1, 0),
        (0, 0),
        "an empty write at the limit is no growth"
    );
    assert_eq!(g.captured(1), LIMIT as usize);
    // At an offset: inside the limit, across it, far past it.
    assert_eq!(g.pwrite(1, 10, LIMIT as i64 - 10), (0, 10));
    assert_eq!(g.pwrite(1, 10, LIMIT as i64 - 5), (0, 5));
    assert_eq!(g.pwrite(1, 10, 1 << 40).0, EFBIG);
    assert_eq!(g.pwrite(1, 10, i64::MAX).0, EFBIG);
    // A position moved past the limit.
    assert_eq!(g.call("seek", &[Val::I32(1), Val::I64(1 << 40)]), 0);
    assert_eq!(g.write(1, 10).0, EFBIG);
    // Size and allocation.
    let set_size = |g: &mut Guest, size: i64| g.call("set_size", &[Val::I32(1), Val::I64(size)]);
    assert_eq!(set_size(&mut g, 1 << 40), EFBIG);
    assert_eq!(set_size(&mut g, LIMIT as i64 + 1), EFBIG);
    assert_eq!(set_size(&mut g, 50_000), 0);
    let allocate = |g: &mut Guest, at: i64, len: i64| {
        g.call("allocate", &[Val::I32(1), Val::I64(at), Val::I64(len)])
    };
    assert_eq!(allocate(&mut g, 0, 1 << 40), EFBIG);
    assert_eq!(allocate(&mut g, i64::MAX, i64::MAX), EFBIG);
    assert_eq!(g.captured(1), 50_000);
    // Appending writes at the end, whatever the position: the room is what the end leaves.
    assert_eq!(g.call("append", &[Val::I32(1)]), 0);
    assert_eq!(g.call("seek", &[Val::I32(1), Val::I64(0)]), 0);
    assert_eq!(g.write(1, 65536), (0, (LIMIT - 50_000) as i32));
    assert_eq!(g.write(1, 1).0, EFBIG);
    // An appending `pwrite` lands at the end too, whatever offset it names.
    assert_eq!(g.pwrite(1, 10, 0).0, EFBIG);
    assert_eq!(set_size(&mut g, LIMIT as i64 - 4), 0);
    assert_eq!(g.pwrite(1, 10, 0), (0, 4));
    assert_eq!(g.captured(1), LIMIT as usize);
}

#[test]
fn stdin_bytes_past_the_limit_are_kept_and_the_default_limit_applies() {
    let dir = tempfile::tempdir().unwrap();
    // The host's own bytes are never cut; the guest may not add to them.
    let mut g = Guest::new(dir.path(), Some(10), vec![7; 1000]);
    assert_eq!(g.captured(0), 1000);
    assert_eq!(g.pwrite(0, 1, 1000).0, EFBIG);
    assert_eq!(g.pwrite(0, 1, 999), (0, 1));
    // Without a limit of its own, a store gets the default, far above this.
    let mut g = Guest::new(dir.path(), None, Vec::new());
    assert_eq!(g.write(1, 65536), (0, 65536));
    assert_eq!(g.pwrite(1, 1, wasi::DEFAULT_CAPTURE_LIMIT as i64).0, EFBIG);
    assert_eq!(
        g.pwrite(1, 1, wasi::DEFAULT_CAPTURE_LIMIT as i64 - 1),
        (0, 1)
    );
    assert_eq!(g.captured(1), wasi::DEFAULT_CAPTURE_LIMIT as usize);
}
